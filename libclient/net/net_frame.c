/* Response frame buffers, recycled: a consumer keeps fetched frames until
 * the application destroys its records, usually on another thread, and
 * glibc then returns the memory to the kernel (trim, madvise), so every
 * new megabyte-sized frame paid its page faults again (most of the
 * consumer's CPU). A small process-wide cache of large buffers keeps them
 * mapped. Small frames bypass it. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "net/net_conn.h"

#define FRAME_POOL_MIN   (64 * 1024)        /* smaller frames: plain malloc */
#define FRAME_POOL_SLOTS 4                  /* buffers kept */
#define FRAME_POOL_MAX   ((size_t)16 << 20) /* larger ones are not kept */

typedef struct frame_hdr {
    size_t cap;
    _Alignas(max_align_t) unsigned char data[];
} frame_hdr_t;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static frame_hdr_t *pool[FRAME_POOL_SLOTS];
static int pool_n;

static frame_hdr_t *hdr_of(void *p)
{
    return (frame_hdr_t *)((unsigned char *)p - offsetof(frame_hdr_t, data));
}

void *net_frame_alloc(size_t size)
{
    if (size >= FRAME_POOL_MIN) {
        frame_hdr_t *best = NULL;
        pthread_mutex_lock(&pool_lock);
        for (int i = 0; i < pool_n; i++) {
            /* The smallest that fits, so one large frame does not pin a
             * large buffer for small ones. */
            if (pool[i]->cap >= size && (!best || pool[i]->cap < best->cap)) best = pool[i];
        }
        if (best) {
            for (int i = 0; i < pool_n; i++)
                if (pool[i] == best) {
                    pool[i] = pool[--pool_n];
                    break;
                }
        }
        pthread_mutex_unlock(&pool_lock);
        if (best) return best->data;
        /* Round up so that frames of similar sizes share buffers. */
        size = (size + FRAME_POOL_MIN - 1) / FRAME_POOL_MIN * FRAME_POOL_MIN;
    }
    frame_hdr_t *h = malloc(sizeof(*h) + (size ? size : 1));
    if (!h) return NULL;
    h->cap = size;
    return h->data;
}

void net_frame_free(void *p)
{
    if (!p) return;
    frame_hdr_t *h = hdr_of(p);
    if (h->cap >= FRAME_POOL_MIN && h->cap <= FRAME_POOL_MAX) {
        pthread_mutex_lock(&pool_lock);
        if (pool_n < FRAME_POOL_SLOTS) {
            pool[pool_n++] = h;
            h = NULL;
        }
        pthread_mutex_unlock(&pool_lock);
    }
    free(h);
}
