/* What the consumer holds and how far behind it is, against a kc-broker
 * process: kc_consumer_lag after fetches, queued.max.messages.kbytes as one
 * bound for the whole consumer over many partitions, and the four responses
 * a partition holds at most. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client_int.h"
#include "client_test_util.h"
#include "consumer/consumer_int.h"
#include "test_client_consumer_util.h"

#define NLAG   50
#define NPART  20
#define NREC   120
#define VALSZ  300
#define QKB    32
#define FETCHB 16384

static tbroker_t broker;

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (tbroker_start(&broker) != 0) return -1;
    if (ctu_create_topic(broker.addr, "lag", 2) != 0) return -1;
    if (ctu_produce(broker.addr, "lag", 0, NLAG, 0, "none", 0, 0, NULL, NULL)) return -1;
    if (ctu_create_topic(broker.addr, "many", NPART) != 0) return -1;
    /* Small batches, so that one fetch response holds several partitions'. */
    for (int p = 0; p < NPART; p++)
        if (ctu_produce(broker.addr, "many", p, NREC, p * 1000, "none", VALSZ, 0,
                        "batch.num.messages", "10"))
            return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tbroker_stop(&broker);
    return 0;
}

static int64_t lag1(kc_consumer_t *c, const char *topic, int32_t partition, kc_err_t *err)
{
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(l, topic, partition);
    assert_int_equal(kc_consumer_lag(c, l), 0);
    int64_t lag = l->elems[0].offset;
    *err = l->elems[0].err;
    kc_topic_partition_list_destroy(l);
    return lag;
}

static void test_lag(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(broker.addr, NULL);
    assert_non_null(c);
    kc_err_t err = 0;
    /* Not assigned. */
    assert_int_equal(lag1(c, "lag", 0, &err), -1);
    assert_int_equal(err, KC_ERR__UNKNOWN_PARTITION);
    /* Assigned, but no fetch can answer (the topic does not exist). */
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(2);
    kc_topic_partition_list_add(l, "lag-nowhere", 0)->offset = 0;
    kc_topic_partition_list_add(l, "lag", 0)->offset = 0;
    assert_int_equal(kc_assign(c, l), 0);
    kc_topic_partition_list_destroy(l);
    assert_int_equal(lag1(c, "lag-nowhere", 0, &err), -1);
    assert_int_equal(err, KC_ERR__NOENT);
    /* NLAG produced, M consumed: the fetch that returned them saw the high
     * watermark NLAG. */
    const int M = 20;
    for (int i = 0; i < M; i++) {
        kc_message_t *m = ctu_next_record(c, 10000, NULL);
        assert_non_null(m);
        assert_int_equal(m->offset, i);
        kc_message_destroy(m);
    }
    assert_int_equal(lag1(c, "lag", 0, &err), NLAG - M);
    assert_int_equal(err, 0);
    for (int i = M; i < NLAG; i++) {
        kc_message_t *m = ctu_next_record(c, 10000, NULL);
        assert_non_null(m);
        kc_message_destroy(m);
    }
    assert_int_equal(lag1(c, "lag", 0, &err), 0);
    /* New records: the lag grows once a fetch has seen them. */
    assert_int_equal(ctu_produce(broker.addr, "lag", 0, 5, NLAG, "none", 0, 0, NULL, NULL), 0);
    int64_t end = ctu_now_ms() + 10000;
    int64_t lag = 0;
    while ((lag = lag1(c, "lag", 0, &err)) != 5 && ctu_now_ms() < end)
        usleep(10 * 1000);
    assert_int_equal(lag, 5);
    kc_message_t *m = ctu_next_record(c, 10000, NULL);
    assert_non_null(m);
    assert_int_equal(m->offset, NLAG);
    kc_message_destroy(m);
    assert_int_equal(lag1(c, "lag", 0, &err), 4);
    kc_consumer_destroy(c);
}

typedef struct probe {
    kc_consumer_t *c;
    size_t queued;
    int in_flight;
    const char *topic; /* with part: that partition's queued bytes in part_queued */
    int32_t part;
    size_t part_queued;
} probe_t;

static void io_probe(client_t *cl, void *arg)
{
    (void)cl;
    probe_t *q = arg;
    q->in_flight = fetch_in_flight(q->c);
    cons_part_t *p = q->topic ? fetch_part_get(q->c, q->topic, q->part, 0) : NULL;
    pthread_mutex_lock(&q->c->lock);
    q->queued = q->c->queued_bytes;
    q->part_queued = p ? p->queued_bytes : 0;
    pthread_mutex_unlock(&q->c->lock);
}

static probe_t probe(kc_consumer_t *c)
{
    probe_t q = {.c = c};
    assert_int_equal(client_call(c->client, io_probe, &q), 0);
    return q;
}

/* One bound for all partitions: without polling the consumer stops
 * fetching once its queue holds queued.max.messages.kbytes (plus the one
 * response in flight then), not that much per partition; polling it below
 * the bound resumes fetching, and every record comes once. */
static void test_queue_bound_is_consumer_wide(void **state)
{
    (void)state;
    char kb[16], fb[16];
    snprintf(kb, sizeof(kb), "%d", QKB);
    snprintf(fb, sizeof(fb), "%d", FETCHB);
    kc_consumer_t *c =
        ctu_consumer(broker.addr, "queued.max.messages.kbytes", kb, "message.max.bytes", fb,
                     "fetch.max.bytes", fb, "max.partition.fetch.bytes", "4096", NULL);
    assert_non_null(c);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++)
        kc_topic_partition_list_add(l, "many", p)->offset = 0;
    assert_int_equal(kc_assign(c, l), 0);
    kc_topic_partition_list_destroy(l);

    /* A batch of 10 records of VALSZ bytes may come on top of a response
     * (a broker returns a first batch larger than asked for). */
    const size_t limit = (size_t)QKB * 1024, bound = limit + FETCHB + 10 * (VALSZ + 64);
    size_t most = 0;
    probe_t q;
    int64_t end = ctu_now_ms() + 20000;
    do {
        usleep(5 * 1000);
        q = probe(c);
        if (q.queued > most) most = q.queued;
    } while ((q.queued < limit || q.in_flight) && ctu_now_ms() < end);
    /* The bound was reached and fetching stopped there. */
    assert_true(q.queued >= limit);
    assert_int_equal(q.in_flight, 0);
    assert_true(most <= bound);

    static int seen[NPART][NREC];
    memset(seen, 0, sizeof(seen));
    int got = 0;
    end = ctu_now_ms() + 60000;
    while (got < NPART * NREC && ctu_now_ms() < end) {
        kc_message_t *m = kc_consumer_poll(c, 100);
        if (m && !m->err) {
            assert_true(m->offset < NREC);
            seen[m->partition][m->offset]++;
            got++;
        }
        kc_message_destroy(m);
        q = probe(c);
        if (q.queued > most) most = q.queued;
    }
    assert_int_equal(got, NPART * NREC);
    for (int p = 0; p < NPART; p++)
        for (int o = 0; o < NREC; o++)
            assert_int_equal(seen[p][o], 1);
    fprintf(stderr, "most queued %zu bytes (bound %zu + %d + a batch)\n", most, limit, FETCHB);
    assert_true(most <= bound);
    kc_consumer_destroy(c);
}

/* One partition of a consumer that does not poll stops being fetched once it
 * holds four responses (max.partition.fetch.bytes each, plus the one in
 * flight then), far below queued.min.messages and
 * queued.max.messages.kbytes; polling resumes it and every record comes
 * once. */
static void test_partition_holds_four_responses(void **state)
{
    (void)state;
    const int fetchb = 4096;
    kc_consumer_t *c = ctu_consumer(broker.addr, "max.partition.fetch.bytes", "4096", NULL);
    assert_non_null(c);
    assert_int_equal(ctu_assign1(c, "many", 3, 0), 0);
    /* A batch of 10 records may come on top of a response (KIP-74). */
    const size_t cap = 4 * (size_t)fetchb, bound = cap + fetchb + 10 * (VALSZ + 64);
    size_t most = 0;
    probe_t q = {.c = c, .topic = "many", .part = 3};
    int64_t end = ctu_now_ms() + 20000;
    do {
        usleep(5 * 1000);
        q.c = c;
        assert_int_equal(client_call(c->client, io_probe, &q), 0);
        if (q.part_queued > most) most = q.part_queued;
    } while ((q.part_queued < cap || q.in_flight) && ctu_now_ms() < end);
    assert_true(q.part_queued >= cap);
    assert_int_equal(q.in_flight, 0);
    assert_true(most <= bound);
    /* Far from all of the partition's NREC * VALSZ bytes. */
    assert_true(q.part_queued < (size_t)NREC * VALSZ);

    int seen[NREC] = {0}, got = 0;
    end = ctu_now_ms() + 30000;
    while (got < NREC && ctu_now_ms() < end) {
        kc_message_t *m = kc_consumer_poll(c, 100);
        if (m && !m->err) {
            assert_true(m->offset < NREC);
            seen[m->offset]++;
            got++;
        }
        kc_message_destroy(m);
        assert_int_equal(client_call(c->client, io_probe, &q), 0);
        if (q.part_queued > most) most = q.part_queued;
    }
    assert_int_equal(got, NREC);
    for (int o = 0; o < NREC; o++)
        assert_int_equal(seen[o], 1);
    assert_true(most <= bound);
    kc_consumer_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lag),
        cmocka_unit_test(test_queue_bound_is_consumer_wide),
        cmocka_unit_test(test_partition_holds_four_responses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
