/* Helpers shared by the partition log tests: temporary directories, batches
 * built with the real builder, and a record of what was appended. */
#ifndef TEST_BROKER_LOG_UTIL_H
#define TEST_BROKER_LOG_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc/kc_err.h"
#include "proto/proto_batch.h"
#include "proto/proto_compress.h"
#include "storage/log_file.h"

/* A batch as the log should hold it. */
typedef struct tbatch {
    uint8_t *bytes;
    size_t len;
    int64_t base, last, max_ts;
} tbatch_t;

typedef struct tlog {
    char dir[256];  /* the partition directory */
    char root[256]; /* the temporary log.dir holding it */
    broker_log_conf_t conf;
    broker_log_t *log;
    tbatch_t *b;
    size_t n, cap;
    proto_wbuf_t w;
} tlog_t;

static inline int tlog_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(path);
}

static inline void tlog_rmtree(const char *dir)
{
    nftw(dir, tlog_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Directories of logs not yet freed: a failed assertion jumps past
 * tlog_free(), so the group teardown removes what is left. */
static char tlog_roots[64][256];

static inline void tlog_track(const char *root, int add)
{
    for (size_t i = 0; i < 64; i++) {
        if (add && !tlog_roots[i][0]) {
            snprintf(tlog_roots[i], sizeof(tlog_roots[i]), "%s", root);
            return;
        }
        if (!add && !strcmp(tlog_roots[i], root)) {
            tlog_roots[i][0] = '\0';
            return;
        }
    }
}

/* cmocka group teardown: pass to cmocka_run_group_tests. */
static inline int tlog_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < 64; i++)
        if (tlog_roots[i][0]) {
            tlog_rmtree(tlog_roots[i]);
            tlog_roots[i][0] = '\0';
        }
    return 0;
}

static inline void tlog_open(tlog_t *t, int64_t now_ms)
{
    char err[512] = "";
    int rc = broker_file_log_open(t->dir, &t->conf, now_ms, &t->log, err, sizeof(err));
    if (rc) fprintf(stderr, "open: %s\n", err);
    assert_int_equal(rc, 0);
}

/* Makes a fresh temporary directory under `base` and opens a log in it. */
static inline tlog_t *tlog_new_in(const char *base, int64_t segment_bytes, int32_t index_interval)
{
    tlog_t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    snprintf(t->root, sizeof(t->root), "%s/kc-logtest-XXXXXX", base);
    assert_non_null(mkdtemp(t->root));
    tlog_track(t->root, 1);
    assert_int_equal(broker_log_dir_path(t->dir, sizeof(t->dir), t->root, "topic", 0), 0);
    broker_log_conf_defaults(&t->conf);
    t->conf.segment_bytes = segment_bytes;
    t->conf.index_interval_bytes = index_interval;
    tlog_open(t, 0);
    return t;
}

/* The same in the usual place: tmpfs when there is one (real files, but
 * fsync costs nothing, and the torn-tail tests reopen a log hundreds of
 * times), or KC_TEST_TMPDIR. */
static inline tlog_t *tlog_new(int64_t segment_bytes, int32_t index_interval)
{
    const char *base = getenv("KC_TEST_TMPDIR");
    if (!base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return tlog_new_in(base, segment_bytes, index_interval);
}

static inline void tlog_close(tlog_t *t)
{
    char err[512] = "";
    int rc = broker_log_close(t->log, err, sizeof(err));
    if (rc) fprintf(stderr, "close: %s\n", err);
    assert_int_equal(rc, 0);
    t->log = NULL;
}

/* Closes the log and removes the clean-shutdown marker: on disk, the same
 * as a process killed after its last write. */
static inline void tlog_crash(tlog_t *t)
{
    tlog_close(t);
    char path[512];
    snprintf(path, sizeof(path), "%s/clean-shutdown", t->dir);
    assert_int_equal(unlink(path), 0);
}

static inline void tlog_free(tlog_t *t)
{
    if (t->log) tlog_close(t);
    for (size_t i = 0; i < t->n; i++)
        free(t->b[i].bytes);
    free(t->b);
    proto_wbuf_free(&t->w);
    tlog_rmtree(t->root);
    tlog_track(t->root, 0);
    free(t);
}

/* Builds one uncompressed batch of nrec records into t->w (replacing what
 * was there); record i has timestamp ts + i and a value of value_len bytes. */
static inline void tlog_build(tlog_t *t, int nrec, int64_t ts, size_t value_len)
{
    proto_wbuf_reset(&t->w);
    proto_batch_builder_t b;
    assert_int_equal(proto_batch_builder_begin(&b, &t->w, NULL), 0);
    char *val = malloc(value_len + 1);
    assert_non_null(val);
    for (size_t i = 0; i < value_len; i++)
        val[i] = (char)('a' + (i + (size_t)nrec) % 26);
    for (int i = 0; i < nrec; i++)
        assert_int_equal(
            proto_batch_builder_append(&b, ts + i, "k", 1, val, (int32_t)value_len, NULL, 0), 0);
    free(val);
    assert_int_equal(proto_batch_builder_finish(&b, PROTO_CODEC_NONE, -1, NULL, NULL, 0), 0);
}

/* Appends t->w and records the stored batch. Returns the append's result. */
static inline int tlog_append_built(tlog_t *t, int64_t now_ms)
{
    broker_log_append_info_t info;
    char err[512] = "";
    int rc = broker_log_append(t->log, t->w.data, t->w.len, now_ms, &info, err, sizeof(err));
    if (rc) return rc;
    proto_batch_header_t h;
    assert_int_equal(proto_batch_header_parse(t->w.data, t->w.len, &h, NULL, 0), 0);
    assert_true(h.base_offset == info.base_offset);
    assert_int_equal(proto_batch_verify_crc(t->w.data, t->w.len), 0);
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->b = realloc(t->b, t->cap * sizeof(*t->b));
        assert_non_null(t->b);
    }
    tbatch_t *e = &t->b[t->n++];
    e->bytes = malloc(t->w.len);
    assert_non_null(e->bytes);
    memcpy(e->bytes, t->w.data, t->w.len);
    e->len = t->w.len;
    e->base = info.base_offset;
    e->last = info.last_offset;
    e->max_ts = h.max_timestamp;
    return 0;
}

static inline void tlog_append(tlog_t *t, int nrec, int64_t ts, size_t value_len, int64_t now_ms)
{
    tlog_build(t, nrec, ts, value_len);
    int rc = tlog_append_built(t, now_ms);
    assert_int_equal(rc, 0);
}

/* Index in t->b of the batch holding offset, or -1. */
static inline long tlog_batch_of(const tlog_t *t, int64_t offset)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->b[i].base <= offset && offset <= t->b[i].last) return (long)i;
    return -1;
}

/* Reads one range and copies it out (malloc'd, *len bytes). */
static inline int tlog_read(tlog_t *t, int64_t offset, int64_t max_offset, size_t max_bytes,
                            uint8_t **out, size_t *len, int64_t *first)
{
    broker_log_range_t r;
    char err[512] = "";
    int rc = broker_log_read(t->log, offset, max_offset, max_bytes, &r, err, sizeof(err));
    *out = NULL;
    *len = 0;
    if (rc) return rc;
    *first = r.first_offset;
    *out = malloc(r.len + 1);
    assert_non_null(*out);
    int64_t got = broker_log_range_copy(&r, 0, *out, r.len, err, sizeof(err));
    if (got < 0) fprintf(stderr, "copy: %s\n", err);
    assert_true(got == (int64_t)r.len);
    *len = r.len;
    broker_log_range_release(&r);
    broker_log_range_release(&r); /* twice is allowed */
    return 0;
}

/* Reads from `from` to the end and checks the bytes are exactly the
 * recorded batches from the one holding `from`. */
static inline void tlog_check_all(tlog_t *t, int64_t from)
{
    long i = tlog_batch_of(t, from);
    assert_true(i >= 0);
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    int64_t off = from;
    while (off < o.end) {
        uint8_t *buf;
        size_t len;
        int64_t first;
        assert_int_equal(tlog_read(t, off, -1, 1 << 20, &buf, &len, &first), 0);
        assert_true(len > 0);
        size_t at = 0;
        while (at < len) {
            assert_true((size_t)i < t->n);
            if (len - at < t->b[i].len) break; /* cut by max_bytes */
            assert_memory_equal(buf + at, t->b[i].bytes, t->b[i].len);
            at += t->b[i].len;
            off = t->b[i].last + 1;
            i++;
        }
        free(buf);
    }
    assert_true((size_t)i == t->n);
}

static inline void tlog_file_path(const tlog_t *t, int64_t base, const char *ext, char *buf,
                                  size_t size)
{
    snprintf(buf, size, "%s/%020lld%s", t->dir, (long long)base, ext);
}

static inline int64_t tlog_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

#endif
