/* The in-memory partition log (storage/log_mem.c): offsets, reads bounded
 * by bytes and offsets, ranges that outlive DeleteRecords, timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kc/kc_err.h"
#include "proto/proto_batch.h"
#include "proto/proto_buf.h"
#include "proto/proto_compress.h"
#include "storage/log_mem.h"

/* One batch of n records of vlen-byte values, timestamps ts0.. */
static void batch(proto_wbuf_t *w, int n, size_t vlen, int64_t ts0)
{
    proto_wbuf_t scratch = {0};
    proto_batch_builder_t bb;
    proto_batch_params_t params = PROTO_BATCH_PARAMS_INIT;
    proto_batch_builder_begin(&bb, w, &params);
    char *v = calloc(1, vlen + 1);
    for (int i = 0; i < n; i++)
        proto_batch_builder_append(&bb, ts0 + i, NULL, -1, v, (int32_t)vlen, NULL, 0);
    free(v);
    char err[128];
    assert_int_equal(
        proto_batch_builder_finish(&bb, PROTO_CODEC_NONE, -1, &scratch, err, sizeof(err)), 0);
    proto_wbuf_free(&scratch);
}

static int64_t append(broker_log_t *log, int n, size_t vlen, int64_t ts0, size_t *size)
{
    proto_wbuf_t w = {0};
    batch(&w, n, vlen, ts0);
    if (size) *size = w.len;
    broker_log_append_info_t info;
    char err[128];
    assert_int_equal(broker_log_append(log, w.data, w.len, 0, &info, err, sizeof(err)), 0);
    assert_int_equal(info.last_offset - info.base_offset + 1, n);
    proto_wbuf_free(&w);
    return info.base_offset;
}

static void test_append_read(void **state)
{
    (void)state;
    broker_log_t *log;
    assert_int_equal(broker_mem_log_open(&log, NULL, 0), 0);
    size_t s1, s2;
    assert_int_equal(append(log, 3, 10, 1000, &s1), 0);
    assert_int_equal(append(log, 2, 10, 2000, &s2), 3);
    broker_log_offsets_t o;
    broker_log_offsets(log, &o);
    assert_int_equal(o.start, 0);
    assert_int_equal(o.end, 5);
    assert_int_equal(o.flushed, 5);
    assert_int_equal(o.bytes, (int64_t)(s1 + s2));

    broker_log_range_t r;
    char err[128];
    /* From the middle of the first batch: the whole batch, then the next. */
    assert_int_equal(broker_log_read(log, 1, -1, 1 << 20, &r, err, sizeof(err)), 0);
    assert_int_equal(r.first_offset, 0);
    assert_int_equal(r.len, s1 + s2);
    assert_int_equal(r.fd, -1);
    proto_batch_header_t h;
    assert_int_equal(proto_batch_header_parse(r.mem + s1, s2, &h, err, sizeof(err)), 0);
    assert_int_equal(h.base_offset, 3); /* patched on append */
    broker_log_range_release(&r);
    /* KIP-74: max_bytes smaller than the first batch still returns it whole. */
    assert_int_equal(broker_log_read(log, 0, -1, 1, &r, err, sizeof(err)), 0);
    assert_int_equal(r.len, s1);
    broker_log_range_release(&r);
    /* max_bytes between the two batches' ends: whole batches only. */
    assert_int_equal(broker_log_read(log, 0, -1, s1 + s2 - 1, &r, err, sizeof(err)), 0);
    assert_int_equal(r.len, s1);
    broker_log_range_release(&r);
    assert_int_equal(broker_log_read(log, 0, -1, s1 + s2, &r, err, sizeof(err)), 0);
    assert_int_equal(r.len, s1 + s2);
    broker_log_range_release(&r);
    /* max_offset stops at a batch boundary. */
    assert_int_equal(broker_log_read(log, 0, 3, 1 << 20, &r, err, sizeof(err)), 0);
    assert_int_equal(r.len, s1);
    broker_log_range_release(&r);
    assert_int_equal(broker_log_read(log, 3, 3, 1 << 20, &r, err, sizeof(err)), 0);
    assert_int_equal(r.len, 0);
    /* The end is empty; past it is out of range. */
    assert_int_equal(broker_log_read(log, 5, -1, 1 << 20, &r, err, sizeof(err)), 0);
    assert_int_equal(r.len, 0);
    assert_int_equal(broker_log_read(log, 6, -1, 1 << 20, &r, err, sizeof(err)),
                     KC_ERR_OFFSET_OUT_OF_RANGE);
    broker_log_range_release(&r);

    /* Not whole batches: refused, nothing appended. */
    proto_wbuf_t w = {0};
    batch(&w, 1, 4, 0);
    broker_log_append_info_t info;
    assert_int_equal(broker_log_append(log, w.data, w.len - 1, 0, &info, err, sizeof(err)),
                     KC_ERR_CORRUPT_MESSAGE);
    proto_wbuf_free(&w);
    broker_log_offsets(log, &o);
    assert_int_equal(o.end, 5);
    assert_int_equal(broker_log_close(log, err, sizeof(err)), 0);
}

static void test_blocks_and_delete_records(void **state)
{
    (void)state;
    broker_log_t *log;
    assert_int_equal(broker_mem_log_open(&log, NULL, 0), 0);
    /* 100 KiB batches: several blocks. */
    for (int i = 0; i < 20; i++)
        assert_int_equal(append(log, 1, 100 * 1024, 5000 + i, NULL), i);
    broker_log_offsets_t o;
    broker_log_offsets(log, &o);
    assert_true(o.segments > 1);
    broker_log_range_t held;
    char err[128];
    assert_int_equal(broker_log_read(log, 0, -1, 1 << 30, &held, err, sizeof(err)), 0);
    assert_true(held.len >= 100 * 1024);
    /* A read never crosses a block: reading on from where it ended works. */
    int64_t at = 0;
    int reads = 0;
    while (at < 20) {
        broker_log_range_t r;
        assert_int_equal(broker_log_read(log, at, -1, 1 << 30, &r, err, sizeof(err)), 0);
        size_t pos = 0;
        while (pos < r.len) {
            proto_batch_header_t h;
            assert_int_equal(
                proto_batch_header_parse(r.mem + pos, r.len - pos, &h, err, sizeof(err)), 0);
            assert_int_equal(h.base_offset, at);
            at++;
            pos += proto_batch_size(&h);
        }
        broker_log_range_release(&r);
        reads++;
    }
    assert_true(reads > 1);

    assert_int_equal(broker_log_advance_start(log, 15, err, sizeof(err)), 0);
    assert_int_equal(broker_log_advance_start(log, 3, err, sizeof(err)), 0); /* never down */
    assert_int_equal(broker_log_advance_start(log, 21, err, sizeof(err)),
                     KC_ERR_OFFSET_OUT_OF_RANGE);
    broker_log_offsets(log, &o);
    assert_int_equal(o.start, 15);
    assert_true(o.bytes < 20 * 100 * 1024);
    broker_log_range_t r;
    assert_int_equal(broker_log_read(log, 14, -1, 1, &r, err, sizeof(err)),
                     KC_ERR_OFFSET_OUT_OF_RANGE);
    /* The range taken before still reads (ASan would catch a freed block). */
    proto_batch_header_t h;
    assert_int_equal(proto_batch_header_parse(held.mem, held.len, &h, err, sizeof(err)), 0);
    assert_int_equal(h.base_offset, 0);
    broker_log_range_release(&held);

    /* Timestamps: the first batch at or after, and the largest. */
    broker_log_ts_hit_t hit;
    assert_int_equal(broker_log_offset_for_time(log, 5017, &hit, err, sizeof(err)), 0);
    assert_int_equal(hit.offset, 17);
    assert_int_equal(broker_log_offset_for_time(log, 0, &hit, err, sizeof(err)), 0);
    assert_int_equal(hit.offset, 15); /* not below the start */
    assert_int_equal(broker_log_offset_for_time(log, BROKER_LOG_TS_MAX, &hit, err, sizeof(err)), 0);
    assert_int_equal(hit.offset, 19);
    assert_int_equal(hit.timestamp, 5019);
    assert_int_equal(broker_log_offset_for_time(log, 99999, &hit, err, sizeof(err)), 0);
    assert_int_equal(hit.offset, -1);

    /* Flush tickets: one at a time, covering the end. */
    broker_log_flush_t *t, *t2;
    assert_int_equal(broker_log_flush_begin(log, &t, err, sizeof(err)), 0);
    assert_int_equal(broker_log_flush_begin(log, &t2, err, sizeof(err)), KC_ERR__STATE);
    int64_t flushed = -1;
    assert_int_equal(
        broker_log_flush_end(log, t, broker_log_flush_run(t, err, sizeof(err)), &flushed), 0);
    assert_int_equal(flushed, 20);
    assert_int_equal(broker_log_close(log, err, sizeof(err)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_read),
        cmocka_unit_test(test_blocks_and_delete_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
