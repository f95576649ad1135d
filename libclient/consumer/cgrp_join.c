/* Joining: the subscription's metadata, JoinGroup (with KIP-394's
 * MEMBER_ID_REQUIRED round), the leader's assignment (metadata for every
 * member's topics, then the assignor the coordinator chose), SyncGroup,
 * and applying what came back (eager: all of it; cooperative: what was
 * added and what moved away). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client_int.h"
#include "consumer/cgrp_int.h"
#include "util/log.h"

/* The leader's view of a generation, kept from JoinGroup to SyncGroup. */
struct cgrp_lead {
    assignor_member_t *members;
    int n;
    char **topics; /* every member's topics, deduplicated */
    int ntopics;
};

void cgrp_lead_free(cgrp_lead_t *l)
{
    if (!l) return;
    for (int i = 0; i < l->n; i++) {
        free((char *)l->members[i].member_id);
        free((char *)l->members[i].group_instance_id);
        assignor_member_clear(&l->members[i]);
    }
    free(l->members);
    for (int i = 0; i < l->ntopics; i++)
        free(l->topics[i]);
    free(l->topics);
    free(l);
}

static void on_join_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cgrp_serve(arg);
}

/* Back to INIT with a JoinGroup wanted, after a pause that grows with
 * repeated failures (0: at once). */
static void join_retry(cgrp_t *g, int backoff)
{
    g->state = CGRP_ST_INIT;
    g->want_join = 1;
    if (backoff) {
        if (!g->join_timer) g->join_timer = evtimer_new(client_base(g->c), on_join_timer, g);
        if (g->join_timer) cgrp_timer_add(g->join_timer, cgrp_backoff_ms(g, g->join_attempt++));
    }
    cgrp_serve(g);
}

static int join_timeout_ms(const cgrp_t *g)
{
    /* The coordinator holds a JoinGroup up to the rebalance timeout; the
     * Java client allows 5 s more for the answer to travel. */
    return g->conf->max_poll_interval_ms + 5000;
}

/* ---- applying an assignment ---- */

static kc_topic_partition_list_t *list_minus(const kc_topic_partition_list_t *a,
                                             const kc_topic_partition_list_t *b)
{
    kc_topic_partition_list_t *out = kc_topic_partition_list_new(a->cnt);
    for (int i = 0; out && i < a->cnt; i++) {
        if (kc_topic_partition_list_find(b, a->elems[i].topic, a->elems[i].partition)) continue;
        kc_topic_partition_t *e =
            kc_topic_partition_list_add(out, a->elems[i].topic, a->elems[i].partition);
        if (!e) {
            kc_topic_partition_list_destroy(out);
            return NULL;
        }
        e->offset = KC_OFFSET_STORED;
    }
    return out;
}

static void assignment_apply(cgrp_t *g, kc_topic_partition_list_t *assigned)
{
    for (int i = 0; i < assigned->cnt; i++)
        assigned->elems[i].offset = KC_OFFSET_STORED;
    g->state = CGRP_ST_STEADY;
    g->join_attempt = 0;
    log_info("group %s: generation %d, member %s, %d partition(s) assigned%s", g->group_id,
             (int)g->generation, g->member_id, assigned->cnt, g->is_leader ? " (leader)" : "");
    if (g->protocol == ASSIGNOR_EAGER) {
        kc_topic_partition_list_destroy(g->owned);
        g->owned = assigned;
        kc_topic_partition_list_t *copy = kc_topic_partition_list_copy(assigned);
        if (copy && g->ops.assign) g->ops.assign(g->opaque, copy);
        kc_topic_partition_list_destroy(copy);
        cgrp_serve(g);
        return;
    }
    /* Cooperative (KIP-429): partitions that stay are not touched; those
     * moving away are revoked, and then the member must rejoin so the
     * leader can hand them to their new owner. */
    kc_topic_partition_list_t *added = list_minus(assigned, g->owned);
    kc_topic_partition_list_t *revoked = list_minus(g->owned, assigned);
    kc_topic_partition_list_destroy(g->owned);
    g->owned = assigned;
    if (revoked && revoked->cnt > 0) {
        g->want_join = 1;
        cgrp_revoke(g, revoked, 0);
        revoked = NULL;
    }
    kc_topic_partition_list_destroy(revoked);
    if (added && g->ops.assign) g->ops.assign(g->opaque, added);
    kc_topic_partition_list_destroy(added);
    cgrp_serve(g);
}

/* ---- SyncGroup ---- */

static void on_sync(cgrp_t *g, cgrp_req_t *r, const net_resp_t *resp)
{
    if (r->epoch != g->epoch || resp->err == KC_ERR__DESTROY) return;
    const proto_sync_group_response_t *b = resp->body;
    kc_err_t err = resp->err ? resp->err : (kc_err_t)b->error_code;
    if (err) {
        log_info("group %s: SyncGroup: %s", g->group_id, kc_err_str(err));
        g->epoch++;
        switch ((int)err) {
        case KC_ERR_REBALANCE_IN_PROGRESS: join_retry(g, 0); return;
        case KC_ERR_UNKNOWN_MEMBER_ID: cgrp_lost(g, err, 1); return;
        case KC_ERR_ILLEGAL_GENERATION: cgrp_lost(g, err, 0); return;
        case KC_ERR_FENCED_INSTANCE_ID: cgrp_lost(g, err, 0); return;
        default:
            if (cgrp_coord_err(err)) {
                g->state = CGRP_ST_INIT;
                g->want_join = 1;
                cgrp_coord_dead(g, kc_err_str(err));
                return;
            }
            if (err != KC_ERR_COORDINATOR_LOAD_IN_PROGRESS)
                cgrp_error(g, err, "SyncGroup failed: %s", kc_err_str(err));
            join_retry(g, 1);
            return;
        }
    }
    kc_topic_partition_list_t *assigned = NULL;
    char errstr[256];
    err =
        assignor_assignment_decode(b->assignment.ptr, b->assignment.len > 0 ? b->assignment.len : 0,
                                   &assigned, errstr, sizeof(errstr));
    if (err) {
        cgrp_error(g, err, "cannot decode the assignment: %s", errstr);
        g->epoch++;
        join_retry(g, 1);
        return;
    }
    if (g->rejoin_after) {
        g->rejoin_after = 0;
        g->want_join = 1;
    }
    assignment_apply(g, assigned);
}

static void sync_send(cgrp_t *g, const cgrp_lead_t *lead)
{
    cgrp_req_t *r = cgrp_req_new(g, on_sync, NULL);
    if (!r) goto fail;
    proto_sync_group_request_t *q = &r->body.sync;
    proto_msg_init(&proto_sync_group_request_desc, q);
    q->group_id = proto_str_of(g->group_id);
    q->generation_id = g->generation;
    q->member_id = proto_str_of(g->member_id);
    q->group_instance_id = proto_str_of(g->instance_id);
    q->protocol_type = proto_str_of("consumer");
    q->protocol_name = proto_str_of(g->protocol_name);
    if (lead && lead->n > 0) {
        proto_sync_group_request_assignment_t *as =
            cgrp_req_alloc(r, sizeof(*as) * (size_t)lead->n);
        if (!as) goto fail_req;
        for (int i = 0; i < lead->n; i++) {
            proto_wbuf_t w;
            proto_wbuf_init(&w, 64);
            assignor_assignment_encode(&w, lead->members[i].assigned);
            char *id = cgrp_req_alloc(r, strlen(lead->members[i].member_id));
            uint8_t *bytes = cgrp_req_alloc(r, w.len);
            if (w.oom || !id || !bytes) {
                proto_wbuf_free(&w);
                goto fail_req;
            }
            strcpy(id, lead->members[i].member_id);
            if (w.len) memcpy(bytes, w.data, w.len);
            as[i].member_id = proto_str_of(id);
            as[i].assignment = proto_slice_of(bytes, w.len);
            proto_wbuf_free(&w);
        }
        q->assignments.v = as;
        q->assignments.n = lead->n;
    }
    /* The strings of g may change before the request is written. */
    char *gid = cgrp_req_alloc(r, strlen(g->group_id));
    char *mid = cgrp_req_alloc(r, strlen(g->member_id));
    char *pn = cgrp_req_alloc(r, g->protocol_name ? strlen(g->protocol_name) : 0);
    if (!gid || !mid || !pn) goto fail_req;
    q->group_id = proto_str_of(strcpy(gid, g->group_id));
    q->member_id = proto_str_of(strcpy(mid, g->member_id));
    q->protocol_name =
        g->protocol_name ? proto_str_of(strcpy(pn, g->protocol_name)) : PROTO_NULL_SLICE;
    g->state = CGRP_ST_SYNCING;
    if (cgrp_req_send_coord(r, PROTO_API_SYNC_GROUP, join_timeout_ms(g)) != 0) {
        g->epoch++;
        join_retry(g, 1);
    }
    return;
fail_req:
    cgrp_req_free(r);
fail:
    cgrp_error(g, KC_ERR__NO_MEMORY, "out of memory building SyncGroup");
    join_retry(g, 1);
}

/* ---- the leader's assignment ---- */

static int topics_add(char ***v, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp((*v)[i], name)) return 0;
    char **nv = realloc(*v, sizeof(*nv) * (size_t)(*n + 1));
    if (!nv) return -1;
    *v = nv;
    nv[*n] = strdup(name);
    if (!nv[*n]) return -1;
    (*n)++;
    return 0;
}

static void assign_run(cgrp_t *g, cgrp_lead_t *lead, const cgrp_md_t *md)
{
    const assignor_t *a = assignor_find(g->protocol_name ? g->protocol_name : "");
    if (!a) {
        cgrp_error(g, KC_ERR_INCONSISTENT_GROUP_PROTOCOL,
                   "the coordinator chose assignor %s, which this member does not have",
                   g->protocol_name ? g->protocol_name : "(none)");
        sync_send(g, NULL);
        return;
    }
    assignor_topic_t *ts = calloc((size_t)lead->ntopics + 1, sizeof(*ts));
    if (!ts) {
        cgrp_error(g, KC_ERR__NO_MEMORY, "out of memory running the assignor");
        join_retry(g, 1);
        return;
    }
    int nt = 0;
    for (int i = 0; i < lead->ntopics; i++) {
        int32_t np = cgrp_md_partitions(md, lead->topics[i]);
        if (np <= 0) continue;
        ts[nt].name = lead->topics[i];
        ts[nt].partition_cnt = np;
        nt++;
    }
    char errstr[256];
    kc_err_t err = a->run(lead->members, lead->n, ts, nt, errstr, sizeof(errstr));
    free(ts);
    if (err) {
        cgrp_error(g, err, "assignor %s failed: %s", a->name, errstr);
        g->epoch++;
        join_retry(g, 1);
        return;
    }
    cgrp_watch_set(g, md, lead->topics, lead->ntopics);
    sync_send(g, lead);
}

static void on_assign_md(cgrp_t *g, const cgrp_md_t *md, kc_err_t err)
{
    cgrp_lead_t *lead = g->lead;
    g->lead = NULL;
    if (g->state != CGRP_ST_ASSIGNING || !lead) {
        cgrp_lead_free(lead);
        return;
    }
    if (err) {
        log_info("group %s: no metadata for the assignment (%s), rejoining", g->group_id,
                 kc_err_str(err));
        cgrp_lead_free(lead);
        g->epoch++;
        join_retry(g, 1);
        return;
    }
    assign_run(g, lead, md);
    cgrp_lead_free(lead);
}

static cgrp_lead_t *lead_build(cgrp_t *g, const proto_join_group_response_t *b)
{
    cgrp_lead_t *l = calloc(1, sizeof(*l));
    if (!l) return NULL;
    int n = b->members.n > 0 ? b->members.n : 0;
    l->members = calloc((size_t)n + 1, sizeof(*l->members));
    if (!l->members) goto fail;
    for (int i = 0; i < n; i++) {
        const proto_join_group_response_member_t *m = &b->members.v[i];
        assignor_member_t *am = &l->members[l->n];
        char errstr[256];
        kc_err_t err = assignor_subscription_decode(
            m->metadata.ptr, m->metadata.len > 0 ? (size_t)m->metadata.len : 0, am, errstr,
            sizeof(errstr));
        char *id = cgrp_strdup_slice(m->member_id);
        char *inst = m->group_instance_id.len >= 0 ? cgrp_strdup_slice(m->group_instance_id) : NULL;
        if (err || !id || (m->group_instance_id.len >= 0 && !inst)) {
            /* A member whose subscription does not decode gets nothing, as
             * if it subscribed to no topic. */
            if (err) log_warn("group %s: member %s: %s", g->group_id, id ? id : "?", errstr);
            assignor_member_clear(am);
            memset(am, 0, sizeof(*am));
            am->generation = -1;
            if (!id) {
                free(inst);
                goto fail;
            }
        }
        am->member_id = id;
        am->group_instance_id = inst;
        l->n++;
        for (int t = 0; t < am->topic_cnt; t++)
            if (topics_add(&l->topics, &l->ntopics, am->topics[t]) != 0) goto fail;
    }
    return l;
fail:
    cgrp_lead_free(l);
    return NULL;
}

/* ---- JoinGroup ---- */

static void on_join(cgrp_t *g, cgrp_req_t *r, const net_resp_t *resp)
{
    if (r->epoch != g->epoch || resp->err == KC_ERR__DESTROY) return;
    const proto_join_group_response_t *b = resp->body;
    kc_err_t err = resp->err ? resp->err : (kc_err_t)b->error_code;
    if (err) {
        log_info("group %s: JoinGroup: %s", g->group_id, kc_err_str(err));
        g->epoch++;
        switch ((int)err) {
        case KC_ERR_MEMBER_ID_REQUIRED: {
            /* KIP-394: the coordinator named us; join again with that id. */
            char *id = cgrp_strdup_slice(b->member_id);
            if (id) {
                free(g->member_id);
                g->member_id = id;
            }
            join_retry(g, id == NULL);
            return;
        }
        case KC_ERR_UNKNOWN_MEMBER_ID: cgrp_lost(g, err, 1); return;
        case KC_ERR_ILLEGAL_GENERATION: cgrp_lost(g, err, 0); return;
        case KC_ERR_FENCED_INSTANCE_ID: cgrp_lost(g, err, 0); return;
        case KC_ERR_REBALANCE_IN_PROGRESS:
        case KC_ERR_COORDINATOR_LOAD_IN_PROGRESS: join_retry(g, 1); return;
        default:
            if (cgrp_coord_err(err)) {
                g->state = CGRP_ST_INIT;
                g->want_join = 1;
                cgrp_coord_dead(g, kc_err_str(err));
                return;
            }
            cgrp_error(g, err, "JoinGroup failed: %s", kc_err_str(err));
            join_retry(g, 1);
            return;
        }
    }
    char *id = cgrp_strdup_slice(b->member_id);
    char *proto = b->protocol_name.len >= 0 ? cgrp_strdup_slice(b->protocol_name) : NULL;
    if (!id || (b->protocol_name.len >= 0 && !proto)) {
        free(id);
        free(proto);
        g->epoch++;
        join_retry(g, 1);
        return;
    }
    free(g->member_id);
    g->member_id = id;
    free(g->protocol_name);
    g->protocol_name = proto;
    g->generation = b->generation_id;
    g->is_leader = proto_str_eq(b->leader, g->member_id);
    log_debug("group %s: joined generation %d as %s%s, protocol %s", g->group_id,
              (int)g->generation, g->member_id, g->is_leader ? " (leader)" : "",
              proto ? proto : "-");
    if (!g->is_leader || b->skip_assignment) {
        sync_send(g, NULL);
        return;
    }
    cgrp_lead_t *lead = lead_build(g, b);
    if (!lead) {
        cgrp_error(g, KC_ERR__NO_MEMORY, "out of memory reading the members' subscriptions");
        g->epoch++;
        join_retry(g, 1);
        return;
    }
    g->state = CGRP_ST_ASSIGNING;
    cgrp_lead_free(g->lead);
    g->lead = lead;
    if (cgrp_md_request(g, lead->topics, lead->ntopics, 0, 1, on_assign_md) != 0) {
        cgrp_lead_free(g->lead);
        g->lead = NULL;
        g->epoch++;
        join_retry(g, 1);
    }
}

static void join_send(cgrp_t *g)
{
    cgrp_req_t *r = cgrp_req_new(g, on_join, NULL);
    proto_join_group_request_protocol_t *ps =
        r ? cgrp_req_alloc(r, sizeof(*ps) * (size_t)g->nassignors) : NULL;
    char *gid = r ? cgrp_req_alloc(r, strlen(g->group_id)) : NULL;
    char *mid = r ? cgrp_req_alloc(r, strlen(g->member_id)) : NULL;
    char *iid = r && g->instance_id ? cgrp_req_alloc(r, strlen(g->instance_id)) : NULL;
    int ok = ps && gid && mid && (iid || !g->instance_id);
    proto_wbuf_t w;
    proto_wbuf_init(&w, 128);
    const kc_topic_partition_list_t *owned = g->protocol == ASSIGNOR_COOPERATIVE ? g->owned : NULL;
    assignor_subscription_encode(&w, (const char *const *)g->topics, g->ntopics, owned,
                                 g->generation, NULL);
    uint8_t *meta = ok && !w.oom ? cgrp_req_alloc(r, w.len) : NULL;
    if (!meta) {
        proto_wbuf_free(&w);
        if (r) cgrp_req_free(r);
        cgrp_error(g, KC_ERR__NO_MEMORY, "out of memory building JoinGroup");
        join_retry(g, 1);
        return;
    }
    size_t meta_len = w.len;
    if (meta_len) memcpy(meta, w.data, meta_len);
    proto_wbuf_free(&w);
    /* Every assignor gets the same subscription bytes. */
    for (int i = 0; i < g->nassignors; i++) {
        ps[i].name = proto_str_of(g->assignors[i]->name);
        ps[i].metadata = proto_slice_of(meta, meta_len);
    }
    proto_join_group_request_t *q = &r->body.join;
    proto_msg_init(&proto_join_group_request_desc, q);
    q->group_id = proto_str_of(strcpy(gid, g->group_id));
    q->session_timeout_ms = g->conf->session_timeout_ms;
    q->rebalance_timeout_ms = g->conf->max_poll_interval_ms;
    q->member_id = proto_str_of(strcpy(mid, g->member_id));
    q->group_instance_id =
        g->instance_id ? proto_str_of(strcpy(iid, g->instance_id)) : PROTO_NULL_SLICE;
    q->protocol_type = proto_str_of("consumer");
    q->protocols.v = ps;
    q->protocols.n = g->nassignors;
    g->state = CGRP_ST_JOINING;
    if (cgrp_req_send_coord(r, PROTO_API_JOIN_GROUP, join_timeout_ms(g)) != 0) {
        g->state = CGRP_ST_INIT;
        join_retry(g, 1);
    }
}

static void on_join_md(cgrp_t *g, const cgrp_md_t *md, kc_err_t err)
{
    if (g->state != CGRP_ST_JOINING) return;
    if (err) {
        log_info("group %s: no metadata before joining (%s), retrying", g->group_id,
                 kc_err_str(err));
        g->epoch++;
        join_retry(g, 1);
        return;
    }
    cgrp_topics_for_join(g, md);
    join_send(g);
}

void cgrp_join_start(cgrp_t *g)
{
    /* This join reads the subscription as it is now. */
    g->want_join = 0;
    g->rejoin_after = 0;
    g->state = CGRP_ST_JOINING;
    cgrp_hb_stop(g);
    if (cgrp_md_request(g, g->sub, g->nsub, g->has_regex, 1, on_join_md) != 0) join_retry(g, 1);
}
