/* Stored batches into a Fetch response without a user-space copy. */
#include <stdlib.h>
#include <string.h>

#include "handlers/fetch_splice.h"

static void release_hold(broker_log_range_t *h)
{
    broker_log_range_release(h);
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

int fetch_splice_range(struct evbuffer *out, broker_log_range_t *range, int local_peer)
{
    broker_log_range_t *hold = malloc(sizeof(*hold));
    if (!hold) return -1;
    *hold = *range;
    if (range->mem && (local_peer || range->fd < 0)) {
        if (evbuffer_add_reference(out, range->mem, range->len, ref_cleanup, hold) != 0) {
            free(hold);
            return -1;
        }
        clear_range(range);
        return 0;
    }
    struct evbuffer_file_segment *seg =
        evbuffer_file_segment_new(range->fd, range->pos, (ev_off_t)range->len, 0);
    if (!seg) {
        free(hold);
        return -1;
    }
    evbuffer_file_segment_add_cleanup_cb(seg, seg_cleanup, hold);
    int rc = evbuffer_add_file_segment(out, seg, 0, (ev_off_t)range->len);
    /* From here the segment's cleanup owns the hold, whatever rc says. */
    clear_range(range);
    evbuffer_file_segment_free(seg);
    return rc == 0 ? 0 : -1;
}
