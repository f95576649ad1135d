/* Opening a partition directory: find the segments, recover, set offsets. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc/kc_err.h"
#include "storage/io.h"
#include "storage/log_file_int.h"
#include "storage/storage_err.h"
#include "util/log.h"

void broker_log_conf_defaults(broker_log_conf_t *conf)
{
    conf->segment_bytes = 1073741824;
    conf->roll_ms = 7LL * 24 * 3600 * 1000;
    conf->retention_ms = 7LL * 24 * 3600 * 1000;
    conf->retention_bytes = -1;
    conf->index_interval_bytes = 4096;
    conf->index_max_bytes = 10485760;
}

int broker_log_dir_path(char *buf, size_t size, const char *log_dir, const char *topic,
                        int32_t partition)
{
    if (!*topic || !strcmp(topic, ".") || !strcmp(topic, "..") || strchr(topic, '/'))
        return broker_store_err(KC_ERR__INVALID_ARG, buf, size, "bad topic name");
    int n = snprintf(buf, size, "%s/%s-%" PRId32, log_dir, topic, partition);
    if (n < 0 || (size_t)n >= size) {
        if (size) buf[0] = '\0';
        return KC_ERR__INVALID_ARG;
    }
    return 0;
}

static int check_conf(const broker_log_conf_t *c, char *errstr, size_t errstr_size)
{
    /* Kafka's minimum; a segment smaller than a batch refuses every append. */
    if (c->segment_bytes < 14 || c->segment_bytes > INT32_MAX)
        return broker_store_err(KC_ERR__CONF, errstr, errstr_size,
                                "log.segment.bytes %" PRId64 " is outside [14, %d]",
                                c->segment_bytes, INT32_MAX);
    if (c->index_interval_bytes < 0)
        return broker_store_err(KC_ERR__CONF, errstr, errstr_size,
                                "log.index.interval.bytes must be >= 0");
    if (c->index_max_bytes < BROKER_TIDX_ENTRY)
        return broker_store_err(KC_ERR__CONF, errstr, errstr_size,
                                "log.index.size.max.bytes must be >= %d", BROKER_TIDX_ENTRY);
    return 0;
}

int broker_flog_reconfigure(broker_log_t *log, const broker_log_conf_t *conf, char *errstr,
                            size_t errstr_size)
{
    int rc = check_conf(conf, errstr, errstr_size);
    if (!rc) ((broker_file_log_t *)log)->conf = *conf;
    return rc;
}

/* "<20 digits>.log" -> base offset, else -1. */
static int64_t segment_name(const char *name)
{
    if (strlen(name) != 24 || strcmp(name + 20, BROKER_SEG_LOG) != 0) return -1;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (!isdigit((unsigned char)name[i])) return -1;
        if (v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Index files whose .log is gone: left by a crash in the middle of a delete. */
static void drop_orphan(const char *dir, const char *name)
{
    char path[4096];
    size_t len = strlen(name);
    int tmp = len > 4 && strcmp(name + len - 4, ".tmp") == 0; /* a write cut short */
    if (!tmp) {
        const char *dot = strchr(name, '.');
        if (!dot || dot - name != 20) return;
        if (strcmp(dot, BROKER_SEG_INDEX) && strcmp(dot, BROKER_SEG_TIMEINDEX)) return;
        struct stat st;
        snprintf(path, sizeof(path), "%s/%.20s%s", dir, name, BROKER_SEG_LOG);
        if (stat(path, &st) == 0) return;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static int list_segments(const char *dir, int64_t **bases, int *n, char *errstr, size_t errstr_size)
{
    DIR *d = opendir(dir);
    if (!d) return broker_store_io_err(errstr, errstr_size, "opendir %s", dir);
    int cap = 0;
    *bases = NULL;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t b = segment_name(e->d_name);
        if (b < 0) {
            drop_orphan(dir, e->d_name);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *p = realloc(*bases, (size_t)cap * sizeof(*p));
            if (!p) {
                closedir(d);
                return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "no memory");
            }
            *bases = p;
        }
        (*bases)[(*n)++] = b;
    }
    closedir(d);
    if (*n) qsort(*bases, (size_t)*n, sizeof(**bases), cmp_i64);
    return 0;
}

static int make_dir(const char *dir, char *errstr, size_t errstr_size)
{
    if (mkdir(dir, 0755) != 0) {
        if (errno == EEXIST) return 0;
        return broker_store_io_err(errstr, errstr_size, "mkdir %s", dir);
    }
    /* The new directory's entry must survive a crash too. */
    char parent[4096];
    snprintf(parent, sizeof(parent), "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(parent, sizeof(parent), ".");
    if (broker_fsync_dir(parent) != 0)
        return broker_store_io_err(errstr, errstr_size, "fsync %s", parent);
    return 0;
}

/* Returns 1 if the clean-shutdown marker was there, removing it durably so a
 * crash from now on is seen as unclean. */
static int take_clean_marker(const char *dir, int *clean, char *errstr, size_t errstr_size)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, BROKER_LOG_CLEAN_MARKER);
    *clean = access(path, F_OK) == 0;
    if (!*clean) return 0;
    if (unlink(path) != 0) return broker_store_io_err(errstr, errstr_size, "unlink %s", path);
    if (broker_fsync_dir(dir) != 0)
        return broker_store_io_err(errstr, errstr_size, "fsync %s", dir);
    return 0;
}

static int push_segment(broker_file_log_t *l, broker_segment_t *seg)
{
    if (l->nsegs == l->cap) {
        int ncap = l->cap ? l->cap * 2 : 8;
        broker_segment_t **p = realloc(l->segs, (size_t)ncap * sizeof(*p));
        if (!p) return -1;
        l->segs = p;
        l->cap = ncap;
    }
    l->segs[l->nsegs++] = seg;
    return 0;
}

/* Removes segments bases[from..n) from disk: they follow a hole. */
static int drop_after(broker_file_log_t *l, const int64_t *bases, int from, int n, char *errstr,
                      size_t errstr_size)
{
    for (int j = from; j < n; j++) {
        log_warn("%s: dropping segment %" PRId64 " after a cut in the one before", l->dir,
                 bases[j]);
        int rc = broker_segment_unlink_at(l->dir, bases[j], errstr, errstr_size);
        if (rc) return rc;
    }
    l->dir_dirty = 1;
    return 0;
}

static int open_segments(broker_file_log_t *l, const int64_t *bases, int n, int clean,
                         int64_t now_ms, char *errstr, size_t errstr_size)
{
    for (int i = 0; i < n; i++) {
        int active = i == n - 1;
        broker_segment_t *seg;
        int64_t cut = 0;
        char why[256] = "";
        int rc =
            broker_segment_open(l->dir, bases[i], now_ms, !clean || active, &seg, why, sizeof(why));
        if (rc && rc != KC_ERR__BAD_MSG)
            return broker_store_err(rc, errstr, errstr_size, "%s", why);
        if (push_segment(l, seg)) {
            broker_segment_unref(seg);
            return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "no memory");
        }
        if (rc == KC_ERR__BAD_MSG || (!clean && active)) {
            if (rc) log_warn("%s: recovering segment %" PRId64 ": %s", l->dir, bases[i], why);
            rc = broker_segment_recover(seg, l->conf.index_interval_bytes, &cut, errstr,
                                        errstr_size);
            /* An inactive segment's time index ends with its maximum. */
            if (!rc && !active) rc = broker_segment_seal(seg, errstr, errstr_size);
            if (rc) return rc;
            if (cut)
                log_warn("%s: cut %" PRId64
                         " bytes of bad or partial batches from segment %" PRId64,
                         l->dir, cut, bases[i]);
        }
        if (i > 0) {
            broker_segment_t *prev = l->segs[i - 1];
            if (prev->next_offset > seg->base)
                return broker_store_err(KC_ERR_KAFKA_STORAGE_ERROR, errstr, errstr_size,
                                        "%s: segment %" PRId64 " overlaps the one before", l->dir,
                                        seg->base);
            /* An inactive segment opened without its tail walk knows only a
             * lower bound of its end; its successor's base is the end. */
            prev->next_offset = seg->base;
        }
        l->bytes += seg->size;
        if (cut && !active) return drop_after(l, bases, i + 1, n, errstr, errstr_size);
    }
    return 0;
}

int broker_file_log_open(const char *dir, const broker_log_conf_t *conf, int64_t now_ms,
                         broker_log_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    int rc = check_conf(conf, errstr, errstr_size);
    if (rc) return rc;
    broker_file_log_t *l = calloc(1, sizeof(*l));
    if (!l || !(l->dir = strdup(dir))) {
        free(l);
        return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "no memory");
    }
    l->base.ops = &broker_file_log_ops;
    l->conf = *conf;

    int64_t *bases = NULL, ckpt = -1;
    int n = 0, clean = 0;
    rc = make_dir(dir, errstr, errstr_size);
    if (!rc) rc = take_clean_marker(dir, &clean, errstr, errstr_size);
    if (!rc) rc = broker_flog_read_start(dir, &ckpt, errstr, errstr_size);
    if (!rc) rc = list_segments(dir, &bases, &n, errstr, errstr_size);
    if (!rc) rc = open_segments(l, bases, n, clean, now_ms, errstr, errstr_size);
    free(bases);
    if (!rc && l->nsegs == 0) {
        broker_segment_t *seg;
        rc = broker_segment_create(dir, ckpt > 0 ? ckpt : 0, now_ms, &seg, errstr, errstr_size);
        if (!rc && push_segment(l, seg)) {
            broker_segment_unref(seg);
            rc = broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "no memory");
        }
        l->dir_dirty = 1;
    }
    if (rc) {
        broker_flog_free(l);
        return rc;
    }
    int64_t end = broker_flog_end(l);
    l->start = l->segs[0]->base > ckpt ? l->segs[0]->base : ckpt;
    if (l->start > end) l->start = end;
    /* Make what recovery kept durable, so `flushed` starts true. */
    rc = l->base.ops->flush(&l->base, NULL, errstr, errstr_size);
    if (rc) {
        broker_flog_free(l);
        return rc;
    }
    *out = &l->base;
    return 0;
}
