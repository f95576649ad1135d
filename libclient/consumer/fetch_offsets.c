/* Where a partition starts: its committed offset (through the group), else
 * auto.offset.reset, and ListOffsets for "earliest"/"latest". I/O thread.
 *
 * PENDING partitions are resolved in batches at each fetcher pass: one
 * OffsetFetch for every partition wanting its committed offset, one
 * ListOffsets per leader for the others. A partition seeked or unassigned
 * meanwhile has a new version, and the answer for it is ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "consumer/consumer_int.h"
#include "proto_msgs.h"
#include "util/log.h"

typedef struct resolve_ent {
    cons_part_t *p;
    uint64_t version;
    int64_t ts;
} resolve_ent_t;

typedef struct resolve_req {
    kc_consumer_t *c;
    resolve_ent_t *ents;
    int n;
    proto_list_offsets_request_t req;
    proto_list_offsets_request_list_offsets_topic_t *topics;
    proto_list_offsets_request_list_offsets_partition_t *parts;
} resolve_req_t;

static void resolve_req_free(resolve_req_t *r)
{
    if (!r) return;
    free(r->ents);
    free(r->topics);
    free(r->parts);
    free(r);
}

static int still(const resolve_ent_t *e)
{
    return e->p->version == e->version && e->p->state == PART_RESOLVING;
}

static void set_start(kc_consumer_t *c, cons_part_t *p, int64_t offset)
{
    pthread_mutex_lock(&c->lock);
    p->app_pos = offset;
    pthread_mutex_unlock(&c->lock);
    p->fetch_pos = offset;
    p->state = PART_FETCHING;
    p->retry_at_ms = 0;
}

static void retry_later(kc_consumer_t *c, cons_part_t *p)
{
    p->state = PART_PENDING;
    p->retry_at_ms = client_now_ms() + (uint64_t)c->conf->retry_backoff_ms;
}

/* The logical offset auto.offset.reset means, or 0 for "error". */
static int64_t reset_target(const kc_consumer_t *c)
{
    switch (c->conf->auto_offset_reset) {
    case CLIENT_OFFSET_RESET_EARLIEST: return KC_OFFSET_BEGINNING;
    case CLIENT_OFFSET_RESET_LATEST: return KC_OFFSET_END;
    default: return 0;
    }
}

static void no_offset(kc_consumer_t *c, cons_part_t *p)
{
    int64_t t = reset_target(c);
    if (t == 0) {
        p->state = PART_ERROR;
        cons_error(c, p, KC_ERR__NOENT, "%s [%d]: no committed offset and auto.offset.reset=error",
                   p->topic, (int)p->partition);
        return;
    }
    p->state = PART_PENDING;
    p->want_offset = t;
}

static void on_list(const net_resp_t *resp, void *opaque)
{
    resolve_req_t *r = opaque;
    kc_consumer_t *c = r->c;
    if (resp->err == KC_ERR__DESTROY || c->stopping) {
        resolve_req_free(r);
        return;
    }
    const proto_list_offsets_response_t *lr = resp->err ? NULL : resp->body;
    for (int i = 0; i < r->n; i++) {
        resolve_ent_t *e = &r->ents[i];
        if (!still(e)) continue;
        const proto_list_offsets_response_list_offsets_partition_response_t *pr = NULL;
        for (int t = 0; lr && t < lr->topics.n && !pr; t++) {
            if (!proto_str_eq(lr->topics.v[t].name, e->p->topic)) continue;
            for (int k = 0; k < lr->topics.v[t].partitions.n; k++)
                if (lr->topics.v[t].partitions.v[k].partition_index == e->p->partition)
                    pr = &lr->topics.v[t].partitions.v[k];
        }
        if (!pr) {
            client_metadata_refresh(c->client, e->p->topic);
            retry_later(c, e->p);
            continue;
        }
        if (pr->error_code) {
            kc_err_t err = (kc_err_t)pr->error_code;
            if (kc_err_is_retriable(err)) {
                client_metadata_refresh(c->client, e->p->topic);
            } else {
                cons_error(c, e->p, err, "cannot list the %s offset of %s [%d]: %s",
                           e->ts == -2 ? "earliest" : "latest", e->p->topic, (int)e->p->partition,
                           kc_err_str(err));
            }
            retry_later(c, e->p);
            continue;
        }
        set_start(c, e->p, pr->offset);
    }
    resolve_req_free(r);
    fetch_kick(c);
}

static int by_topic(const void *a, const void *b)
{
    const resolve_ent_t *x = a, *y = b;
    return strcmp(x->p->topic, y->p->topic);
}

/* One ListOffsets to `leader` for ents[0..n). */
static void send_list(kc_consumer_t *c, int32_t leader, resolve_ent_t *ents, int n)
{
    resolve_req_t *r = calloc(1, sizeof(*r));
    if (r) {
        r->ents = malloc((size_t)n * sizeof(*r->ents));
        r->topics = calloc((size_t)n, sizeof(*r->topics));
        r->parts = calloc((size_t)n, sizeof(*r->parts));
    }
    if (!r || !r->ents || !r->topics || !r->parts) {
        resolve_req_free(r);
        for (int i = 0; i < n; i++)
            retry_later(c, ents[i].p);
        return;
    }
    r->c = c;
    r->n = n;
    memcpy(r->ents, ents, (size_t)n * sizeof(*ents));
    proto_msg_init(&proto_list_offsets_request_desc, &r->req);
    r->req.replica_id = -1;
    r->req.isolation_level = (int8_t)c->conf->isolation_level;
    r->req.timeout_ms = c->conf->socket_timeout_ms;
    qsort(r->ents, (size_t)n, sizeof(*r->ents), by_topic);
    int t = -1;
    for (int i = 0; i < n; i++) {
        const resolve_ent_t *e = &r->ents[i];
        r->parts[i].partition_index = e->p->partition;
        r->parts[i].current_leader_epoch = -1;
        r->parts[i].timestamp = e->ts;
        if (i == 0 || strcmp(e->p->topic, r->ents[i - 1].p->topic) != 0) {
            t++;
            r->topics[t].name = proto_str_of(e->p->topic);
            r->topics[t].partitions.v = &r->parts[i];
        }
        r->topics[t].partitions.n++;
    }
    r->req.topics.v = r->topics;
    r->req.topics.n = t + 1;
    for (int i = 0; i < n; i++)
        ents[i].p->state = PART_RESOLVING;
    kc_err_t err = client_broker_request(c->client, leader, PROTO_API_LIST_OFFSETS, &r->req,
                                         c->conf->socket_timeout_ms, 0, on_list, r);
    if (err) {
        for (int i = 0; i < n; i++)
            retry_later(c, ents[i].p);
        resolve_req_free(r);
    }
}

typedef struct committed_req {
    kc_consumer_t *c;
    resolve_ent_t *ents;
    int n;
} committed_req_t;

static void on_committed(kc_err_t err, const char *errstr, const kc_topic_partition_list_t *parts,
                         void *opaque)
{
    committed_req_t *r = opaque;
    kc_consumer_t *c = r->c;
    if (err != KC_ERR__DESTROY && !c->stopping) {
        for (int i = 0; i < r->n; i++) {
            resolve_ent_t *e = &r->ents[i];
            if (!still(e)) continue;
            const kc_topic_partition_t *tp =
                parts ? kc_topic_partition_list_find(parts, e->p->topic, e->p->partition) : NULL;
            if (err || !tp || tp->err) {
                kc_err_t pe = err ? err : tp ? (kc_err_t)tp->err : KC_ERR__NOENT;
                cons_error(c, e->p, pe, "cannot fetch the committed offset of %s [%d]: %s",
                           e->p->topic, (int)e->p->partition,
                           err && errstr ? errstr : kc_err_str(pe));
                retry_later(c, e->p);
                e->p->want_offset = KC_OFFSET_STORED;
                continue;
            }
            if (tp->offset >= 0) {
                set_start(c, e->p, tp->offset);
            } else {
                no_offset(c, e->p);
            }
        }
        fetch_kick(c);
    }
    free(r->ents);
    free(r);
}

void fetch_offsets_resolve(kc_consumer_t *c)
{
    uint64_t now = client_now_ms();
    resolve_ent_t *list = NULL, *stored = NULL;
    int32_t *leaders = NULL;
    int nlist = 0, nstored = 0;
    for (int i = 0; i < c->nassigned; i++) {
        cons_part_t *p = c->assigned[i];
        if (p->state != PART_PENDING || p->retry_at_ms > now) continue;
        if (p->want_offset >= 0) {
            set_start(c, p, p->want_offset);
            continue;
        }
        if (p->want_offset == KC_OFFSET_STORED || p->want_offset == KC_OFFSET_INVALID) {
            if (!c->has_group) {
                no_offset(c, p);
                if (p->state != PART_PENDING) continue;
            } else {
                if (!stored) stored = malloc((size_t)c->nassigned * sizeof(*stored));
                if (!stored) continue;
                stored[nstored++] = (resolve_ent_t){p, p->version, 0};
                continue;
            }
        }
        int64_t ts = p->want_offset == KC_OFFSET_BEGINNING ? -2 : -1;
        if (!list) {
            list = malloc((size_t)c->nassigned * sizeof(*list));
            leaders = malloc((size_t)c->nassigned * sizeof(*leaders));
        }
        if (!list || !leaders) continue;
        int32_t leader = -1;
        if (client_topic_leader(c->client, p->topic, p->partition, &leader) || leader < 0) {
            fetch_wait_leader(c, p, now);
            continue;
        }
        leaders[nlist] = leader;
        list[nlist++] = (resolve_ent_t){p, p->version, ts};
    }
    if (nstored) {
        kc_topic_partition_list_t *tl = kc_topic_partition_list_new(nstored);
        committed_req_t *r = calloc(1, sizeof(*r));
        for (int i = 0; tl && i < nstored; i++)
            if (!kc_topic_partition_list_add(tl, stored[i].p->topic, stored[i].p->partition)) {
                kc_topic_partition_list_destroy(tl);
                tl = NULL;
            }
        if (tl && r) {
            r->c = c;
            r->ents = stored;
            r->n = nstored;
            stored = NULL;
            for (int i = 0; i < r->n; i++)
                r->ents[i].p->state = PART_RESOLVING;
            cons_group_fetch_committed(c, tl, c->conf->socket_timeout_ms, on_committed, r);
        } else {
            free(r);
        }
        kc_topic_partition_list_destroy(tl);
    }
    free(stored);
    /* One ListOffsets per leader. */
    resolve_ent_t *batch = nlist ? malloc((size_t)nlist * sizeof(*batch)) : NULL;
    for (int i = 0; batch && i < nlist; i++) {
        if (leaders[i] < 0) continue;
        int32_t l = leaders[i];
        int n = 0;
        for (int j = i; j < nlist; j++)
            if (leaders[j] == l) {
                batch[n++] = list[j];
                leaders[j] = -1;
            }
        send_list(c, l, batch, n);
    }
    free(batch);
    free(list);
    free(leaders);
}

/* ---- one partition, one timestamp: kc_query_watermark_offsets ---- */

typedef struct one_req {
    kc_consumer_t *c;
    int32_t partition;
    char *topic;
    fetch_list_cb cb;
    void *opaque;
    proto_list_offsets_request_t req;
    proto_list_offsets_request_list_offsets_topic_t topic_ent;
    proto_list_offsets_request_list_offsets_partition_t part_ent;
} one_req_t;

static void on_one(const net_resp_t *resp, void *opaque)
{
    one_req_t *r = opaque;
    kc_err_t err = resp->err;
    char es[256] = "";
    int64_t off = -1;
    if (err) {
        snprintf(es, sizeof(es), "%s", resp->errstr ? resp->errstr : kc_err_str(err));
    } else {
        const proto_list_offsets_response_t *lr = resp->body;
        err = KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        for (int t = 0; t < lr->topics.n; t++)
            for (int k = 0; k < lr->topics.v[t].partitions.n; k++) {
                const proto_list_offsets_response_list_offsets_partition_response_t *pr =
                    &lr->topics.v[t].partitions.v[k];
                if (pr->partition_index != r->partition) continue;
                err = (kc_err_t)pr->error_code;
                off = pr->offset;
            }
        if (err) snprintf(es, sizeof(es), "%s", kc_err_str(err));
    }
    r->cb(err, es, off, r->opaque);
    free(r->topic);
    free(r);
}

void fetch_list_offset(kc_consumer_t *c, const char *topic, int32_t partition, int64_t ts,
                       int timeout_ms, fetch_list_cb cb, void *opaque)
{
    int32_t leader = -1;
    kc_err_t err = client_topic_leader(c->client, topic, partition, &leader);
    if (!err && leader < 0) err = KC_ERR_LEADER_NOT_AVAILABLE;
    if (err) {
        cb(err, kc_err_str(err), -1, opaque);
        return;
    }
    one_req_t *r = calloc(1, sizeof(*r));
    if (!r || !(r->topic = strdup(topic))) {
        free(r);
        cb(KC_ERR__NO_MEMORY, "out of memory", -1, opaque);
        return;
    }
    r->c = c;
    r->partition = partition;
    r->cb = cb;
    r->opaque = opaque;
    proto_msg_init(&proto_list_offsets_request_desc, &r->req);
    r->req.replica_id = -1;
    r->req.isolation_level = (int8_t)c->conf->isolation_level;
    r->req.timeout_ms = timeout_ms;
    r->part_ent.partition_index = partition;
    r->part_ent.current_leader_epoch = -1;
    r->part_ent.timestamp = ts;
    r->topic_ent.name = proto_str_of(r->topic);
    r->topic_ent.partitions.v = &r->part_ent;
    r->topic_ent.partitions.n = 1;
    r->req.topics.v = &r->topic_ent;
    r->req.topics.n = 1;
    err = client_broker_request(c->client, leader, PROTO_API_LIST_OFFSETS, &r->req, timeout_ms, 0,
                                on_one, r);
    if (err) {
        free(r->topic);
        free(r);
        cb(err, kc_err_str(err), -1, opaque);
    }
}
