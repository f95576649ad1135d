/* One segment: the .log file and its indexes. Recovery is in segment_recover.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "kc/kc_err.h"
#include "proto/proto_buf.h"
#include "storage/io.h"
#include "storage/segment.h"
#include "storage/segment_int.h"
#include "storage/storage_err.h"

int broker_batch_peek(const void *p, size_t n, proto_batch_header_t *h, char *errstr,
                      size_t errstr_size)
{
    if (n < PROTO_BATCH_HEADER_SIZE) return KC_ERR__PARTIAL;
    proto_rbuf_t r;
    proto_rbuf_init(&r, p, PROTO_BATCH_HEADER_SIZE);
    h->base_offset = proto_get_i64(&r, NULL);
    h->batch_length = proto_get_i32(&r, NULL);
    h->partition_leader_epoch = proto_get_i32(&r, NULL);
    h->magic = proto_get_i8(&r, NULL);
    h->crc = proto_get_u32(&r, NULL);
    h->attributes = proto_get_i16(&r, NULL);
    h->last_offset_delta = proto_get_i32(&r, NULL);
    h->base_timestamp = proto_get_i64(&r, NULL);
    h->max_timestamp = proto_get_i64(&r, NULL);
    h->producer_id = proto_get_i64(&r, NULL);
    h->producer_epoch = proto_get_i16(&r, NULL);
    h->base_sequence = proto_get_i32(&r, NULL);
    h->record_count = proto_get_i32(&r, NULL);
    if (h->magic != 2)
        return broker_store_err(KC_ERR_CORRUPT_MESSAGE, errstr, errstr_size,
                                "batch magic %d, want 2", h->magic);
    if (h->batch_length < PROTO_BATCH_HEADER_SIZE - PROTO_BATCH_LOG_OVERHEAD)
        return broker_store_err(KC_ERR_CORRUPT_MESSAGE, errstr, errstr_size,
                                "batch length %" PRId32 " is below the header size",
                                h->batch_length);
    /* Offsets are assigned per record: a batch without one cannot be stored. */
    if (h->last_offset_delta < 0)
        return broker_store_err(KC_ERR_CORRUPT_MESSAGE, errstr, errstr_size,
                                "batch lastOffsetDelta %" PRId32 " is negative",
                                h->last_offset_delta);
    return 0;
}

int broker_seg_cursor_header(broker_seg_cursor_t *c, int64_t pos, proto_batch_header_t *h,
                             char *errstr, size_t errstr_size)
{
    const broker_segment_t *seg = c->seg;
    if (pos + PROTO_BATCH_HEADER_SIZE > seg->size) return KC_ERR__PARTIAL;
    if (pos < c->start || pos + PROTO_BATCH_HEADER_SIZE > c->start + (int64_t)c->len) {
        ssize_t r = broker_pread_full(seg->log_fd, c->buf, sizeof(c->buf), pos);
        if (r < 0) return broker_store_io_err(errstr, errstr_size, "read %s.log", seg->path);
        c->start = pos;
        c->len = (size_t)r;
    }
    size_t avail = (size_t)(c->start + (int64_t)c->len - pos);
    int rc = broker_batch_peek(c->buf + (pos - c->start), avail, h, errstr, errstr_size);
    if (rc) return rc;
    if (pos + (int64_t)proto_batch_size(h) > seg->size) return KC_ERR__PARTIAL;
    return 0;
}

static int corrupt_at(const broker_segment_t *seg, int64_t pos, int rc, char *errstr,
                      size_t errstr_size)
{
    if (rc == KC_ERR_KAFKA_STORAGE_ERROR) return rc;
    return broker_store_err(KC_ERR_KAFKA_STORAGE_ERROR, errstr, errstr_size,
                            "%s.log: bad batch at position %" PRId64, seg->path, pos);
}

int broker_seg_index_batch(broker_segment_t *seg, int64_t pos, const proto_batch_header_t *h,
                           int32_t interval, int write_files, char *errstr, size_t errstr_size)
{
    int64_t last = broker_batch_last_offset(h);
    if (h->max_timestamp > seg->max_ts) {
        seg->max_ts = h->max_timestamp;
        seg->max_ts_offset = last;
    }
    if (!seg->first_ts_known) {
        if (h->max_timestamp >= 0) seg->roll_ts = h->max_timestamp;
        seg->first_ts_known = 1;
    }
    if (seg->bytes_since_index >= interval) {
        int rc = broker_index_add_offset(&seg->ix, write_files ? seg->ofd : -1,
                                         (uint32_t)(last - seg->base), (uint32_t)pos, errstr,
                                         errstr_size);
        if (rc) return rc;
        broker_index_t *ix = &seg->ix;
        if (seg->max_ts >= 0 && (ix->tn == 0 || seg->max_ts > ix->t[ix->tn - 1].ts)) {
            rc = broker_index_add_time(ix, write_files ? seg->tfd : -1, seg->max_ts,
                                       (uint32_t)(seg->max_ts_offset - seg->base), errstr,
                                       errstr_size);
            if (rc) return rc;
        }
        seg->bytes_since_index = 0;
    }
    seg->bytes_since_index += (int64_t)proto_batch_size(h);
    seg->next_offset = last + 1;
    return 0;
}

static char *seg_path(const char *dir, int64_t base)
{
    size_t n = strlen(dir) + 32;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%020" PRId64, dir, base);
    return p;
}

static int open_part(const broker_segment_t *seg, const char *ext, int flags, int *fd, char *errstr,
                     size_t errstr_size)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s%s", seg->path, ext);
    *fd = open(path, flags | O_RDWR | O_CLOEXEC, 0644);
    if (*fd < 0) return broker_store_io_err(errstr, errstr_size, "open %s", path);
    return 0;
}

static broker_segment_t *seg_new(const char *dir, int64_t base, int64_t now_ms)
{
    broker_segment_t *seg = calloc(1, sizeof(*seg));
    if (!seg) return NULL;
    seg->path = seg_path(dir, base);
    if (!seg->path) {
        free(seg);
        return NULL;
    }
    seg->base = base;
    seg->next_offset = base;
    seg->max_ts = -1;
    seg->max_ts_offset = -1;
    seg->roll_ts = now_ms;
    seg->log_fd = seg->ofd = seg->tfd = -1;
    atomic_init(&seg->refs, 1);
    return seg;
}

/* On tmpfs and ramfs, fallocate() allocates and charges the memory itself,
 * page by page: a reservation there would hold BROKER_SEG_RESERVE_STEP of RAM
 * per active segment and cost more CPU than the writes it runs ahead of. */
static int on_memory_fs(int fd)
{
    struct statfs sf;
    if (fstatfs(fd, &sf) != 0) return 0;
    return sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC;
}

/* *missing is set when an index file had to be created: it must be rebuilt. */
static int open_all(broker_segment_t *seg, int create, int *missing, char *errstr,
                    size_t errstr_size)
{
    int excl = create ? O_CREAT | O_TRUNC : 0;
    int rc = open_part(seg, BROKER_SEG_LOG, excl, &seg->log_fd, errstr, errstr_size);
    if (!rc && on_memory_fs(seg->log_fd)) seg->reserved = INT64_MAX; /* never reserve */
    int *fds[] = {&seg->ofd, &seg->tfd};
    const char *ext[] = {BROKER_SEG_INDEX, BROKER_SEG_TIMEINDEX};
    for (int i = 0; i < 2 && !rc; i++) {
        rc = open_part(seg, ext[i], excl, fds[i], NULL, 0);
        if (rc && !create && errno == ENOENT) {
            *missing = 1;
            rc = open_part(seg, ext[i], O_CREAT, fds[i], errstr, errstr_size);
        } else if (rc) {
            rc = broker_store_io_err(errstr, errstr_size, "open %s%s", seg->path, ext[i]);
        }
    }
    return rc;
}

int broker_segment_create(const char *dir, int64_t base, int64_t now_ms, broker_segment_t **out,
                          char *errstr, size_t errstr_size)
{
    *out = NULL;
    broker_segment_t *seg = seg_new(dir, base, now_ms);
    if (!seg) return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "no memory");
    int missing = 0;
    int rc = open_all(seg, 1, &missing, errstr, errstr_size);
    if (rc) {
        broker_segment_unref(seg);
        return rc;
    }
    seg->dirty = 1; /* the new files' sizes are metadata a sync should cover */
    *out = seg;
    return 0;
}

/* Walks the headers from the last indexed batch to the end of the file. */
static int walk_tail(broker_segment_t *seg, char *errstr, size_t errstr_size)
{
    broker_index_t *ix = &seg->ix;
    int64_t pos = ix->on ? ix->o[ix->on - 1].pos : 0;
    int64_t expect_last = ix->on ? seg->base + ix->o[ix->on - 1].rel : -1;
    int64_t next = seg->base;
    broker_seg_cursor_t c = {.seg = seg};
    while (pos < seg->size) {
        proto_batch_header_t h;
        int rc = broker_seg_cursor_header(&c, pos, &h, errstr, errstr_size);
        if (rc == KC_ERR_KAFKA_STORAGE_ERROR) return rc;
        if (rc || h.base_offset < next || broker_batch_last_offset(&h) - seg->base > INT32_MAX)
            return broker_store_err(KC_ERR__BAD_MSG, errstr, errstr_size,
                                    "%s.log: bad batch at position %" PRId64, seg->path, pos);
        if (expect_last >= 0) {
            if (broker_batch_last_offset(&h) != expect_last)
                return broker_store_err(KC_ERR__BAD_MSG, errstr, errstr_size,
                                        "%s.index: last entry disagrees with the log", seg->path);
            expect_last = -1;
        }
        next = broker_batch_last_offset(&h) + 1;
        if (h.max_timestamp > seg->max_ts) {
            seg->max_ts = h.max_timestamp;
            seg->max_ts_offset = next - 1;
        }
        pos += (int64_t)proto_batch_size(&h);
    }
    if (ix->tn && seg->base + ix->t[ix->tn - 1].rel >= next)
        return broker_store_err(KC_ERR__BAD_MSG, errstr, errstr_size,
                                "%s.timeindex: entry past the end of the log", seg->path);
    seg->next_offset = next;
    return 0;
}

/* The last offset index entry must point at a batch with that last offset. */
static int check_last_entry(broker_segment_t *seg, char *errstr, size_t errstr_size)
{
    broker_index_t *ix = &seg->ix;
    if (!ix->on) return 0;
    broker_seg_cursor_t c = {.seg = seg};
    proto_batch_header_t h;
    int rc = broker_seg_cursor_header(&c, ix->o[ix->on - 1].pos, &h, errstr, errstr_size);
    if (rc == KC_ERR_KAFKA_STORAGE_ERROR) return rc;
    if (rc || broker_batch_last_offset(&h) != seg->base + ix->o[ix->on - 1].rel)
        return broker_store_err(KC_ERR__BAD_MSG, errstr, errstr_size,
                                "%s.index: last entry disagrees with the log", seg->path);
    seg->next_offset = broker_batch_last_offset(&h) + 1;
    return 0;
}

static int load(broker_segment_t *seg, int tail, char *errstr, size_t errstr_size)
{
    struct stat st;
    if (fstat(seg->log_fd, &st) != 0)
        return broker_store_io_err(errstr, errstr_size, "fstat %s.log", seg->path);
    seg->size = st.st_size;
    int rc = broker_index_load(&seg->ix, seg->ofd, seg->tfd, seg->size, errstr, errstr_size);
    if (rc) return rc;
    broker_index_t *ix = &seg->ix;
    if (ix->tn) {
        seg->max_ts = ix->t[ix->tn - 1].ts;
        seg->max_ts_offset = seg->base + ix->t[ix->tn - 1].rel;
    }
    seg->bytes_since_index = seg->size - (ix->on ? ix->o[ix->on - 1].pos : 0);
    if (seg->size > 0) {
        broker_seg_cursor_t c = {.seg = seg};
        proto_batch_header_t h;
        rc = broker_seg_cursor_header(&c, 0, &h, errstr, errstr_size);
        if (rc == KC_ERR_KAFKA_STORAGE_ERROR) return rc;
        if (rc)
            return broker_store_err(KC_ERR__BAD_MSG, errstr, errstr_size, "%s.log: bad first batch",
                                    seg->path);
        if (h.max_timestamp >= 0) seg->roll_ts = h.max_timestamp;
        seg->first_ts_known = 1;
    }
    return tail ? walk_tail(seg, errstr, errstr_size) : check_last_entry(seg, errstr, errstr_size);
}

int broker_segment_open(const char *dir, int64_t base, int64_t now_ms, int tail,
                        broker_segment_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    broker_segment_t *seg = seg_new(dir, base, now_ms);
    if (!seg) return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "no memory");
    int missing = 0;
    int rc = open_all(seg, 0, &missing, errstr, errstr_size);
    if (!rc) rc = load(seg, tail, errstr, errstr_size);
    if (!rc && missing)
        rc = broker_store_err(KC_ERR__BAD_MSG, errstr, errstr_size, "%s: index files missing",
                              seg->path);
    if (rc && rc != KC_ERR__BAD_MSG) {
        broker_segment_unref(seg);
        return rc;
    }
    *out = seg;
    return rc;
}

int broker_segment_append(broker_segment_t *seg, const uint8_t *data, size_t len,
                          int32_t index_interval, int *broken, char *errstr, size_t errstr_size)
{
    int64_t old = seg->size;
    if (broker_pwrite_all(seg->log_fd, data, len, old)) {
        int rc = broker_store_io_err(errstr, errstr_size, "write %s.log", seg->path);
        if (ftruncate(seg->log_fd, old) != 0) *broken = 1;
        return rc;
    }
    seg->size += (int64_t)len;
    seg->dirty = 1;
    for (size_t off = 0; off < len;) {
        proto_batch_header_t h;
        int rc = broker_batch_peek(data + off, len - off, &h, errstr, errstr_size);
        if (!rc)
            rc = broker_seg_index_batch(seg, old + (int64_t)off, &h, index_interval, 1, errstr,
                                        errstr_size);
        if (rc) {
            /* The index files are now in doubt: only a recovery can say. */
            *broken = 1;
            if (ftruncate(seg->log_fd, old) == 0) seg->size = old;
            return rc;
        }
        off += proto_batch_size(&h);
    }
    return 0;
}

int broker_segment_find(broker_segment_t *seg, int64_t offset, int64_t *pos,
                        proto_batch_header_t *h, char *errstr, size_t errstr_size)
{
    int64_t rel = offset - seg->base;
    if (rel < 0) rel = 0;
    if (rel > INT32_MAX) rel = INT32_MAX;
    int64_t p = broker_index_lookup_offset(&seg->ix, (uint32_t)rel);
    broker_seg_cursor_t c = {.seg = seg};
    while (p < seg->size) {
        int rc = broker_seg_cursor_header(&c, p, h, errstr, errstr_size);
        if (rc) return corrupt_at(seg, p, rc, errstr, errstr_size);
        if (broker_batch_last_offset(h) >= offset) {
            *pos = p;
            return 0;
        }
        p += (int64_t)proto_batch_size(h);
    }
    return KC_ERR__NOENT;
}

int broker_segment_whole_end(broker_segment_t *seg, int64_t from, int64_t cut, int64_t *end,
                             char *errstr, size_t errstr_size)
{
    int64_t p = cut > UINT32_MAX ? UINT32_MAX : cut;
    p = broker_index_lookup_pos(&seg->ix, (uint32_t)p);
    if (p < from) p = from;
    broker_seg_cursor_t c = {.seg = seg};
    while (p < seg->size) {
        proto_batch_header_t h;
        int rc = broker_seg_cursor_header(&c, p, &h, errstr, errstr_size);
        if (rc) return corrupt_at(seg, p, rc, errstr, errstr_size);
        if (p + (int64_t)proto_batch_size(&h) > cut) break;
        p += (int64_t)proto_batch_size(&h);
    }
    *end = p;
    return 0;
}

int broker_segment_find_time(broker_segment_t *seg, int64_t ts, int64_t min_offset, int64_t *pos,
                             proto_batch_header_t *h, char *errstr, size_t errstr_size)
{
    int64_t rel = broker_index_lookup_time(&seg->ix, ts);
    int64_t min_rel = min_offset - seg->base;
    if (min_rel > rel) rel = min_rel > INT32_MAX ? INT32_MAX : min_rel;
    int64_t p = rel < 0 ? 0 : broker_index_lookup_offset(&seg->ix, (uint32_t)rel);
    broker_seg_cursor_t c = {.seg = seg};
    while (p < seg->size) {
        int rc = broker_seg_cursor_header(&c, p, h, errstr, errstr_size);
        if (rc) return corrupt_at(seg, p, rc, errstr, errstr_size);
        if (h->max_timestamp >= ts && broker_batch_last_offset(h) >= min_offset) {
            *pos = p;
            return 0;
        }
        p += (int64_t)proto_batch_size(h);
    }
    return KC_ERR__NOENT;
}

void broker_segment_reserve(broker_segment_t *seg, int64_t end, int64_t limit)
{
    if (end <= seg->reserved) return;
    int64_t want = end + BROKER_SEG_RESERVE_STEP;
    if (want > limit) want = limit > end ? limit : end;
    if (fallocate(seg->log_fd, FALLOC_FL_KEEP_SIZE, seg->size, want - seg->size) == 0)
        seg->reserved = want;
    else
        seg->reserved = INT64_MAX;
}

int broker_segment_seal(broker_segment_t *seg, char *errstr, size_t errstr_size)
{
    broker_index_t *ix = &seg->ix;
    seg->index_dirty = 1;
    /* Gives back the blocks reserved past the end (truncating to the same
     * size frees them on ext4 and xfs); only a few MB of disk are at stake,
     * so a failure is not an error. */
    if (seg->reserved > seg->size && seg->reserved != INT64_MAX) {
        if (ftruncate(seg->log_fd, seg->size) == 0) seg->reserved = seg->size;
    }
    if (seg->max_ts < 0 || (ix->tn && seg->max_ts <= ix->t[ix->tn - 1].ts)) return 0;
    return broker_index_add_time(ix, seg->tfd, seg->max_ts,
                                 (uint32_t)(seg->max_ts_offset - seg->base), errstr, errstr_size);
}

int broker_segment_sync_files(const broker_segment_t *seg, int log_file, int indexes, char *errstr,
                              size_t errstr_size)
{
    if (log_file && fdatasync(seg->log_fd) != 0)
        return broker_store_io_err(errstr, errstr_size, "fdatasync %s.log", seg->path);
    if (indexes && (fsync(seg->ofd) != 0 || fsync(seg->tfd) != 0))
        return broker_store_io_err(errstr, errstr_size, "fsync %s indexes", seg->path);
    return 0;
}

int64_t broker_segment_largest_ts(const broker_segment_t *seg)
{
    if (seg->max_ts >= 0) return seg->max_ts;
    struct stat st;
    if (fstat(seg->log_fd, &st) != 0) return -1;
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

static int unlink_files(const char *path_base, char *errstr, size_t errstr_size)
{
    static const char *const ext[] = {BROKER_SEG_LOG, BROKER_SEG_INDEX, BROKER_SEG_TIMEINDEX};
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s%s", path_base, ext[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            return broker_store_io_err(errstr, errstr_size, "unlink %s", path);
    }
    return 0;
}

int broker_segment_unlink(broker_segment_t *seg, char *errstr, size_t errstr_size)
{
    return unlink_files(seg->path, errstr, errstr_size);
}

int broker_segment_unlink_at(const char *dir, int64_t base, char *errstr, size_t errstr_size)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%020" PRId64, dir, base);
    return unlink_files(path, errstr, errstr_size);
}

void broker_segment_ref(broker_segment_t *seg)
{
    atomic_fetch_add_explicit(&seg->refs, 1, memory_order_relaxed);
}

void broker_segment_unref(broker_segment_t *seg)
{
    if (!seg || atomic_fetch_sub_explicit(&seg->refs, 1, memory_order_acq_rel) != 1) return;
    if (seg->log_fd >= 0) close(seg->log_fd);
    if (seg->ofd >= 0) close(seg->ofd);
    if (seg->tfd >= 0) close(seg->tfd);
    broker_index_free(&seg->ix);
    broker_segment_unmap(seg);
    free(seg->path);
    free(seg);
}
