/* Fetch through the protocol: every version, errors, size limits (KIP-74),
 * long polling, a partition led elsewhere. Sessions are in
 * test_broker_fetch_session.c. Data goes in through the storage API on the
 * broker's loop thread (fetch_test_util.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker_harness.h"
#include "fetch_test_util.h"
#include "storage/segment.h"

typedef proto_fetch_response_partition_data_t part_data_t;

typedef struct fetch_reply {
    proto_fetch_response_t resp;
    proto_arena_t arena;
    uint8_t *frame;
} fetch_reply_t;

static void reply_free(fetch_reply_t *r)
{
    free(r->frame);
    proto_arena_destroy(&r->arena);
}

typedef struct fpart {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t max_bytes;
    int32_t leader_epoch; /* -1: not checked */
} fpart_t;

/* A request for parts[0..n) (grouped by consecutive topic), sessionless. */
static void build_req(harness_t *h, proto_fetch_request_t *req, proto_arena_t *a, int16_t ver,
                      const fpart_t *parts, int n, int32_t min_bytes, int32_t max_wait,
                      int32_t max_bytes)
{
    proto_msg_init(&proto_fetch_request_desc, req);
    req->replica_id = ver <= 14 ? -1 : -1;
    req->max_wait_ms = max_wait;
    req->min_bytes = min_bytes;
    req->max_bytes = max_bytes;
    req->session_id = 0;
    req->session_epoch = -1;
    proto_fetch_request_fetch_topic_t *topics =
        proto_arena_alloc(a, (size_t)n * sizeof(*topics) + 1);
    proto_fetch_request_fetch_partition_t *ps = proto_arena_alloc(a, (size_t)n * sizeof(*ps) + 1);
    int nt = 0;
    for (int i = 0; i < n; i++) {
        if (!i || strcmp(parts[i].topic, parts[i - 1].topic)) {
            proto_struct_init(&proto_fetch_request_fetch_topic_sdesc, &topics[nt]);
            if (ver >= 13)
                topics[nt].topic_id = topic_id_of(h, parts[i].topic);
            else
                topics[nt].topic = proto_str_of(parts[i].topic);
            topics[nt].partitions.v = &ps[i];
            topics[nt].partitions.n = 0;
            nt++;
        }
        proto_struct_init(&proto_fetch_request_fetch_partition_sdesc, &ps[i]);
        ps[i].partition = parts[i].partition;
        ps[i].fetch_offset = parts[i].offset;
        ps[i].partition_max_bytes = parts[i].max_bytes;
        if (ver >= 9) ps[i].current_leader_epoch = parts[i].leader_epoch;
        topics[nt - 1].partitions.n++;
    }
    req->topics.v = topics;
    req->topics.n = nt;
}

static int fetch(harness_t *h, int fd, int16_t ver, const fpart_t *parts, int n, int32_t min_bytes,
                 int32_t max_wait, int32_t max_bytes, fetch_reply_t *out)
{
    proto_arena_t a;
    proto_arena_init(&a);
    proto_fetch_request_t req;
    build_req(h, &req, &a, ver, parts, n, min_bytes, max_wait, max_bytes);
    proto_arena_init(&out->arena);
    out->frame = harness_call(fd, PROTO_API_FETCH, ver, &req, &out->resp, &out->arena);
    proto_arena_destroy(&a);
    return out->frame ? 0 : -1;
}

static const part_data_t *only_part(const fetch_reply_t *r)
{
    assert_int_equal(r->resp.responses.n, 1);
    assert_int_equal(r->resp.responses.v[0].partitions.n, 1);
    return &r->resp.responses.v[0].partitions.v[0];
}

static harness_t H;

static int setup(void **state)
{
    harness_start(&H, NULL);
    assert_int_equal(topic_make(&H, "basic", 1), 0);
    for (int i = 0; i < 3; i++)
        assert_true(append_batch(&H, "basic", 0, 2, 10) >= 0);
    *state = &H;
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    return 0;
}

static void test_every_version(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    for (int16_t v = 4; v <= 17; v++) {
        fpart_t p = {"basic", 0, 0, 1 << 20, -1};
        fetch_reply_t r;
        assert_int_equal(fetch(h, fd, v, &p, 1, 1, 1000, 1 << 20, &r), 0);
        if (v >= 7) {
            assert_int_equal(r.resp.error_code, 0);
            assert_int_equal(r.resp.session_id, 0);
        }
        const part_data_t *pd = only_part(&r);
        if (v >= 13) {
            proto_uuid_t id = topic_id_of(h, "basic");
            assert_memory_equal(&r.resp.responses.v[0].topic_id, &id, sizeof(id));
        } else {
            assert_int_equal(r.resp.responses.v[0].topic.len, 5);
        }
        assert_int_equal(pd->error_code, 0);
        assert_int_equal(pd->high_watermark, 6);
        assert_int_equal(pd->last_stable_offset, 6);
        if (v >= 5) assert_int_equal(pd->log_start_offset, 0);
        if (v >= 11) assert_int_equal(pd->preferred_read_replica, -1);
        assert_true(pd->aborted_transactions.n <= 0);
        int64_t first, last;
        assert_int_equal(count_records(pd->records, &first, &last), 6);
        assert_int_equal(first, 0);
        assert_int_equal(last, 5);
        reply_free(&r);

        /* At the log end: nothing, no error. */
        p.offset = 6;
        assert_int_equal(fetch(h, fd, v, &p, 1, 0, 0, 1 << 20, &r), 0);
        assert_int_equal(only_part(&r)->error_code, 0);
        assert_int_equal(only_part(&r)->records.len, 0);
        reply_free(&r);
    }
    close(fd);
}

static void test_errors(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    fetch_reply_t r;
    fpart_t p = {"nosuch", 0, 0, 1000, -1};
    assert_int_equal(fetch(h, fd, 12, &p, 1, 1, 0, 1 << 20, &r), 0);
    assert_int_equal(only_part(&r)->error_code, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    reply_free(&r);
    /* v13+: by id; an unknown id. */
    assert_int_equal(fetch(h, fd, 13, &p, 1, 1, 0, 1 << 20, &r), 0);
    assert_int_equal(only_part(&r)->error_code, KC_ERR_UNKNOWN_TOPIC_ID);
    reply_free(&r);

    fpart_t q = {"basic", 7, 0, 1000, -1};
    assert_int_equal(fetch(h, fd, 11, &q, 1, 1, 0, 1 << 20, &r), 0);
    assert_int_equal(only_part(&r)->error_code, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    reply_free(&r);

    fpart_t o = {"basic", 0, 7, 1000, -1};
    assert_int_equal(fetch(h, fd, 11, &o, 1, 1, 0, 1 << 20, &r), 0);
    assert_int_equal(only_part(&r)->error_code, KC_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(only_part(&r)->high_watermark, -1);
    reply_free(&r);

    /* Leader epochs (v9+): ours is 0. */
    fpart_t e = {"basic", 0, 0, 1000, 1};
    assert_int_equal(fetch(h, fd, 9, &e, 1, 1, 0, 1 << 20, &r), 0);
    assert_int_equal(only_part(&r)->error_code, KC_ERR_UNKNOWN_LEADER_EPOCH);
    reply_free(&r);
    leader_set(h, "basic", 0, h->broker->nodes[0].id, 3);
    e.leader_epoch = 2;
    assert_int_equal(fetch(h, fd, 9, &e, 1, 1, 0, 1 << 20, &r), 0);
    assert_int_equal(only_part(&r)->error_code, KC_ERR_FENCED_LEADER_EPOCH);
    reply_free(&r);
    e.leader_epoch = 3;
    assert_int_equal(fetch(h, fd, 9, &e, 1, 1, 0, 1 << 20, &r), 0);
    assert_int_equal(only_part(&r)->error_code, 0);
    reply_free(&r);
    leader_set(h, "basic", 0, h->broker->nodes[0].id, 0);

    /* v12+: a last fetched epoch newer than any the partition had. */
    proto_arena_t a;
    proto_arena_init(&a);
    proto_fetch_request_t req;
    fpart_t lf = {"basic", 0, 2, 1000, -1};
    build_req(h, &req, &a, 12, &lf, 1, 1, 0, 1 << 20);
    req.topics.v[0].partitions.v[0].last_fetched_epoch = 5;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_FETCH, 12, &req, &r.resp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(only_part(&r)->error_code, KC_ERR_OFFSET_OUT_OF_RANGE);
    reply_free(&r);
    req.topics.v[0].partitions.v[0].last_fetched_epoch = 0;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_FETCH, 12, &req, &r.resp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(only_part(&r)->error_code, 0);
    reply_free(&r);
    proto_arena_destroy(&a);
    close(fd);
}

/* Another node leads the partition (as in the mock cluster): this node
 * answers NOT_LEADER_OR_FOLLOWER, and from v16 says who leads. */
static void test_not_leader(void **state)
{
    harness_t *h = *state;
    assert_int_equal(topic_make(h, "elsewhere", 1), 0);
    leader_set(h, "elsewhere", 0, 4242, 0);
    int fd = harness_connect(h);
    for (int16_t v = 4; v <= 17; v++) {
        fetch_reply_t r;
        fpart_t p = {"elsewhere", 0, 0, 1000, -1};
        assert_int_equal(fetch(h, fd, v, &p, 1, 1, 10000, 1 << 20, &r), 0);
        const part_data_t *pd = only_part(&r);
        assert_int_equal(pd->error_code, KC_ERR_NOT_LEADER_OR_FOLLOWER);
        if (v >= 16) {
            assert_int_equal(pd->current_leader.leader_id, 4242);
            assert_true(r.resp.node_endpoints.n >= 1);
        }
        reply_free(&r);
    }
    close(fd);
}

/* KIP-74: a partition limit smaller than the first batch still gets that
 * batch whole; after a partition with data, the response limit may leave
 * the next partition nothing. Batches are never cut. */
static void test_limits(void **state)
{
    harness_t *h = *state;
    assert_int_equal(topic_make(h, "big", 2), 0);
    for (int32_t part = 0; part < 2; part++)
        for (int i = 0; i < 3; i++)
            assert_true(append_batch(h, "big", part, 4, 1000) >= 0);
    int fd = harness_connect(h);
    fetch_reply_t r;
    fpart_t p = {"big", 0, 0, 10, -1};
    assert_int_equal(fetch(h, fd, 11, &p, 1, 1, 0, 1 << 20, &r), 0);
    assert_int_equal(count_records(only_part(&r)->records, NULL, NULL), 4); /* one batch whole */
    int32_t batch = only_part(&r)->records.len;
    assert_true(batch > 4000);
    reply_free(&r);

    /* Two partitions, response max_bytes = one batch: partition 0 gets its
     * first batch, partition 1 nothing. */
    fpart_t two[2] = {{"big", 0, 0, 1 << 20, -1}, {"big", 1, 0, 1 << 20, -1}};
    assert_int_equal(fetch(h, fd, 11, two, 2, 1, 0, batch, &r), 0);
    assert_int_equal(r.resp.responses.n, 1);
    assert_int_equal(r.resp.responses.v[0].partitions.n, 2);
    assert_int_equal(r.resp.responses.v[0].partitions.v[0].records.len, batch);
    assert_int_equal(r.resp.responses.v[0].partitions.v[1].records.len, 0);
    assert_int_equal(r.resp.responses.v[0].partitions.v[1].high_watermark, 12);
    reply_free(&r);

    /* max_bytes 1: still the first batch whole (KIP-74). */
    assert_int_equal(fetch(h, fd, 11, two, 2, 1, 0, 1, &r), 0);
    assert_int_equal(r.resp.responses.v[0].partitions.v[0].records.len, batch);
    assert_int_equal(r.resp.responses.v[0].partitions.v[1].records.len, 0);
    reply_free(&r);

    /* Room for one and a half batches: the first partition gets one whole
     * batch, the second nothing (Kafka would send it a cut batch). */
    assert_int_equal(fetch(h, fd, 11, two, 2, 1, 0, batch + batch / 2, &r), 0);
    const part_data_t *pd = r.resp.responses.v[0].partitions.v;
    assert_int_equal(pd[0].records.len, batch);
    assert_int_equal(pd[1].records.len, 0);
    assert_int_equal(count_records(pd[0].records, NULL, NULL), 4);
    reply_free(&r);
    /* Room for two and a half: two whole batches of the first partition. */
    fpart_t one_part[1] = {{"big", 0, 0, 1 << 20, -1}};
    assert_int_equal(fetch(h, fd, 11, one_part, 1, 1, 0, 2 * batch + batch / 2, &r), 0);
    assert_int_equal(only_part(&r)->records.len, 2 * batch);
    assert_int_equal(count_records(only_part(&r)->records, NULL, NULL), 8);
    reply_free(&r);

    /* partition_max_bytes under the response limit applies per partition. */
    two[0].max_bytes = two[1].max_bytes = batch * 2;
    assert_int_equal(fetch(h, fd, 11, two, 2, 1, 0, 1 << 20, &r), 0);
    pd = r.resp.responses.v[0].partitions.v;
    assert_int_equal(count_records(pd[0].records, NULL, NULL), 8);
    assert_int_equal(count_records(pd[1].records, NULL, NULL), 8);
    reply_free(&r);
    close(fd);
}

/* A fetch of a range that starts inside a page and crosses many: from the
 * segment's mapping, and with sendfile when the segment cannot be mapped
 * (here: a mapping step too large for the address space). */
static void fetch_from_middle(harness_t *h, const char *topic)
{
    assert_int_equal(topic_make(h, topic, 1), 0);
    for (int i = 0; i < 60; i++)
        assert_true(append_batch(h, topic, 0, 3, 999) >= 0);
    int fd = harness_connect(h);
    fetch_reply_t r;
    /* From offset 31 (batch 10: not page-aligned in the file), everything. */
    fpart_t p = {topic, 0, 31, 1 << 20, -1};
    assert_int_equal(fetch(h, fd, 11, &p, 1, 1, 0, 1 << 20, &r), 0);
    int64_t first, last;
    assert_int_equal(count_records(only_part(&r)->records, &first, &last), 150);
    assert_int_equal(first, 30);
    assert_int_equal(last, 179);
    reply_free(&r);
    /* Two batches. */
    p.offset = 3;
    p.max_bytes = 7000;
    assert_int_equal(fetch(h, fd, 11, &p, 1, 1, 0, 1 << 20, &r), 0);
    assert_int_equal(count_records(only_part(&r)->records, &first, &last), 6);
    assert_int_equal(first, 3);
    reply_free(&r);
    close(fd);
}

static void test_mapped_and_sent_ranges(void **state)
{
    harness_t *h = *state;
    fetch_from_middle(h, "mapped");
    size_t step = broker_seg_map_step;
    broker_seg_map_step = (size_t)1 << 62;
    fetch_from_middle(h, "unmappable");
    broker_seg_map_step = step;
}

/* A fetch that waits for data is woken by an append long before its
 * max_wait (30 s) would answer it; every fetch parked on the partition
 * wakes. */
static void test_long_poll_wakes(void **state)
{
    harness_t *h = *state;
    assert_int_equal(topic_make(h, "poll", 1), 0);
    int fds[3];
    int32_t corr[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = harness_connect(h);
        proto_arena_t a;
        proto_arena_init(&a);
        proto_fetch_request_t req;
        fpart_t p = {"poll", 0, 0, 1 << 20, -1};
        build_req(h, &req, &a, (int16_t)(10 + i), &p, 1, 1, 30000, 1 << 20);
        corr[i] = harness_send(fds[i], PROTO_API_FETCH, (int16_t)(10 + i), &req);
        proto_arena_destroy(&a);
        assert_true(corr[i] > 0);
    }
    assert_true(wait_parked(h, "poll", 0, 3));
    assert_true(append_batch(h, "poll", 0, 3, 5) >= 0);
    for (int i = 0; i < 3; i++) {
        fetch_reply_t r;
        proto_arena_init(&r.arena);
        r.frame = harness_recv(fds[i], PROTO_API_FETCH, (int16_t)(10 + i), corr[i], &r.resp,
                               &r.arena, 20000);
        assert_non_null(r.frame);
        assert_int_equal(count_records(only_part(&r)->records, NULL, NULL), 3);
        reply_free(&r);
        close(fds[i]);
    }
}

/* A fetch parked at the log end with data elsewhere below min_bytes. */
static void test_long_poll_parked_then_append(void **state)
{
    harness_t *h = *state;
    assert_int_equal(topic_make(h, "poll2", 1), 0);
    int fd = harness_connect(h);
    proto_arena_t a;
    proto_arena_init(&a);
    proto_fetch_request_t req;
    fpart_t p = {"poll2", 0, 0, 1 << 20, -1};
    build_req(h, &req, &a, 12, &p, 1, 1, 30000, 1 << 20);
    int32_t c1 = harness_send(fd, PROTO_API_FETCH, 12, &req);
    proto_arena_destroy(&a);
    assert_true(wait_parked(h, "poll2", 0, 1));
    assert_true(append_batch(h, "poll2", 0, 2, 5) >= 0);
    fetch_reply_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_recv(fd, PROTO_API_FETCH, 12, c1, &r.resp, &r.arena, 20000);
    assert_non_null(r.frame);
    assert_int_equal(count_records(only_part(&r)->records, NULL, NULL), 2);
    reply_free(&r);
    close(fd);
}

/* With less than min_bytes, max_wait answers with what there is. */
static void test_long_poll_times_out(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    fetch_reply_t r;
    fpart_t p = {"basic", 0, 4, 1 << 20, -1};
    assert_int_equal(fetch(h, fd, 11, &p, 1, 1 << 20, 20, 1 << 20, &r), 0);
    assert_int_equal(only_part(&r)->error_code, 0);
    assert_int_equal(count_records(only_part(&r)->records, NULL, NULL), 2);
    reply_free(&r);
    /* Nothing at all. */
    p.offset = 6;
    assert_int_equal(fetch(h, fd, 11, &p, 1, 1, 20, 1 << 20, &r), 0);
    assert_int_equal(only_part(&r)->records.len, 0);
    reply_free(&r);
    close(fd);
}

/* A connection closing under a parked fetch frees it (ASan checks the rest),
 * and a later append does not touch it. */
static void test_parked_then_closed(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    proto_arena_t a;
    proto_arena_init(&a);
    proto_fetch_request_t req;
    fpart_t p = {"basic", 0, 6, 1 << 20, -1};
    build_req(h, &req, &a, 12, &p, 1, 1, 30000, 1 << 20);
    assert_true(harness_send(fd, PROTO_API_FETCH, 12, &req) > 0);
    proto_arena_destroy(&a);
    assert_true(wait_parked(h, "basic", 0, 1));
    close(fd);
    assert_true(wait_parked(h, "basic", 0, 0));
    assert_true(append_batch(h, "basic", 0, 1, 5) >= 0);
}

static void delete_topic_cb(harness_t *h, void *arg)
{
    broker_topic_t *t = broker_topic_find(h->broker, proto_str_of(arg));
    char err[256];
    if (t) broker_topic_delete(h->broker, t, err, sizeof(err));
}

/* The topic of a parked fetch is deleted: the fetch wakes and answers
 * UNKNOWN_TOPIC_OR_PARTITION (it never keeps a partition across a wait). */
static void test_parked_topic_deleted(void **state)
{
    harness_t *h = *state;
    assert_int_equal(topic_make(h, "doomed", 1), 0);
    int fd = harness_connect(h);
    proto_arena_t a;
    proto_arena_init(&a);
    proto_fetch_request_t req;
    fpart_t p = {"doomed", 0, 0, 1 << 20, -1};
    build_req(h, &req, &a, 12, &p, 1, 1, 30000, 1 << 20);
    int32_t corr = harness_send(fd, PROTO_API_FETCH, 12, &req);
    proto_arena_destroy(&a);
    assert_true(wait_parked(h, "doomed", 0, 1));
    harness_on_loop(h, delete_topic_cb, (void *)"doomed");
    fetch_reply_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_recv(fd, PROTO_API_FETCH, 12, corr, &r.resp, &r.arena, 20000);
    assert_non_null(r.frame);
    assert_int_equal(only_part(&r)->error_code, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    reply_free(&r);
    close(fd);
}

/* read_committed: the last stable offset bounds reads; with no
 * transactions in flight it is the high watermark. */
static void test_read_committed(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    proto_arena_t a;
    proto_arena_init(&a);
    proto_fetch_request_t req;
    fpart_t p = {"basic", 0, 0, 1 << 20, -1};
    build_req(h, &req, &a, 11, &p, 1, 1, 0, 1 << 20);
    req.isolation_level = 1;
    fetch_reply_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_FETCH, 11, &req, &r.resp, &r.arena);
    proto_arena_destroy(&a);
    assert_non_null(r.frame);
    const part_data_t *pd = only_part(&r);
    assert_int_equal(pd->error_code, 0);
    assert_int_equal(pd->last_stable_offset, pd->high_watermark);
    assert_true(count_records(pd->records, NULL, NULL) > 0);
    reply_free(&r);
    close(fd);
}

/* Fetch versions below 4 are gone in Kafka 4: the connection closes. */
static void test_v3_refused(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    proto_wbuf_t w = {0};
    size_t at = proto_wbuf_skip(&w, 4);
    proto_put_i16(&w, PROTO_API_FETCH);
    proto_put_i16(&w, 3);
    proto_put_i32(&w, 5);
    proto_put_str(&w, proto_str_of("old"));
    proto_put_i32_at(&w, at, (int32_t)(w.len - 4));
    assert_int_equal(harness_send_all(fd, w.data, w.len), 0);
    proto_wbuf_free(&w);
    assert_true(harness_closed(fd, 5000));
    close(fd);
}

int main(void)
{
    (void)harness_restart;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_version),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_mapped_and_sent_ranges),
        cmocka_unit_test(test_not_leader),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_long_poll_wakes),
        cmocka_unit_test(test_long_poll_parked_then_append),
        cmocka_unit_test(test_long_poll_times_out),
        cmocka_unit_test(test_parked_then_closed),
        cmocka_unit_test(test_parked_topic_deleted),
        cmocka_unit_test(test_read_committed),
        cmocka_unit_test(test_v3_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
