/* OffsetCommit and OffsetFetch at the group coordinator. Each call is an
 * operation that waits for the coordinator, retries what a coordinator
 * move or load explains, and ends exactly once: with per-partition results,
 * a time-out, or KC_ERR__DESTROY from cgrp_destroy(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client_int.h"
#include "consumer/cgrp_int.h"
#include "util/log.h"

struct cgrp_offop {
    TAILQ_ENTRY(cgrp_offop) link;
    cgrp_t *g;
    int commit;
    kc_topic_partition_list_t *parts;
    cgrp_offsets_cb cb;
    void *opaque;
    uint64_t deadline_ms;
    struct event *timer;
    int inflight;
    int attempt;
    kc_err_t last_err;
    char why[256];
};

static void op_try(cgrp_offop_t *op);

static void op_finish(cgrp_offop_t *op, kc_err_t err, const char *why)
{
    cgrp_t *g = op->g;
    TAILQ_REMOVE(&g->offops, op, link);
    if (op->timer) event_free(op->timer);
    op->cb(err, err ? why : NULL, op->parts, op->opaque);
    kc_topic_partition_list_destroy(op->parts);
    free(op);
}

void cgrp_offops_destroy(cgrp_t *g)
{
    while (!TAILQ_EMPTY(&g->offops))
        op_finish(TAILQ_FIRST(&g->offops), KC_ERR__DESTROY, "the group member is being destroyed");
}

void cgrp_offops_kick(cgrp_t *g)
{
    cgrp_offop_t *op, *next;
    for (op = TAILQ_FIRST(&g->offops); op; op = next) {
        next = TAILQ_NEXT(op, link);
        if (!op->inflight) op_try(op);
    }
}

static void on_op_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    op_try(arg);
}

static int ms_left(const cgrp_offop_t *op)
{
    uint64_t now = cgrp_now_ms();
    return now >= op->deadline_ms ? 0 : (int)(op->deadline_ms - now);
}

/* Tries again after a backoff (never past the deadline, where op_try ends
 * it). */
static void op_retry(cgrp_offop_t *op, kc_err_t err, const char *why)
{
    op->last_err = err;
    snprintf(op->why, sizeof(op->why), "%s", why);
    int wait = cgrp_backoff_ms(op->g, op->attempt++);
    int left = ms_left(op);
    cgrp_timer_add(op->timer, wait < left ? wait : left);
}

static int retriable(kc_err_t err)
{
    return cgrp_coord_err(err) || err == KC_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
           err == KC_ERR_UNSTABLE_OFFSET_COMMIT;
}

/* The first error of the parts, 0 if none. */
static kc_err_t parts_err(const kc_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].err) return (kc_err_t)parts->elems[i].err;
    return 0;
}

/* A coordinator-level error: forget the coordinator when it says so, and
 * retry. */
static void op_coord_err(cgrp_offop_t *op, kc_err_t err, const char *what)
{
    char why[256];
    snprintf(why, sizeof(why), "%s: %s", what, kc_err_str(err));
    if (cgrp_coord_err(err)) cgrp_coord_dead(op->g, why);
    op_retry(op, err, why);
}

static void on_commit(cgrp_t *g, cgrp_req_t *r, const net_resp_t *resp)
{
    (void)g;
    cgrp_offop_t *op = r->ctx;
    op->inflight = 0;
    if (resp->err == KC_ERR__DESTROY) {
        op_finish(op, KC_ERR__DESTROY, "the client is being destroyed");
        return;
    }
    if (resp->err) {
        op_coord_err(op, resp->err, "OffsetCommit");
        return;
    }
    const proto_offset_commit_response_t *b = resp->body;
    for (int32_t i = 0; i < b->topics.n; i++) {
        const proto_offset_commit_response_topic_t *t = &b->topics.v[i];
        for (int32_t j = 0; j < t->partitions.n; j++) {
            kc_err_t perr = (kc_err_t)t->partitions.v[j].error_code;
            if (retriable(perr)) {
                op_coord_err(op, perr, "OffsetCommit");
                return;
            }
            for (int k = 0; k < op->parts->cnt; k++) {
                kc_topic_partition_t *e = &op->parts->elems[k];
                if (e->partition == t->partitions.v[j].partition_index &&
                    proto_str_eq(t->name, e->topic))
                    e->err = perr;
            }
        }
    }
    kc_err_t err = parts_err(op->parts);
    op_finish(op, err, err ? "a partition's commit failed (see the list)" : NULL);
}

static void fetch_part(kc_topic_partition_list_t *parts, proto_str_t topic, int32_t partition,
                       int64_t offset, int32_t epoch, proto_str_t md, int16_t perr)
{
    for (int k = 0; k < parts->cnt; k++) {
        kc_topic_partition_t *e = &parts->elems[k];
        if (e->partition != partition || !proto_str_eq(topic, e->topic)) continue;
        e->err = perr;
        e->offset = perr || offset < 0 ? KC_OFFSET_INVALID : offset;
        e->leader_epoch = epoch;
        char *m = md.len >= 0 ? cgrp_strdup_slice(md) : NULL;
        kc_topic_partition_set_metadata(parts, e, m);
        free(m);
    }
}

static void on_fetch(cgrp_t *g, cgrp_req_t *r, const net_resp_t *resp)
{
    (void)g;
    cgrp_offop_t *op = r->ctx;
    op->inflight = 0;
    if (resp->err == KC_ERR__DESTROY) {
        op_finish(op, KC_ERR__DESTROY, "the client is being destroyed");
        return;
    }
    if (resp->err) {
        op_coord_err(op, resp->err, "OffsetFetch");
        return;
    }
    const proto_offset_fetch_response_t *b = resp->body;
    kc_err_t err = 0;
    if (resp->version >= 8)
        err = b->groups.n > 0 ? (kc_err_t)b->groups.v[0].error_code : KC_ERR__BAD_MSG;
    else
        err = (kc_err_t)b->error_code;
    if (retriable(err)) {
        op_coord_err(op, err, "OffsetFetch");
        return;
    }
    if (err) {
        char why[128];
        snprintf(why, sizeof(why), "OffsetFetch: %s", kc_err_str(err));
        op_finish(op, err, why);
        return;
    }
    /* A partition still being committed transactionally: ask again. */
    if (resp->version >= 8) {
        const proto_offset_fetch_response_group_t *gr = &b->groups.v[0];
        for (int32_t i = 0; i < gr->topics.n; i++)
            for (int32_t j = 0; j < gr->topics.v[i].partitions.n; j++) {
                const proto_offset_fetch_response_partitions_t *p =
                    &gr->topics.v[i].partitions.v[j];
                if (retriable((kc_err_t)p->error_code)) {
                    op_coord_err(op, (kc_err_t)p->error_code, "OffsetFetch");
                    return;
                }
                fetch_part(op->parts, gr->topics.v[i].name, p->partition_index, p->committed_offset,
                           p->committed_leader_epoch, p->metadata, p->error_code);
            }
    } else {
        for (int32_t i = 0; i < b->topics.n; i++)
            for (int32_t j = 0; j < b->topics.v[i].partitions.n; j++) {
                const proto_offset_fetch_response_partition_t *p = &b->topics.v[i].partitions.v[j];
                if (retriable((kc_err_t)p->error_code)) {
                    op_coord_err(op, (kc_err_t)p->error_code, "OffsetFetch");
                    return;
                }
                fetch_part(op->parts, b->topics.v[i].name, p->partition_index, p->committed_offset,
                           p->committed_leader_epoch, p->metadata, p->error_code);
            }
    }
    err = parts_err(op->parts);
    op_finish(op, err, err ? "a partition's fetch failed (see the list)" : NULL);
}

/* The distinct topics of parts, in first-seen order; *n of them. */
static const char **distinct_topics(cgrp_req_t *r, const kc_topic_partition_list_t *parts, int *n)
{
    const char **v = cgrp_req_alloc(r, sizeof(*v) * (size_t)(parts->cnt + 1));
    if (!v) return NULL;
    *n = 0;
    for (int i = 0; i < parts->cnt; i++) {
        int seen = 0;
        for (int j = 0; j < *n && !seen; j++)
            seen = !strcmp(v[j], parts->elems[i].topic);
        if (!seen) v[(*n)++] = parts->elems[i].topic;
    }
    return v;
}

static cgrp_req_t *commit_build(cgrp_t *g, cgrp_offop_t *op)
{
    cgrp_req_t *r = cgrp_req_new(g, on_commit, op);
    int nt = 0;
    const char **names = r ? distinct_topics(r, op->parts, &nt) : NULL;
    proto_offset_commit_request_topic_t *ts =
        names ? cgrp_req_alloc(r, sizeof(*ts) * (size_t)(nt + 1)) : NULL;
    char *gid = ts ? cgrp_req_alloc(r, strlen(g->group_id)) : NULL;
    /* The last generation, also while rejoining: the coordinator takes a
     * commit of the current generation until the rebalance completes. */
    int member = g->generation >= 0 && g->member_id[0];
    char *mid = gid ? cgrp_req_alloc(r, member ? strlen(g->member_id) : 0) : NULL;
    if (!mid) goto fail;
    proto_offset_commit_request_t *q = &r->body.commit;
    proto_msg_init(&proto_offset_commit_request_desc, q);
    q->group_id = proto_str_of(strcpy(gid, g->group_id));
    q->generation_id_or_member_epoch = member ? g->generation : -1;
    q->member_id = proto_str_of(member ? strcpy(mid, g->member_id) : "");
    if (member && g->instance_id) {
        char *iid = cgrp_req_alloc(r, strlen(g->instance_id));
        if (!iid) goto fail;
        q->group_instance_id = proto_str_of(strcpy(iid, g->instance_id));
    }
    for (int t = 0; t < nt; t++) {
        int np = 0;
        for (int i = 0; i < op->parts->cnt; i++)
            np += !strcmp(op->parts->elems[i].topic, names[t]);
        proto_offset_commit_request_partition_t *ps = cgrp_req_alloc(r, sizeof(*ps) * (size_t)np);
        if (!ps) goto fail;
        proto_struct_init(&proto_offset_commit_request_topic_sdesc, &ts[t]);
        ts[t].name = proto_str_of(names[t]);
        ts[t].partitions.v = ps;
        for (int i = 0; i < op->parts->cnt; i++) {
            const kc_topic_partition_t *e = &op->parts->elems[i];
            if (strcmp(e->topic, names[t])) continue;
            proto_offset_commit_request_partition_t *p = &ps[ts[t].partitions.n++];
            proto_struct_init(&proto_offset_commit_request_partition_sdesc, p);
            p->partition_index = e->partition;
            p->committed_offset = e->offset;
            p->committed_leader_epoch = e->leader_epoch;
            p->committed_metadata = proto_str_of(e->metadata ? e->metadata : "");
        }
    }
    q->topics.v = ts;
    q->topics.n = nt;
    return r;
fail:
    if (r) cgrp_req_free(r);
    return NULL;
}

static cgrp_req_t *fetch_build(cgrp_t *g, cgrp_offop_t *op)
{
    cgrp_req_t *r = cgrp_req_new(g, on_fetch, op);
    int nt = 0;
    const char **names = r ? distinct_topics(r, op->parts, &nt) : NULL;
    proto_offset_fetch_request_topic_t *ts =
        names ? cgrp_req_alloc(r, sizeof(*ts) * (size_t)(nt + 1)) : NULL;
    proto_offset_fetch_request_topics_t *ts8 =
        ts ? cgrp_req_alloc(r, sizeof(*ts8) * (size_t)(nt + 1)) : NULL;
    proto_offset_fetch_request_group_t *gr = ts8 ? cgrp_req_alloc(r, sizeof(*gr)) : NULL;
    char *gid = gr ? cgrp_req_alloc(r, strlen(g->group_id)) : NULL;
    if (!gid) goto fail;
    for (int t = 0; t < nt; t++) {
        int np = 0;
        for (int i = 0; i < op->parts->cnt; i++)
            np += !strcmp(op->parts->elems[i].topic, names[t]);
        int32_t *ids = cgrp_req_alloc(r, sizeof(*ids) * (size_t)np);
        if (!ids) goto fail;
        int k = 0;
        for (int i = 0; i < op->parts->cnt; i++)
            if (!strcmp(op->parts->elems[i].topic, names[t]))
                ids[k++] = op->parts->elems[i].partition;
        proto_struct_init(&proto_offset_fetch_request_topic_sdesc, &ts[t]);
        ts[t].name = proto_str_of(names[t]);
        ts[t].partition_indexes.v = ids;
        ts[t].partition_indexes.n = k;
        proto_struct_init(&proto_offset_fetch_request_topics_sdesc, &ts8[t]);
        ts8[t].name = ts[t].name;
        ts8[t].partition_indexes.v = ids;
        ts8[t].partition_indexes.n = k;
    }
    proto_offset_fetch_request_t *q = &r->body.fetch;
    proto_msg_init(&proto_offset_fetch_request_desc, q);
    /* Both forms; net_body_for_version keeps the one the version has. */
    q->group_id = proto_str_of(strcpy(gid, g->group_id));
    q->topics.v = ts;
    q->topics.n = nt;
    proto_struct_init(&proto_offset_fetch_request_group_sdesc, gr);
    gr->group_id = q->group_id;
    gr->topics.v = ts8;
    gr->topics.n = nt;
    q->groups.v = gr;
    q->groups.n = 1;
    /* Offsets of open transactions come back as UNSTABLE_OFFSET_COMMIT,
     * retried, rather than as an older offset (KIP-447). */
    q->require_stable = true;
    return r;
fail:
    if (r) cgrp_req_free(r);
    return NULL;
}

static void op_try(cgrp_offop_t *op)
{
    cgrp_t *g = op->g;
    if (op->inflight) return;
    int left = ms_left(op);
    if (left <= 0) {
        char why[320];
        snprintf(why, sizeof(why), "%s did not complete within the time-out%s%s",
                 op->commit ? "OffsetCommit" : "OffsetFetch", op->why[0] ? ": " : "", op->why);
        op_finish(op, KC_ERR__TIMED_OUT, why);
        return;
    }
    if (g->coord_id < 0) {
        /* cgrp_offops_kick() runs us when it is known; the timer ends the
         * wait at the deadline. */
        cgrp_coord_find(g);
        cgrp_timer_add(op->timer, left);
        return;
    }
    cgrp_req_t *r = op->commit ? commit_build(g, op) : fetch_build(g, op);
    if (!r) {
        op_retry(op, KC_ERR__NO_MEMORY, "out of memory");
        return;
    }
    int tmo = g->conf->socket_timeout_ms;
    if (tmo <= 0 || tmo > left) tmo = left;
    op->inflight = 1;
    kc_err_t err =
        cgrp_req_send_coord(r, op->commit ? PROTO_API_OFFSET_COMMIT : PROTO_API_OFFSET_FETCH, tmo);
    if (err) {
        op->inflight = 0;
        op_retry(op, err, kc_err_str(err));
    }
}

static void op_start(cgrp_t *g, int commit, const kc_topic_partition_list_t *parts, int timeout_ms,
                     cgrp_offsets_cb cb, void *opaque)
{
    cgrp_offop_t *op = calloc(1, sizeof(*op));
    kc_topic_partition_list_t *copy = parts ? kc_topic_partition_list_copy(parts) : NULL;
    struct event *timer = op ? evtimer_new(client_base(g->c), on_op_timer, op) : NULL;
    if (!op || !copy || !timer) {
        free(op);
        if (timer) event_free(timer);
        cb(KC_ERR__NO_MEMORY, "out of memory", parts, opaque);
        kc_topic_partition_list_destroy(copy);
        return;
    }
    op->g = g;
    op->commit = commit;
    op->parts = copy;
    op->cb = cb;
    op->opaque = opaque;
    op->timer = timer;
    op->deadline_ms = cgrp_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (int i = 0; i < copy->cnt; i++)
        copy->elems[i].err = 0;
    TAILQ_INSERT_TAIL(&g->offops, op, link);
    if (copy->cnt == 0) {
        op_finish(op, 0, NULL);
        return;
    }
    if (!g->group_id[0]) {
        op_finish(op, KC_ERR__INVALID_ARG, "no group.id: there is nowhere to keep offsets");
        return;
    }
    op_try(op);
}

void cgrp_commit(cgrp_t *g, const kc_topic_partition_list_t *parts, int timeout_ms,
                 cgrp_offsets_cb cb, void *opaque)
{
    op_start(g, 1, parts, timeout_ms, cb, opaque);
}

void cgrp_fetch_committed(cgrp_t *g, const kc_topic_partition_list_t *parts, int timeout_ms,
                          cgrp_offsets_cb cb, void *opaque)
{
    op_start(g, 0, parts, timeout_ms, cb, opaque);
}
