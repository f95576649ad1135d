/* Produce through the protocol: offsets, acks, every version, and the errors
 * Kafka answers with (bad acks, unknown partitions, another leader, bad
 * records, zstd before v7, size limits, transactional batches), plus
 * LogAppendTime topics and flush-before-ack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker_harness.h"
#include "kc/kc_err.h"
#include "produce_test_util.h"

static int setup(void **state)
{
    static harness_t h;
    static const char *const overrides[] = {"num.partitions=2", NULL};
    harness_start(&h, overrides);
    *state = &h;
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    return 0;
}

static void test_offsets_and_versions(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    batch_opts_t o = BATCH_OPTS_INIT;
    o.records = 3;
    int64_t expect = 0;
    for (int16_t v = 3; v <= 12; v++) {
        produce_result_t r = produce_batch(fd, v, "offsets", 0, &o);
        assert_true(r.got_response);
        assert_int_equal(r.error_code, 0);
        assert_int_equal(r.base_offset, expect);
        assert_int_equal(r.log_append_time_ms, -1);
        if (v >= 5) assert_int_equal(r.log_start_offset, 0);
        expect += 3;
    }
    /* The other partition has its own offsets. */
    assert_int_equal(produce_one(fd, "offsets", 1), 0);
    assert_int_equal(produce_one(fd, "offsets", 0), expect);
    close(fd);
}

static void test_acks_zero(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    assert_int_equal(produce_one(fd, "acks0", 0), 0);
    batch_opts_t o = BATCH_OPTS_INIT;
    o.records = 4;
    proto_wbuf_t w = {0};
    build_batch(&w, &o);
    produce_raw(fd, 9, 0, "acks0", 0, w.data, (int32_t)w.len);
    proto_wbuf_free(&w);
    /* No answer to the acks=0 request: the next frame is the next answer,
     * and it shows the four records were appended. */
    assert_int_equal(produce_one(fd, "acks0", 0), 5);
    close(fd);
}

static void test_acks_zero_error_closes(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    batch_opts_t o = BATCH_OPTS_INIT;
    proto_wbuf_t w = {0};
    build_batch(&w, &o);
    produce_raw(fd, 9, 0, "acks0err", 7, w.data, (int32_t)w.len);
    proto_wbuf_free(&w);
    assert_true(harness_closed(fd, 5000));
    close(fd);
}

static void test_invalid_acks(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    batch_opts_t o = BATCH_OPTS_INIT;
    proto_wbuf_t w = {0};
    build_batch(&w, &o);
    produce_result_t r = produce_raw(fd, 9, 2, "badacks", 0, w.data, (int32_t)w.len);
    assert_int_equal(r.error_code, KC_ERR_INVALID_REQUIRED_ACKS);
    assert_int_equal(r.base_offset, -1);
    r = produce_raw(fd, 9, -1, "badacks", 0, w.data, (int32_t)w.len);
    assert_int_equal(r.error_code, 0);
    proto_wbuf_free(&w);
    close(fd);
}

static void test_unknown_partition_and_auto_create(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    assert_int_equal(produce_one(fd, "autocreated", 0), 0); /* created on the fly */
    assert_int_equal(produce_one(fd, "autocreated", 2), -KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(produce_one(fd, "autocreated", -1), -KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(produce_one(fd, "bad/name", 0), -KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    close(fd);
}

static void test_no_auto_create(void **state)
{
    (void)state;
    harness_t h;
    static const char *const overrides[] = {"auto.create.topics.enable=false", NULL};
    harness_start(&h, overrides);
    int fd = harness_connect(&h);
    assert_int_equal(produce_one(fd, "absent", 0), -KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    close(fd);
    harness_stop(&h);
}

static void test_not_leader(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    assert_int_equal(produce_one(fd, "moved", 0), 0);
    /* Another node leads partition 1 now (as in the mock cluster). The loop
     * is idle between requests, so the test may change it. */
    broker_partition_t *p = broker_partition_find(h->broker, proto_str_of("moved"), 1);
    assert_non_null(p);
    int32_t was = p->leader_id;
    p->leader_id = was + 5;
    batch_opts_t o = BATCH_OPTS_INIT;
    produce_result_t r = produce_batch(fd, 10, "moved", 1, &o);
    assert_int_equal(r.error_code, KC_ERR_NOT_LEADER_OR_FOLLOWER);
    assert_int_equal(r.leader_id, was + 5);
    p->leader_id = was;
    assert_int_equal(produce_one(fd, "moved", 1), 0);
    close(fd);
}

static void test_bad_records(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    batch_opts_t o = BATCH_OPTS_INIT;
    proto_wbuf_t w = {0};
    build_batch(&w, &o);
    /* Two batches. */
    size_t one = w.len;
    proto_put_raw(&w, w.data, one);
    produce_result_t r = produce_raw(fd, 9, 1, "bad", 0, w.data, (int32_t)w.len);
    assert_int_equal(r.error_code, KC_ERR_INVALID_RECORD);
    /* None. */
    r = produce_raw(fd, 9, 1, "bad", 0, w.data, 0);
    assert_int_equal(r.error_code, KC_ERR_INVALID_RECORD);
    /* A damaged CRC. */
    w.len = one;
    w.data[one - 1] ^= 0x5a;
    r = produce_raw(fd, 9, 1, "bad", 0, w.data, (int32_t)w.len);
    assert_int_equal(r.error_code, KC_ERR_CORRUPT_MESSAGE);
    /* Magic 1. */
    build_batch(&w, &o);
    w.data[PROTO_BATCH_MAGIC_OFFSET] = 1;
    r = produce_raw(fd, 9, 1, "bad", 0, w.data, (int32_t)w.len);
    assert_true(r.error_code == KC_ERR_INVALID_RECORD || r.error_code == KC_ERR_CORRUPT_MESSAGE);
    proto_wbuf_free(&w);
    /* Nothing of that was appended. */
    assert_int_equal(produce_one(fd, "bad", 0), 0);
    close(fd);
}

static void test_zstd_needs_v7(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    batch_opts_t o = BATCH_OPTS_INIT;
    o.codec = PROTO_CODEC_ZSTD;
    o.records = 10;
    produce_result_t r = produce_batch(fd, 6, "zstd", 0, &o);
    assert_int_equal(r.error_code, KC_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    r = produce_batch(fd, 7, "zstd", 0, &o);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(r.base_offset, 0);
    o.codec = PROTO_CODEC_GZIP;
    r = produce_batch(fd, 3, "zstd", 0, &o);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(r.base_offset, 10);
    close(fd);
}

static void test_transactional_rejected(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    batch_opts_t o = BATCH_OPTS_INIT;
    o.producer_id = 1;
    o.producer_epoch = 0;
    o.base_sequence = 0;
    o.attributes = PROTO_BATCH_ATTR_TRANSACTIONAL;
    produce_result_t r = produce_batch(fd, 9, "txn", 0, &o);
    assert_int_equal(r.error_code, KC_ERR_INVALID_PRODUCER_ID_MAPPING);
    assert_int_equal(produce_one(fd, "txn", 0), 0);
    close(fd);
}

static void test_v2_closes(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    /* A v2 header and a v3-shaped body: the broker closes before decoding. */
    batch_opts_t o = BATCH_OPTS_INIT;
    proto_wbuf_t w = {0};
    build_batch(&w, &o);
    proto_produce_request_t req;
    proto_msg_init(&proto_produce_request_desc, &req);
    proto_produce_request_partition_produce_data_t pd = {.index = 0,
                                                         .records = {w.data, (int32_t)w.len}};
    proto_produce_request_topic_produce_data_t td = {.name = proto_str_of("old")};
    td.partition_data.v = &pd;
    td.partition_data.n = 1;
    req.acks = 1;
    req.topic_data.v = &td;
    req.topic_data.n = 1;
    proto_wbuf_t f = {0};
    size_t at = proto_wbuf_skip(&f, 4);
    proto_req_header_t hdr = {.api_key = PROTO_API_PRODUCE,
                              .api_version = 2,
                              .correlation_id = 5,
                              .client_id = proto_str_of("old-client")};
    proto_req_header_encode(&f, &hdr);
    char err[256];
    assert_int_equal(proto_request_encode(PROTO_API_PRODUCE, 3, &req, &f, err, sizeof(err)), 0);
    proto_put_i32_at(&f, at, (int32_t)(f.len - 4));
    assert_int_equal(harness_send_all(fd, f.data, f.len), 0);
    assert_true(harness_closed(fd, 5000));
    proto_wbuf_free(&f);
    proto_wbuf_free(&w);
    close(fd);
}

static void test_several_partitions_in_order(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    assert_int_equal(produce_one(fd, "multi", 0), 0);
    batch_opts_t o = BATCH_OPTS_INIT;
    proto_wbuf_t w = {0};
    build_batch(&w, &o);
    proto_produce_request_t req;
    proto_msg_init(&proto_produce_request_desc, &req);
    proto_produce_request_partition_produce_data_t pd[3] = {
        {.index = 1, .records = {w.data, (int32_t)w.len}},
        {.index = 0, .records = {w.data, (int32_t)w.len}},
        {.index = 9, .records = {w.data, (int32_t)w.len}},
    };
    proto_produce_request_topic_produce_data_t td = {.name = proto_str_of("multi")};
    td.partition_data.v = pd;
    td.partition_data.n = 3;
    req.acks = -1;
    req.timeout_ms = 1000;
    req.topic_data.v = &td;
    req.topic_data.n = 1;
    proto_produce_response_t resp;
    proto_arena_t arena;
    proto_arena_init(&arena);
    uint8_t *frame = harness_call(fd, PROTO_API_PRODUCE, 11, &req, &resp, &arena);
    assert_non_null(frame);
    assert_int_equal(resp.responses.n, 1);
    assert_int_equal(resp.responses.v[0].partition_responses.n, 3);
    const proto_produce_response_partition_produce_response_t *p =
        resp.responses.v[0].partition_responses.v;
    assert_int_equal(p[0].index, 1);
    assert_int_equal(p[0].error_code, 0);
    assert_int_equal(p[0].base_offset, 0);
    assert_int_equal(p[1].index, 0);
    assert_int_equal(p[1].error_code, 0);
    assert_int_equal(p[1].base_offset, 1);
    assert_int_equal(p[2].index, 9);
    assert_int_equal(p[2].error_code, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    free(frame);
    proto_arena_destroy(&arena);
    proto_wbuf_free(&w);
    close(fd);
}

static void test_message_too_large(void **state)
{
    (void)state;
    harness_t h;
    static const char *const overrides[] = {"message.max.bytes=2000", NULL};
    harness_start(&h, overrides);
    int fd = harness_connect(&h);
    batch_opts_t o = BATCH_OPTS_INIT;
    o.value_size = 3000;
    produce_result_t r = produce_batch(fd, 9, "big", 0, &o);
    assert_int_equal(r.error_code, KC_ERR_MESSAGE_TOO_LARGE);
    broker_topic_t *t = broker_topic_find(h.broker, proto_str_of("big"));
    assert_non_null(t);
    char err[256];
    assert_int_equal(
        broker_topic_conf_set(h.broker, t, "max.message.bytes", "10000", err, sizeof(err)), 0);
    r = produce_batch(fd, 9, "big", 0, &o);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(r.base_offset, 0);
    close(fd);
    harness_stop(&h);
}

/* Reads the stored header of the batch at offset. */
static void stored_batch(harness_t *h, const char *topic, int64_t offset, uint8_t *buf, size_t cap,
                         size_t *len)
{
    broker_partition_t *p = broker_partition_find(h->broker, proto_str_of(topic), 0);
    assert_non_null(p);
    broker_log_range_t range;
    memset(&range, 0, sizeof(range));
    char err[256];
    assert_int_equal(broker_log_read(p->log, offset, -1, cap, &range, err, sizeof(err)), 0);
    int64_t n = broker_log_range_copy(&range, 0, buf, cap, err, sizeof(err));
    broker_log_range_release(&range);
    assert_true(n >= PROTO_BATCH_HEADER_SIZE);
    *len = (size_t)n;
}

static void test_log_append_time(void **state)
{
    (void)state;
    harness_t h;
    static const char *const overrides[] = {"log.message.timestamp.type=LogAppendTime", NULL};
    harness_start(&h, overrides);
    int fd = harness_connect(&h);
    batch_opts_t o = BATCH_OPTS_INIT;
    o.records = 2;
    produce_result_t r = produce_batch(fd, 9, "lat", 0, &o);
    assert_int_equal(r.error_code, 0);
    assert_true(r.log_append_time_ms > 1700000000001LL);
    uint8_t buf[4096];
    size_t len;
    stored_batch(&h, "lat", 0, buf, sizeof(buf), &len);
    proto_batch_header_t bh;
    assert_int_equal(proto_batch_header_parse(buf, len, &bh, NULL, 0), 0);
    assert_true(bh.attributes & PROTO_BATCH_ATTR_LOG_APPEND_TIME);
    assert_int_equal(bh.max_timestamp, r.log_append_time_ms);
    assert_int_equal(proto_batch_verify_crc(buf, proto_batch_size(&bh)), 0);
    /* A topic override wins over the broker's setting. */
    broker_topic_t *t = broker_topic_find(h.broker, proto_str_of("lat"));
    char err[256];
    assert_int_equal(broker_topic_conf_set(h.broker, t, "message.timestamp.type", "CreateTime", err,
                                           sizeof(err)),
                     0);
    r = produce_batch(fd, 9, "lat", 0, &o);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(r.log_append_time_ms, -1);
    close(fd);
    harness_stop(&h);
}

static void test_flush_before_ack(void **state)
{
    (void)state;
    harness_t h;
    static const char *const overrides[] = {"log.flush.interval.messages=1", NULL};
    harness_start(&h, overrides);
    int fd = harness_connect(&h);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(produce_one(fd, "durable", 0), i);
        broker_partition_t *p = broker_partition_find(h.broker, proto_str_of("durable"), 0);
        broker_log_offsets_t off;
        broker_log_offsets(p->log, &off);
        assert_int_equal(off.flushed, i + 1); /* on disk before the ack */
    }
    close(fd);
    harness_stop(&h);
}

/* ---- Storage errors: a log whose appends or flushes fail ---------------------- */

static broker_log_t *failing_log;
static int fail_flush;
static broker_log_ops_t faulty_ops;
static const broker_log_ops_t *real_ops;

static int faulty_append(broker_log_t *log, void *data, size_t len, int64_t now_ms,
                         broker_log_append_info_t *info, char *errstr, size_t errstr_size)
{
    if (log == failing_log && !fail_flush) {
        snprintf(errstr, errstr_size, "injected write failure");
        return KC_ERR_KAFKA_STORAGE_ERROR;
    }
    return real_ops->append(log, data, len, now_ms, info, errstr, errstr_size);
}

static int faulty_flush_end(broker_log_t *log, broker_log_flush_t *ticket, int run_result,
                            int64_t *flushed_offset)
{
    if (log == failing_log && fail_flush) run_result = KC_ERR_KAFKA_STORAGE_ERROR;
    return real_ops->flush_end(log, ticket, run_result, flushed_offset);
}

/* Gives p's log the faulty operations (the loop is idle between requests). */
static void make_faulty(harness_t *h, const char *topic, int32_t partition, int flush)
{
    broker_partition_t *p = broker_partition_find(h->broker, proto_str_of(topic), partition);
    assert_non_null(p);
    real_ops = p->log->ops;
    faulty_ops = *real_ops;
    faulty_ops.append = faulty_append;
    faulty_ops.flush_end = faulty_flush_end;
    p->log->ops = &faulty_ops;
    failing_log = p->log;
    fail_flush = flush;
}

static void test_storage_error_on_append(void **state)
{
    (void)state;
    harness_t h;
    static const char *const overrides[] = {"num.partitions=2", NULL};
    harness_start(&h, overrides);
    int fd = harness_connect(&h);
    assert_int_equal(produce_one(fd, "disk", 0), 0);
    assert_int_equal(produce_one(fd, "disk", 1), 0);
    make_faulty(&h, "disk", 0, 0);
    assert_int_equal(produce_one(fd, "disk", 0), -KC_ERR_KAFKA_STORAGE_ERROR);
    /* The other partition goes on. */
    assert_int_equal(produce_one(fd, "disk", 1), 1);
    failing_log = NULL;
    assert_int_equal(produce_one(fd, "disk", 0), 1);
    close(fd);
    harness_stop(&h);
}

static void test_storage_error_on_flush(void **state)
{
    (void)state;
    harness_t h;
    static const char *const overrides[] = {"num.partitions=2", "log.flush.interval.messages=1",
                                            NULL};
    harness_start(&h, overrides);
    int fd = harness_connect(&h);
    assert_int_equal(produce_one(fd, "fsync", 0), 0);
    assert_int_equal(produce_one(fd, "fsync", 1), 0);
    make_faulty(&h, "fsync", 0, 1);
    /* Appended but not durable: the ack must not claim success. */
    assert_int_equal(produce_one(fd, "fsync", 0), -KC_ERR_KAFKA_STORAGE_ERROR);
    assert_int_equal(produce_one(fd, "fsync", 1), 1);
    close(fd);
    failing_log = NULL;
    harness_stop(&h);
}

int main(void)
{
    (void)harness_restart; /* the harness's, unused here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_and_versions),
        cmocka_unit_test(test_acks_zero),
        cmocka_unit_test(test_acks_zero_error_closes),
        cmocka_unit_test(test_invalid_acks),
        cmocka_unit_test(test_unknown_partition_and_auto_create),
        cmocka_unit_test(test_not_leader),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_zstd_needs_v7),
        cmocka_unit_test(test_transactional_rejected),
        cmocka_unit_test(test_v2_closes),
        cmocka_unit_test(test_several_partitions_in_order),
    };
    const struct CMUnitTest alone[] = {
        cmocka_unit_test(test_no_auto_create),
        cmocka_unit_test(test_message_too_large),
        cmocka_unit_test(test_log_append_time),
        cmocka_unit_test(test_flush_before_ack),
        cmocka_unit_test(test_storage_error_on_append),
        cmocka_unit_test(test_storage_error_on_flush),
    };
    int failed = cmocka_run_group_tests_name("produce", tests, setup, teardown);
    failed += cmocka_run_group_tests_name("produce-own-broker", alone, NULL, NULL);
    return failed;
}
