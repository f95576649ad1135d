/* Recovery of the partition log after a crash: torn and garbage tails,
 * corrupt batches, damaged or missing index files. A crash is simulated by
 * a clean close followed by removing the clean-shutdown marker, then the
 * damage a kill -9 or a power cut can leave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_broker_log_util.h"

static uint8_t *slurp(const char *path, size_t *len)
{
    int64_t n = tlog_file_size(path);
    assert_true(n >= 0);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_true(read(fd, buf, (size_t)n) == n);
    close(fd);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_true(write(fd, buf, len) == (ssize_t)len);
    close(fd);
}

static void patch_byte(const char *path, int64_t pos, uint8_t xor_mask)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_true(pread(fd, &b, 1, pos) == 1);
    b ^= xor_mask;
    assert_true(pwrite(fd, &b, 1, pos) == 1);
    close(fd);
}

/* Forgets the recorded batches from index `keep` on. */
static void forget_from(tlog_t *t, size_t keep)
{
    while (t->n > keep)
        free(t->b[--t->n].bytes);
}

static void check_end(tlog_t *t, int64_t want_end)
{
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    assert_true(o.end == want_end);
    assert_true(o.flushed == want_end);
}

/* The log still takes appends, at the recovered end. */
static void check_appendable(tlog_t *t)
{
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    tlog_append(t, 2, 5000, 33, 0);
    assert_true(t->b[t->n - 1].base == o.end);
    tlog_check_all(t, t->n > 1 ? t->b[0].base : o.end);
}

static void torn_tail(int64_t segment_bytes)
{
    tlog_t *t = tlog_new(segment_bytes, 0);
    for (int i = 0; i < 6; i++)
        tlog_append(t, 3, 1000 + i, 40, 0);
    tbatch_t last = t->b[t->n - 1];
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    int64_t active_base = o.segments == 1 ? 0 : last.base;
    tlog_crash(t);

    char logp[512], idxp[512], tidxp[512];
    tlog_file_path(t, active_base, ".log", logp, sizeof(logp));
    tlog_file_path(t, active_base, ".index", idxp, sizeof(idxp));
    tlog_file_path(t, active_base, ".timeindex", tidxp, sizeof(tidxp));
    size_t loglen, idxlen, tidxlen;
    uint8_t *logb = slurp(logp, &loglen), *idxb = slurp(idxp, &idxlen),
            *tidxb = slurp(tidxp, &tidxlen);
    size_t keep = t->n - 1;

    /* Cut the file at every byte of the last batch. */
    for (size_t cut = loglen - last.len; cut < loglen; cut++) {
        spit(logp, logb, cut);
        spit(idxp, idxb, idxlen);
        spit(tidxp, tidxb, tidxlen);
        forget_from(t, keep);
        tlog_open(t, 0);
        check_end(t, last.base);
        tlog_check_all(t, 0);
        assert_true(tlog_file_size(logp) == (int64_t)(loglen - last.len));
        check_appendable(t);
        tlog_crash(t);
    }
    free(logb);
    free(idxb);
    free(tidxb);
    tlog_free(t);
}

static void test_torn_tail_every_byte(void **state)
{
    torn_tail(1 << 20); /* all in one segment */
}

static void test_torn_tail_of_fresh_segment(void **state)
{
    torn_tail(300); /* the last batch opened a new segment: it ends up empty */
}

static void test_garbage_after_tail(void **state)
{
    tlog_t *t = tlog_new(1 << 20, 0);
    for (int i = 0; i < 5; i++)
        tlog_append(t, 2, 1000 + i, 50, 0);
    int64_t end = t->b[t->n - 1].last + 1;
    tlog_crash(t);
    char logp[512];
    tlog_file_path(t, 0, ".log", logp, sizeof(logp));
    size_t len;
    uint8_t *orig = slurp(logp, &len);
    uint8_t *buf = malloc(len + 256);
    assert_non_null(buf);

    for (int round = 0; round < 4; round++) {
        memcpy(buf, orig, len);
        size_t extra = 0;
        if (round == 0) { /* zeros, as a file system may leave */
            memset(buf + len, 0, 100);
            extra = 100;
        } else if (round == 1) { /* noise */
            for (size_t i = 0; i < 200; i++)
                buf[len + i] = (uint8_t)(i * 131 + 7);
            extra = 200;
        } else { /* a copy of a real batch, its length or CRC broken */
            memcpy(buf + len, t->b[1].bytes, t->b[1].len);
            if (round == 2)
                buf[len + 11] ^= 0x40;
            else
                buf[len + t->b[1].len - 1] ^= 1;
            extra = t->b[1].len;
        }
        spit(logp, buf, len + extra);
        tlog_open(t, 0);
        check_end(t, end);
        assert_true(tlog_file_size(logp) == (int64_t)len);
        tlog_check_all(t, 0);
        tlog_crash(t);
    }
    free(buf);
    free(orig);
    tlog_free(t);
}

static void test_bad_crc_in_last_batch(void **state)
{
    tlog_t *t = tlog_new(1 << 20, 0);
    for (int i = 0; i < 5; i++)
        tlog_append(t, 2, 1000 + i, 50, 0);
    tbatch_t last = t->b[t->n - 1];
    int64_t size_before = 0;
    for (size_t i = 0; i + 1 < t->n; i++)
        size_before += (int64_t)t->b[i].len;
    tlog_crash(t);
    char logp[512];
    tlog_file_path(t, 0, ".log", logp, sizeof(logp));
    patch_byte(logp, size_before + (int64_t)last.len - 3, 0x10); /* inside a record */
    forget_from(t, t->n - 1);
    tlog_open(t, 0);
    check_end(t, last.base);
    tlog_check_all(t, 0);
    check_appendable(t);
    tlog_free(t);
}

static void test_clean_marker_with_torn_tail(void **state)
{
    /* The marker says clean, but the file system lost the tail anyway: the
     * tail walk on open notices and recovers. */
    tlog_t *t = tlog_new(1 << 20, 0);
    for (int i = 0; i < 4; i++)
        tlog_append(t, 1, 1000 + i, 60, 0);
    tbatch_t last = t->b[t->n - 1];
    tlog_close(t);
    char logp[512];
    tlog_file_path(t, 0, ".log", logp, sizeof(logp));
    assert_int_equal(truncate(logp, tlog_file_size(logp) - 5), 0);
    forget_from(t, t->n - 1);
    tlog_open(t, 0);
    check_end(t, last.base);
    tlog_check_all(t, 0);
    check_appendable(t);
    tlog_free(t);
}

static void test_bad_inactive_segment_drops_the_rest(void **state)
{
    tlog_t *t = tlog_new(400, 0);
    for (int i = 0; i < 20; i++)
        tlog_append(t, 1, 1000 + i, 60, 0);
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    assert_true(o.segments >= 4);
    tlog_crash(t);
    /* Break the magic of the last batch of the first segment. */
    size_t bad = 0;
    for (size_t i = 1; i < t->n && !bad; i++) {
        char p2[512];
        tlog_file_path(t, t->b[i].base, ".log", p2, sizeof(p2));
        if (tlog_file_size(p2) >= 0) bad = i - 1;
    }
    assert_true(bad > 0);
    int64_t bad_pos = 0;
    for (size_t i = 0; i < bad; i++)
        bad_pos += (int64_t)t->b[i].len;
    char logp[512];
    tlog_file_path(t, 0, ".log", logp, sizeof(logp));
    patch_byte(logp, bad_pos + PROTO_BATCH_MAGIC_OFFSET, 0xff);
    forget_from(t, bad);
    tlog_open(t, 0);
    broker_log_offsets(t->log, &o);
    assert_int_equal(o.segments, 1);
    check_end(t, t->b[bad - 1].last + 1);
    tlog_check_all(t, 0);
    check_appendable(t);
    tlog_free(t);
}

/* Offsets read back right after the segment's index files were damaged. */
static void damaged_index(int how)
{
    tlog_t *t = tlog_new(2000, 100);
    for (int i = 0; i < 80; i++)
        tlog_append(t, 1 + i % 3, 1000 + 10 * i, 30, 0);
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    assert_true(o.segments >= 3);
    tlog_close(t);
    char idxp[512], tidxp[512];
    tlog_file_path(t, 0, ".index", idxp, sizeof(idxp));
    tlog_file_path(t, 0, ".timeindex", tidxp, sizeof(tidxp));
    size_t idxlen, tidxlen;
    uint8_t *idx = slurp(idxp, &idxlen), *tidx = slurp(tidxp, &tidxlen);
    assert_true(idxlen >= 16 && tidxlen >= 24);
    uint8_t *bad = malloc(idxlen + tidxlen + 16);
    assert_non_null(bad);
    memcpy(bad, idx, idxlen);
    switch (how) {
    case 0: spit(idxp, bad, idxlen - 3); break; /* not whole entries */
    case 1:                                     /* entries out of order */
        memcpy(bad, idx + 8, 8);
        memcpy(bad + 8, idx, 8);
        spit(idxp, bad, idxlen);
        break;
    case 2: /* well formed, but the last entry names the wrong batch */
        bad[idxlen - 5] ^= 1;
        spit(idxp, bad, idxlen);
        break;
    case 3: /* a position past the end of the log */
        memset(bad + idxlen - 4, 0x7f, 4);
        spit(idxp, bad, idxlen);
        break;
    case 4: /* time index out of order */
        memcpy(bad, tidx, tidxlen);
        memset(bad + tidxlen - 12, 0, 8);
        spit(tidxp, bad, tidxlen);
        break;
    case 5: /* both missing */
        unlink(idxp);
        unlink(tidxp);
        break;
    }
    tlog_open(t, 0);
    broker_log_offsets(t->log, &o);
    for (int64_t off = 0; off < o.end; off++) {
        uint8_t *buf;
        size_t len;
        int64_t first;
        assert_int_equal(tlog_read(t, off, -1, 1, &buf, &len, &first), 0);
        long i = tlog_batch_of(t, off);
        assert_true(first == t->b[i].base);
        free(buf);
    }
    /* Rebuilt to what it was. */
    size_t len2, tlen2;
    uint8_t *idx2 = slurp(idxp, &len2), *tidx2 = slurp(tidxp, &tlen2);
    assert_int_equal(len2, idxlen);
    assert_memory_equal(idx2, idx, idxlen);
    assert_int_equal(tlen2, tidxlen);
    assert_memory_equal(tidx2, tidx, tidxlen);
    broker_log_ts_hit_t hit;
    char err[256];
    assert_int_equal(broker_log_offset_for_time(t->log, 1000 + 10 * 5, &hit, err, sizeof(err)), 0);
    assert_true(hit.offset == t->b[5].base);
    free(idx2);
    free(tidx2);
    free(idx);
    free(tidx);
    free(bad);
    tlog_free(t);
}

static void test_damaged_index_is_rebuilt(void **state)
{
    for (int how = 0; how <= 5; how++)
        damaged_index(how);
}

static void test_unclean_open_rebuilds_active_index(void **state)
{
    tlog_t *t = tlog_new(1 << 20, 50);
    for (int i = 0; i < 30; i++)
        tlog_append(t, 1, 1000 + i, 30, 0);
    tlog_crash(t);
    /* A kill -9 keeps the page cache, but an OS crash may zero an index
     * page: zeros are well formed yet wrong. */
    char idxp[512];
    tlog_file_path(t, 0, ".index", idxp, sizeof(idxp));
    size_t len;
    uint8_t *idx = slurp(idxp, &len);
    uint8_t *zeros = calloc(1, len);
    assert_non_null(zeros);
    spit(idxp, zeros, len);
    tlog_open(t, 0);
    size_t len2;
    uint8_t *idx2 = slurp(idxp, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(idx2, idx, len);
    tlog_check_all(t, 0);
    free(idx);
    free(idx2);
    free(zeros);
    tlog_free(t);
}

static void test_stray_files_are_removed(void **state)
{
    tlog_t *t = tlog_new(1 << 20, 0);
    tlog_append(t, 1, 0, 10, 0);
    tlog_close(t);
    char p[512];
    tlog_file_path(t, 12345, ".index", p, sizeof(p)); /* its .log was deleted */
    spit(p, "x", 1);
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s/log-start-offset.tmp", t->dir);
    spit(tmp, "0\n", 2);
    tlog_open(t, 0);
    assert_true(tlog_file_size(p) < 0);
    assert_true(tlog_file_size(tmp) < 0);
    tlog_check_all(t, 0);
    tlog_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torn_tail_every_byte),
        cmocka_unit_test(test_torn_tail_of_fresh_segment),
        cmocka_unit_test(test_garbage_after_tail),
        cmocka_unit_test(test_bad_crc_in_last_batch),
        cmocka_unit_test(test_clean_marker_with_torn_tail),
        cmocka_unit_test(test_bad_inactive_segment_drops_the_rest),
        cmocka_unit_test(test_damaged_index_is_rebuilt),
        cmocka_unit_test(test_unclean_open_rebuilds_active_index),
        cmocka_unit_test(test_stray_files_are_removed),
    };
    return cmocka_run_group_tests(tests, NULL, tlog_teardown);
}
