/* Incremental fetch sessions (KIP-227) against a kc-broker process: once
 * a session is up, requests list only the partitions whose offset changed;
 * when the broker evicts the session (other fetchers fill its cache), the
 * consumer falls back to a full fetch and goes on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client_int.h"
#include "client_test_util.h"
#include "consumer/consumer_int.h"
#include "test_client_consumer_util.h"

#define NPART 20

static tbroker_t broker;

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (tbroker_start(&broker) != 0) return -1;
    if (ctu_create_topic(broker.addr, "s", NPART) != 0) return -1;
    for (int p = 0; p < NPART; p++)
        if (ctu_produce(broker.addr, "s", p, 5, p * 1000, "none", 0, 0, NULL, NULL)) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tbroker_stop(&broker);
    return 0;
}

typedef struct counters {
    kc_consumer_t *c;
    uint64_t fetches, full, incremental, resets, parts;
} counters_t;

static void io_counters(client_t *cl, void *arg)
{
    (void)cl;
    counters_t *k = arg;
    k->fetches = k->c->fetches_sent;
    k->full = k->c->full_fetches;
    k->incremental = k->c->incremental_fetches;
    k->resets = k->c->session_resets;
    k->parts = k->c->parts_sent;
}

static counters_t counters(kc_consumer_t *c)
{
    counters_t k = {.c = c};
    assert_int_equal(client_call(c->client, io_counters, &k), 0);
    return k;
}

/* Opens n fetch sessions of its own on a raw connection (Fetch v12, epoch
 * 0), each taking a slot of the broker's session cache. */
static void fill_session_cache(int n)
{
    char host[128];
    snprintf(host, sizeof(host), "%s", broker.addr);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    inet_pton(AF_INET, host, &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    proto_fetch_request_t req;
    proto_msg_init(&proto_fetch_request_desc, &req);
    proto_fetch_request_fetch_partition_t part = {.partition = 0,
                                                  .current_leader_epoch = -1,
                                                  .fetch_offset = 0,
                                                  .last_fetched_epoch = -1,
                                                  .log_start_offset = -1,
                                                  .partition_max_bytes = 1024};
    proto_fetch_request_fetch_topic_t topic = {.topic = proto_str_of("s")};
    topic.partitions.v = &part;
    topic.partitions.n = 1;
    req.replica_id = -1;
    req.max_wait_ms = 0;
    req.min_bytes = 1;
    req.session_id = 0;
    req.session_epoch = 0;
    req.topics.v = &topic;
    req.topics.n = 1;
    for (int i = 0; i < n; i++) {
        proto_wbuf_t w = {0};
        size_t at = proto_wbuf_skip(&w, 4);
        proto_req_header_t hdr = {.api_key = PROTO_API_FETCH,
                                  .api_version = 12,
                                  .correlation_id = i,
                                  .client_id = proto_str_of("filler")};
        proto_req_header_encode(&w, &hdr);
        char err[256];
        assert_int_equal(proto_request_encode(PROTO_API_FETCH, 12, &req, &w, err, sizeof(err)), 0);
        proto_put_i32_at(&w, at, (int32_t)(w.len - 4));
        assert_int_equal(write(fd, w.data, w.len), (ssize_t)w.len);
        proto_wbuf_free(&w);
        /* Read the answer (keeps the socket buffers small). */
        uint8_t hdrb[4];
        assert_int_equal(read_full(fd, hdrb, 4), 0);
        uint32_t size =
            (uint32_t)hdrb[0] << 24 | (uint32_t)hdrb[1] << 16 | (uint32_t)hdrb[2] << 8 | hdrb[3];
        uint8_t *buf = malloc(size);
        assert_int_equal(read_full(fd, buf, size), 0);
        free(buf);
    }
    close(fd);
}

static void test_incremental_then_evicted(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(broker.addr, "fetch.wait.max.ms", "50", NULL);
    assert_non_null(c);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++)
        kc_topic_partition_list_add(l, "s", p)->offset = 0;
    assert_int_equal(kc_assign(c, l), 0);
    kc_topic_partition_list_destroy(l);
    for (int i = 0; i < NPART * 5; i++) {
        kc_message_t *m = ctu_next_record(c, 10000, NULL);
        assert_non_null(m);
        kc_message_destroy(m);
    }
    counters_t a = counters(c);
    assert_true(a.incremental > 0);

    /* New records in one partition: the requests carry that partition only
     * (a full fetch would list all 20 each time). */
    for (int r = 0; r < 5; r++) {
        assert_int_equal(ctu_produce(broker.addr, "s", 7, 1, 7005 + r, "none", 0, 0, NULL, NULL),
                         0);
        kc_message_t *m = ctu_next_record(c, 10000, NULL);
        assert_non_null(m);
        assert_int_equal(m->partition, 7);
        assert_int_equal(m->offset, 5 + r);
        kc_message_destroy(m);
    }
    counters_t b = counters(c);
    assert_true(b.fetches > a.fetches);
    assert_true(b.parts - a.parts <= b.fetches - a.fetches);
    assert_int_equal(b.resets, a.resets);

    /* Evicted: while the consumer is idle (all paused), 1000 other
     * sessions fill the cache (Kafka's default slots). */
    kc_topic_partition_list_t *all = NULL;
    assert_int_equal(kc_assignment(c, &all), 0);
    assert_int_equal(kc_pause(c, all), 0);
    assert_null(ctu_next_record(c, 300, NULL));
    fill_session_cache(1001);
    assert_int_equal(kc_resume(c, all), 0);
    kc_topic_partition_list_destroy(all);
    assert_int_equal(ctu_produce(broker.addr, "s", 3, 1, 3005, "none", 0, 0, NULL, NULL), 0);
    kc_message_t *m = ctu_next_record(c, 10000, NULL);
    assert_non_null(m);
    assert_int_equal(m->partition, 3);
    assert_int_equal(m->offset, 5);
    kc_message_destroy(m);
    counters_t d = counters(c);
    assert_true(d.resets > b.resets);
    assert_true(d.full > b.full);
    /* And incremental again after the new session. */
    assert_int_equal(ctu_produce(broker.addr, "s", 3, 1, 3006, "none", 0, 0, NULL, NULL), 0);
    m = ctu_next_record(c, 10000, NULL);
    assert_non_null(m);
    kc_message_destroy(m);
    assert_true(counters(c).incremental > d.incremental);
    kc_consumer_destroy(c);
}

typedef struct queued {
    kc_consumer_t *c;
    int64_t msgs;
    size_t bytes;
} queued_t;

static void io_queued(client_t *cl, void *arg)
{
    (void)cl;
    queued_t *q = arg;
    cons_part_t *p = fetch_part_get(q->c, "s", 0, 0);
    pthread_mutex_lock(&q->c->lock);
    q->msgs = p ? p->queued_msgs : -1;
    q->bytes = p ? p->queued_bytes : 0;
    pthread_mutex_unlock(&q->c->lock);
}

/* Bounded prefetch: with queued.min.messages=1 the fetcher stops after one
 * response holds records, until the application drained them. */
static void test_prefetch_bounded(void **state)
{
    (void)state;
    kc_consumer_t *c =
        ctu_consumer(broker.addr, "queued.min.messages", "1", "fetch.wait.max.ms", "20", NULL);
    assert_non_null(c);
    assert_int_equal(ctu_assign1(c, "s", 0, 0), 0);
    queued_t q = {.c = c};
    int64_t end = ctu_now_ms() + 10000;
    do {
        usleep(10 * 1000);
        assert_int_equal(client_call(c->client, io_queued, &q), 0);
    } while (q.msgs <= 0 && ctu_now_ms() < end);
    assert_true(q.msgs > 0);
    assert_true(q.bytes > 0);
    uint64_t f0 = counters(c).fetches;
    usleep(300 * 1000); /* an unbounded fetcher would long-poll every 20 ms meanwhile */
    assert_int_equal(counters(c).fetches, f0);
    /* Polled: fetching goes on. */
    kc_message_t *m = ctu_next_record(c, 10000, NULL);
    assert_non_null(m);
    kc_message_destroy(m);
    end = ctu_now_ms() + 10000;
    while (counters(c).fetches == f0 && ctu_now_ms() < end)
        kc_message_destroy(kc_consumer_poll(c, 20));
    assert_true(counters(c).fetches > f0);
    kc_consumer_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefetch_bounded),
        cmocka_unit_test(test_incremental_then_evicted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
