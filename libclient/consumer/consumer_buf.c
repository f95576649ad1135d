/* Reference-counted fetched buffers and the messages carved out of them.
 *
 * A message is not allocated by itself: the poll thread bump-allocates it
 * (with its headers and strings) from blocks owned by the buffer its bytes
 * point into, one block per batch or so. Each message holds a reference to
 * the buffer; the last kc_message_destroy() (from any thread) frees the
 * data and the blocks together. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "consumer/consumer_int.h"

struct cons_blk {
    cons_blk_t *next;
    size_t size;
    _Alignas(max_align_t) uint8_t mem[];
};

/* Blocks have one standard size and are recycled through a small
 * process-wide cache: freed blocks handed back to malloc were trimmed from
 * the heap and faulted in again for the next batch, a page fault every few
 * dozen records. */
#define CONS_BLK_STD   32768
#define CONS_BLK_CACHE 64
#define CONS_ALIGN     _Alignof(max_align_t)

static pthread_mutex_t blk_lock = PTHREAD_MUTEX_INITIALIZER;
static cons_blk_t *blk_cache;
static int blk_cached;

static cons_blk_t *blk_get(size_t size)
{
    if (size <= CONS_BLK_STD) {
        pthread_mutex_lock(&blk_lock);
        cons_blk_t *k = blk_cache;
        if (k) {
            blk_cache = k->next;
            blk_cached--;
        }
        pthread_mutex_unlock(&blk_lock);
        if (k) return k;
        size = CONS_BLK_STD;
    }
    cons_blk_t *k = malloc(sizeof(*k) + size);
    if (k) k->size = size;
    return k;
}

static void blk_put(cons_blk_t *k)
{
    if (k->size == CONS_BLK_STD) {
        pthread_mutex_lock(&blk_lock);
        if (blk_cached < CONS_BLK_CACHE) {
            k->next = blk_cache;
            blk_cache = k;
            blk_cached++;
            k = NULL;
        }
        pthread_mutex_unlock(&blk_lock);
    }
    free(k);
}

/* Decompression buffers, recycled the same way: a batch's records point
 * into the buffer it was decompressed into, which goes back here when the
 * last of them is destroyed and serves a later batch already faulted in. */
#define CONS_SCRATCH_CACHE 4

static pthread_mutex_t scratch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    void *data;
    size_t cap;
} scratch_cache[CONS_SCRATCH_CACHE];
static int scratch_cached;

void cons_scratch_take(proto_wbuf_t *w)
{
    pthread_mutex_lock(&scratch_lock);
    if (scratch_cached) {
        scratch_cached--;
        w->data = scratch_cache[scratch_cached].data;
        w->cap = scratch_cache[scratch_cached].cap;
        w->len = 0;
        w->oom = 0;
    }
    pthread_mutex_unlock(&scratch_lock);
}

static void scratch_give(void *data, size_t cap)
{
    pthread_mutex_lock(&scratch_lock);
    if (scratch_cached < CONS_SCRATCH_CACHE && cap <= ((size_t)16 << 20)) {
        scratch_cache[scratch_cached].data = data;
        scratch_cache[scratch_cached].cap = cap;
        scratch_cached++;
        data = NULL;
    }
    pthread_mutex_unlock(&scratch_lock);
    free(data);
}

cons_buf_t *cons_buf_new_scratch(proto_wbuf_t *w)
{
    cons_buf_t *b = cons_buf_new_fn(w->data, free);
    if (!b) return NULL;
    b->scratch_cap = w->cap;
    *w = (proto_wbuf_t){0};
    return b;
}

cons_buf_t *cons_buf_new_fn(void *data, void (*free_fn)(void *))
{
    cons_buf_t *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    atomic_init(&b->refs, 1);
    b->data = data;
    b->free_fn = free_fn;
    return b;
}

cons_buf_t *cons_buf_new(void *data)
{
    return cons_buf_new_fn(data, free);
}

void cons_buf_ref(cons_buf_t *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void cons_buf_unref(cons_buf_t *b)
{
    if (!b) return;
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1) return;
    cons_blk_t *k = b->blks;
    while (k) {
        cons_blk_t *next = k->next;
        blk_put(k);
        k = next;
    }
    if (b->scratch_cap)
        scratch_give(b->data, b->scratch_cap);
    else if (b->data)
        b->free_fn(b->data);
    free(b);
}

void *cons_buf_alloc(cons_buf_t *b, size_t n, size_t min_blk)
{
    n = (n + CONS_ALIGN - 1) & ~(CONS_ALIGN - 1);
    (void)min_blk;
    if (n > b->left) {
        cons_blk_t *k = blk_get(n);
        if (!k) return NULL;
        k->next = b->blks;
        b->blks = k;
        b->cur = k->mem;
        b->left = k->size;
    }
    void *p = b->cur;
    b->cur += n;
    b->left -= n;
    return p;
}

char *cons_buf_strdup(cons_buf_t *b, const char *s, size_t len)
{
    char *d = cons_buf_alloc(b, len + 1, 0);
    if (!d) return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

cons_msg_t *cons_msg_new(cons_buf_t *b, size_t min_blk)
{
    cons_msg_t *m = cons_buf_alloc(b, sizeof(*m), min_blk);
    if (!m) return NULL;
    memset(m, 0, sizeof(*m));
    m->m.partition = -1;
    m->m.offset = -1;
    m->m.leader_epoch = -1;
    m->m.timestamp_type = KC_TIMESTAMP_NONE;
    m->m.timestamp_ms = -1;
    cons_buf_ref(b);
    m->buf = b;
    return m;
}

kc_message_t *cons_msg_event(kc_err_t err, const char *errstr, const char *topic, int32_t partition,
                             int64_t offset)
{
    cons_buf_t *b = cons_buf_new(NULL);
    if (!b) return NULL;
    cons_msg_t *m = cons_msg_new(b, 0);
    cons_buf_unref(b); /* the message's reference is the only one */
    if (!m) return NULL;
    m->m.err = err;
    m->m.partition = partition;
    m->m.offset = offset;
    if (!errstr) errstr = kc_err_str(err);
    m->m.errstr = cons_buf_strdup(b, errstr, strlen(errstr));
    if (topic) m->m.topic = cons_buf_strdup(b, topic, strlen(topic));
    if (!m->m.errstr || (topic && !m->m.topic)) {
        cons_buf_unref(b);
        return NULL;
    }
    return &m->m;
}

void kc_message_destroy(kc_message_t *msg)
{
    if (!msg) return;
    cons_msg_t *m = (cons_msg_t *)msg;
    cons_buf_unref(m->buf);
}

void cons_ev_free(cons_ev_t *ev)
{
    if (!ev) return;
    cons_buf_unref(ev->buf);
    free(ev->aborted);
    kc_message_destroy(ev->msg);
    kc_topic_partition_list_destroy(ev->parts);
    free(ev);
}
