/* The file-backed partition log: append, read, flush, close. Opening and
 * recovery are in log_file_open.c, retention in log_retention.c, timestamp
 * lookups in log_time.c. */
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

int broker_flog_seg_for(const broker_file_log_t *l, int64_t offset)
{
    int lo = 0, hi = l->nsegs; /* first segment with base > offset is at hi */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (l->segs[mid]->base <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

int broker_flog_roll(broker_file_log_t *l, int64_t now_ms, char *errstr, size_t errstr_size)
{
    if (l->nsegs == l->cap) {
        int ncap = l->cap ? l->cap * 2 : 8;
        broker_segment_t **p = realloc(l->segs, (size_t)ncap * sizeof(*p));
        if (!p) return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "no memory");
        l->segs = p;
        l->cap = ncap;
    }
    broker_segment_t *seg;
    int rc = broker_segment_create(l->dir, broker_flog_end(l), now_ms, &seg, errstr, errstr_size);
    if (rc) return rc;
    rc = broker_segment_seal(broker_flog_active(l), errstr, errstr_size);
    if (rc) {
        broker_segment_unlink(seg, NULL, 0);
        broker_segment_unref(seg);
        return rc;
    }
    l->segs[l->nsegs++] = seg;
    l->dir_dirty = 1;
    return 0;
}

/* Checks that data[0..len) is whole batches; *offsets gets how many offsets
 * they take. */
static int check_batches(const uint8_t *data, size_t len, int64_t *offsets, char *errstr,
                         size_t errstr_size)
{
    *offsets = 0;
    if (len == 0)
        return broker_store_err(KC_ERR_CORRUPT_MESSAGE, errstr, errstr_size, "no batch to append");
    for (size_t off = 0; off < len;) {
        proto_batch_header_t h;
        int rc = broker_batch_peek(data + off, len - off, &h, errstr, errstr_size);
        if (rc == KC_ERR__PARTIAL || (!rc && proto_batch_size(&h) > len - off))
            return broker_store_err(KC_ERR_CORRUPT_MESSAGE, errstr, errstr_size,
                                    "partial batch at byte %zu of %zu", off, len);
        if (rc) return rc;
        *offsets += (int64_t)h.last_offset_delta + 1;
        off += proto_batch_size(&h);
    }
    return 0;
}

static int want_roll(const broker_file_log_t *l, size_t len, int64_t offsets, int64_t now_ms)
{
    const broker_segment_t *seg = broker_flog_active(l);
    if (seg->size == 0) return 0;
    if (seg->size + (int64_t)len > l->conf.segment_bytes) return 1;
    if (l->conf.roll_ms > 0 && now_ms - seg->roll_ts > l->conf.roll_ms) return 1;
    /* A full index closes its segment, as in Kafka. */
    if ((int64_t)seg->ix.on >= l->conf.index_max_bytes / BROKER_OIDX_ENTRY ||
        (int64_t)seg->ix.tn >= l->conf.index_max_bytes / BROKER_TIDX_ENTRY)
        return 1;
    /* Index entries hold offsets relative to the base in 32 bits. */
    return broker_flog_end(l) + offsets - 1 - seg->base > INT32_MAX;
}

static int flog_append(broker_log_t *log, void *data, size_t len, int64_t now_ms,
                       broker_log_append_info_t *info, char *errstr, size_t errstr_size)
{
    broker_file_log_t *l = (broker_file_log_t *)log;
    if (l->broken)
        return broker_store_err(KC_ERR_KAFKA_STORAGE_ERROR, errstr, errstr_size,
                                "%s: log is offline after a failed write or sync", l->dir);
    int64_t offsets;
    int rc = check_batches(data, len, &offsets, errstr, errstr_size);
    if (rc) return rc;
    if ((int64_t)len > l->conf.segment_bytes || offsets - 1 > INT32_MAX)
        return broker_store_err(KC_ERR_RECORD_LIST_TOO_LARGE, errstr, errstr_size,
                                "%zu bytes of batches exceed log.segment.bytes %" PRId64, len,
                                l->conf.segment_bytes);
    if (want_roll(l, len, offsets, now_ms)) {
        rc = broker_flog_roll(l, now_ms, errstr, errstr_size);
        if (rc) return rc;
    }
    int64_t base = broker_flog_end(l), next = base;
    uint8_t *p = data;
    for (size_t off = 0; off < len;) {
        proto_batch_header_t h;
        broker_batch_peek(p + off, len - off, &h, NULL, 0);
        proto_batch_set_base_offset(p + off, next);
        next += (int64_t)h.last_offset_delta + 1;
        off += proto_batch_size(&h);
    }
    int broken = 0;
    broker_segment_t *seg = broker_flog_active(l);
    int64_t old_size = seg->size;
    broker_segment_reserve(seg, old_size + (int64_t)len, l->conf.segment_bytes);
    rc = broker_segment_append(seg, p, len, l->conf.index_interval_bytes, &broken, errstr,
                               errstr_size);
    l->bytes += seg->size - old_size;
    if (broken) l->broken = 1;
    if (rc) return rc;
    if (info) {
        info->base_offset = base;
        info->last_offset = next - 1;
        info->start = l->start;
    }
    return 0;
}

static void seg_release(void *hold)
{
    broker_segment_unref(hold);
}

/* File position where offsets >= limit start in segment i. */
static int limit_pos(broker_file_log_t *l, int i, int64_t limit, int64_t *pos, char *errstr,
                     size_t errstr_size)
{
    broker_segment_t *seg = l->segs[i];
    *pos = seg->size;
    if (limit >= broker_flog_seg_limit(l, i)) return 0;
    proto_batch_header_t h;
    int64_t p;
    int rc = broker_segment_find(seg, limit, &p, &h, errstr, errstr_size);
    if (rc == KC_ERR__NOENT) return 0;
    if (rc) return rc;
    *pos = p;
    return 0;
}

static int flog_read(broker_log_t *log, int64_t offset, int64_t max_offset, size_t max_bytes,
                     broker_log_range_t *out, char *errstr, size_t errstr_size)
{
    broker_file_log_t *l = (broker_file_log_t *)log;
    int64_t end = broker_flog_end(l);
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    out->first_offset = offset;
    if (offset < l->start || offset > end)
        return broker_store_err(KC_ERR_OFFSET_OUT_OF_RANGE, errstr, errstr_size,
                                "offset %" PRId64 " is outside [%" PRId64 ", %" PRId64 "]", offset,
                                l->start, end);
    int64_t limit = max_offset < 0 || max_offset > end ? end : max_offset;
    if (offset >= limit) return 0;

    for (int i = broker_flog_seg_for(l, offset); i < l->nsegs; i++) {
        broker_segment_t *seg = l->segs[i];
        proto_batch_header_t h;
        int64_t pos, stop;
        int rc = broker_segment_find(seg, offset, &pos, &h, errstr, errstr_size);
        if (rc == KC_ERR__NOENT) continue;
        if (rc) return rc;
        if (h.base_offset >= limit) return 0;
        rc = limit_pos(l, i, limit, &stop, errstr, errstr_size);
        if (rc) return rc;
        size_t first = proto_batch_size(&h), len = (size_t)(stop - pos);
        if (len > max_bytes) {
            /* Whole batches only: a cut one would be sent again next time. */
            int64_t whole;
            rc = broker_segment_whole_end(seg, pos, pos + (int64_t)max_bytes, &whole, errstr,
                                          errstr_size);
            if (rc) return rc;
            len = (size_t)(whole - pos);
        }
        if (len < first) len = first; /* KIP-74: the first batch goes whole */
        broker_segment_ref(seg);
        out->fd = seg->log_fd;
        out->mem = broker_segment_map(seg, pos, len); /* NULL: readers use fd */
        out->pos = pos;
        out->len = len;
        out->first_offset = h.base_offset;
        out->hold = seg;
        out->release = seg_release;
        return 0;
    }
    return 0;
}

typedef struct flog_ticket {
    broker_log_flush_t pub;
    int dir_fd; /* the directory, opened for this ticket; -1 when not needed */
    int n;
    struct {
        broker_segment_t *seg; /* referenced */
        unsigned log_file : 1, indexes : 1;
    } e[];
} flog_ticket_t;

static int ticket_run(broker_log_flush_t *pub, char *errstr, size_t errstr_size)
{
    flog_ticket_t *t = (flog_ticket_t *)pub;
    for (int i = 0; i < t->n; i++) {
        int rc = broker_segment_sync_files(t->e[i].seg, t->e[i].log_file, t->e[i].indexes, errstr,
                                           errstr_size);
        if (rc) return rc;
    }
    if (t->dir_fd >= 0 && fsync(t->dir_fd) != 0)
        return broker_store_io_err(errstr, errstr_size, "fsync of the partition directory");
    return 0;
}

static int flog_flush_begin(broker_log_t *log, broker_log_flush_t **out, char *errstr,
                            size_t errstr_size)
{
    broker_file_log_t *l = (broker_file_log_t *)log;
    *out = NULL;
    if (l->flush_out)
        return broker_store_err(KC_ERR__STATE, errstr, errstr_size,
                                "%s: a flush is already under way", l->dir);
    int n = 0;
    for (int i = 0; i < l->nsegs; i++)
        n += l->segs[i]->dirty || l->segs[i]->index_dirty;
    flog_ticket_t *t = malloc(sizeof(*t) + (size_t)n * sizeof(t->e[0]));
    if (!t) return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "no memory");
    t->dir_fd = -1;
    if (l->dir_dirty) {
        t->dir_fd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (t->dir_fd < 0) {
            free(t);
            return broker_store_io_err(errstr, errstr_size, "open %s", l->dir);
        }
        l->dir_dirty = 0;
    }
    t->n = 0;
    for (int i = 0; i < l->nsegs; i++) {
        broker_segment_t *seg = l->segs[i];
        if (!seg->dirty && !seg->index_dirty) continue;
        broker_segment_ref(seg);
        t->e[t->n].seg = seg;
        t->e[t->n].log_file = seg->dirty;
        t->e[t->n].indexes = seg->index_dirty;
        t->n++;
        seg->dirty = seg->index_dirty = 0;
    }
    t->pub.end = broker_flog_end(l);
    t->pub.run = ticket_run;
    l->flush_out = 1;
    *out = &t->pub;
    return 0;
}

static int flog_flush_end(broker_log_t *log, broker_log_flush_t *pub, int run_result,
                          int64_t *flushed_offset)
{
    broker_file_log_t *l = (broker_file_log_t *)log;
    flog_ticket_t *t = (flog_ticket_t *)pub;
    if (run_result == 0) {
        if (t->pub.end > l->flushed) l->flushed = t->pub.end;
        if (flushed_offset) *flushed_offset = l->flushed;
    } else {
        l->broken = 1;
    }
    for (int i = 0; i < t->n; i++)
        broker_segment_unref(t->e[i].seg);
    if (t->dir_fd >= 0) close(t->dir_fd);
    free(t);
    l->flush_out = 0;
    return run_result;
}

static int flog_flush(broker_log_t *log, int64_t *flushed_offset, char *errstr, size_t errstr_size)
{
    broker_log_flush_t *t;
    int rc = flog_flush_begin(log, &t, errstr, errstr_size);
    if (rc) return rc;
    return flog_flush_end(log, t, ticket_run(t, errstr, errstr_size), flushed_offset);
}

static void flog_offsets(broker_log_t *log, broker_log_offsets_t *out)
{
    broker_file_log_t *l = (broker_file_log_t *)log;
    out->start = l->start;
    out->end = broker_flog_end(l);
    out->flushed = l->flushed;
    out->bytes = l->bytes;
    out->segments = l->nsegs;
}

void broker_flog_free(broker_file_log_t *l)
{
    for (int i = 0; i < l->nsegs; i++)
        broker_segment_unref(l->segs[i]);
    free(l->segs);
    free(l->dir);
    free(l);
}

/* Written last, after everything it vouches for is durable. */
static int write_clean_marker(broker_file_log_t *l, char *errstr, size_t errstr_size)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", l->dir, BROKER_LOG_CLEAN_MARKER);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return broker_store_io_err(errstr, errstr_size, "create %s", path);
    int rc = fsync(fd);
    close(fd);
    if (rc != 0) return broker_store_io_err(errstr, errstr_size, "fsync %s", path);
    if (broker_fsync_dir(l->dir) != 0)
        return broker_store_io_err(errstr, errstr_size, "fsync %s", l->dir);
    return 0;
}

static int flog_close(broker_log_t *log, char *errstr, size_t errstr_size)
{
    broker_file_log_t *l = (broker_file_log_t *)log;
    int rc = 0;
    if (l->broken)
        rc = broker_store_err(KC_ERR_KAFKA_STORAGE_ERROR, errstr, errstr_size,
                              "%s: log is offline after a failed write or sync", l->dir);
    if (!rc) rc = broker_segment_seal(broker_flog_active(l), errstr, errstr_size);
    if (!rc) rc = flog_flush(log, NULL, errstr, errstr_size);
    if (!rc) rc = write_clean_marker(l, errstr, errstr_size);
    broker_flog_free(l);
    return rc;
}

const broker_log_ops_t broker_file_log_ops = {
    .append = flog_append,
    .read = flog_read,
    .flush = flog_flush,
    .flush_begin = flog_flush_begin,
    .flush_end = flog_flush_end,
    .advance_start = broker_flog_advance_start,
    .retain = broker_flog_retain,
    .offset_for_time = broker_flog_offset_for_time,
    .offsets = flog_offsets,
    .reconfigure = broker_flog_reconfigure,
    .close = flog_close,
};
