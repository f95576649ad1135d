/* ListOffsets (every special timestamp, lookups by time at record
 * granularity, compressed batches), OffsetForLeaderEpoch, and DeleteRecords
 * (the new start answers fetches below it with OFFSET_OUT_OF_RANGE, wakes
 * parked fetches, and survives a restart), through the protocol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker_harness.h"
#include "fetch_test_util.h"

typedef proto_list_offsets_response_list_offsets_partition_response_t lo_part_t;

typedef struct lo_reply {
    proto_list_offsets_response_t resp;
    proto_arena_t arena;
    uint8_t *frame;
} lo_reply_t;

static const lo_part_t *list_offsets(int fd, int16_t ver, const char *topic, int32_t partition,
                                     int64_t ts, int32_t epoch, int8_t isolation, lo_reply_t *out)
{
    proto_list_offsets_request_t req;
    proto_msg_init(&proto_list_offsets_request_desc, &req);
    req.replica_id = -1;
    req.isolation_level = isolation;
    proto_list_offsets_request_list_offsets_partition_t p;
    proto_struct_init(&proto_list_offsets_request_list_offsets_partition_sdesc, &p);
    p.partition_index = partition;
    p.timestamp = ts;
    if (ver >= 4) p.current_leader_epoch = epoch;
    proto_list_offsets_request_list_offsets_topic_t t;
    proto_struct_init(&proto_list_offsets_request_list_offsets_topic_sdesc, &t);
    t.name = proto_str_of(topic);
    t.partitions.v = &p;
    t.partitions.n = 1;
    req.topics.v = &t;
    req.topics.n = 1;
    proto_arena_init(&out->arena);
    out->frame = harness_call(fd, PROTO_API_LIST_OFFSETS, ver, &req, &out->resp, &out->arena);
    assert_non_null(out->frame);
    assert_int_equal(out->resp.topics.n, 1);
    assert_int_equal(out->resp.topics.v[0].partitions.n, 1);
    return &out->resp.topics.v[0].partitions.v[0];
}

static void lo_free(lo_reply_t *r)
{
    free(r->frame);
    proto_arena_destroy(&r->arena);
}

static harness_t H;

/* "ts": batch 1 records at 100, 200, 300; batch 2 (gzip) at 400, 500, 450.
 * Offsets 0..5. */
static int setup(void **state)
{
    harness_start(&H, NULL);
    assert_int_equal(topic_make(&H, "ts", 1), 0);
    static const int64_t t1[3] = {100, 200, 300}, t2[3] = {400, 500, 450};
    assert_int_equal(append_batch_ts(&H, "ts", 0, 3, t1, PROTO_CODEC_NONE), 0);
    assert_int_equal(append_batch_ts(&H, "ts", 0, 3, t2, PROTO_CODEC_GZIP), 3);
    assert_int_equal(topic_make(&H, "empty", 1), 0);
    *state = &H;
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    return 0;
}

static void test_special_timestamps(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    for (int16_t v = 1; v <= 10; v++) {
        lo_reply_t r;
        const lo_part_t *p = list_offsets(fd, v, "ts", 0, -2, -1, 0, &r);
        assert_int_equal(p->error_code, 0);
        assert_int_equal(p->offset, 0);
        assert_int_equal(p->timestamp, -1);
        if (v >= 4) assert_int_equal(p->leader_epoch, 0);
        lo_free(&r);
        p = list_offsets(fd, v, "ts", 0, -1, -1, v >= 2 ? 1 : 0, &r);
        assert_int_equal(p->error_code, 0);
        assert_int_equal(p->offset, 6);
        lo_free(&r);
        if (v >= 7) { /* KIP-734: the record with the largest timestamp */
            p = list_offsets(fd, v, "ts", 0, -3, -1, 0, &r);
            assert_int_equal(p->error_code, 0);
            assert_int_equal(p->offset, 4);
            assert_int_equal(p->timestamp, 500);
            lo_free(&r);
        }
        if (v >= 8) { /* -4: earliest local = earliest without tiered storage */
            p = list_offsets(fd, v, "ts", 0, -4, -1, 0, &r);
            assert_int_equal(p->offset, 0);
            lo_free(&r);
        }
        if (v >= 9) { /* -5: latest tiered: nothing is tiered */
            p = list_offsets(fd, v, "ts", 0, -5, -1, 0, &r);
            assert_int_equal(p->error_code, 0);
            assert_int_equal(p->offset, -1);
            lo_free(&r);
        }
    }
    /* Empty partition: earliest = latest = 0; max timestamp: none. */
    lo_reply_t r;
    assert_int_equal(list_offsets(fd, 7, "empty", 0, -2, -1, 0, &r)->offset, 0);
    lo_free(&r);
    assert_int_equal(list_offsets(fd, 7, "empty", 0, -1, -1, 0, &r)->offset, 0);
    lo_free(&r);
    assert_int_equal(list_offsets(fd, 7, "empty", 0, -3, -1, 0, &r)->offset, -1);
    lo_free(&r);
    close(fd);
}

/* By time: the first RECORD at or after the target, not the batch. */
static void test_by_time_record_granularity(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    static const struct {
        int64_t ts, offset, found_ts;
    } cases[] = {
        {0, 0, 100},   {100, 0, 100}, {150, 1, 200}, {200, 1, 200},
        {250, 2, 300}, {300, 2, 300}, {301, 3, 400}, {420, 4, 500}, /* compressed batch */
        {460, 4, 500}, {500, 4, 500}, {501, -1, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lo_reply_t r;
        const lo_part_t *p = list_offsets(fd, 5, "ts", 0, cases[i].ts, -1, 0, &r);
        assert_int_equal(p->error_code, 0);
        if (p->offset != cases[i].offset || p->timestamp != cases[i].found_ts)
            fail_msg("ts %lld: offset %lld ts %lld, want %lld %lld", (long long)cases[i].ts,
                     (long long)p->offset, (long long)p->timestamp, (long long)cases[i].offset,
                     (long long)cases[i].found_ts);
        assert_int_equal(p->leader_epoch, cases[i].offset >= 0 ? 0 : -1);
        lo_free(&r);
    }
    close(fd);
}

static void test_list_offsets_errors(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    lo_reply_t r;
    assert_int_equal(list_offsets(fd, 7, "nosuch", 0, -1, -1, 0, &r)->error_code,
                     KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    lo_free(&r);
    assert_int_equal(list_offsets(fd, 7, "ts", 0, -1, 1, 0, &r)->error_code,
                     KC_ERR_UNKNOWN_LEADER_EPOCH);
    lo_free(&r);
    assert_int_equal(topic_make(h, "led", 1), 0);
    leader_set(h, "led", 0, 777, 0);
    assert_int_equal(list_offsets(fd, 7, "led", 0, -1, -1, 0, &r)->error_code,
                     KC_ERR_NOT_LEADER_OR_FOLLOWER);
    lo_free(&r);
    leader_set(h, "led", 0, h->broker->nodes[0].id, 2);
    assert_int_equal(list_offsets(fd, 7, "led", 0, -1, 1, 0, &r)->error_code,
                     KC_ERR_FENCED_LEADER_EPOCH);
    lo_free(&r);
    close(fd);
}

static int16_t ofle(int fd, int16_t ver, const char *topic, int32_t epoch, int32_t current,
                    int32_t *out_epoch, int64_t *end)
{
    proto_offset_for_leader_epoch_request_t req;
    proto_msg_init(&proto_offset_for_leader_epoch_request_desc, &req);
    proto_offset_for_leader_epoch_request_offset_for_leader_partition_t p;
    proto_struct_init(&proto_offset_for_leader_epoch_request_offset_for_leader_partition_sdesc, &p);
    p.partition = 0;
    p.leader_epoch = epoch;
    p.current_leader_epoch = current;
    proto_offset_for_leader_epoch_request_offset_for_leader_topic_t t;
    proto_struct_init(&proto_offset_for_leader_epoch_request_offset_for_leader_topic_sdesc, &t);
    t.topic = proto_str_of(topic);
    t.partitions.v = &p;
    t.partitions.n = 1;
    req.topics.v = &t;
    req.topics.n = 1;
    proto_offset_for_leader_epoch_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *f = harness_call(fd, PROTO_API_OFFSET_FOR_LEADER_EPOCH, ver, &req, &resp, &a);
    assert_non_null(f);
    const proto_offset_for_leader_epoch_response_epoch_end_offset_t *e =
        &resp.topics.v[0].partitions.v[0];
    int16_t err = e->error_code;
    *out_epoch = e->leader_epoch;
    *end = e->end_offset;
    free(f);
    proto_arena_destroy(&a);
    return err;
}

static void test_offset_for_leader_epoch(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    for (int16_t v = 2; v <= 4; v++) {
        int32_t e;
        int64_t end;
        assert_int_equal(ofle(fd, v, "ts", 0, -1, &e, &end), 0);
        assert_int_equal(e, 0);
        assert_int_equal(end, 6);
        assert_int_equal(ofle(fd, v, "ts", 0, 0, &e, &end), 0);
        assert_int_equal(end, 6);
        /* Epochs the cache never saw: UNDEFINED, no error. */
        assert_int_equal(ofle(fd, v, "ts", 3, -1, &e, &end), 0);
        assert_int_equal(e, -1);
        assert_int_equal(end, -1);
        assert_int_equal(ofle(fd, v, "ts", 0, 1, &e, &end), KC_ERR_UNKNOWN_LEADER_EPOCH);
        assert_int_equal(ofle(fd, v, "nosuch", 0, -1, &e, &end), KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    }
    close(fd);
}

static int16_t delete_records(int fd, int16_t ver, const char *topic, int64_t offset, int64_t *low)
{
    proto_delete_records_request_t req;
    proto_msg_init(&proto_delete_records_request_desc, &req);
    proto_delete_records_request_delete_records_partition_t p = {.partition_index = 0,
                                                                 .offset = offset};
    proto_delete_records_request_delete_records_topic_t t = {.name = proto_str_of(topic),
                                                             .partitions = {.v = &p, .n = 1}};
    req.topics.v = &t;
    req.topics.n = 1;
    req.timeout_ms = 1000;
    proto_delete_records_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *f = harness_call(fd, PROTO_API_DELETE_RECORDS, ver, &req, &resp, &a);
    assert_non_null(f);
    int16_t err = resp.topics.v[0].partitions.v[0].error_code;
    *low = resp.topics.v[0].partitions.v[0].low_watermark;
    free(f);
    proto_arena_destroy(&a);
    return err;
}

/* Fetch v11 of one partition: the partition's error code, records in *n. */
static int16_t fetch_one(harness_t *h, int fd, const char *topic, int64_t offset, int32_t max_wait,
                         int32_t min_bytes, int send_only, int32_t *corr)
{
    (void)h;
    proto_fetch_request_t req;
    proto_msg_init(&proto_fetch_request_desc, &req);
    req.max_wait_ms = max_wait;
    req.min_bytes = min_bytes;
    proto_fetch_request_fetch_partition_t p;
    proto_struct_init(&proto_fetch_request_fetch_partition_sdesc, &p);
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    proto_fetch_request_fetch_topic_t t;
    proto_struct_init(&proto_fetch_request_fetch_topic_sdesc, &t);
    t.topic = proto_str_of(topic);
    t.partitions.v = &p;
    t.partitions.n = 1;
    req.topics.v = &t;
    req.topics.n = 1;
    *corr = harness_send(fd, PROTO_API_FETCH, 11, &req);
    if (send_only) return 0;
    proto_fetch_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *f = harness_recv(fd, PROTO_API_FETCH, 11, *corr, &resp, &a, 20000);
    assert_non_null(f);
    int16_t err = resp.responses.v[0].partitions.v[0].error_code;
    free(f);
    proto_arena_destroy(&a);
    return err;
}

static void test_delete_records(void **state)
{
    harness_t *h = *state;
    assert_int_equal(topic_make(h, "del", 1), 0);
    for (int i = 0; i < 4; i++)
        assert_true(append_batch(h, "del", 0, 2, 10) >= 0); /* offsets 0..7 */
    int fd = harness_connect(h);
    int64_t low;
    /* A fetch parked at offset 1, waiting for more than there is. */
    int fd2 = harness_connect(h);
    int32_t corr;
    fetch_one(h, fd2, "del", 1, 30000, 1 << 24, 1, &corr);
    assert_true(wait_parked(h, "del", 0, 1));

    assert_int_equal(delete_records(fd, 0, "del", 3, &low), 0);
    assert_int_equal(low, 3);
    /* The parked fetch woke and is below the start now. */
    proto_fetch_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *f = harness_recv(fd2, PROTO_API_FETCH, 11, corr, &resp, &a, 20000);
    assert_non_null(f);
    assert_int_equal(resp.responses.v[0].partitions.v[0].error_code, KC_ERR_OFFSET_OUT_OF_RANGE);
    free(f);
    proto_arena_destroy(&a);
    close(fd2);

    /* Lower than the start: nothing changes. Beyond the end: refused. */
    assert_int_equal(delete_records(fd, 1, "del", 2, &low), 0);
    assert_int_equal(low, 3);
    assert_int_equal(delete_records(fd, 2, "del", 9, &low), KC_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(delete_records(fd, 2, "nosuch", 1, &low), KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(fetch_one(h, fd, "del", 2, 0, 1, 0, &corr), KC_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(fetch_one(h, fd, "del", 3, 0, 1, 0, &corr), 0);
    lo_reply_t r;
    assert_int_equal(list_offsets(fd, 5, "del", 0, -2, -1, 0, &r)->offset, 3);
    lo_free(&r);
    /* -1: up to the high watermark. */
    assert_int_equal(delete_records(fd, 2, "del", -1, &low), 0);
    assert_int_equal(low, 8);
    close(fd);

    /* The start survives a restart. */
    harness_restart(h);
    fd = harness_connect(h);
    assert_int_equal(list_offsets(fd, 5, "del", 0, -2, -1, 0, &r)->offset, 8);
    lo_free(&r);
    assert_int_equal(fetch_one(h, fd, "del", 7, 0, 1, 0, &corr), KC_ERR_OFFSET_OUT_OF_RANGE);
    close(fd);
}

/* Compacted topics refuse DeleteRecords, as in Kafka. */
static void test_delete_records_compacted(void **state)
{
    harness_t *h = *state;
    assert_int_equal(topic_make_conf(h, "compacted", 1, "cleanup.policy", "compact"), 0);
    assert_true(append_batch(h, "compacted", 0, 2, 10) >= 0);
    int fd = harness_connect(h);
    int64_t low;
    assert_int_equal(delete_records(fd, 2, "compacted", 1, &low), KC_ERR_POLICY_VIOLATION);
    assert_int_equal(low, -1);
    close(fd);
}

int main(void)
{
    (void)harness_closed;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_special_timestamps),
        cmocka_unit_test(test_by_time_record_granularity),
        cmocka_unit_test(test_list_offsets_errors),
        cmocka_unit_test(test_offset_for_leader_epoch),
        cmocka_unit_test(test_delete_records),
        cmocka_unit_test(test_delete_records_compacted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
