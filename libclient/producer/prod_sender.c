/* The sender, on the client's I/O thread. Each run (woken by kc_produce when
 * a batch opens or fills, by responses, or by its timer):
 *   1. topics: learns partition counts from the metadata cache, moves
 *      pending records in, fails those past message.timeout.ms;
 *   2. partitions: closes open batches past linger.ms (or all when a flush
 *      waits), fails queued batches past message.timeout.ms;
 *   3. sends: the head batch of every sendable partition, grouped per
 *      leader, one ProduceRequest per leader while it has fewer than
 *      max.in.flight requests out;
 *   4. arms its timer for the next linger, retry or time-out deadline.
 * Responses settle each batch: a report, or back into its partition's
 * ready queue in its original place for a retry. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client_int.h"
#include "proto_compress.h"
#include "producer/prod_int.h"
#include "util/log.h"

/* A ProduceRequest stops growing past this many bytes of batches. */
#define PROD_REQ_SOFT_MAX (16u << 20)
/* Longest sleep between runs: time-outs are checked at least this often. */
#define PROD_MAX_SLEEP_MS 1000

typedef struct prod_req {
    prod_t *p;
    int32_t node_id;
    int nbatches;
    prod_batch_t **batches;
    proto_produce_request_t req;
    proto_produce_request_topic_produce_data_t *topics;
    proto_produce_request_partition_produce_data_t *parts;
} prod_req_t;

void prod_batch_fail(prod_t *p, prod_batch_t *b, kc_err_t err, const char *fmt, ...)
{
    b->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->errstr, sizeof(b->errstr), fmt, ap);
    va_end(ap);
    prod_dr_enqueue(p, b);
}

static prod_broker_state_t *broker_state(prod_t *p, int32_t node_id)
{
    for (int i = 0; i < p->nbrokers; i++)
        if (p->brokers[i].node_id == node_id) return &p->brokers[i];
    prod_broker_state_t *nb = realloc(p->brokers, sizeof(*nb) * (size_t)(p->nbrokers + 1));
    if (!nb) return NULL;
    p->brokers = nb;
    p->brokers[p->nbrokers] = (prod_broker_state_t){node_id, 0};
    return &p->brokers[p->nbrokers++];
}

static int leader_error(kc_err_t err)
{
    switch (err) {
    case KC_ERR_NOT_LEADER_OR_FOLLOWER:
    case KC_ERR_UNKNOWN_TOPIC_OR_PARTITION:
    case KC_ERR_LEADER_NOT_AVAILABLE:
    case KC_ERR_FENCED_LEADER_EPOCH:
    case KC_ERR_UNKNOWN_LEADER_EPOCH:
    case KC_ERR_KAFKA_STORAGE_ERROR:
    case KC_ERR_NOT_ENOUGH_REPLICAS:
    case KC_ERR__TRANSPORT: return 1;
    default: return 0;
    }
}

/* Under pp->lock: b goes back among the ready batches in closing order, so
 * a retry leaves before every batch closed after it. */
static void requeue_locked(prod_part_t *pp, prod_batch_t *b)
{
    prod_batch_t *it;
    TAILQ_FOREACH(it, &pp->ready, link)
    if (it->no > b->no) break;
    if (it)
        TAILQ_INSERT_BEFORE(it, b, link);
    else
        TAILQ_INSERT_TAIL(&pp->ready, b, link);
    pp->nready++;
}

static prod_part_t *part_of(prod_batch_t *b)
{
    return b->topic->parts[b->partition];
}

/* ---- settling a batch ---- */

static void batch_done(prod_t *p, prod_batch_t *b, kc_err_t err, const char *errstr,
                       int64_t base_offset, int64_t log_append_time)
{
    prod_part_t *pp = part_of(b);
    int idem = p->idem_state != PROD_IDEM_OFF;
    if (!err || (idem && err == KC_ERR_DUPLICATE_SEQUENCE_NUMBER)) {
        /* A duplicate was written by an earlier attempt whose answer got
         * lost; its offset is not known here. */
        b->err = 0;
        if (idem && b->gen == p->pid_gen) pp->ack_gen = p->pid_gen;
        b->base_offset = err ? -1 : base_offset;
        b->log_append_time = log_append_time;
        prod_dr_enqueue(p, b);
        return;
    }
    if (!errstr) errstr = kc_err_str(err);
    if (idem && (err == KC_ERR_INVALID_PRODUCER_EPOCH || err == KC_ERR_PRODUCER_FENCED ||
                 err == KC_ERR_CLUSTER_AUTHORIZATION_FAILED ||
                 err == KC_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED)) {
        prod_set_fatal(p, err, "%s [%d]: %s", b->topic->name, (int)b->partition, errstr);
        prod_batch_fail(p, b, KC_ERR__FATAL, "%s", p->fatal_str);
        return;
    }
    int retriable = kc_err_is_retriable(err) || err == KC_ERR__TIMED_OUT ||
                    err == KC_ERR__TRANSPORT || err == KC_ERR__BAD_MSG;
    if (idem && (err == KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER || err == KC_ERR_UNKNOWN_PRODUCER_ID)) {
        /* Expected behind a batch of this partition that failed first (the
         * broker saw a gap); otherwise the broker lost track of us. */
        if (!pp->hold) {
            char why[300];
            snprintf(why, sizeof(why), "%s [%d] sequence %d: %s", b->topic->name, (int)b->partition,
                     (int)b->base_seq, errstr);
            prod_idem_request_bump(p, why);
        }
        retriable = 1;
    }
    if (leader_error(err)) client_metadata_refresh(p->c, b->topic->name);
    uint64_t now = prod_now_ms();
    uint64_t deadline = prod_deadline(p, b->created_ms);
    if (retriable && now < deadline && b->attempts <= p->conf->retries && !p->stopped &&
        p->idem_state != PROD_IDEM_FATAL) {
        log_debug("%s [%d]: retrying %d records (attempt %d): %s", b->topic->name,
                  (int)b->partition, (int)b->nrec, b->attempts, errstr);
        b->retry_at_ms = now + (uint64_t)client_retry_backoff_ms(p->conf, b->attempts);
        if (idem) pp->hold = 1;
        pthread_mutex_lock(&pp->lock);
        requeue_locked(pp, b);
        pthread_mutex_unlock(&pp->lock);
        return;
    }
    b->possibly_persisted = b->sent && (err == KC_ERR__TIMED_OUT || err == KC_ERR__TRANSPORT ||
                                        err == KC_ERR_REQUEST_TIMED_OUT);
    /* The broker may hold sequences this batch used: later batches would
     * not follow on from them. */
    if (idem && b->sent && p->idem_state != PROD_IDEM_FATAL)
        prod_idem_request_bump(p, "a sent batch failed for good");
    kc_err_t final = retriable && now >= deadline ? KC_ERR__MSG_TIMED_OUT : err;
    if (p->idem_state == PROD_IDEM_FATAL) final = KC_ERR__FATAL;
    prod_batch_fail(p, b, final, "%s", errstr);
}

static const proto_produce_response_partition_produce_response_t *
find_answer(const proto_produce_response_t *r, const prod_batch_t *b)
{
    for (int32_t i = 0; i < r->responses.n; i++) {
        const proto_produce_response_topic_produce_response_t *t = &r->responses.v[i];
        if (!proto_str_eq(t->name, b->topic->name)) continue;
        for (int32_t j = 0; j < t->partition_responses.n; j++)
            if (t->partition_responses.v[j].index == b->partition)
                return &t->partition_responses.v[j];
    }
    return NULL;
}

static void req_free(prod_req_t *r)
{
    free(r->batches);
    free(r->topics);
    free(r->parts);
    free(r);
}

static void on_produce_resp(const net_resp_t *resp, void *opaque)
{
    prod_req_t *r = opaque;
    prod_t *p = r->p;
    prod_broker_state_t *bs = broker_state(p, r->node_id);
    if (bs) bs->inflight--;
    const proto_produce_response_t *body = resp->body;
    for (int i = 0; i < r->nbatches; i++) {
        prod_batch_t *b = r->batches[i];
        prod_part_t *pp = part_of(b);
        TAILQ_REMOVE(&pp->inflight, b, link);
        pp->ninflight--;
        p->inflight_batches--;
        b->in_flight = 0;
        if (b->purged) {
            prod_batch_release(p, b);
            continue;
        }
        if (resp->err) {
            batch_done(p, b, resp->err, resp->errstr, -1, -1);
            continue;
        }
        if (!body) { /* acks=0 */
            batch_done(p, b, 0, NULL, -1, -1);
            continue;
        }
        const proto_produce_response_partition_produce_response_t *a = find_answer(body, b);
        if (!a) {
            batch_done(p, b, KC_ERR__BAD_MSG, "the response has no answer for the partition", -1,
                       -1);
            continue;
        }
        char msg[200];
        const char *errstr = NULL;
        if (a->error_code && a->error_message.len > 0) {
            snprintf(msg, sizeof(msg), "%s: %.*s", kc_err_str((kc_err_t)a->error_code),
                     (int)a->error_message.len, (const char *)a->error_message.ptr);
            errstr = msg;
        }
        batch_done(p, b, (kc_err_t)a->error_code, errstr, a->base_offset, a->log_append_time_ms);
    }
    req_free(r);
    prod_wake(p);
}

/* ---- sending ---- */

/* Finishes b for its first send, or re-stamps it after an epoch bump. */
static kc_err_t batch_prepare(prod_t *p, prod_part_t *pp, prod_batch_t *b)
{
    /* A producing thread could not finish it: it fails before it takes a
     * sequence number, so it leaves no gap. */
    if (b->finish_err) return b->finish_err;
    int idem = p->idem_state != PROD_IDEM_OFF;
    int restamp = idem && (b->base_seq < 0 || b->gen != p->pid_gen);
    if (restamp) {
        b->base_seq = pp->next_seq;
        b->epoch = p->epoch;
        b->gen = p->pid_gen;
        int64_t next = (int64_t)pp->next_seq + b->nrec;
        pp->next_seq = (int32_t)(next > INT32_MAX ? next - INT32_MAX - 1 : next);
    }
    if (!b->finished) {
        if (idem) {
            b->bld.producer_id = p->pid;
            b->bld.producer_epoch = p->epoch;
            b->bld.base_sequence = b->base_seq;
        }
        kc_err_t err = prod_batch_finish(p, b, &p->scratch);
        if (err) return err;
    } else if (restamp) {
        proto_batch_set_producer(b->buf.data + b->bld.start, proto_batch_builder_size(&b->bld),
                                 p->pid, p->epoch, b->base_seq);
    }
    return 0;
}

/* Whether pp's head batch may go now; *next is lowered to when it may. */
static int part_sendable(prod_t *p, prod_part_t *pp, uint64_t now, uint64_t *next)
{
    if (pp->hold) {
        if (pp->ninflight > 0) return 0;
        pp->hold = 0;
    }
    if (p->idem_state != PROD_IDEM_OFF && (pp->ninflight >= CLIENT_IDEMPOTENT_MAX_IN_FLIGHT ||
                                           (pp->ninflight > 0 && pp->ack_gen != p->pid_gen)))
        return 0;
    pthread_mutex_lock(&pp->lock);
    prod_batch_t *b = TAILQ_FIRST(&pp->ready);
    /* A batch being compressed by a producing thread goes when that thread
     * is done (it wakes the sender). */
    int ok = b != NULL && !b->compressing;
    if (ok && b->retry_at_ms > now) {
        if (b->retry_at_ms < *next) *next = b->retry_at_ms;
        ok = 0;
    }
    pthread_mutex_unlock(&pp->lock);
    return ok;
}

static prod_batch_t *part_pop(prod_part_t *pp)
{
    pthread_mutex_lock(&pp->lock);
    prod_batch_t *b = TAILQ_FIRST(&pp->ready);
    if (b && b->compressing) b = NULL;
    if (b) {
        TAILQ_REMOVE(&pp->ready, b, link);
        pp->nready--;
    }
    pthread_mutex_unlock(&pp->lock);
    return b;
}

typedef struct cand {
    prod_part_t *pp;
    int32_t leader;
} cand_t;

static int cmp_cand(const void *a, const void *b)
{
    const cand_t *x = a, *y = b;
    if (x->leader != y->leader) return x->leader < y->leader ? -1 : 1;
    if (x->pp->topic != y->pp->topic) return x->pp->topic < y->pp->topic ? -1 : 1;
    return (x->pp->id > y->pp->id) - (x->pp->id < y->pp->id);
}

/* One ProduceRequest to leader with the head batch of each candidate that
 * can still send. Returns the number of batches sent. */
static int send_one_request(prod_t *p, int32_t leader, cand_t *cs, int n, uint64_t now,
                            uint64_t *next)
{
    prod_req_t *r = calloc(1, sizeof(*r));
    if (!r) return 0;
    r->batches = calloc((size_t)n, sizeof(*r->batches));
    r->topics = calloc((size_t)n, sizeof(*r->topics));
    r->parts = calloc((size_t)n, sizeof(*r->parts));
    if (!r->batches || !r->topics || !r->parts) {
        req_free(r);
        return 0;
    }
    r->p = p;
    r->node_id = leader;
    size_t total = 0;
    int ntopics = 0;
    prod_topic_t *cur = NULL;
    uint64_t min_deadline = UINT64_MAX;
    /* message.max.bytes bounds the request, as in librdkafka: no batch is
     * added once it is reached (the first one always goes). */
    size_t limit = (size_t)p->conf->message_max_bytes;
    if (limit > PROD_REQ_SOFT_MAX) limit = PROD_REQ_SOFT_MAX;
    for (int i = 0; i < n && total < limit; i++) {
        prod_part_t *pp = cs[i].pp;
        if (!part_sendable(p, pp, now, next)) continue;
        prod_batch_t *b = part_pop(pp);
        if (!b) continue;
        kc_err_t err = batch_prepare(p, pp, b);
        if (err) {
            prod_batch_fail(p, b, err, "%s", b->errstr[0] ? b->errstr : kc_err_str(err));
            continue;
        }
        b->in_flight = 1;
        b->sent = 1;
        b->attempts++;
        TAILQ_INSERT_TAIL(&pp->inflight, b, link);
        pp->ninflight++;
        p->inflight_batches++;
        uint64_t d = prod_deadline(p, b->created_ms);
        if (d < min_deadline) min_deadline = d;
        if (pp->topic != cur) {
            cur = pp->topic;
            proto_produce_request_topic_produce_data_t *td = &r->topics[ntopics++];
            proto_struct_init(&proto_produce_request_topic_produce_data_sdesc, td);
            td->name = proto_str_of(cur->name);
            td->partition_data.v = &r->parts[r->nbatches];
        }
        proto_produce_request_partition_produce_data_t *pd = &r->parts[r->nbatches];
        proto_struct_init(&proto_produce_request_partition_produce_data_sdesc, pd);
        pd->index = pp->id;
        size_t size = proto_batch_builder_size(&b->bld);
        pd->records = proto_slice_of(b->buf.data + b->bld.start, size);
        r->topics[ntopics - 1].partition_data.n++;
        r->batches[r->nbatches++] = b;
        total += size;
        atomic_fetch_add(&p->stat_batches, 1);
        if (b->attempts > 1) atomic_fetch_add(&p->stat_retries, 1);
        if (b->nrec > atomic_load(&p->stat_max_batch_records))
            atomic_store(&p->stat_max_batch_records, b->nrec);
    }
    if (r->nbatches == 0) {
        req_free(r);
        return 0;
    }
    proto_msg_init(&proto_produce_request_desc, &r->req);
    r->req.acks = (int16_t)p->conf->acks;
    r->req.timeout_ms = p->conf->request_timeout_ms;
    r->req.topic_data.v = r->topics;
    r->req.topic_data.n = ntopics;
    /* Bounded by the batches' delivery time-out, so message.timeout.ms
     * holds even when a broker never answers. */
    int64_t tmo = p->conf->request_timeout_ms;
    if (min_deadline != UINT64_MAX) {
        uint64_t left = min_deadline > now ? min_deadline - now : 0;
        if (left < (uint64_t)tmo) tmo = (int64_t)left;
    }
    if (tmo < 10) tmo = 10;
    int flags = p->conf->acks == 0 ? NET_REQ_NO_RESPONSE : 0;
    kc_err_t err = client_broker_request(p->c, leader, PROTO_API_PRODUCE, &r->req, (int)tmo, flags,
                                         on_produce_resp, r);
    if (err) {
        /* The callback never fires: settle the batches here. */
        net_resp_t fake = {0};
        fake.node_id = leader;
        fake.err = err;
        fake.errstr = kc_err_str(err);
        prod_broker_state_t *bs = broker_state(p, leader);
        if (bs) bs->inflight++;
        int nb = r->nbatches;
        on_produce_resp(&fake, r);
        return nb;
    }
    prod_broker_state_t *bs = broker_state(p, leader);
    if (bs) bs->inflight++;
    atomic_fetch_add(&p->stat_requests, 1);
    return r->nbatches;
}

static void send_ready(prod_t *p, cand_t *cs, int n, uint64_t now, uint64_t *next)
{
    qsort(cs, (size_t)n, sizeof(*cs), cmp_cand);
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && cs[j].leader == cs[i].leader)
            j++;
        prod_broker_state_t *bs = broker_state(p, cs[i].leader);
        while (bs && bs->inflight < p->conf->max_in_flight &&
               send_one_request(p, cs[i].leader, cs + i, j - i, now, next) > 0)
            bs = broker_state(p, cs[i].leader);
        i = j;
    }
}

/* ---- the run ---- */

static void fail_expired(prod_t *p, prod_part_t *pp, uint64_t now, uint64_t *next)
{
    struct prod_batch_q q = TAILQ_HEAD_INITIALIZER(q);
    pthread_mutex_lock(&pp->lock);
    prod_batch_t *b, *nb;
    for (b = TAILQ_FIRST(&pp->ready); b; b = nb) {
        nb = TAILQ_NEXT(b, link);
        if (b->compressing) continue; /* its thread wakes the sender when done */
        uint64_t d = prod_deadline(p, b->created_ms);
        if (d > now && !b->purge_err) {
            if (d < *next) *next = d;
            continue;
        }
        TAILQ_REMOVE(&pp->ready, b, link);
        pp->nready--;
        TAILQ_INSERT_TAIL(&q, b, link);
    }
    pthread_mutex_unlock(&pp->lock);
    while ((b = TAILQ_FIRST(&q)) != NULL) {
        TAILQ_REMOVE(&q, b, link);
        if (p->idem_state != PROD_IDEM_OFF && b->sent)
            prod_idem_request_bump(p, b->purge_err ? "a sent batch was purged"
                                                   : "a sent batch timed out");
        b->possibly_persisted = b->sent;
        if (b->purge_err)
            prod_batch_fail(p, b, b->purge_err, "%s", kc_err_str(b->purge_err));
        else
            prod_batch_fail(p, b, KC_ERR__MSG_TIMED_OUT,
                            "not delivered within message.timeout.ms (%d)",
                            p->conf->message_timeout_ms);
    }
}

/* Metadata for t: partitions, pending records, refreshes while unknown. */
static void topic_run(prod_t *p, prod_topic_t *t, uint64_t now, uint64_t *next)
{
    client_t *c = p->c;
    const client_topic_t *ct = util_hmap_gets(&c->topics, t->name);
    int known = ct && ct->updated_ms != 0;
    if (known && ct->npart > 0 && ct->npart > t->npart) {
        prod_topic_set_partitions(p, t, ct->npart);
        return;
    }
    if (t->npart > 0) return;
    if (known && ct->err == KC_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
        pthread_mutex_lock(&t->lock);
        t->err = KC_ERR__UNKNOWN_TOPIC;
        pthread_mutex_unlock(&t->lock);
        prod_topic_fail_pending(p, t, KC_ERR__UNKNOWN_TOPIC, 1, now);
    } else {
        prod_topic_fail_pending(p, t, KC_ERR__MSG_TIMED_OUT, 0, now);
    }
    if (now >= t->refresh_at_ms) {
        client_metadata_refresh(c, t->name);
        int backoff = p->conf->retry_backoff_ms > 50 ? p->conf->retry_backoff_ms : 50;
        t->refresh_at_ms = now + (uint64_t)backoff;
    }
    if (t->refresh_at_ms < *next) *next = t->refresh_at_ms;
}

static void sender_run(prod_t *p)
{
    if (p->stopped) return;
    uint64_t now = prod_now_ms();
    uint64_t next = now + PROD_MAX_SLEEP_MS;
    int flushing = atomic_load(&p->flushing) > 0;
    int can_send = p->idem_state == PROD_IDEM_OFF || prod_idem_ready(p, now, &next);
    uint64_t linger = (uint64_t)(p->conf->linger_ms + 0.999);
    client_t *c = p->c;

    cand_t stack[64];
    cand_t *cs = stack;
    int ncs = 0, cap = 64;

    pthread_rwlock_rdlock(&p->topics_lock);
    for (int i = 0; i < p->ntopics; i++) {
        prod_topic_t *t = p->topic_list[i];
        topic_run(p, t, now, &next);
        for (int32_t j = 0; j < t->npart; j++) {
            prod_part_t *pp = t->parts[j];
            pthread_mutex_lock(&pp->lock);
            prod_batch_t *b = pp->open;
            if (b && b->nrec > 0) {
                if (flushing || now >= b->created_ms + linger) {
                    prod_part_close_open(pp);
                } else if (b->created_ms + linger < next) {
                    next = b->created_ms + linger;
                }
            }
            int nready = pp->nready;
            pthread_mutex_unlock(&pp->lock);
            if (nready == 0) continue;
            fail_expired(p, pp, now, &next);
            if (!can_send || !part_sendable(p, pp, now, &next)) continue;
            int32_t leader;
            if (client_topic_leader(c, t->name, pp->id, &leader) != 0) {
                if (now >= t->refresh_at_ms) {
                    client_metadata_refresh(c, t->name);
                    t->refresh_at_ms = now + (uint64_t)p->conf->retry_backoff_ms;
                }
                if (t->refresh_at_ms < next) next = t->refresh_at_ms;
                continue;
            }
            if (ncs == cap) {
                cand_t *ncs_arr = malloc(sizeof(*ncs_arr) * (size_t)cap * 2);
                if (!ncs_arr) continue;
                memcpy(ncs_arr, cs, sizeof(*cs) * (size_t)ncs);
                if (cs != stack) free(cs);
                cs = ncs_arr;
                cap *= 2;
            }
            cs[ncs++] = (cand_t){pp, leader};
        }
    }
    pthread_rwlock_unlock(&p->topics_lock);

    if (ncs > 0) send_ready(p, cs, ncs, now, &next);
    if (cs != stack) free(cs);

    if (p->stopped) return;
    if (next <= now) next = now + 1;
    if (!p->timer_armed || next < p->timer_at_ms) {
        uint64_t d = next - now;
        struct timeval tv = {(time_t)(d / 1000), (suseconds_t)((d % 1000) * 1000)};
        evtimer_add(p->ev_timer, &tv);
        p->timer_armed = 1;
        p->timer_at_ms = next;
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sender_run(arg);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    prod_t *p = arg;
    p->timer_armed = 0;
    sender_run(p);
}

/* New metadata may give a waiting topic its partitions or a batch its
 * leader: the sender runs now, not at its next timer (up to
 * retry.backoff.ms after the topic's refresh was asked for). */
static void on_metadata(client_t *c, void *arg)
{
    (void)c;
    prod_wake(arg);
}

static void start_io(client_t *c, void *arg)
{
    prod_t *p = arg;
    p->ev_wake = event_new(client_base(c), -1, 0, on_wake, p);
    p->ev_timer = evtimer_new(client_base(c), on_timer, p);
    client_set_metadata_cb(c, on_metadata, p);
}

kc_err_t prod_sender_start(prod_t *p)
{
    kc_err_t err = client_call(p->c, start_io, p);
    if (err) return err;
    if (!p->ev_wake || !p->ev_timer) return KC_ERR__NO_MEMORY;
    prod_wake(p);
    return 0;
}

static void stop_io(client_t *c, void *arg)
{
    prod_t *p = arg;
    client_set_metadata_cb(c, NULL, NULL);
    p->stopped = 1;
    if (p->ev_wake) event_free(p->ev_wake);
    if (p->ev_timer) event_free(p->ev_timer);
    p->ev_wake = p->ev_timer = NULL;
}

void prod_sender_stop(prod_t *p)
{
    if (client_call(p->c, stop_io, p) != 0) {
        /* The I/O thread is gone: nothing runs the events any more. */
        if (p->ev_wake) event_free(p->ev_wake);
        if (p->ev_timer) event_free(p->ev_timer);
        p->ev_wake = p->ev_timer = NULL;
    }
}

/* ---- purge ---- */

/* Reports an in-flight batch now; the batch itself stays with its request
 * and is only freed when the response comes. */
static void purge_inflight(prod_t *p, prod_batch_t *b, kc_err_t err)
{
    prod_batch_t *r = prod_batch_new_report(p, b->topic, b->partition, 1);
    if (!r) return;
    free(r->meta);
    r->meta = b->meta;
    r->meta_cap = b->meta_cap;
    r->nrec = b->nrec;
    r->bytes = b->bytes;
    r->possibly_persisted = 1;
    b->meta = NULL;
    b->meta_cap = 0;
    b->nrec = 0;
    b->bytes = 0;
    b->purged = 1;
    prod_batch_fail(p, r, err, "%s", kc_err_str(err));
}

void prod_purge_io(prod_t *p, int flags, kc_err_t err)
{
    int gap = 0;
    pthread_rwlock_rdlock(&p->topics_lock);
    for (int i = 0; i < p->ntopics; i++) {
        prod_topic_t *t = p->topic_list[i];
        if (flags & KC_PURGE_F_QUEUE) prod_topic_fail_pending(p, t, err, 1, 0);
        for (int32_t j = 0; j < t->npart; j++) {
            prod_part_t *pp = t->parts[j];
            struct prod_batch_q q = TAILQ_HEAD_INITIALIZER(q);
            if (flags & KC_PURGE_F_QUEUE) {
                pthread_mutex_lock(&pp->lock);
                prod_batch_t *open = pp->open, *b, *nb;
                pp->open = NULL;
                for (b = TAILQ_FIRST(&pp->ready); b; b = nb) {
                    nb = TAILQ_NEXT(b, link);
                    if (b->compressing) {
                        /* Its thread still writes it: failed by the next
                         * run once it is done (fail_expired). */
                        b->purge_err = err;
                        continue;
                    }
                    TAILQ_REMOVE(&pp->ready, b, link);
                    pp->nready--;
                    TAILQ_INSERT_TAIL(&q, b, link);
                }
                pthread_mutex_unlock(&pp->lock);
                if (open && open->nrec > 0)
                    TAILQ_INSERT_TAIL(&q, open, link);
                else if (open)
                    prod_batch_release(p, open);
            }
            prod_batch_t *b;
            while ((b = TAILQ_FIRST(&q)) != NULL) {
                TAILQ_REMOVE(&q, b, link);
                gap |= b->sent;
                b->possibly_persisted = b->sent;
                prod_batch_fail(p, b, err, "%s", kc_err_str(err));
            }
            if (flags & KC_PURGE_F_INFLIGHT) {
                TAILQ_FOREACH(b, &pp->inflight, link)
                if (!b->purged) {
                    purge_inflight(p, b, err);
                    gap = 1;
                }
            }
        }
    }
    pthread_rwlock_unlock(&p->topics_lock);
    if (gap && p->idem_state != PROD_IDEM_OFF && p->idem_state != PROD_IDEM_FATAL && !p->stopped)
        prod_idem_request_bump(p, "purged batches left a sequence gap");
}
