/* Stored batches into a Fetch response without a user-space copy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "handlers/fetch_splice.h"

/* What out owns once a range is spliced: the log's hold, and the mapping
 * when the bytes go from one. */
typedef struct splice_hold {
    broker_log_range_t range;
    void *map;
    size_t map_len;
} splice_hold_t;

static void release_hold(splice_hold_t *h)
{
    if (h->map) munmap(h->map, h->map_len);
    broker_log_range_release(&h->range);
    free(h);
}

static void seg_cleanup(struct evbuffer_file_segment const *seg, int flags, void *arg)
{
    (void)seg;
    (void)flags;
    release_hold(arg);
}

static void ref_cleanup(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    release_hold(arg);
}

static void clear_range(broker_log_range_t *range)
{
    memset(range, 0, sizeof(*range));
    range->fd = -1;
}

/* Maps the file bytes of h->range; returns where they start, or NULL (the
 * caller then sends with sendfile). MAP_POPULATE fills the page tables in
 * one call instead of a fault per 64 KiB as the socket write walks them. The
 * mapped bytes lie below the segment's size, which only grows while a hold
 * is out, so the write never touches a page past the end of the file. */
static const uint8_t *map_range(splice_hold_t *h)
{
    static long page;
    if (!page) page = sysconf(_SC_PAGESIZE);
    if (page <= 0) return NULL;
    int64_t start = h->range.pos - h->range.pos % page;
    size_t lead = (size_t)(h->range.pos - start);
    void *m = mmap(NULL, lead + h->range.len, PROT_READ, MAP_SHARED | MAP_POPULATE, h->range.fd,
                   (off_t)start);
    if (m == MAP_FAILED) return NULL;
    h->map = m;
    h->map_len = lead + h->range.len;
    return (const uint8_t *)m + lead;
}

int fetch_splice_range(struct evbuffer *out, broker_log_range_t *range)
{
    splice_hold_t *h = calloc(1, sizeof(*h));
    if (!h) return -1;
    h->range = *range;
    const uint8_t *mem = range->mem;
    if (!mem && range->len >= FETCH_MAP_MIN_BYTES) mem = map_range(h);
    if (mem) {
        if (evbuffer_add_reference(out, mem, range->len, ref_cleanup, h) != 0) {
            if (h->map) munmap(h->map, h->map_len);
            free(h);
            return -1;
        }
        clear_range(range);
        return 0;
    }
    struct evbuffer_file_segment *seg =
        evbuffer_file_segment_new(range->fd, range->pos, (ev_off_t)range->len, 0);
    if (!seg) {
        free(h);
        return -1;
    }
    evbuffer_file_segment_add_cleanup_cb(seg, seg_cleanup, h);
    int rc = evbuffer_add_file_segment(out, seg, 0, (ev_off_t)range->len);
    /* From here the segment's cleanup owns the hold, whatever rc says. */
    clear_range(range);
    evbuffer_file_segment_free(seg);
    return rc == 0 ? 0 : -1;
}
