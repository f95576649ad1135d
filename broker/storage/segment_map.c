/* Segment files mapped into memory, for reads that go to a socket.
 *
 * Writing a Fetch response from a mapping of the page cache beats sendfile
 * on loopback (bench/README.md), and a mapping kept for the segment's life
 * costs its page-table work once, where a mapping per read pays it (and the
 * unmapping) for every response: about 12% of kc-broker's CPU while serving
 * Fetch. The mapping covers more than the file (broker_seg_map_step at a
 * time) so that the active segment can grow under it: pages past the end of
 * the file are never touched, because reads stop at seg->size. A read past
 * the mapping maps the file again, larger; the old mapping stays until the
 * segment is freed, since ranges handed out earlier may point into it.
 * Mapped pages count in the broker's resident size (as shared file pages);
 * they are the page cache's and the kernel reclaims them as it would any. */
#include <stdlib.h>
#include <sys/mman.h>

#include "storage/segment.h"
#include "storage/segment_int.h"

typedef struct broker_seg_map {
    struct broker_seg_map *older;
    uint8_t *p;
    size_t len;
} broker_seg_map_t;

size_t broker_seg_map_step = (size_t)1 << 30;

const uint8_t *broker_segment_map(broker_segment_t *seg, int64_t pos, size_t len)
{
    if (pos < 0 || seg->log_fd < 0) return NULL;
    size_t end = (size_t)pos + len;
    broker_seg_map_t *m = seg->map;
    if (m && end <= m->len) return m->p + pos;
    size_t step = broker_seg_map_step ? broker_seg_map_step : 1;
    size_t want = (end + step - 1) / step * step;
    broker_seg_map_t *nm = malloc(sizeof(*nm));
    if (!nm) return NULL;
    void *p = mmap(NULL, want, PROT_READ, MAP_SHARED, seg->log_fd, 0);
    if (p == MAP_FAILED) {
        free(nm);
        return NULL;
    }
    nm->older = m;
    nm->p = p;
    nm->len = want;
    seg->map = nm;
    return nm->p + pos;
}

void broker_segment_unmap(broker_segment_t *seg)
{
    broker_seg_map_t *m = seg->map;
    while (m) {
        broker_seg_map_t *older = m->older;
        munmap(m->p, m->len);
        free(m);
        m = older;
    }
    seg->map = NULL;
}
