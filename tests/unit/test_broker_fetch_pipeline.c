/* Several Fetch requests in flight on one connection, as bench_fetch_raw
 * sends them: the client writes the next request before it has read the
 * previous response (which goes out with sendfile and is larger than the
 * socket buffers), and a request that waits (long poll) holds back the
 * answers to the requests after it. Every response comes back whole, in
 * request order, with the records asked for. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker_harness.h"
#include "fetch_test_util.h"

typedef proto_fetch_response_partition_data_t part_data_t;

enum {
    BATCHES = 24,
    PER_BATCH = 100,
    VALUE = 2000, /* about 200 KB per batch, 4.8 MB in all */
};

static harness_t H;
static int64_t batch_base[BATCHES];

static int setup(void **state)
{
    signal(SIGPIPE, SIG_IGN); /* as kc-broker's main does: a peer that left is an EPIPE */
    harness_start(&H, NULL);
    assert_int_equal(topic_make(&H, "pipe", 1), 0);
    for (int i = 0; i < BATCHES; i++)
        assert_true((batch_base[i] = append_batch(&H, "pipe", 0, PER_BATCH, VALUE)) >= 0);
    assert_int_equal(topic_make(&H, "quiet", 1), 0);
    *state = &H;
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    return 0;
}

static int32_t send_fetch(int fd, int16_t ver, const char *topic, int64_t offset, int32_t max_bytes,
                          int32_t max_wait)
{
    proto_fetch_request_t req;
    proto_fetch_request_fetch_topic_t t;
    proto_fetch_request_fetch_partition_t p;
    proto_msg_init(&proto_fetch_request_desc, &req);
    proto_struct_init(&proto_fetch_request_fetch_topic_sdesc, &t);
    proto_struct_init(&proto_fetch_request_fetch_partition_sdesc, &p);
    req.max_wait_ms = max_wait;
    req.min_bytes = 1;
    req.max_bytes = max_bytes;
    req.session_epoch = -1;
    p.fetch_offset = offset;
    p.partition_max_bytes = max_bytes;
    t.topic = proto_str_of(topic);
    t.partitions.v = &p;
    t.partitions.n = 1;
    req.topics.v = &t;
    req.topics.n = 1;
    return harness_send(fd, PROTO_API_FETCH, ver, &req);
}

/* Reads the response to corr and checks it holds whole batches from
 * `offset` on: returns the record
 * count, and *next the offset after the last whole batch. */
static int recv_fetch(int fd, int16_t ver, int32_t corr, int64_t offset, int64_t *next)
{
    proto_fetch_response_t resp;
    proto_arena_t arena;
    proto_arena_init(&arena);
    uint8_t *frame = harness_recv(fd, PROTO_API_FETCH, ver, corr, &resp, &arena, 10000);
    assert_non_null(frame);
    assert_int_equal(resp.responses.n, 1);
    assert_int_equal(resp.responses.v[0].partitions.n, 1);
    const part_data_t *pd = &resp.responses.v[0].partitions.v[0];
    assert_int_equal(pd->error_code, 0);
    /* No batch is cut: the records are whole batches, end to end. */
    size_t at = 0, len = (size_t)(pd->records.len > 0 ? pd->records.len : 0);
    while (at < len) {
        proto_batch_header_t bh;
        char err[128];
        assert_int_equal(
            proto_batch_header_parse(pd->records.ptr + at, len - at, &bh, err, sizeof(err)), 0);
        at += proto_batch_size(&bh);
    }
    assert_int_equal(at, len);
    int64_t first = -1, last = -1;
    int n = count_records(pd->records, &first, &last);
    assert_true(n >= 0);
    if (n > 0) {
        assert_int_equal(first, offset);
        *next = last + 1;
    } else {
        *next = offset;
    }
    free(frame);
    proto_arena_destroy(&arena);
    return n;
}

/* Four fetches written at once, each response about 1 MB (several times a
 * default socket buffer): all four answered in order, with the batches
 * each asked for, before the client read any of them. */
static void test_back_to_back(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    const int16_t ver = 11;
    int64_t from[4] = {batch_base[0], batch_base[5], batch_base[10], batch_base[15]};
    int32_t corr[4];
    for (int i = 0; i < 4; i++)
        assert_true((corr[i] = send_fetch(fd, ver, "pipe", from[i], 1 << 20, 500)) > 0);
    for (int i = 0; i < 4; i++) {
        int64_t next;
        int n = recv_fetch(fd, ver, corr[i], from[i], &next);
        /* 1 MiB holds 5 whole batches of ~200 KB; the 6th stays out. */
        assert_int_equal(n, 5 * PER_BATCH);
        assert_int_equal(next, from[i] + 5 * PER_BATCH);
    }
    close(fd);
}

/* The pipelined client's order: the next fetch, at the offset the previous
 * response ends with, goes out before that response is read; reading the
 * whole log that way returns every record once. */
static void test_read_ahead_whole_log(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    const int16_t ver = 5;
    int64_t offset = batch_base[0], end = batch_base[BATCHES - 1] + PER_BATCH;
    int64_t next = offset;
    int total = 0;
    int32_t corr = send_fetch(fd, ver, "pipe", offset, 700000, 500);
    /* Two requests in flight: the one sent last reads where the response
     * before it ends. */
    int64_t ahead = batch_base[3];
    int32_t corr2 = send_fetch(fd, ver, "pipe", ahead, 700000, 500);
    total += recv_fetch(fd, ver, corr, offset, &next);
    assert_int_equal(next, ahead);
    offset = ahead;
    corr = corr2;
    while (offset < end) {
        int32_t c2 = -1;
        int64_t guess = offset + 3 * PER_BATCH;
        if (guess < end) c2 = send_fetch(fd, ver, "pipe", guess, 700000, 500);
        total += recv_fetch(fd, ver, corr, offset, &next);
        assert_int_equal(next, guess < end ? guess : end);
        offset = next;
        if (c2 < 0) break;
        corr = c2;
    }
    assert_int_equal(total, BATCHES * PER_BATCH);
    close(fd);
}

/* A fetch parked on an empty partition holds back the answers to the
 * fetches sent after it on its connection, however soon those are ready;
 * when its wait ends, all come back in request order. */
static void test_parked_holds_order(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    const int16_t ver = 11;
    int32_t parked = send_fetch(fd, ver, "quiet", 0, 1 << 20, 300);
    int32_t c1 = send_fetch(fd, ver, "pipe", batch_base[0], 1 << 20, 0);
    int32_t c2 = send_fetch(fd, ver, "pipe", batch_base[20], 1 << 20, 0);
    assert_true(parked > 0 && c1 > 0 && c2 > 0);
    int64_t next;
    assert_int_equal(recv_fetch(fd, ver, parked, 0, &next), 0);
    assert_int_equal(recv_fetch(fd, ver, c1, batch_base[0], &next), 5 * PER_BATCH);
    assert_int_equal(recv_fetch(fd, ver, c2, batch_base[20], &next), 4 * PER_BATCH);
    close(fd);
}

typedef struct conn_count {
    int n;
} conn_count_t;

static void conn_count_cb(harness_t *h, void *arg)
{
    ((conn_count_t *)arg)->n = broker_server_connection_count(h->broker->nodes[0].server);
}

/* Polls (up to 10 s) until the broker holds exactly `want` connections. */
static int wait_connections(harness_t *h, int want)
{
    for (int i = 0; i < 1000; i++) {
        conn_count_t c = {0};
        harness_on_loop(h, conn_count_cb, &c);
        if (c.n == want) return 1;
        usleep(10000);
    }
    return 0;
}

/* A client that asks for several MB and leaves without reading them: the
 * broker, blocked on the full socket, notices at its next write, drops the
 * connection and what it still had to send, and serves others as before. */
static void test_client_leaves_mid_response(void **state)
{
    harness_t *h = *state;
    assert_true(wait_connections(h, 0)); /* the earlier tests' clients are gone */
    int fd = harness_connect(h);
    for (int i = 0; i < 4; i++)
        assert_true(send_fetch(fd, 11, "pipe", batch_base[i * 5], 1 << 20, 0) > 0);
    uint8_t b[4];
    assert_int_equal(harness_recv_n(fd, b, sizeof(b), 5000), 1); /* the first has started */
    /* Unread data makes close() reset the connection. */
    close(fd);
    assert_true(wait_connections(h, 0));
    fd = harness_connect(h);
    int32_t corr = send_fetch(fd, 11, "pipe", batch_base[0], 1 << 20, 0);
    int64_t next;
    assert_int_equal(recv_fetch(fd, 11, corr, batch_base[0], &next), 5 * PER_BATCH);
    close(fd);
}

int main(void)
{
    (void)harness_restart;
    (void)harness_call;
    (void)harness_closed;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_back_to_back),
        cmocka_unit_test(test_read_ahead_whole_log),
        cmocka_unit_test(test_parked_holds_order),
        cmocka_unit_test(test_client_leaves_mid_response),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
