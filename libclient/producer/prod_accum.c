/* The record accumulator: kc_produce() on application threads. A record is
 * encoded straight into its partition's open batch under that partition's
 * lock; the topic lock is held only to read the partition count and the
 * sticky choice. Records for a topic whose metadata is not known yet wait,
 * copied, in the topic's pending queue until the I/O thread learns it. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "kc_conf_int.h"
#include "producer/partitioner.h"
#include "producer/prod_int.h"
#include "proto_compress.h"

/* Headers kc_produce converts on the stack; more take one allocation. */
#define PROD_STACK_HDRS 16

uint64_t prod_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t prod_deadline(const prod_t *p, uint64_t enq_ms)
{
    int tmo = p->conf->message_timeout_ms;
    return tmo > 0 ? enq_ms + (uint64_t)tmo : UINT64_MAX;
}

int64_t prod_wallclock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + (int64_t)ts.tv_nsec / 1000000;
}

void prod_wake(prod_t *p)
{
    if (p->ev_wake) event_active(p->ev_wake, 0, 0);
}

/* ---- backpressure ---- */

static int over_limit(prod_t *p, int msgs, size_t bytes, size_t add)
{
    /* One record larger than the byte limit still goes through an empty
     * queue, or it could never be sent. */
    int max = p->conf->queue_buffering_max_messages; /* 0: no limit */
    return (max > 0 && msgs >= max) || (bytes > 0 && bytes + add > p->max_bytes);
}

static kc_err_t reserve(prod_t *p, size_t bytes, int block)
{
    for (;;) {
        int m = atomic_fetch_add(&p->msgs, 1);
        size_t b = atomic_fetch_add(&p->bytes, bytes);
        if (!over_limit(p, m, b, bytes)) return 0;
        atomic_fetch_sub(&p->msgs, 1);
        atomic_fetch_sub(&p->bytes, bytes);
        if (!block) return KC_ERR__QUEUE_FULL;
        if (atomic_load(&p->closing)) return KC_ERR__DESTROY;
        if (atomic_load(&p->fatal)) return KC_ERR__FATAL;
        pthread_mutex_lock(&p->space_lock);
        atomic_fetch_add(&p->space_waiters, 1);
        if (over_limit(p, atomic_load(&p->msgs), atomic_load(&p->bytes), bytes)) {
            /* Bounded, so a destroy or fatal error is noticed. */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += 100 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->space_cond, &p->space_lock, &ts);
        }
        atomic_fetch_sub(&p->space_waiters, 1);
        pthread_mutex_unlock(&p->space_lock);
    }
}

void prod_unreserve(prod_t *p, int msgs, size_t bytes)
{
    atomic_fetch_sub(&p->msgs, msgs);
    atomic_fetch_sub(&p->bytes, bytes);
    if (atomic_load(&p->space_waiters) > 0) {
        pthread_mutex_lock(&p->space_lock);
        pthread_cond_broadcast(&p->space_cond);
        pthread_mutex_unlock(&p->space_lock);
    }
}

/* ---- topics ---- */

static prod_topic_t *topic_lookup(prod_t *p, const char *name);

static prod_topic_t *topic_new(const char *name)
{
    prod_topic_t *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->name = strdup(name);
    if (!t->name) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->npart = -1;
    t->sticky = -1;
    STAILQ_INIT(&t->pending);
    t->rng = (uint64_t)(uintptr_t)t ^ ((uint64_t)prod_wallclock_ms() << 16) ^ 0x9e3779b97f4a7c15ull;
    return t;
}

static void topic_free(prod_topic_t *t)
{
    for (int32_t i = 0; i < t->npart; i++) {
        prod_part_t *pp = t->parts[i];
        pthread_mutex_destroy(&pp->lock);
        free(pp);
    }
    free(t->parts);
    prod_pending_t *pe;
    while ((pe = STAILQ_FIRST(&t->pending)) != NULL) {
        STAILQ_REMOVE_HEAD(&t->pending, link);
        free(pe);
    }
    pthread_mutex_destroy(&t->lock);
    free(t->name);
    free(t);
}

void prod_topics_free(prod_t *p)
{
    for (int i = 0; i < p->ntopics; i++)
        topic_free(p->topic_list[i]);
    free(p->topic_list);
    p->topic_list = NULL;
    p->ntopics = 0;
    util_hmap_destroy(&p->topics);
}

/* Each producer's number, so a thread's cached topic is never taken for a
 * later producer's that happens to live at the same address. */
static atomic_ullong producer_serial;

void prod_assign_serial(prod_t *p)
{
    p->serial = atomic_fetch_add(&producer_serial, 1) + 1;
}

/* The last topic this thread produced to: most threads write one topic, and
 * this spares them the map's lock and hash. Topics live as long as their
 * producer. */
static _Thread_local struct {
    unsigned long long serial;
    prod_topic_t *t;
} tl_topic;

/* The topic named name, added (and the sender told) when new. */
static prod_topic_t *topic_get(prod_t *p, const char *name)
{
    if (tl_topic.serial == p->serial && strcmp(tl_topic.t->name, name) == 0) return tl_topic.t;
    prod_topic_t *t = topic_lookup(p, name);
    if (t) {
        tl_topic.serial = p->serial;
        tl_topic.t = t;
    }
    return t;
}

static prod_topic_t *topic_lookup(prod_t *p, const char *name)
{
    pthread_rwlock_rdlock(&p->topics_lock);
    prod_topic_t *t = util_hmap_gets(&p->topics, name);
    pthread_rwlock_unlock(&p->topics_lock);
    if (t) return t;
    pthread_rwlock_wrlock(&p->topics_lock);
    t = util_hmap_gets(&p->topics, name);
    int added = 0;
    if (!t && (t = topic_new(name)) != NULL) {
        if (p->ntopics == p->topics_cap) {
            int cap = p->topics_cap ? p->topics_cap * 2 : 8;
            prod_topic_t **l = realloc(p->topic_list, sizeof(*l) * (size_t)cap);
            if (l) {
                p->topic_list = l;
                p->topics_cap = cap;
            }
        }
        if (p->ntopics < p->topics_cap && util_hmap_puts(&p->topics, t->name, t) == 0) {
            p->topic_list[p->ntopics++] = t;
            added = 1;
        } else {
            topic_free(t);
            t = NULL;
        }
    }
    pthread_rwlock_unlock(&p->topics_lock);
    if (added) prod_wake(p);
    return t;
}

static uint32_t topic_rand(prod_topic_t *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return (uint32_t)(t->rng >> 11);
}

/* Under t->lock, t->npart > 0. Records the partitioner places at random
 * stay on one partition for sticky.partitioning.linger.ms, so they fill
 * batches instead of spreading thin over every partition. */
static int32_t pick_partition(prod_t *p, prod_topic_t *t, const void *key, size_t keylen,
                              uint64_t now)
{
    if (p->part_cb) return p->part_cb(t->name, key, keylen, t->npart, p->part_opaque);
    int kind = p->conf->partitioner;
    int32_t sticky = 0;
    if (producer_partition_is_random(kind, key, keylen)) {
        if (!now) now = prod_now_ms();
        int linger = p->conf->sticky_partitioning_linger_ms;
        if (linger <= 0 || t->sticky < 0 || t->sticky >= t->npart || now >= t->sticky_until_ms) {
            t->sticky = (int32_t)(topic_rand(t) % (uint32_t)t->npart);
            t->sticky_until_ms = now + (uint64_t)(linger > 0 ? linger : 0);
        }
        sticky = t->sticky;
    }
    return producer_partition(kind, key, keylen, t->npart, sticky);
}

/* ---- appending ---- */

prod_batch_t *prod_part_close_open(prod_part_t *pp)
{
    prod_batch_t *b = pp->open;
    pp->open = NULL;
    b->no = pp->next_no++;
    pp->last_size = proto_batch_builder_size(&b->bld);
    TAILQ_INSERT_TAIL(&pp->ready, b, link);
    pp->nready++;
    return b;
}

/* Under pp->lock: the open batch joins the ready queue. Returns it when the
 * calling thread should compress it (*claimed): with a codec, when an older
 * batch still waits in the queue, the I/O thread (which compresses the
 * batch it sends next) is behind, and a second thread compressing is what
 * lets the producer go faster than one core compresses. The batch keeps its
 * place in the queue meanwhile, so nothing overtakes it. */
static prod_batch_t *close_open(prod_t *p, prod_part_t *pp, int may_claim)
{
    prod_batch_t *b = prod_part_close_open(pp);
    if (!may_claim || p->conf->compression_type == PROTO_CODEC_NONE || pp->nready < 2) return NULL;
    b->compressing = 1;
    return b;
}

/* Compresses a batch claimed by close_open, outside every lock, then lets
 * the sender have it. */
static void compress_claimed(prod_t *p, prod_part_t *pp, prod_batch_t *b)
{
    proto_wbuf_t scratch = prod_buf_take(p);
    if (prod_batch_finish(p, b, &scratch) == 0)
        atomic_fetch_add(&p->stat_compressed_by_producer, 1);
    prod_buf_give(p, &scratch);
    pthread_mutex_lock(&pp->lock);
    b->compressing = 0;
    pthread_mutex_unlock(&pp->lock);
}

static kc_err_t part_append(prod_t *p, prod_part_t *pp, int64_t ts, const void *key,
                            int32_t key_len, const void *value, int32_t value_len,
                            const proto_record_header_t *hdrs, size_t nhdr, void *opaque,
                            size_t bytes, uint64_t now)
{
    const client_conf_t *conf = p->conf;
    size_t need = proto_record_size_upper_bound(key_len, value_len, hdrs, nhdr);
    int wake = 0;
    kc_err_t err;
    prod_batch_t *claimed = NULL;
    pthread_mutex_lock(&pp->lock);
    prod_batch_t *b = pp->open;
    if (b && b->nrec > 0 &&
        (b->nrec >= conf->batch_num_messages ||
         proto_batch_builder_size(&b->bld) + need > (size_t)conf->batch_size)) {
        claimed = close_open(p, pp, 1);
        b = NULL;
        wake = 1;
    }
    if (!b) {
        b = prod_batch_new(p, pp->topic, pp->id, pp->last_size);
        if (!b) {
            pthread_mutex_unlock(&pp->lock);
            if (claimed) compress_claimed(p, pp, claimed);
            if (wake) prod_wake(p);
            return KC_ERR__NO_MEMORY;
        }
        b->created_ms = now ? now : prod_now_ms();
        pp->open = b;
        wake = 1; /* the sender arms linger.ms for it */
    }
    err = prod_batch_append(b, ts, key, key_len, value, value_len, hdrs, nhdr, opaque, bytes);
    if (!err && (b->nrec >= conf->batch_num_messages ||
                 proto_batch_builder_size(&b->bld) >= (size_t)conf->batch_size)) {
        prod_batch_t *c = close_open(p, pp, !claimed); /* one batch per call at most */
        if (c) claimed = c;
        wake = 1;
    }
    pthread_mutex_unlock(&pp->lock);
    if (claimed) compress_claimed(p, pp, claimed);
    if (wake) prod_wake(p);
    return err;
}

/* ---- records waiting for metadata ---- */

static prod_pending_t *pending_new(int32_t partition, int64_t ts, const void *key, int32_t key_len,
                                   const void *value, int32_t value_len,
                                   const proto_record_header_t *hdrs, size_t nhdr, void *opaque,
                                   size_t bytes, uint64_t now)
{
    size_t data = (size_t)(key_len > 0 ? key_len : 0) + (size_t)(value_len > 0 ? value_len : 0);
    for (size_t i = 0; i < nhdr; i++)
        data += (size_t)hdrs[i].key.len + (size_t)(hdrs[i].value.len > 0 ? hdrs[i].value.len : 0);
    size_t hsz = sizeof(proto_record_header_t) * nhdr;
    prod_pending_t *pe = malloc(sizeof(*pe) + hsz + data);
    if (!pe) return NULL;
    pe->partition = partition;
    pe->timestamp = ts;
    pe->opaque = opaque;
    pe->enq_ms = now;
    pe->bytes = bytes;
    pe->key_len = key_len;
    pe->value_len = value_len;
    pe->nhdr = nhdr;
    pe->hdrs = (proto_record_header_t *)(void *)pe->data;
    uint8_t *d = pe->data + hsz;
    if (key_len > 0) memcpy(d, key, (size_t)key_len);
    d += key_len > 0 ? key_len : 0;
    if (value_len > 0) memcpy(d, value, (size_t)value_len);
    d += value_len > 0 ? value_len : 0;
    for (size_t i = 0; i < nhdr; i++) {
        memcpy(d, hdrs[i].key.ptr, (size_t)hdrs[i].key.len);
        pe->hdrs[i].key = proto_slice_of(d, (size_t)hdrs[i].key.len);
        d += hdrs[i].key.len;
        if (hdrs[i].value.len >= 0) {
            if (hdrs[i].value.len > 0) memcpy(d, hdrs[i].value.ptr, (size_t)hdrs[i].value.len);
            pe->hdrs[i].value = proto_slice_of(d, (size_t)hdrs[i].value.len);
            d += hdrs[i].value.len;
        } else {
            pe->hdrs[i].value = PROTO_NULL_SLICE;
        }
    }
    return pe;
}

static const uint8_t *pending_key(const prod_pending_t *pe)
{
    return pe->data + sizeof(proto_record_header_t) * pe->nhdr;
}

static void report_one(prod_t *p, prod_topic_t *t, int32_t partition, void *opaque, int64_t ts,
                       size_t bytes, kc_err_t err, const char *why)
{
    prod_batch_t *r = prod_batch_new_report(p, t, partition, 1);
    if (!r) {
        /* No memory for the report: the record is still accounted for. */
        prod_unreserve(p, 1, bytes);
        return;
    }
    r->meta[0].opaque = opaque;
    r->meta[0].timestamp = ts;
    r->bytes = bytes;
    prod_batch_fail(p, r, err, "%s", why);
}

void prod_topic_set_partitions(prod_t *p, prod_topic_t *t, int32_t npart)
{
    pthread_mutex_lock(&t->lock);
    if (npart > t->npart) {
        prod_part_t **parts = calloc((size_t)npart, sizeof(*parts));
        int32_t have = t->npart > 0 ? t->npart : 0;
        int ok = parts != NULL;
        for (int32_t i = 0; ok && i < npart; i++) {
            if (i < have) {
                parts[i] = t->parts[i];
                continue;
            }
            prod_part_t *pp = calloc(1, sizeof(*pp));
            if (!pp) {
                ok = 0;
                for (int32_t j = have; j < i; j++) {
                    pthread_mutex_destroy(&parts[j]->lock);
                    free(parts[j]);
                }
                break;
            }
            pp->topic = t;
            pp->id = i;
            pthread_mutex_init(&pp->lock, NULL);
            TAILQ_INIT(&pp->ready);
            TAILQ_INIT(&pp->inflight);
            parts[i] = pp;
        }
        if (ok) {
            free(t->parts);
            t->parts = parts;
            t->npart = npart;
            t->err = 0;
        } else {
            free(parts);
        }
    }
    /* The records that waited for the partitions go into their batches
     * with the topic locked: a record produced meanwhile waits for the lock
     * and lands behind them, so produce order holds per partition, and none
     * piles up in the queue as a second copy (as librdkafka moves its
     * unassigned queue under the topic lock). Failures are reported after. */
    struct prod_pending_q failed = STAILQ_HEAD_INITIALIZER(failed);
    uint64_t now = prod_now_ms();
    prod_pending_t *pe;
    while (t->npart > 0 && (pe = STAILQ_FIRST(&t->pending)) != NULL) {
        STAILQ_REMOVE_HEAD(&t->pending, link);
        t->npending--;
        const uint8_t *key = pending_key(pe);
        const uint8_t *value = key + (pe->key_len > 0 ? pe->key_len : 0);
        int32_t part = pe->partition;
        if (part == KC_PARTITION_ANY)
            part = pick_partition(p, t, pe->key_len >= 0 ? key : NULL,
                                  (size_t)(pe->key_len > 0 ? pe->key_len : 0), now);
        if (part < 0 || part >= t->npart)
            pe->err = KC_ERR__UNKNOWN_PARTITION;
        else
            pe->err = part_append(p, t->parts[part], pe->timestamp, pe->key_len >= 0 ? key : NULL,
                                  pe->key_len, pe->value_len >= 0 ? value : NULL, pe->value_len,
                                  pe->hdrs, pe->nhdr, pe->opaque, pe->bytes, pe->enq_ms);
        if (pe->err)
            STAILQ_INSERT_TAIL(&failed, pe, link);
        else
            free(pe);
    }
    pthread_mutex_unlock(&t->lock);
    while ((pe = STAILQ_FIRST(&failed)) != NULL) {
        STAILQ_REMOVE_HEAD(&failed, link);
        report_one(p, t, pe->partition, pe->opaque, pe->timestamp, pe->bytes, pe->err,
                   pe->err == KC_ERR__UNKNOWN_PARTITION ? "partition does not exist"
                                                        : "cannot append the record");
        free(pe);
    }
}

void prod_topic_fail_pending(prod_t *p, prod_topic_t *t, kc_err_t err, int all, uint64_t now)
{
    struct prod_pending_q q = STAILQ_HEAD_INITIALIZER(q);
    pthread_mutex_lock(&t->lock);
    prod_pending_t *pe;
    /* Oldest first: stop at the first one still in time. */
    while ((pe = STAILQ_FIRST(&t->pending)) != NULL &&
           (all || prod_deadline(p, pe->enq_ms) <= now)) {
        STAILQ_REMOVE_HEAD(&t->pending, link);
        STAILQ_INSERT_TAIL(&q, pe, link);
        t->npending--;
    }
    pthread_mutex_unlock(&t->lock);
    while ((pe = STAILQ_FIRST(&q)) != NULL) {
        STAILQ_REMOVE_HEAD(&q, link);
        report_one(p, t, pe->partition, pe->opaque, pe->timestamp, pe->bytes, err,
                   err == KC_ERR__MSG_TIMED_OUT   ? "no metadata for the topic within "
                                                    "message.timeout.ms"
                   : err == KC_ERR__UNKNOWN_TOPIC ? "the cluster has no such topic"
                                                  : kc_err_str(err));
        free(pe);
    }
}

/* ---- kc_produce ---- */

static kc_err_t produce_locked_out(prod_t *p, const kc_produce_rec_t *rec,
                                   const proto_record_header_t *hdrs, size_t nhdr, int flags)
{
    if (atomic_load(&p->fatal)) return KC_ERR__FATAL;
    if (atomic_load(&p->closing)) return KC_ERR__DESTROY;
    if (rec->key_len > INT32_MAX || rec->value_len > INT32_MAX) return KC_ERR_MESSAGE_TOO_LARGE;
    int32_t key_len = rec->key ? (int32_t)rec->key_len : -1;
    int32_t value_len = rec->value ? (int32_t)rec->value_len : -1;
    size_t bytes = rec->key_len + rec->value_len;
    for (size_t i = 0; i < nhdr; i++)
        bytes += (size_t)hdrs[i].key.len + (size_t)(hdrs[i].value.len > 0 ? hdrs[i].value.len : 0);
    size_t max =
        proto_record_size_upper_bound(key_len, value_len, hdrs, nhdr) + PROTO_BATCH_HEADER_SIZE;
    if (max > (size_t)p->conf->message_max_bytes) return KC_ERR_MESSAGE_TOO_LARGE;

    prod_topic_t *t = topic_get(p, rec->topic);
    if (!t) return KC_ERR__NO_MEMORY;
    kc_err_t err = reserve(p, bytes, flags & KC_PRODUCE_F_BLOCK);
    if (err) return err;
    int64_t ts = rec->timestamp_ms ? rec->timestamp_ms : prod_wallclock_ms();
    uint64_t now = 0; /* read only where needed: a new batch, a sticky choice */

    pthread_mutex_lock(&t->lock);
    if (t->npart < 0) {
        int first = 0;
        if (t->err) {
            err = t->err;
        } else {
            prod_pending_t *pe =
                pending_new(rec->partition, ts, rec->key, key_len, rec->value, value_len, hdrs,
                            nhdr, rec->opaque, bytes, prod_now_ms());
            if (pe) {
                STAILQ_INSERT_TAIL(&t->pending, pe, link);
                first = ++t->npending == 1;
            } else {
                err = KC_ERR__NO_MEMORY;
            }
        }
        pthread_mutex_unlock(&t->lock);
        if (err)
            prod_unreserve(p, 1, bytes);
        else if (first)
            prod_wake(p);
        return err;
    }
    int32_t part = rec->partition;
    if (part == KC_PARTITION_ANY)
        part = pick_partition(p, t, rec->key, rec->key ? rec->key_len : 0, now);
    prod_part_t *pp = part >= 0 && part < t->npart ? t->parts[part] : NULL;
    pthread_mutex_unlock(&t->lock);
    if (!pp) {
        prod_unreserve(p, 1, bytes);
        return KC_ERR__UNKNOWN_PARTITION;
    }
    err = part_append(p, pp, ts, rec->key, key_len, rec->value, value_len, hdrs, nhdr, rec->opaque,
                      bytes, now);
    if (err) prod_unreserve(p, 1, bytes);
    return err;
}

kc_err_t prod_produce(prod_t *p, const kc_produce_rec_t *rec, int flags)
{
    if ((flags & KC_PRODUCE_F_FREE) && !rec->free_cb) return KC_ERR__INVALID_ARG;
    if (!rec->topic || !*rec->topic || (rec->partition < 0 && rec->partition != KC_PARTITION_ANY) ||
        (rec->header_cnt && !rec->headers)) {
        if (flags & KC_PRODUCE_F_FREE) rec->free_cb((void *)rec->value, rec->opaque);
        return KC_ERR__INVALID_ARG;
    }
    proto_record_header_t stack[PROD_STACK_HDRS];
    proto_record_header_t *hdrs = stack;
    kc_err_t err = 0;
    if (rec->header_cnt > PROD_STACK_HDRS) {
        hdrs = malloc(sizeof(*hdrs) * rec->header_cnt);
        if (!hdrs) err = KC_ERR__NO_MEMORY;
    }
    for (size_t i = 0; !err && i < rec->header_cnt; i++) {
        const kc_header_t *h = &rec->headers[i];
        if (!h->name || h->value_len > INT32_MAX) {
            err = KC_ERR__INVALID_ARG;
            break;
        }
        hdrs[i].key = proto_str_of(h->name);
        hdrs[i].value = h->value ? proto_slice_of(h->value, h->value_len) : PROTO_NULL_SLICE;
    }
    if (!err) err = produce_locked_out(p, rec, hdrs, rec->header_cnt, flags);
    if (hdrs != stack) free(hdrs);
    /* The value was copied (or refused): kc no longer needs it. */
    if (flags & KC_PRODUCE_F_FREE) rec->free_cb((void *)rec->value, rec->opaque);
    return err;
}
