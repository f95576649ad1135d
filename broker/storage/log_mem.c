/* In-memory partition log (see log_mem.h). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/kc_err.h"
#include "proto/proto_batch.h"
#include "storage/log_mem.h"

#define MEM_BLOCK_MIN (64 * 1024)
#define MEM_BLOCK_MAX (4 * 1024 * 1024)

typedef struct mem_batch {
    int64_t base, last, max_ts;
    size_t pos, len;
} mem_batch_t;

typedef struct mem_block {
    uint8_t *data;
    size_t len, cap; /* cap is fixed: data never moves */
    mem_batch_t *batches;
    int nbatches, batches_cap;
    atomic_int refs; /* the log's + one per range; ranges may be released on any thread */
} mem_block_t;

typedef struct mem_log {
    broker_log_t pub;
    mem_block_t **blocks;
    int nblocks, blocks_cap;
    int64_t start, end, bytes;
    broker_log_flush_t ticket;
    int ticket_out;
} mem_log_t;

static void block_unref(void *hold)
{
    mem_block_t *blk = hold;
    if (atomic_fetch_sub(&blk->refs, 1) != 1) return;
    free(blk->data);
    free(blk->batches);
    free(blk);
}

static void err_set(char *errstr, size_t errstr_size, const char *msg)
{
    if (errstr && errstr_size) snprintf(errstr, errstr_size, "%s", msg);
}

static mem_block_t *block_new(size_t cap)
{
    mem_block_t *blk = calloc(1, sizeof(*blk));
    if (!blk) return NULL;
    blk->data = malloc(cap);
    if (!blk->data) {
        free(blk);
        return NULL;
    }
    blk->cap = cap;
    atomic_init(&blk->refs, 1);
    return blk;
}

/* The block that takes len more bytes: the newest if they fit, else a new one. */
static mem_block_t *block_for(mem_log_t *m, size_t len)
{
    mem_block_t *last = m->nblocks ? m->blocks[m->nblocks - 1] : NULL;
    if (last && last->cap - last->len >= len) return last;
    if (m->nblocks == m->blocks_cap) {
        int cap = m->blocks_cap ? m->blocks_cap * 2 : 8;
        mem_block_t **v = realloc(m->blocks, (size_t)cap * sizeof(*v));
        if (!v) return NULL;
        m->blocks = v;
        m->blocks_cap = cap;
    }
    size_t cap = last ? last->cap * 2 : MEM_BLOCK_MIN;
    if (cap > MEM_BLOCK_MAX) cap = MEM_BLOCK_MAX;
    if (cap < len) cap = len;
    mem_block_t *blk = block_new(cap);
    if (!blk) return NULL;
    m->blocks[m->nblocks++] = blk;
    return blk;
}

static int mem_append(broker_log_t *log, void *data, size_t len, int64_t now_ms,
                      broker_log_append_info_t *info, char *errstr, size_t errstr_size)
{
    (void)now_ms;
    mem_log_t *m = (mem_log_t *)log;
    /* Check every batch first: on error nothing is appended. */
    int count = 0;
    for (size_t at = 0; at < len; count++) {
        proto_batch_header_t h;
        if (proto_batch_header_parse((uint8_t *)data + at, len - at, &h, errstr, errstr_size))
            return KC_ERR_CORRUPT_MESSAGE;
        at += proto_batch_size(&h);
    }
    if (len == 0 || count == 0) {
        err_set(errstr, errstr_size, "no record batch to append");
        return KC_ERR_CORRUPT_MESSAGE;
    }
    mem_block_t *blk = block_for(m, len);
    if (blk && blk->batches_cap - blk->nbatches < count) {
        int cap = blk->batches_cap ? blk->batches_cap : 16;
        while (cap - blk->nbatches < count)
            cap *= 2;
        mem_batch_t *v = realloc(blk->batches, (size_t)cap * sizeof(*v));
        if (v) {
            blk->batches = v;
            blk->batches_cap = cap;
        } else {
            blk = NULL;
        }
    }
    if (!blk) {
        err_set(errstr, errstr_size, "out of memory");
        return KC_ERR_KAFKA_STORAGE_ERROR;
    }
    int64_t next = m->end;
    info->base_offset = next;
    for (size_t at = 0; at < len;) {
        uint8_t *p = (uint8_t *)data + at;
        proto_batch_header_t h;
        proto_batch_header_parse(p, len - at, &h, NULL, 0);
        proto_batch_set_base_offset(p, next);
        size_t n = proto_batch_size(&h);
        mem_batch_t *mb = &blk->batches[blk->nbatches++];
        mb->base = next;
        mb->last = next + h.last_offset_delta;
        mb->max_ts = h.max_timestamp;
        mb->pos = blk->len + at;
        mb->len = n;
        next = mb->last + 1;
        at += n;
    }
    memcpy(blk->data + blk->len, data, len);
    blk->len += len;
    m->bytes += (int64_t)len;
    m->end = next;
    info->last_offset = next - 1;
    info->start = m->start;
    return 0;
}

/* The index of the last block whose first batch starts at or below offset. */
static int block_find(const mem_log_t *m, int64_t offset)
{
    int lo = 0, hi = m->nblocks - 1, found = -1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const mem_block_t *blk = m->blocks[mid];
        if (blk->nbatches && blk->batches[0].base <= offset) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

/* The first batch of blk whose last offset is at or above offset, or -1. */
static int batch_find(const mem_block_t *blk, int64_t offset)
{
    int lo = 0, hi = blk->nbatches - 1, found = -1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (blk->batches[mid].last >= offset) {
            found = mid;
            hi = mid - 1;
        } else {
            lo = mid + 1;
        }
    }
    return found;
}

static int mem_read(broker_log_t *log, int64_t offset, int64_t max_offset, size_t max_bytes,
                    broker_log_range_t *out, char *errstr, size_t errstr_size)
{
    mem_log_t *m = (mem_log_t *)log;
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    out->first_offset = offset;
    if (offset < m->start || offset > m->end) {
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size, "offset %lld is outside [%lld, %lld]", (long long)offset,
                     (long long)m->start, (long long)m->end);
        return KC_ERR_OFFSET_OUT_OF_RANGE;
    }
    int bi = block_find(m, offset);
    if (offset == m->end || bi < 0) return 0;
    mem_block_t *blk = m->blocks[bi];
    int i = batch_find(blk, offset);
    if (i < 0) return 0; /* offset lies in a later block's first batch: cannot happen */
    const mem_batch_t *first = &blk->batches[i];
    if (max_offset >= 0 && first->base >= max_offset) return 0;
    /* Whole batches up to max_offset and max_bytes, within this block; the
     * next read goes on. */
    size_t len = first->len; /* KIP-74: the first batch whole */
    for (int j = i + 1; j < blk->nbatches; j++) {
        if (max_offset >= 0 && blk->batches[j].base >= max_offset) break;
        size_t upto = blk->batches[j].pos + blk->batches[j].len - first->pos;
        if (upto > max_bytes) break;
        len = upto;
    }
    atomic_fetch_add(&blk->refs, 1);
    out->mem = blk->data + first->pos;
    out->len = len;
    out->first_offset = first->base;
    out->hold = blk;
    out->release = block_unref;
    return 0;
}

static int mem_flush(broker_log_t *log, int64_t *flushed_offset, char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    if (flushed_offset) *flushed_offset = ((mem_log_t *)log)->end;
    return 0;
}

static int ticket_run(broker_log_flush_t *ticket, char *errstr, size_t errstr_size)
{
    (void)ticket;
    (void)errstr;
    (void)errstr_size;
    return 0;
}

static int mem_flush_begin(broker_log_t *log, broker_log_flush_t **ticket, char *errstr,
                           size_t errstr_size)
{
    mem_log_t *m = (mem_log_t *)log;
    if (m->ticket_out) {
        err_set(errstr, errstr_size, "a flush is already under way");
        return KC_ERR__STATE;
    }
    m->ticket_out = 1;
    m->ticket.end = m->end;
    m->ticket.run = ticket_run;
    *ticket = &m->ticket;
    return 0;
}

static int mem_flush_end(broker_log_t *log, broker_log_flush_t *ticket, int run_result,
                         int64_t *flushed_offset)
{
    mem_log_t *m = (mem_log_t *)log;
    m->ticket_out = 0;
    if (!run_result && flushed_offset) *flushed_offset = ticket->end;
    return run_result;
}

static int mem_advance_start(broker_log_t *log, int64_t offset, char *errstr, size_t errstr_size)
{
    mem_log_t *m = (mem_log_t *)log;
    if (offset > m->end) {
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size, "offset %lld is past the log end %lld", (long long)offset,
                     (long long)m->end);
        return KC_ERR_OFFSET_OUT_OF_RANGE;
    }
    if (offset <= m->start) return 0;
    m->start = offset;
    /* Blocks wholly below the start go; the newest stays to take appends. */
    int drop = 0;
    while (drop < m->nblocks - 1) {
        mem_block_t *blk = m->blocks[drop];
        if (blk->nbatches && blk->batches[blk->nbatches - 1].last >= offset) break;
        m->bytes -= (int64_t)blk->len;
        block_unref(blk);
        drop++;
    }
    if (drop) {
        memmove(m->blocks, m->blocks + drop, (size_t)(m->nblocks - drop) * sizeof(*m->blocks));
        m->nblocks -= drop;
    }
    return 0;
}

static int mem_retain(broker_log_t *log, int64_t now_ms, int *deleted, char *errstr,
                      size_t errstr_size)
{
    (void)log;
    (void)now_ms;
    (void)errstr;
    (void)errstr_size;
    if (deleted) *deleted = 0;
    return 0;
}

static int mem_offset_for_time(broker_log_t *log, int64_t ts, broker_log_ts_hit_t *hit,
                               char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    mem_log_t *m = (mem_log_t *)log;
    hit->timestamp = hit->offset = hit->last_offset = -1;
    for (int b = 0; b < m->nblocks; b++) {
        const mem_block_t *blk = m->blocks[b];
        for (int i = 0; i < blk->nbatches; i++) {
            const mem_batch_t *mb = &blk->batches[i];
            if (mb->last < m->start) continue;
            int take = ts == BROKER_LOG_TS_MAX ? hit->offset < 0 || mb->max_ts > hit->timestamp
                                               : mb->max_ts >= ts;
            if (!take) continue;
            hit->timestamp = mb->max_ts;
            hit->offset = mb->base < m->start ? m->start : mb->base;
            hit->last_offset = mb->last;
            if (ts != BROKER_LOG_TS_MAX) return 0;
        }
    }
    return 0;
}

static void mem_offsets(broker_log_t *log, broker_log_offsets_t *out)
{
    mem_log_t *m = (mem_log_t *)log;
    out->start = m->start;
    out->end = m->end;
    out->flushed = m->end;
    out->bytes = m->bytes;
    out->segments = m->nblocks > 0 ? m->nblocks : 1;
}

static int mem_close(broker_log_t *log, char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    mem_log_t *m = (mem_log_t *)log;
    for (int i = 0; i < m->nblocks; i++)
        block_unref(m->blocks[i]);
    free(m->blocks);
    free(m);
    return 0;
}

static const broker_log_ops_t mem_ops = {
    .append = mem_append,
    .read = mem_read,
    .flush = mem_flush,
    .flush_begin = mem_flush_begin,
    .flush_end = mem_flush_end,
    .advance_start = mem_advance_start,
    .retain = mem_retain,
    .offset_for_time = mem_offset_for_time,
    .offsets = mem_offsets,
    .reconfigure = NULL,
    .close = mem_close,
};

int broker_mem_log_open(broker_log_t **out, char *errstr, size_t errstr_size)
{
    mem_log_t *m = calloc(1, sizeof(*m));
    if (!m) {
        err_set(errstr, errstr_size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    m->pub.ops = &mem_ops;
    *out = &m->pub;
    return 0;
}
