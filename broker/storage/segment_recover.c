/* Segment recovery: check every batch, cut at the first bad one, reindex.
 *
 * Reads the file through a large buffer so a 1 GiB segment of small batches
 * costs a few thousand reads, not one per batch. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc/kc_err.h"
#include "storage/io.h"
#include "storage/segment_int.h"
#include "storage/storage_err.h"

#define RECOVER_BUF (1 << 20)

typedef struct scan_buf {
    uint8_t *p;
    size_t cap;
    int64_t start; /* file position of p[0] */
    size_t len;
} scan_buf_t;

/* Makes file bytes [pos, pos + n) available in b; returns a pointer to them,
 * NULL at end of file (fewer than n bytes left) or on error (*rc set). */
static const uint8_t *scan_window(const broker_segment_t *seg, scan_buf_t *b, int64_t pos, size_t n,
                                  int *rc, char *errstr, size_t errstr_size)
{
    if (pos >= b->start && pos + (int64_t)n <= b->start + (int64_t)b->len)
        return b->p + (pos - b->start);
    if (pos + (int64_t)n > seg->size) return NULL;
    if (n > b->cap) {
        uint8_t *np = realloc(b->p, n);
        if (!np) {
            *rc = broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "no memory");
            return NULL;
        }
        b->p = np;
        b->cap = n;
    }
    ssize_t r = broker_pread_full(seg->log_fd, b->p, b->cap, pos);
    if (r < 0) {
        *rc = broker_store_io_err(errstr, errstr_size, "read %s.log", seg->path);
        return NULL;
    }
    b->start = pos;
    b->len = (size_t)r;
    return b->len >= n ? b->p : NULL;
}

/* 0 if the batch at data is whole, sound and in order after `next`. */
static int batch_ok(const broker_segment_t *seg, const uint8_t *data, size_t size, int64_t next)
{
    proto_batch_header_t h;
    if (proto_batch_header_parse(data, size, &h, NULL, 0) != 0) return -1;
    if (proto_batch_verify_crc(data, size) != 0) return -1;
    if (h.base_offset < next || broker_batch_last_offset(&h) - seg->base > INT32_MAX) return -1;
    return 0;
}

int broker_segment_recover(broker_segment_t *seg, int32_t index_interval, int64_t *cut,
                           char *errstr, size_t errstr_size)
{
    scan_buf_t b = {.cap = RECOVER_BUF, .start = 0, .len = 0};
    b.p = malloc(b.cap);
    if (!b.p) return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "no memory");
    broker_index_clear(&seg->ix);
    seg->max_ts = seg->max_ts_offset = -1;
    seg->bytes_since_index = 0;
    seg->first_ts_known = 0;
    seg->next_offset = seg->base;

    int rc = 0;
    int64_t pos = 0;
    while (pos < seg->size) {
        const uint8_t *hp =
            scan_window(seg, &b, pos, PROTO_BATCH_HEADER_SIZE, &rc, errstr, errstr_size);
        proto_batch_header_t h;
        if (!hp || broker_batch_peek(hp, PROTO_BATCH_HEADER_SIZE, &h, NULL, 0) != 0) break;
        size_t size = proto_batch_size(&h);
        const uint8_t *data = scan_window(seg, &b, pos, size, &rc, errstr, errstr_size);
        if (!data || batch_ok(seg, data, size, seg->next_offset) != 0) break;
        rc = broker_seg_index_batch(seg, pos, &h, index_interval, 0, errstr, errstr_size);
        if (rc) break;
        pos += (int64_t)size;
    }
    free(b.p);
    if (rc) return rc;

    if (cut) *cut = seg->size - pos;
    if (pos < seg->size) {
        if (ftruncate(seg->log_fd, pos) != 0)
            return broker_store_io_err(errstr, errstr_size, "truncate %s.log", seg->path);
        seg->size = pos;
    }
    seg->dirty = 1;
    seg->index_dirty = 1;
    return broker_index_write_all(&seg->ix, seg->ofd, seg->tfd, errstr, errstr_size);
}
