/* Per-partition idempotent producer state: sequence and epoch checks before an
 * append, the record of what was appended, expiry. See producers.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/kc_err.h"
#include "producers/producers.h"
#include "util/log.h"

#define SWEEP_EVERY_MS 60000

int32_t broker_producers_last_seq(int32_t first_seq, int32_t last_offset_delta)
{
    if (first_seq > INT32_MAX - last_offset_delta)
        return last_offset_delta - (INT32_MAX - first_seq) - 1;
    return first_seq + last_offset_delta;
}

static int in_sequence(int32_t last_seq, int32_t next_seq)
{
    return (int64_t)next_seq == (int64_t)last_seq + 1 || (next_seq == 0 && last_seq == INT32_MAX);
}

broker_producer_t *broker_producers_entry(broker_producer_state_t *s, int64_t id, int create)
{
    broker_producer_t *e = util_hmap_get(&s->by_id, &id, sizeof(id));
    if (e || !create) return e;
    e = calloc(1, sizeof(*e));
    if (!e) return NULL;
    e->id = id;
    e->epoch = -1;
    if (util_hmap_put(&s->by_id, &id, sizeof(id), e, NULL) != 0) {
        free(e);
        return NULL;
    }
    return e;
}

static const broker_producer_batch_t *newest(const broker_producer_t *e)
{
    return e->n ? &e->batches[(e->head + e->n - 1) % BROKER_PRODUCER_BATCHES] : NULL;
}

static int expired(broker_t *b, const broker_producer_t *e, int64_t now_ms)
{
    return now_ms - e->last_ms >= (int64_t)b->conf->producer_id_expiration_ms;
}

static void entry_drop(broker_producer_state_t *s, broker_producer_t *e)
{
    util_hmap_del(&s->by_id, &e->id, sizeof(e->id));
    free(e);
    s->dirty = 1;
}

int broker_producers_check(broker_t *b, broker_producer_state_t *s, const proto_batch_header_t *h,
                           broker_producer_verdict_t *verdict, broker_producer_batch_t *dup,
                           char *errstr, size_t errstr_size)
{
    *verdict = BROKER_PRODUCER_APPEND;
    broker_producer_t *e = broker_producers_entry(s, h->producer_id, 0);
    if (e && expired(b, e, b->now_ms())) {
        entry_drop(s, e);
        e = NULL;
    }
    if (!e) return 0;
    int32_t first = h->base_sequence;
    int32_t last = broker_producers_last_seq(first, h->last_offset_delta);
    if (h->producer_epoch == e->epoch) {
        for (int i = 0; i < e->n; i++) {
            const broker_producer_batch_t *c = &e->batches[(e->head + i) % BROKER_PRODUCER_BATCHES];
            if (c->first_seq == first && c->last_seq == last) {
                *dup = *c;
                *verdict = BROKER_PRODUCER_DUPLICATE;
                return 0;
            }
        }
    }
    if (h->producer_epoch < e->epoch) {
        snprintf(errstr, errstr_size,
                 "producer %lld: epoch %d is older than the partition's epoch %d (fenced)",
                 (long long)e->id, h->producer_epoch, e->epoch);
        return KC_ERR_INVALID_PRODUCER_EPOCH;
    }
    if (h->producer_epoch > e->epoch) {
        if (first == 0) return 0;
        snprintf(errstr, errstr_size,
                 "producer %lld: the first batch of epoch %d must have sequence 0, not %d",
                 (long long)e->id, h->producer_epoch, first);
        return KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    }
    const broker_producer_batch_t *n = newest(e);
    if (!n || in_sequence(n->last_seq, first)) return 0;
    snprintf(errstr, errstr_size, "producer %lld epoch %d: sequence %d does not follow %d",
             (long long)e->id, e->epoch, first, n->last_seq);
    return KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
}

int broker_producers_update(broker_t *b, broker_producer_state_t *s, const proto_batch_header_t *h,
                            int64_t base_offset, int64_t now_ms)
{
    (void)b;
    broker_producer_t *e = broker_producers_entry(s, h->producer_id, 1);
    if (!e) return KC_ERR__NO_MEMORY;
    if (h->producer_epoch != e->epoch) {
        e->epoch = h->producer_epoch;
        e->n = e->head = 0;
    }
    broker_producer_batch_t nb = {
        .first_seq = h->base_sequence,
        .last_seq = broker_producers_last_seq(h->base_sequence, h->last_offset_delta),
        .first_offset = base_offset,
        .last_offset = base_offset + h->last_offset_delta,
        .timestamp = h->max_timestamp,
    };
    if (e->n < BROKER_PRODUCER_BATCHES) {
        e->batches[(e->head + e->n) % BROKER_PRODUCER_BATCHES] = nb;
        e->n++;
    } else {
        e->batches[e->head] = nb;
        e->head = (e->head + 1) % BROKER_PRODUCER_BATCHES;
    }
    e->last_ms = now_ms;
    s->dirty = 1;
    return 0;
}

void broker_producers_expire(broker_t *b, broker_producer_state_t *s, int64_t now_ms)
{
    if (now_ms - s->last_sweep_ms < SWEEP_EVERY_MS) return;
    s->last_sweep_ms = now_ms;
    /* No deletes while iterating: collect first. */
    size_t cap = s->by_id.count, n = 0, it = 0;
    if (!cap) return;
    broker_producer_t **gone = malloc(cap * sizeof(*gone));
    if (!gone) return;
    broker_producer_t *e;
    while (util_hmap_next(&s->by_id, &it, NULL, NULL, (void **)&e))
        if (expired(b, e, now_ms) && n < cap) gone[n++] = e;
    for (size_t i = 0; i < n; i++)
        entry_drop(s, gone[i]);
    free(gone);
}

static void state_free(broker_producer_state_t *s)
{
    if (!s) return;
    size_t it = 0;
    broker_producer_t *e;
    while (util_hmap_next(&s->by_id, &it, NULL, NULL, (void **)&e))
        free(e);
    util_hmap_destroy(&s->by_id);
    free(s);
}

void broker_producers_free(broker_partition_t *p)
{
    state_free(p->producers);
    p->producers = NULL;
}

int broker_producers_load(broker_t *b, broker_partition_t *p)
{
    if (p->producers) return 0;
    broker_producer_state_t *s = calloc(1, sizeof(*s));
    if (!s) {
        log_error("producer state of %s-%d: out of memory", p->topic->name, p->index);
        return KC_ERR__NO_MEMORY;
    }
    util_hmap_init(&s->by_id);
    s->covered = -1;
    s->last_sweep_ms = b->now_ms();
    int64_t from = 0;
    if (b->persistent && broker_producers_snapshot_read(b, p, s) == 0) from = s->covered;
    char errstr[256];
    int rc = broker_producers_replay(b, p, s, from, errstr, sizeof(errstr));
    if (rc) {
        log_error("producer state of %s-%d: %s", p->topic->name, p->index, errstr);
        state_free(s);
        return rc;
    }
    p->producers = s;
    return 0;
}

broker_producer_state_t *broker_producers_get(broker_t *b, broker_partition_t *p)
{
    if (!p->producers) broker_producers_load(b, p);
    return p->producers;
}

void broker_producers_shutdown(broker_t *b)
{
    if (b->persistent) {
        size_t it = 0;
        broker_topic_t *t;
        while (util_hmap_next(&b->topics, &it, NULL, NULL, (void **)&t))
            for (int32_t i = 0; i < t->partition_count; i++) {
                char errstr[256];
                broker_partition_t *p = t->partitions[i];
                if (p->producers && broker_producers_snapshot_write(b, p, errstr, sizeof(errstr)))
                    log_warn("producer snapshot of %s-%d: %s (the next start replays the log)",
                             t->name, i, errstr);
            }
    }
    broker_pids_free(b);
}
