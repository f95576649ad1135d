/* The fetcher, on the I/O thread: one Fetch in flight per leader of the
 * assigned partitions, an incremental fetch session (KIP-227) per broker,
 * and the split of each response into per-partition events for the poll
 * thread.
 *
 * A pass (fetch_pass, run through ev_kick) picks the fetchable partitions:
 * assigned, offset known, not paused, not held by a fetch in flight, their
 * queue under queued.min.messages records and four responses of
 * max.partition.fetch.bytes (cons_part_queue_cap), leader known; none while the
 * consumer's whole queue holds queued.max.messages.kbytes or more (one bound
 * for all partitions, as librdkafka's high-level consumer has; it is
 * exceeded by at most the fetches in flight when it was reached, one per
 * leader). They are grouped by leader; each broker without a fetch in
 * flight gets one request.
 *
 * Sessions. The broker remembers the partitions and offsets of a session;
 * later requests carry only the partitions whose offset or size changed
 * (those that got data) and "forget" those no longer wanted (paused, over
 * their queue limit, moved, unassigned), and responses carry only the
 * partitions with something new. Because the broker may answer for any
 * partition of the session, the session holds exactly the partitions picked
 * for the fetch in flight. A session the broker lost or whose epoch it
 * refuses (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH) and any
 * failed request start over with a full fetch (epoch 0 = new session). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client_int.h"
#include "consumer/consumer_int.h"
#include "proto_msgs.h"
#include "util/log.h"

typedef struct sess_ent {
    cons_part_t *p;
} sess_ent_t;

struct fetch_sess {
    fetch_sess_t *next;
    kc_consumer_t *c;
    int32_t node;
    int in_flight;
    int32_t id;
    int32_t epoch;      /* of the next request; 0: start a session */
    cons_part_t **ents; /* the partitions the broker's session holds */
    int nents, capents;
};

typedef struct fetch_req {
    fetch_sess_t *s;
    int full;
    proto_fetch_request_t req;
    proto_fetch_request_fetch_topic_t *topics;
    proto_fetch_request_fetch_partition_t *parts;
    proto_fetch_request_forgotten_topic_t *ftopics;
    int32_t *fparts;
    cons_part_t **sent; /* every partition of the session: the broker may answer for each */
    int nsent;
} fetch_req_t;

static void part_key(char *key, size_t *klen, const char *topic, size_t tlen, int32_t partition)
{
    memcpy(key, topic, tlen);
    key[tlen] = '\0';
    memcpy(key + tlen + 1, &partition, sizeof(partition));
    *klen = tlen + 1 + sizeof(partition);
}

static cons_part_t *part_lookup(kc_consumer_t *c, const char *topic, size_t tlen, int32_t partition)
{
    char stack[256];
    char *key = tlen + 8 <= sizeof(stack) ? stack : malloc(tlen + 8);
    if (!key) return NULL;
    size_t klen;
    part_key(key, &klen, topic, tlen, partition);
    cons_part_t *p = util_hmap_get(&c->parts, key, klen);
    if (key != stack) free(key);
    return p;
}

cons_part_t *fetch_part_get(kc_consumer_t *c, const char *topic, int32_t partition, int create)
{
    size_t tlen = strlen(topic);
    cons_part_t *p = part_lookup(c, topic, tlen, partition);
    if (p || !create) return p;
    p = calloc(1, sizeof(*p));
    char *key = malloc(tlen + 8);
    if (!p || !key || !(p->topic = strdup(topic))) {
        free(key);
        if (p) free(p->topic);
        free(p);
        return NULL;
    }
    p->partition = partition;
    p->app_pos = KC_OFFSET_INVALID;
    p->app_epoch = -1;
    p->lo = p->hi = p->lso = -1;
    p->committed = -1;
    p->fetch_node = p->sess_node = p->want_node = -1;
    p->eof_at = -1;
    p->leader_epoch = -1;
    size_t klen;
    part_key(key, &klen, topic, tlen, partition);
    if (util_hmap_put(&c->parts, key, klen, p, NULL) != 0) {
        free(key);
        free(p->topic);
        free(p);
        return NULL;
    }
    free(key);
    return p;
}

/* ---- assignment changes (I/O thread, from client_call) ---- */

static void bump_version(kc_consumer_t *c, cons_part_t *p)
{
    pthread_mutex_lock(&c->lock);
    p->version++;
    pthread_mutex_unlock(&c->lock);
}

void fetch_part_seek(kc_consumer_t *c, cons_part_t *p, int64_t offset)
{
    pthread_mutex_lock(&c->lock);
    p->version++;
    p->app_pos = offset >= 0 ? offset : KC_OFFSET_INVALID;
    pthread_mutex_unlock(&c->lock);
    p->state = PART_PENDING;
    p->want_offset = offset;
    p->retry_at_ms = 0;
    p->eof_at = -1;
    p->max_bytes = c->conf->max_partition_fetch_bytes;
    fetch_kick(c);
}

void fetch_part_assign(kc_consumer_t *c, cons_part_t *p, int64_t offset)
{
    if (!p->in_assigned) {
        if (c->nassigned == c->capassigned) {
            int cap = c->capassigned ? c->capassigned * 2 : 16;
            cons_part_t **n = realloc(c->assigned, (size_t)cap * sizeof(*n));
            if (!n) {
                cons_error(c, p, KC_ERR__NO_MEMORY, "out of memory assigning %s [%d]", p->topic,
                           (int)p->partition);
                return;
            }
            c->assigned = n;
            c->capassigned = cap;
        }
        c->assigned[c->nassigned++] = p;
        p->in_assigned = 1;
    }
    pthread_mutex_lock(&c->lock);
    p->assigned = 1;
    p->paused = 0;
    p->lo = p->hi = p->lso = -1;
    p->committed = -1;
    pthread_mutex_unlock(&c->lock);
    fetch_part_seek(c, p, offset);
}

void fetch_part_unassign(kc_consumer_t *c, cons_part_t *p)
{
    pthread_mutex_lock(&c->lock);
    p->assigned = 0;
    p->version++;
    p->app_pos = KC_OFFSET_INVALID;
    pthread_mutex_unlock(&c->lock);
    p->state = PART_IDLE;
    for (int i = 0; i < c->nassigned; i++)
        if (c->assigned[i] == p) {
            memmove(&c->assigned[i], &c->assigned[i + 1],
                    (size_t)(c->nassigned - i - 1) * sizeof(*c->assigned));
            c->nassigned--;
            break;
        }
    p->in_assigned = 0;
}

/* ---- sessions ---- */

static fetch_sess_t *sess_get(kc_consumer_t *c, int32_t node)
{
    for (fetch_sess_t *s = c->sess; s; s = s->next)
        if (s->node == node) return s;
    fetch_sess_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->c = c;
    s->node = node;
    s->next = c->sess;
    c->sess = s;
    return s;
}

int fetch_sessions(const kc_consumer_t *c)
{
    int n = 0;
    for (const fetch_sess_t *s = c->sess; s; s = s->next)
        n++;
    return n;
}

int fetch_in_flight(const kc_consumer_t *c)
{
    int n = 0;
    for (const fetch_sess_t *s = c->sess; s; s = s->next)
        n += s->in_flight;
    return n;
}

static void sess_reset(fetch_sess_t *s)
{
    for (int i = 0; i < s->nents; i++)
        if (s->ents[i]->sess_node == s->node) s->ents[i]->sess_node = -1;
    s->nents = 0;
    s->id = 0;
    s->epoch = 0;
}

/* ---- the pass ---- */

static int by_topic(const void *a, const void *b)
{
    const cons_part_t *x = *(cons_part_t *const *)a, *y = *(cons_part_t *const *)b;
    int r = strcmp(x->topic, y->topic);
    return r ? r : (x->partition > y->partition) - (x->partition < y->partition);
}

static void on_fetch(const net_resp_t *resp, void *opaque);

static void req_free(fetch_req_t *r)
{
    if (!r) return;
    free(r->topics);
    free(r->parts);
    free(r->ftopics);
    free(r->fparts);
    free(r->sent);
    free(r);
}

/* Fills the topics (or forgotten topics) of the request from parts sorted
 * by topic. */
static int group_topics(cons_part_t **v, int n, fetch_req_t *r, int forgotten,
                        const client_conf_t *cc)
{
    if (n == 0) return 0;
    qsort(v, (size_t)n, sizeof(*v), by_topic);
    int ntopics = 0;
    for (int i = 0; i < n; i++)
        if (i == 0 || strcmp(v[i]->topic, v[i - 1]->topic) != 0) ntopics++;
    if (!forgotten) {
        r->topics = calloc((size_t)ntopics, sizeof(*r->topics));
        r->parts = calloc((size_t)n, sizeof(*r->parts));
        if (!r->topics || !r->parts) return -1;
    } else {
        r->ftopics = calloc((size_t)ntopics, sizeof(*r->ftopics));
        r->fparts = calloc((size_t)n, sizeof(*r->fparts));
        if (!r->ftopics || !r->fparts) return -1;
    }
    int t = -1;
    for (int i = 0; i < n; i++) {
        cons_part_t *p = v[i];
        if (i == 0 || strcmp(p->topic, v[i - 1]->topic) != 0) {
            t++;
            if (!forgotten) {
                r->topics[t].topic = proto_str_of(p->topic);
                r->topics[t].partitions.v = &r->parts[i];
            } else {
                r->ftopics[t].topic = proto_str_of(p->topic);
                r->ftopics[t].partitions.v = &r->fparts[i];
            }
        }
        if (!forgotten) {
            proto_fetch_request_fetch_partition_t *fp = &r->parts[i];
            fp->partition = p->partition;
            fp->current_leader_epoch = -1;
            fp->fetch_offset = p->fetch_pos;
            fp->last_fetched_epoch = -1;
            fp->log_start_offset = -1;
            fp->partition_max_bytes =
                p->max_bytes > 0 ? p->max_bytes : cc->max_partition_fetch_bytes;
            r->topics[t].partitions.n++;
        } else {
            r->fparts[i] = p->partition;
            r->ftopics[t].partitions.n++;
        }
    }
    if (!forgotten) {
        r->req.topics.v = r->topics;
        r->req.topics.n = ntopics;
    } else {
        r->req.forgotten_topics_data.v = r->ftopics;
        r->req.forgotten_topics_data.n = ntopics;
    }
    return 0;
}

static void send_fetch(kc_consumer_t *c, fetch_sess_t *s, cons_part_t **want, int nwant)
{
    const client_conf_t *cc = c->conf;
    fetch_req_t *r = calloc(1, sizeof(*r));
    cons_part_t **inc = malloc((size_t)nwant * sizeof(*inc));
    cons_part_t **forget = s->nents ? malloc((size_t)s->nents * sizeof(*forget)) : NULL;
    cons_part_t **sent = malloc((size_t)nwant * sizeof(*sent));
    int ninc = 0, nforget = 0;
    if (!r || !inc || !sent || (s->nents && !forget)) goto oom;
    proto_msg_init(&proto_fetch_request_desc, &r->req);
    r->s = s;
    r->full = s->id == 0 || s->epoch <= 0;
    uint64_t serial = c->pass_serial;
    for (int i = 0; i < nwant; i++) {
        cons_part_t *p = want[i];
        sent[i] = p;
        int known = !r->full && p->sess_node == s->node && p->sess_off == p->fetch_pos &&
                    p->sess_max == p->max_bytes;
        if (!known) inc[ninc++] = p;
    }
    if (!r->full)
        for (int i = 0; i < s->nents; i++) {
            cons_part_t *p = s->ents[i];
            if (p->want_node != s->node || p->want_serial != serial) forget[nforget++] = p;
        }
    if (group_topics(inc, ninc, r, 0, cc) || group_topics(forget, nforget, r, 1, cc)) goto oom;
    r->sent = sent;
    r->nsent = nwant;
    sent = NULL;
    r->req.replica_id = -1;
    r->req.max_wait_ms = cc->fetch_wait_max_ms;
    r->req.min_bytes = cc->fetch_min_bytes;
    r->req.max_bytes = cc->fetch_max_bytes;
    r->req.isolation_level = (int8_t)cc->isolation_level;
    r->req.session_id = r->full ? 0 : s->id;
    r->req.session_epoch = r->full ? 0 : s->epoch;
    r->req.rack_id = proto_str_of("");
    int timeout = cc->socket_timeout_ms + cc->fetch_wait_max_ms;
    kc_err_t err = client_broker_request(c->client, s->node, PROTO_API_FETCH, &r->req, timeout, 0,
                                         on_fetch, r);
    if (err) {
        log_warn("consumer: cannot send a fetch to broker %d: %s", (int)s->node, kc_err_str(err));
        for (int i = 0; i < nwant; i++)
            want[i]->retry_at_ms = client_now_ms() + (uint64_t)cc->retry_backoff_ms;
        req_free(r);
        free(inc);
        free(forget);
        return;
    }
    /* The session from now on holds exactly the wanted partitions. */
    if (s->capents < nwant) {
        cons_part_t **n = realloc(s->ents, (size_t)nwant * sizeof(*n));
        if (n) {
            s->ents = n;
            s->capents = nwant;
        }
    }
    for (int i = 0; i < s->nents; i++)
        if (s->ents[i]->sess_node == s->node &&
            (s->ents[i]->want_node != s->node || s->ents[i]->want_serial != serial))
            s->ents[i]->sess_node = -1;
    s->nents = 0;
    for (int i = 0; i < nwant; i++) {
        cons_part_t *p = want[i];
        if (s->capents > i) s->ents[s->nents++] = p;
        p->sess_node = s->node;
        p->sess_off = p->fetch_pos;
        p->sess_max = p->max_bytes;
        p->fetch_node = s->node;
        p->fetch_version = p->version;
    }
    s->in_flight = 1;
    c->fetches_sent++;
    c->parts_sent += (uint64_t)ninc;
    if (r->full)
        c->full_fetches++;
    else
        c->incremental_fetches++;
    free(inc);
    free(forget);
    return;
oom:
    log_error("consumer: out of memory building a fetch");
    req_free(r);
    free(inc);
    free(forget);
    free(sent);
}

static void arm_timer(kc_consumer_t *c, uint64_t at_ms)
{
    if (!c->ev_timer || !at_ms) return;
    uint64_t now = client_now_ms();
    uint64_t ms = at_ms > now ? at_ms - now : 1;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    event_add(c->ev_timer, &tv);
}

static void fetch_pass(kc_consumer_t *c)
{
    if (c->stopping) return;
    fetch_offsets_resolve(c);
    uint64_t now = client_now_ms();
    uint64_t next_retry = 0;
    c->pass_serial++;
    int n = c->nassigned;
    if (n == 0) return;
    cons_part_t **pick = malloc((size_t)n * sizeof(*pick));
    int32_t *node = malloc((size_t)n * sizeof(*node));
    if (!pick || !node) {
        free(pick);
        free(node);
        return;
    }
    int npick = 0;
    pthread_mutex_lock(&c->lock);
    /* The poll thread kicks us once it drained the queue below the bound. */
    int full = c->queued_bytes >= c->queue_limit;
    for (int i = 0; i < n; i++) {
        cons_part_t *p = c->assigned[i];
        if (p->state == PART_PENDING && p->retry_at_ms > now &&
            (!next_retry || p->retry_at_ms < next_retry))
            next_retry = p->retry_at_ms;
        if (p->state != PART_FETCHING || p->fetch_node >= 0 || p->paused || full) continue;
        /* Over its record or byte bound the poll thread kicks us once it
         * drained. */
        if (p->queued_msgs >= (int64_t)c->conf->queued_min_messages ||
            p->queued_bytes >= cons_part_queue_cap(c))
            continue;
        if (p->retry_at_ms > now) {
            if (!next_retry || p->retry_at_ms < next_retry) next_retry = p->retry_at_ms;
            continue;
        }
        pick[npick++] = p;
    }
    pthread_mutex_unlock(&c->lock);
    for (int i = 0; i < npick; i++) {
        cons_part_t *p = pick[i];
        int32_t leader = -1;
        kc_err_t err = client_topic_leader(c->client, p->topic, p->partition, &leader);
        if (err || leader < 0) {
            fetch_wait_leader(c, p, now);
            if (!next_retry || p->retry_at_ms < next_retry) next_retry = p->retry_at_ms;
            node[i] = -1;
            continue;
        }
        node[i] = leader;
        p->want_node = leader;
        p->want_serial = c->pass_serial;
    }
    /* One request per leader not already fetching. */
    cons_part_t **want = malloc((size_t)n * sizeof(*want));
    for (int i = 0; want && i < npick; i++) {
        if (node[i] < 0) continue;
        int32_t nd = node[i];
        fetch_sess_t *s = sess_get(c, nd);
        int nwant = 0;
        for (int j = i; j < npick; j++)
            if (node[j] == nd) {
                want[nwant++] = pick[j];
                node[j] = -1;
            }
        if (!s || s->in_flight) continue;
        send_fetch(c, s, want, nwant);
    }
    free(want);
    free(pick);
    free(node);
    arm_timer(c, next_retry);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fetch_pass(arg);
}

void fetch_kick(kc_consumer_t *c)
{
    if (c->ev_kick && !c->stopping) event_active(c->ev_kick, 0, 0);
}

/* ---- responses ---- */

static int is_leader_error(int16_t e)
{
    switch (e) {
    case KC_ERR_NOT_LEADER_OR_FOLLOWER:
    case KC_ERR_UNKNOWN_TOPIC_OR_PARTITION:
    case KC_ERR_FENCED_LEADER_EPOCH:
    case KC_ERR_UNKNOWN_LEADER_EPOCH:
    case KC_ERR_LEADER_NOT_AVAILABLE:
    case KC_ERR_KAFKA_STORAGE_ERROR:
    case KC_ERR_REPLICA_NOT_AVAILABLE:
    case KC_ERR_OFFSET_NOT_AVAILABLE:
    case KC_ERR_NOT_COORDINATOR: return 1;
    default: return 0;
    }
}

/* OFFSET_OUT_OF_RANGE: auto.offset.reset decides. */
static void reset_offset(kc_consumer_t *c, cons_part_t *p, const char *why)
{
    int how = c->conf->auto_offset_reset;
    if (how == CLIENT_OFFSET_RESET_ERROR) {
        p->state = PART_ERROR;
        cons_error(c, p, KC_ERR_OFFSET_OUT_OF_RANGE,
                   "%s [%d]: %s at offset %lld and auto.offset.reset=error", p->topic,
                   (int)p->partition, why, (long long)p->fetch_pos);
        return;
    }
    log_info("consumer: %s [%d]: %s at offset %lld: resetting to the %s offset", p->topic,
             (int)p->partition, why, (long long)p->fetch_pos,
             how == CLIENT_OFFSET_RESET_EARLIEST ? "earliest" : "latest");
    bump_version(c, p);
    p->state = PART_PENDING;
    p->want_offset = how == CLIENT_OFFSET_RESET_EARLIEST ? KC_OFFSET_BEGINNING : KC_OFFSET_END;
}

static cons_ev_t *part_response(kc_consumer_t *c, cons_part_t *p,
                                const proto_fetch_response_partition_data_t *pd, cons_buf_t **bufp,
                                const net_resp_t *resp)
{
    int16_t e = pd->error_code;
    uint64_t now = client_now_ms();
    if (e) {
        if (e == KC_ERR_OFFSET_OUT_OF_RANGE) {
            reset_offset(c, p, "offset out of range");
        } else if (is_leader_error(e)) {
            log_debug("consumer: %s [%d]: %s: refreshing metadata", p->topic, (int)p->partition,
                      kc_err_name((kc_err_t)e));
            client_metadata_refresh(c->client, p->topic);
            p->retry_at_ms = now + (uint64_t)c->conf->retry_backoff_ms;
        } else {
            p->retry_at_ms = now + (uint64_t)c->conf->retry_backoff_max_ms;
            cons_error(c, p, (kc_err_t)e, "fetch of %s [%d] failed: %s", p->topic,
                       (int)p->partition, kc_err_str((kc_err_t)e));
        }
        return NULL;
    }
    pthread_mutex_lock(&c->lock);
    p->hi = pd->high_watermark;
    if (pd->log_start_offset >= 0) p->lo = pd->log_start_offset;
    p->lso = pd->last_stable_offset;
    pthread_mutex_unlock(&c->lock);

    cons_ev_t *ev = NULL;
    if (pd->records.len > 0) {
        proto_batch_iter_t bi;
        proto_batch_view_t v;
        proto_batch_iter_init(&bi, pd->records.ptr, (size_t)pd->records.len);
        int64_t next = -1, msgs = 0;
        const uint8_t *end = pd->records.ptr;
        while (proto_batch_iter_next(&bi, &v)) {
            next = proto_batch_view_next_offset(&v);
            end = v.data + v.size;
            msgs += v.h.record_count > 0 ? v.h.record_count : 1;
        }
        if (next < 0 && bi.err) {
            p->retry_at_ms = now + (uint64_t)c->conf->retry_backoff_max_ms;
            cons_error(c, p, (kc_err_t)bi.err, "fetch of %s [%d] at offset %lld: %s", p->topic,
                       (int)p->partition, (long long)p->fetch_pos, bi.errstr);
            return NULL;
        }
        if (next < 0) {
            /* Only part of one batch came: ask for the whole of it next time. */
            if (bi.partial && bi.partial_size > (size_t)p->max_bytes) {
                size_t want = bi.partial_size;
                p->max_bytes = want > (size_t)INT32_MAX ? INT32_MAX : (int32_t)want;
            } else if (p->max_bytes < INT32_MAX / 2) {
                p->max_bytes *= 2;
            }
            return NULL;
        }
        if (!*bufp) {
            void *frame = net_resp_take_frame(resp);
            *bufp = frame ? cons_buf_new_fn(frame, net_frame_free) : NULL;
            if (!*bufp) {
                net_frame_free(frame);
                p->retry_at_ms = now + (uint64_t)c->conf->retry_backoff_ms;
                return NULL;
            }
        }
        ev = calloc(1, sizeof(*ev));
        if (!ev) return NULL;
        ev->type = CONS_EV_DATA;
        ev->part = p;
        ev->version = p->version;
        cons_buf_ref(*bufp);
        ev->buf = *bufp;
        ev->data = pd->records.ptr;
        ev->len = (size_t)(end - pd->records.ptr);
        ev->bytes = ev->len;
        ev->msgs = msgs;
        ev->start_offset = p->fetch_pos;
        if (c->conf->isolation_level == CLIENT_READ_COMMITTED && pd->aborted_transactions.n > 0) {
            int na = pd->aborted_transactions.n;
            ev->aborted = malloc((size_t)na * sizeof(*ev->aborted));
            if (ev->aborted) {
                for (int i = 0; i < na; i++) {
                    ev->aborted[i].producer_id = pd->aborted_transactions.v[i].producer_id;
                    ev->aborted[i].first_offset = pd->aborted_transactions.v[i].first_offset;
                }
                /* Kafka sends them in order; sort anyway (few entries). */
                for (int i = 1; i < na; i++)
                    for (int j = i;
                         j > 0 && ev->aborted[j].first_offset < ev->aborted[j - 1].first_offset;
                         j--) {
                        cons_aborted_t t = ev->aborted[j];
                        ev->aborted[j] = ev->aborted[j - 1];
                        ev->aborted[j - 1] = t;
                    }
                ev->naborted = na;
            }
        }
        if (next > p->fetch_pos) p->fetch_pos = next;
        p->max_bytes = c->conf->max_partition_fetch_bytes;
    }
    return ev;
}

static void eof_check(kc_consumer_t *c, cons_part_t *p, cons_ev_t **tail)
{
    if (!c->conf->enable_partition_eof) return;
    int64_t end = c->conf->isolation_level == CLIENT_READ_COMMITTED && p->lso >= 0 ? p->lso : p->hi;
    if (end < 0 || p->fetch_pos < end || p->eof_at == p->fetch_pos) return;
    cons_ev_t *ev = calloc(1, sizeof(*ev));
    if (!ev) return;
    ev->type = CONS_EV_MSG;
    ev->part = p;
    ev->version = p->version;
    ev->msg = cons_msg_event(KC_ERR__PARTITION_EOF, "reached the end of the partition", p->topic,
                             p->partition, p->fetch_pos);
    if (!ev->msg) {
        free(ev);
        return;
    }
    p->eof_at = p->fetch_pos;
    (*tail)->next = ev;
    *tail = ev;
}

static void release_parts(fetch_req_t *r)
{
    for (int i = 0; i < r->nsent; i++)
        if (r->sent[i]->fetch_node == r->s->node) r->sent[i]->fetch_node = -1;
}

static void on_fetch(const net_resp_t *resp, void *opaque)
{
    fetch_req_t *r = opaque;
    fetch_sess_t *s = r->s;
    kc_consumer_t *c = s->c;
    s->in_flight = 0;
    if (resp->err == KC_ERR__DESTROY || c->stopping) {
        release_parts(r);
        req_free(r);
        return;
    }
    uint64_t now = client_now_ms();
    if (resp->err) {
        log_debug("consumer: fetch from broker %d failed: %s", (int)s->node, resp->errstr);
        release_parts(r);
        sess_reset(s);
        c->session_resets++;
        for (int i = 0; i < r->nsent; i++) {
            r->sent[i]->retry_at_ms = now + (uint64_t)c->conf->retry_backoff_ms;
            client_metadata_refresh(c->client, r->sent[i]->topic);
        }
        req_free(r);
        fetch_kick(c);
        return;
    }
    const proto_fetch_response_t *fr = resp->body;
    if (fr->error_code == KC_ERR_FETCH_SESSION_ID_NOT_FOUND ||
        fr->error_code == KC_ERR_INVALID_FETCH_SESSION_EPOCH) {
        log_debug("consumer: broker %d refused fetch session %d epoch %d (%s): full fetch",
                  (int)s->node, (int)s->id, (int)s->epoch, kc_err_name((kc_err_t)fr->error_code));
        release_parts(r);
        sess_reset(s);
        c->session_resets++;
        req_free(r);
        fetch_kick(c);
        return;
    }
    if (fr->error_code) {
        /* The request as a whole failed: start the session over after a
         * backoff; partitions that carry their own errors are handled below. */
        log_warn("consumer: fetch from broker %d: %s", (int)s->node,
                 kc_err_str((kc_err_t)fr->error_code));
        for (int i = 0; i < r->nsent; i++) {
            r->sent[i]->retry_at_ms = now + (uint64_t)c->conf->retry_backoff_ms;
            if (is_leader_error(fr->error_code))
                client_metadata_refresh(c->client, r->sent[i]->topic);
        }
        sess_reset(s);
        c->session_resets++;
    } else if (r->full) {
        s->id = fr->session_id;
        s->epoch = fr->session_id ? 1 : 0;
    } else {
        s->epoch = s->epoch == INT32_MAX ? 1 : s->epoch + 1;
    }
    if (!s->id) {
        /* No session (an old broker, or a full cache): every fetch is full. */
        for (int i = 0; i < r->nsent; i++)
            if (r->sent[i]->sess_node == s->node) r->sent[i]->sess_node = -1;
    }

    cons_buf_t *buf = NULL;
    cons_ev_t head = {0}, *tail = &head;
    for (int t = 0; t < fr->responses.n; t++) {
        const proto_fetch_response_fetchable_topic_response_t *tr = &fr->responses.v[t];
        for (int i = 0; i < tr->partitions.n; i++) {
            const proto_fetch_response_partition_data_t *pd = &tr->partitions.v[i];
            cons_part_t *p =
                part_lookup(c, (const char *)tr->topic.ptr,
                            tr->topic.len > 0 ? (size_t)tr->topic.len : 0, pd->partition_index);
            /* Only partitions this fetch held, still at the same version. */
            if (!p || p->fetch_node != s->node || p->version != p->fetch_version ||
                p->state != PART_FETCHING)
                continue;
            cons_ev_t *ev = part_response(c, p, pd, &buf, resp);
            if (ev) {
                tail->next = ev;
                tail = ev;
            }
            if (!pd->error_code) eof_check(c, p, &tail);
        }
    }
    cons_buf_unref(buf);
    release_parts(r);
    req_free(r);
    if (head.next) {
        pthread_mutex_lock(&c->lock);
        for (cons_ev_t *ev = head.next; ev;) {
            cons_ev_t *next = ev->next;
            ev->next = NULL;
            if (ev->part) {
                ev->part->queued_bytes += ev->bytes;
                ev->part->queued_msgs += ev->msgs;
                c->queued_bytes += ev->bytes;
            }
            cons_enqueue_locked(c, ev);
            ev = next;
        }
        pthread_mutex_unlock(&c->lock);
    }
    fetch_pass(c);
}

/* ---- lifecycle ---- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fetch_pass(arg);
}

void fetch_wait_leader(kc_consumer_t *c, cons_part_t *p, uint64_t now)
{
    p->retry_at_ms = p->leader_wait_ms = now + (uint64_t)c->conf->retry_backoff_ms;
}

/* New metadata may name the leader a partition waits for: it is tried now,
 * not retry.backoff.ms after it asked. A wait set for another reason (an
 * error's backoff) stays. The fields are the I/O thread's: no lock. */
static void on_metadata(client_t *cl, void *arg)
{
    (void)cl;
    kc_consumer_t *c = arg;
    int any = 0;
    for (int i = 0; i < c->nassigned; i++) {
        cons_part_t *p = c->assigned[i];
        if (p->leader_wait_ms && p->retry_at_ms == p->leader_wait_ms) {
            p->retry_at_ms = 0;
            any = 1;
        }
        p->leader_wait_ms = 0;
    }
    if (any) fetch_kick(c);
}

kc_err_t fetch_init(kc_consumer_t *c)
{
    struct event_base *base = client_base(c->client);
    c->ev_kick = event_new(base, -1, 0, on_kick, c);
    c->ev_timer = event_new(base, -1, 0, on_timer, c);
    if (!c->ev_kick || !c->ev_timer) return KC_ERR__NO_MEMORY;
    client_set_metadata_cb(c->client, on_metadata, c);
    return 0;
}

void fetch_stop(kc_consumer_t *c)
{
    client_set_metadata_cb(c->client, NULL, NULL);
    c->stopping = 1;
    if (c->ev_kick) event_free(c->ev_kick);
    if (c->ev_timer) event_free(c->ev_timer);
    c->ev_kick = c->ev_timer = NULL;
}

void fetch_free(kc_consumer_t *c)
{
    fetch_sess_t *s = c->sess;
    while (s) {
        fetch_sess_t *next = s->next;
        free(s->ents);
        free(s);
        s = next;
    }
    c->sess = NULL;
    size_t it = 0;
    const void *key;
    size_t klen;
    void *val;
    while (util_hmap_next(&c->parts, &it, &key, &klen, &val)) {
        cons_part_t *p = val;
        free(p->topic);
        free(p);
    }
    util_hmap_destroy(&c->parts);
    free(c->assigned);
    c->assigned = NULL;
    c->nassigned = 0;
}
