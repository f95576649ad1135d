/* Retention (time, size), DeleteRecords, and the log start checkpoint.
 *
 * The log start offset is the first segment's base unless DeleteRecords moved
 * it into that segment; only that case needs a file, written atomically
 * (temp file, fsync, rename, directory fsync) before the call returns. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc/kc_err.h"
#include "storage/io.h"
#include "storage/log_file_int.h"
#include "storage/storage_err.h"

#define START_FILE_VERSION 0

int broker_flog_read_start(const char *dir, int64_t *start, char *errstr, size_t errstr_size)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, BROKER_LOG_START_FILE);
    *start = -1;
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT) return 0;
        return broker_store_io_err(errstr, errstr_size, "open %s", path);
    }
    int version;
    int64_t v;
    int ok = fscanf(f, "%d %" SCNd64, &version, &v) == 2 && version == START_FILE_VERSION && v >= 0;
    fclose(f);
    if (!ok)
        return broker_store_err(KC_ERR_KAFKA_STORAGE_ERROR, errstr, errstr_size,
                                "%s is not a log start checkpoint", path);
    *start = v;
    return 0;
}

int broker_flog_write_start(broker_file_log_t *l, int64_t start, char *errstr, size_t errstr_size)
{
    char path[4096], tmp[4200], text[64];
    snprintf(path, sizeof(path), "%s/%s", l->dir, BROKER_LOG_START_FILE);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int n = snprintf(text, sizeof(text), "%d\n%" PRId64 "\n", START_FILE_VERSION, start);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return broker_store_io_err(errstr, errstr_size, "create %s", tmp);
    if (broker_pwrite_all(fd, text, (size_t)n, 0) != 0 || fsync(fd) != 0) {
        int rc = broker_store_io_err(errstr, errstr_size, "write %s", tmp);
        close(fd);
        unlink(tmp);
        return rc;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int rc = broker_store_io_err(errstr, errstr_size, "rename %s", tmp);
        unlink(tmp);
        return rc;
    }
    if (broker_fsync_dir(l->dir) != 0)
        return broker_store_io_err(errstr, errstr_size, "fsync %s", l->dir);
    return 0;
}

int broker_flog_delete_oldest(broker_file_log_t *l, int n, int64_t now_ms, int *deleted,
                              char *errstr, size_t errstr_size)
{
    if (deleted) *deleted = 0;
    if (n <= 0) return 0;
    if (n >= l->nsegs) {
        /* The log keeps an active segment: start an empty one at the end. */
        int rc = broker_flog_roll(l, now_ms, errstr, errstr_size);
        if (rc) return rc;
        n = l->nsegs - 1;
    }
    int done = 0, rc = 0;
    for (; done < n; done++) {
        broker_segment_t *seg = l->segs[done];
        rc = broker_segment_unlink(seg, errstr, errstr_size);
        if (rc) break;
        l->bytes -= seg->size;
        broker_segment_unref(seg);
    }
    if (done) {
        memmove(l->segs, l->segs + done, (size_t)(l->nsegs - done) * sizeof(*l->segs));
        l->nsegs -= done;
        l->dir_dirty = 1;
        if (l->start < l->segs[0]->base) l->start = l->segs[0]->base;
    }
    if (deleted) *deleted = done;
    return rc;
}

/* How many of the oldest segments retention deletes. Like Kafka: time, then
 * size, then segments wholly below the log start; each stops at the first
 * segment that stays, and an empty active segment always stays. */
static int deletable(const broker_file_log_t *l, int64_t now_ms)
{
    int n = 0;
    const broker_log_conf_t *c = &l->conf;
    while (c->retention_ms >= 0 && n < l->nsegs) {
        const broker_segment_t *seg = l->segs[n];
        if (seg->size == 0 || now_ms - broker_segment_largest_ts(seg) <= c->retention_ms) break;
        n++;
    }
    if (c->retention_bytes >= 0) {
        int64_t left = l->bytes;
        for (int i = 0; i < n; i++)
            left -= l->segs[i]->size;
        int64_t over = left - c->retention_bytes;
        while (n < l->nsegs && l->segs[n]->size > 0 && over - l->segs[n]->size >= 0) {
            over -= l->segs[n]->size;
            n++;
        }
    }
    while (n + 1 < l->nsegs && l->segs[n + 1]->base <= l->start)
        n++;
    return n;
}

int broker_flog_retain(broker_log_t *log, int64_t now_ms, int *deleted, char *errstr,
                       size_t errstr_size)
{
    broker_file_log_t *l = (broker_file_log_t *)log;
    return broker_flog_delete_oldest(l, deletable(l, now_ms), now_ms, deleted, errstr, errstr_size);
}

int broker_flog_advance_start(broker_log_t *log, int64_t offset, char *errstr, size_t errstr_size)
{
    broker_file_log_t *l = (broker_file_log_t *)log;
    int64_t end = broker_flog_end(l);
    if (offset < 0 || offset > end)
        return broker_store_err(KC_ERR_OFFSET_OUT_OF_RANGE, errstr, errstr_size,
                                "offset %" PRId64 " is outside [0, %" PRId64 "]", offset, end);
    if (offset <= l->start) return 0;
    int rc = broker_flog_write_start(l, offset, errstr, errstr_size);
    if (rc) return rc;
    l->start = offset;
    int n = 0;
    while (n + 1 < l->nsegs && l->segs[n + 1]->base <= offset)
        n++;
    return broker_flog_delete_oldest(l, n, 0, NULL, errstr, errstr_size);
}
