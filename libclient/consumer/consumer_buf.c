/* Reference-counted fetched buffers and the messages carved out of them.
 *
 * A message is not allocated by itself: the poll thread bump-allocates it
 * (with its headers and strings) from blocks owned by the buffer its bytes
 * point into, one block per batch or so. Each message holds a reference to
 * the buffer; the last kc_message_destroy() (from any thread) frees the
 * data and the blocks together. */
#include <stdlib.h>
#include <string.h>

#include "consumer/consumer_int.h"

struct cons_blk {
    cons_blk_t *next;
    _Alignas(max_align_t) uint8_t mem[];
};

#define CONS_BLK_MIN 4096
#define CONS_ALIGN   _Alignof(max_align_t)

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
        free(k);
        k = next;
    }
    if (b->data) b->free_fn(b->data);
    free(b);
}

void *cons_buf_alloc(cons_buf_t *b, size_t n, size_t min_blk)
{
    n = (n + CONS_ALIGN - 1) & ~(CONS_ALIGN - 1);
    if (n > b->left) {
        size_t sz = n > min_blk ? n : min_blk;
        if (sz < CONS_BLK_MIN) sz = CONS_BLK_MIN;
        cons_blk_t *k = malloc(sizeof(*k) + sz);
        if (!k) return NULL;
        k->next = b->blks;
        b->blks = k;
        b->cur = k->mem;
        b->left = sz;
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
