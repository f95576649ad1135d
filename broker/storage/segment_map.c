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
 * they are the page cache's and the kernel reclaims them as it would any.
 *
 * Every mapping is one entry in the process's map table, which malloc's
 * large blocks and thread stacks need too (vm.max_map_count, 65530 by
 * default): past broker_seg_map_max live mappings a segment is not mapped
 * and its reads go by sendfile, so a broker reading tens of thousands of
 * segments never runs the process out of mappings. */
#include <stdatomic.h>
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
int broker_seg_map_max = 8192;

static atomic_int live_maps;

int broker_seg_maps_live(void)
{
    return atomic_load(&live_maps);
}

const uint8_t *broker_segment_map(broker_segment_t *seg, int64_t pos, size_t len)
{
    if (pos < 0 || seg->log_fd < 0) return NULL;
    size_t end = (size_t)pos + len;
    broker_seg_map_t *m = seg->map;
    if (m && end <= m->len) return m->p + pos;
    size_t step = broker_seg_map_step ? broker_seg_map_step : 1;
    size_t want = (end + step - 1) / step * step;
    if (atomic_fetch_add(&live_maps, 1) >= broker_seg_map_max) {
        atomic_fetch_sub(&live_maps, 1);
        return NULL;
    }
    broker_seg_map_t *nm = malloc(sizeof(*nm));
    void *p = nm ? mmap(NULL, want, PROT_READ, MAP_SHARED, seg->log_fd, 0) : MAP_FAILED;
    if (p == MAP_FAILED) {
        free(nm);
        atomic_fetch_sub(&live_maps, 1);
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
        atomic_fetch_sub(&live_maps, 1);
        m = older;
    }
    seg->map = NULL;
}
