/* Produce then Fetch, both through the protocol: a parked fetch wakes on a
 * real Produce, and what comes back is the produced records (compressed
 * batches as they were sent), at the offsets Produce reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker_harness.h"
#include "fetch_test_util.h"
#include "produce_test_util.h"

static harness_t H;

static int setup(void **state)
{
    harness_start(&H, NULL);
    assert_int_equal(topic_make(&H, "pf", 1), 0);
    *state = &H;
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    return 0;
}

static int32_t send_fetch(int fd, int16_t ver, const char *topic, int64_t offset, int32_t max_wait)
{
    proto_fetch_request_t req;
    proto_msg_init(&proto_fetch_request_desc, &req);
    req.max_wait_ms = max_wait;
    req.min_bytes = 1;
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
    return harness_send(fd, PROTO_API_FETCH, ver, &req);
}

static void test_produce_wakes_fetch(void **state)
{
    harness_t *h = *state;
    int consumer = harness_connect(h), producer = harness_connect(h);
    int32_t corr = send_fetch(consumer, 12, "pf", 0, 30000);
    assert_true(corr > 0);
    assert_true(wait_parked(h, "pf", 0, 1));
    batch_opts_t o = BATCH_OPTS_INIT;
    o.records = 5;
    o.codec = PROTO_CODEC_ZSTD;
    produce_result_t pr = produce_batch(producer, 9, "pf", 0, &o);
    assert_int_equal(pr.error_code, 0);
    assert_int_equal(pr.base_offset, 0);

    proto_fetch_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *f = harness_recv(consumer, PROTO_API_FETCH, 12, corr, &resp, &a, 20000);
    assert_non_null(f);
    const proto_fetch_response_partition_data_t *pd = &resp.responses.v[0].partitions.v[0];
    assert_int_equal(pd->error_code, 0);
    assert_int_equal(pd->high_watermark, 5);
    int64_t first, last;
    assert_int_equal(count_records(pd->records, &first, &last), 5);
    assert_int_equal(first, 0);
    assert_int_equal(last, 4);
    /* The batch comes back as stored: still zstd-compressed. */
    proto_batch_header_t bh;
    assert_int_equal(
        proto_batch_header_parse(pd->records.ptr, (size_t)pd->records.len, &bh, NULL, 0), 0);
    assert_int_equal(bh.attributes & PROTO_BATCH_ATTR_CODEC_MASK, PROTO_CODEC_ZSTD);
    free(f);
    proto_arena_destroy(&a);

    /* More produces, then one fetch from the middle of the first batch:
     * the batch holding the offset comes first (clients skip below). */
    o.codec = PROTO_CODEC_NONE;
    o.records = 3;
    assert_int_equal(produce_batch(producer, 9, "pf", 0, &o).base_offset, 5);
    corr = send_fetch(consumer, 11, "pf", 3, 0);
    proto_arena_init(&a);
    f = harness_recv(consumer, PROTO_API_FETCH, 11, corr, &resp, &a, 20000);
    assert_non_null(f);
    pd = &resp.responses.v[0].partitions.v[0];
    assert_int_equal(pd->high_watermark, 8);
    assert_true(count_records(pd->records, &first, &last) >= 5);
    assert_int_equal(first, 0);
    free(f);
    proto_arena_destroy(&a);
    close(consumer);
    close(producer);
}

int main(void)
{
    (void)harness_restart;
    (void)harness_closed;
    (void)produce_one;
    (void)init_producer_id;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_produce_wakes_fetch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
