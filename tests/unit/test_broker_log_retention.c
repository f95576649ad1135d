/* Retention by time and size, DeleteRecords, and ListOffsets lookups on the
 * partition log. Clocks are parameters: nothing sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_broker_log_util.h"

static broker_log_offsets_t offsets(tlog_t *t)
{
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    return o;
}

static int retain(tlog_t *t, int64_t now)
{
    int deleted = -1;
    char err[256] = "";
    int rc = broker_log_retain(t->log, now, &deleted, err, sizeof(err));
    if (rc) fprintf(stderr, "retain: %s\n", err);
    assert_int_equal(rc, 0);
    return deleted;
}

static int64_t seg_bytes(tlog_t *t, int64_t base)
{
    char p[512];
    tlog_file_path(t, base, ".log", p, sizeof(p));
    return tlog_file_size(p);
}

static void test_retention_by_size(void **state)
{
    tlog_t *t = tlog_new(500, 0);
    for (int i = 0; i < 40; i++)
        tlog_append(t, 1, 1000 + i, 50, 0);
    broker_log_offsets_t o = offsets(t);
    int segs = o.segments;
    assert_int_equal(retain(t, 0), 0); /* no limit by default */
    t->conf.retention_bytes = 1200;
    tlog_close(t);
    tlog_open(t, 0);
    int deleted = retain(t, 0);
    assert_true(deleted > 0);
    o = offsets(t);
    assert_int_equal(o.segments, segs - deleted);
    /* Kafka's rule: delete while what is left stays >= the limit. */
    assert_true(o.bytes >= 1200);
    long first = tlog_batch_of(t, o.start);
    assert_true(first > 0 && t->b[first].base == o.start);
    assert_true(o.bytes - seg_bytes(t, o.start) < 1200);
    assert_true(seg_bytes(t, 0) < 0);
    /* Reads below the new start are out of range; from it, all there. */
    uint8_t *buf;
    size_t len;
    int64_t f;
    assert_int_equal(tlog_read(t, o.start - 1, -1, 100, &buf, &len, &f),
                     KC_ERR_OFFSET_OUT_OF_RANGE);
    tlog_check_all(t, o.start);
    assert_int_equal(retain(t, 0), 0);
    /* The start offset survives a reopen (it is the first segment's base). */
    tlog_close(t);
    tlog_open(t, 0);
    assert_true(offsets(t).start == o.start);
    tlog_free(t);
}

static void test_retention_by_time(void **state)
{
    tlog_t *t = tlog_new(400, 0);
    /* Timestamps 0, 100, 200, ...: each segment's largest decides. */
    for (int i = 0; i < 30; i++)
        tlog_append(t, 1, 100 * i, 60, 0);
    t->conf.retention_ms = 1000;
    tlog_close(t);
    tlog_open(t, 0);
    broker_log_offsets_t o = offsets(t);
    int64_t now = 100 * 12 + 1000; /* segments whose batches are all < 1200 are old */
    int deleted = retain(t, now);
    assert_true(deleted > 0);
    o = offsets(t);
    long first = tlog_batch_of(t, o.start);
    assert_true(first >= 0);
    /* The first kept segment holds a timestamp within retention; the last
     * deleted batch did not. */
    assert_true(now - t->b[first - 1].max_ts > 1000);
    int64_t seg_max = -1;
    for (long i = first; i < (long)t->n && t->b[i].base < o.end; i++) {
        char p[512];
        tlog_file_path(t, t->b[i].base, ".log", p, sizeof(p));
        if (i > first && tlog_file_size(p) >= 0) break;
        seg_max = t->b[i].max_ts;
    }
    assert_true(now - seg_max <= 1000);
    tlog_check_all(t, o.start);

    /* Everything expired: the log rolls to an empty segment at its end. */
    int64_t end = o.end;
    deleted = retain(t, 100000);
    assert_true(deleted >= 1);
    o = offsets(t);
    assert_true(o.start == end && o.end == end);
    assert_int_equal(o.segments, 1);
    assert_true(o.bytes == 0);
    assert_int_equal(retain(t, 200000), 0); /* an empty active segment stays */
    tlog_append(t, 1, 200000, 10, 200000);
    assert_true(t->b[t->n - 1].base == end);
    tlog_check_all(t, end);
    tlog_close(t);
    tlog_open(t, 0);
    o = offsets(t);
    assert_true(o.start == end && o.end == end + 1);
    tlog_free(t);
}

static void test_retention_keeps_ranges_alive(void **state)
{
    tlog_t *t = tlog_new(300, 0);
    for (int i = 0; i < 10; i++)
        tlog_append(t, 1, 0, 60, 0);
    broker_log_range_t r;
    char err[256];
    assert_int_equal(broker_log_read(t->log, 0, -1, 1 << 20, &r, err, sizeof(err)), 0);
    t->conf.retention_ms = 10;
    assert_int_equal(broker_log_advance_start(t->log, 6, err, sizeof(err)), 0);
    assert_true(seg_bytes(t, 0) < 0); /* unlinked... */
    uint8_t buf[4096];
    int64_t got = broker_log_range_copy(&r, 0, buf, sizeof(buf), err, sizeof(err));
    assert_true(got == (int64_t)r.len); /* ...but still readable */
    assert_memory_equal(buf, t->b[0].bytes, t->b[0].len);
    /* and so is its mapping, which Fetch writes from */
    assert_non_null(r.mem);
    assert_memory_equal(r.mem, t->b[0].bytes, t->b[0].len);
    broker_log_range_release(&r);
    tlog_free(t);
}

static void test_delete_records(void **state)
{
    tlog_t *t = tlog_new(500, 0);
    for (int i = 0; i < 30; i++)
        tlog_append(t, 2, 1000 + i, 50, 0);
    char err[256];
    broker_log_offsets_t o = offsets(t);
    int segs = o.segments;
    /* Into the middle of a batch in a later segment. */
    int64_t to = t->b[17].base + 1;
    assert_int_equal(broker_log_advance_start(t->log, to, err, sizeof(err)), 0);
    o = offsets(t);
    assert_true(o.start == to);
    assert_true(o.segments < segs);
    uint8_t *buf;
    size_t len;
    int64_t first;
    assert_int_equal(tlog_read(t, to - 1, -1, 100, &buf, &len, &first), KC_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(tlog_read(t, to, -1, 100, &buf, &len, &first), 0);
    assert_true(first == t->b[17].base); /* the batch holding it, whole */
    free(buf);
    /* Never backwards; never past the end. */
    assert_int_equal(broker_log_advance_start(t->log, 3, err, sizeof(err)), 0);
    assert_true(offsets(t).start == to);
    assert_int_equal(broker_log_advance_start(t->log, o.end + 1, err, sizeof(err)),
                     KC_ERR_OFFSET_OUT_OF_RANGE);
    /* ListOffsets earliest follows it. */
    broker_log_ts_hit_t hit;
    assert_int_equal(
        broker_log_offset_for_time(t->log, BROKER_LOG_TS_EARLIEST, &hit, err, sizeof(err)), 0);
    assert_true(hit.offset == to);
    /* Durable: the same start after a clean reopen and after a crash. */
    tlog_close(t);
    tlog_open(t, 0);
    assert_true(offsets(t).start == to);
    tlog_crash(t);
    tlog_open(t, 0);
    assert_true(offsets(t).start == to);
    /* Up to the end: reads at the end are empty, appends go on. */
    o = offsets(t);
    assert_int_equal(broker_log_advance_start(t->log, o.end, err, sizeof(err)), 0);
    assert_int_equal(offsets(t).segments, 1);
    assert_int_equal(tlog_read(t, o.end, -1, 100, &buf, &len, &first), 0);
    assert_int_equal(len, 0);
    free(buf);
    tlog_append(t, 1, 0, 10, 0);
    assert_true(t->b[t->n - 1].base == o.end);
    tlog_close(t);
    tlog_open(t, 0);
    assert_true(offsets(t).start == o.end);
    tlog_check_all(t, o.end);
    tlog_free(t);
}

/* The first batch with maxTimestamp >= ts, at or after start, by brute force. */
static long brute_time(const tlog_t *t, int64_t ts, int64_t start)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->b[i].max_ts >= ts && t->b[i].last >= start) return (long)i;
    return -1;
}

static void check_times(tlog_t *t, int64_t lo, int64_t hi)
{
    char err[256];
    broker_log_offsets_t o = offsets(t);
    for (int64_t ts = lo; ts <= hi; ts++) {
        broker_log_ts_hit_t hit;
        assert_int_equal(broker_log_offset_for_time(t->log, ts, &hit, err, sizeof(err)), 0);
        long want = brute_time(t, ts, o.start);
        if (want < 0) {
            assert_true(hit.offset == -1 && hit.timestamp == -1);
            continue;
        }
        int64_t off = t->b[want].base < o.start ? o.start : t->b[want].base;
        assert_true(hit.offset == off);
        assert_true(hit.timestamp == t->b[want].max_ts);
        assert_true(hit.last_offset == t->b[want].last);
    }
}

static void test_offsets_for_time(void **state)
{
    int32_t intervals[] = {0, 120, 4096};
    for (size_t k = 0; k < 3; k++) {
        tlog_t *t = tlog_new(600, intervals[k]);
        /* Mostly rising timestamps, with some going back and a batch
         * without any. */
        for (int i = 0; i < 60; i++) {
            int64_t ts = 1000 + 10 * i;
            if (i % 7 == 3) ts -= 45;
            tlog_append(t, 1 + i % 3, i == 20 ? -1 : ts, 30, 0);
        }
        check_times(t, 900, 1700);
        tlog_close(t);
        tlog_open(t, 0);
        check_times(t, 900, 1700);
        char err[256];
        assert_int_equal(broker_log_advance_start(t->log, t->b[25].base + 1, err, sizeof(err)), 0);
        check_times(t, 900, 1700);
        tlog_free(t);
    }
}

static void test_special_timestamps(void **state)
{
    tlog_t *t = tlog_new(400, 0);
    char err[256];
    broker_log_ts_hit_t hit;
    /* Empty log. */
    assert_int_equal(broker_log_offset_for_time(t->log, BROKER_LOG_TS_MAX, &hit, err, sizeof(err)),
                     0);
    assert_true(hit.offset == -1 && hit.timestamp == -1);
    assert_int_equal(
        broker_log_offset_for_time(t->log, BROKER_LOG_TS_LATEST, &hit, err, sizeof(err)), 0);
    assert_true(hit.offset == 0);
    int64_t ts[] = {500, 900, 300, 900, 700, 100};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++)
            tlog_append(t, 2, ts[i] + j, 40, 0);
    assert_true(offsets(t).segments > 2);
    /* KIP-734: the first batch holding the largest timestamp (902). */
    for (int round = 0; round < 2; round++) {
        assert_int_equal(
            broker_log_offset_for_time(t->log, BROKER_LOG_TS_MAX, &hit, err, sizeof(err)), 0);
        assert_true(hit.timestamp == 903); /* 902 + 1: two records per batch */
        assert_true(hit.offset == t->b[5].base);
        tlog_close(t);
        tlog_open(t, 0);
    }
    assert_int_equal(
        broker_log_offset_for_time(t->log, BROKER_LOG_TS_LATEST, &hit, err, sizeof(err)), 0);
    assert_true(hit.offset == t->b[t->n - 1].last + 1);
    assert_int_equal(
        broker_log_offset_for_time(t->log, BROKER_LOG_TS_EARLIEST, &hit, err, sizeof(err)), 0);
    assert_true(hit.offset == 0);
    assert_int_equal(broker_log_offset_for_time(t->log, -7, &hit, err, sizeof(err)),
                     KC_ERR__INVALID_ARG);
    tlog_free(t);
}

static void test_bad_start_checkpoint_refuses_open(void **state)
{
    /* Ignoring it could bring deleted records back: the open fails loudly. */
    tlog_t *t = tlog_new(1000, 0);
    tlog_append(t, 3, 0, 10, 0);
    char err[512] = "";
    assert_int_equal(broker_log_advance_start(t->log, 2, err, sizeof(err)), 0);
    tlog_close(t);
    char p[512];
    snprintf(p, sizeof(p), "%s/log-start-offset", t->dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("garbage", f);
    fclose(f);
    assert_int_equal(broker_file_log_open(t->dir, &t->conf, 0, &t->log, err, sizeof(err)),
                     KC_ERR_KAFKA_STORAGE_ERROR);
    assert_null(t->log);
    assert_non_null(strstr(err, "log-start-offset"));
    tlog_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retention_by_size),
        cmocka_unit_test(test_retention_by_time),
        cmocka_unit_test(test_retention_keeps_ranges_alive),
        cmocka_unit_test(test_delete_records),
        cmocka_unit_test(test_offsets_for_time),
        cmocka_unit_test(test_special_timestamps),
        cmocka_unit_test(test_bad_start_checkpoint_refuses_open),
    };
    return cmocka_run_group_tests(tests, NULL, tlog_teardown);
}
