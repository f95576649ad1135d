/* Producer batches: the record-batch bytes, built in place by
 * proto_batch_builder, and a compact array of what each record's delivery
 * report needs. Buffers go back to a pool as soon as their batch is settled
 * (before its report is served), batch structs to a free list, so a steady
 * producer stops allocating once its buffers have grown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "producer/prod_int.h"

/* Recycled batches kept at most, by count and by buffer memory: enough for
 * the in-flight window of a few brokers without holding on to memory after
 * a burst. */
#define PROD_FREE_MAX_BYTES (16u << 20)

/* A new batch's buffer: at least room for a few records. It starts at what
 * the partition's last batch held, not at batch.size (which may be a
 * megabyte per partition): a partition that fills batches gets full-size
 * buffers, one that lingers small ones. A buffer that must grow doubles (a
 * copy), and keeps what it grew to when recycled. */
#define PROD_BUF_START 16384

static void batch_reset(prod_batch_t *b, prod_topic_t *t, int32_t partition)
{
    b->topic = t;
    b->partition = partition;
    b->nrec = 0;
    b->bytes = 0;
    b->created_ms = 0;
    b->no = 0;
    b->retry_at_ms = 0;
    b->attempts = 0;
    b->finished = 0;
    b->finish_err = 0;
    b->compressing = 0;
    b->purge_err = 0;
    b->sent = 0;
    b->base_seq = -1;
    b->epoch = -1;
    b->in_flight = 0;
    b->purged = 0;
    b->err = 0;
    b->base_offset = -1;
    b->log_append_time = -1;
    b->possibly_persisted = 0;
    b->errstr[0] = '\0';
}

prod_batch_t *prod_batch_new(prod_t *p, prod_topic_t *t, int32_t partition, size_t size_hint)
{
    prod_batch_t *b = NULL;
    pthread_mutex_lock(&p->free_lock);
    if (p->free_batches) {
        b = p->free_batches;
        p->free_batches = TAILQ_NEXT(b, link);
        p->nfree--;
    }
    pthread_mutex_unlock(&p->free_lock);
    proto_wbuf_t buf = prod_buf_take(p);
    if (!b && !(b = calloc(1, sizeof(*b)))) {
        proto_wbuf_free(&buf);
        return NULL;
    }
    if (buf.data) b->buf = buf;
    size_t want = size_hint > PROD_BUF_START ? size_hint : PROD_BUF_START;
    if (b->buf.data && b->buf.cap < want) proto_wbuf_free(&b->buf); /* too small to keep */
    if (!b->buf.data) proto_wbuf_init(&b->buf, want);
    batch_reset(b, t, partition);
    proto_wbuf_reset(&b->buf);
    proto_batch_params_t params = PROTO_BATCH_PARAMS_INIT;
    if (proto_batch_builder_begin(&b->bld, &b->buf, &params) != 0) {
        proto_wbuf_free(&b->buf);
        free(b->meta);
        free(b);
        return NULL;
    }
    return b;
}

prod_batch_t *prod_batch_new_report(prod_t *p, prod_topic_t *t, int32_t partition, int32_t n)
{
    (void)p;
    prod_batch_t *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    batch_reset(b, t, partition);
    b->meta = calloc((size_t)(n > 0 ? n : 1), sizeof(*b->meta));
    if (!b->meta) {
        free(b);
        return NULL;
    }
    b->meta_cap = n;
    b->nrec = n;
    return b;
}

proto_wbuf_t prod_buf_take(prod_t *p)
{
    proto_wbuf_t buf = {0};
    pthread_mutex_lock(&p->free_lock);
    if (p->nbufs > 0) {
        buf = p->bufs[--p->nbufs];
        p->buf_bytes -= buf.cap;
    }
    pthread_mutex_unlock(&p->free_lock);
    return buf;
}

void prod_buf_give(prod_t *p, proto_wbuf_t *buf)
{
    if (!buf->data) return;
    int kept = 0;
    pthread_mutex_lock(&p->free_lock);
    if (p->bufs && p->nbufs < PROD_FREE_MAX && p->buf_bytes + buf->cap <= PROD_FREE_MAX_BYTES) {
        p->bufs[p->nbufs++] = *buf;
        p->buf_bytes += buf->cap;
        kept = 1;
    }
    pthread_mutex_unlock(&p->free_lock);
    if (kept)
        memset(buf, 0, sizeof(*buf));
    else
        proto_wbuf_free(buf);
}

void prod_batch_drop_buf(prod_t *p, prod_batch_t *b)
{
    prod_buf_give(p, &b->buf);
}

kc_err_t prod_batch_finish(prod_t *p, prod_batch_t *b, proto_wbuf_t *scratch)
{
    char errstr[128];
    /* compression.level was checked against the codec at creation. */
    int err =
        proto_batch_builder_finish(&b->bld, p->conf->compression_type, p->conf->compression_level,
                                   scratch, errstr, sizeof(errstr));
    if (err) {
        snprintf(b->errstr, sizeof(b->errstr), "%s", errstr);
        b->finish_err = (kc_err_t)err;
        return (kc_err_t)err;
    }
    b->finished = 1;
    return 0;
}

void prod_batch_release(prod_t *p, prod_batch_t *b)
{
    if (!b) return;
    prod_batch_drop_buf(p, b);
    pthread_mutex_lock(&p->free_lock);
    if (p->nfree < PROD_FREE_MAX) {
        TAILQ_NEXT(b, link) = p->free_batches;
        p->free_batches = b;
        p->nfree++;
        b = NULL;
    }
    pthread_mutex_unlock(&p->free_lock);
    if (!b) return;
    free(b->meta);
    free(b);
}

void prod_batch_free_all(prod_t *p)
{
    prod_batch_t *b = p->free_batches;
    while (b) {
        prod_batch_t *next = TAILQ_NEXT(b, link);
        proto_wbuf_free(&b->buf);
        free(b->meta);
        free(b);
        b = next;
    }
    p->free_batches = NULL;
    p->nfree = 0;
    for (int i = 0; i < p->nbufs; i++)
        proto_wbuf_free(&p->bufs[i]);
    free(p->bufs);
    p->bufs = NULL;
    p->nbufs = 0;
    p->buf_bytes = 0;
}

kc_err_t prod_batch_append(prod_batch_t *b, int64_t ts, const void *key, int32_t key_len,
                           const void *value, int32_t value_len, const proto_record_header_t *hdrs,
                           size_t nhdr, void *opaque, size_t bytes)
{
    if (b->nrec == b->meta_cap) {
        int32_t cap = b->meta_cap ? b->meta_cap * 2 : 64;
        prod_rec_meta_t *m = realloc(b->meta, sizeof(*m) * (size_t)cap);
        if (!m) return KC_ERR__NO_MEMORY;
        b->meta = m;
        b->meta_cap = cap;
    }
    int err = proto_batch_builder_append(&b->bld, ts, key, key_len, value, value_len, hdrs, nhdr);
    if (err) return (kc_err_t)err;
    b->meta[b->nrec].opaque = opaque;
    b->meta[b->nrec].timestamp = ts;
    b->nrec++;
    b->bytes += bytes;
    return 0;
}
