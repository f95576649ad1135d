/* Staying a member and stopping being one: Heartbeat, LeaveGroup, giving
 * partitions back (revoke) and losing them (lost). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client_int.h"
#include "consumer/cgrp_int.h"
#include "util/log.h"

/* ---- revoke / lost / rejoin ---- */

void cgrp_revoke(cgrp_t *g, kc_topic_partition_list_t *parts, int lost)
{
    if (!parts) return;
    if (parts->cnt == 0 || !g->ops.revoke) {
        kc_topic_partition_list_destroy(parts);
        return;
    }
    log_info("group %s: %s %d partition(s)", g->group_id, lost ? "lost" : "revoking", parts->cnt);
    g->revoke_wait = 1;
    g->ops.revoke(g->opaque, parts, lost);
    kc_topic_partition_list_destroy(parts);
}

void cgrp_reset(cgrp_t *g, int reset_id)
{
    g->epoch++;
    g->state = CGRP_ST_INIT;
    g->generation = -1;
    g->hb_inflight = 0;
    cgrp_hb_stop(g);
    cgrp_lead_free(g->lead);
    g->lead = NULL;
    if (reset_id && g->member_id[0]) {
        char *e = strdup("");
        if (e) {
            free(g->member_id);
            g->member_id = e;
        }
    }
}

void cgrp_lost(cgrp_t *g, kc_err_t err, int reset_id)
{
    log_info("group %s: membership lost (%s)", g->group_id, kc_err_str(err));
    cgrp_reset(g, reset_id);
    if (err == KC_ERR_FENCED_INSTANCE_ID) {
        /* Another process runs with our group.instance.id: stop for good. */
        g->fatal = 1;
        cgrp_error(g, err, "group.instance.id %s is used by another member: fenced",
                   g->instance_id ? g->instance_id : "");
    }
    kc_topic_partition_list_t *all = g->owned;
    g->owned = kc_topic_partition_list_new(0);
    if (all && all->cnt > 0) {
        /* A revoke that lands while fatal still needs its answer. */
        int fatal = g->fatal;
        g->fatal = 0;
        cgrp_revoke(g, all, 1);
        g->fatal = fatal;
    } else {
        kc_topic_partition_list_destroy(all);
    }
    if (!g->fatal && g->active && !g->leaving) g->want_join = 1;
    cgrp_serve(g);
}

void cgrp_rejoin(cgrp_t *g, const char *why)
{
    if (!g->active || g->leaving || g->fatal) return;
    log_debug("group %s: rejoin: %s", g->group_id, why);
    if (g->state == CGRP_ST_JOINING || g->state == CGRP_ST_ASSIGNING ||
        g->state == CGRP_ST_SYNCING) {
        /* Finish this round first; its result is stale, so go again. */
        g->rejoin_after = 1;
        return;
    }
    g->want_join = 1;
    cgrp_serve(g);
}

/* ---- Heartbeat ---- */

static void hb_send(cgrp_t *g);

static void on_hb_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cgrp_t *g = arg;
    if (g->state != CGRP_ST_STEADY || g->coord_id < 0 || g->hb_inflight || g->fatal) return;
    hb_send(g);
}

void cgrp_hb_schedule(cgrp_t *g)
{
    if (g->hb_inflight) return;
    if (!g->hb_timer) g->hb_timer = evtimer_new(client_base(g->c), on_hb_timer, g);
    if (!g->hb_timer || evtimer_pending(g->hb_timer, NULL)) return;
    cgrp_timer_add(g->hb_timer, g->conf->heartbeat_interval_ms);
}

void cgrp_hb_stop(cgrp_t *g)
{
    if (g->hb_timer) evtimer_del(g->hb_timer);
}

static void on_hb(cgrp_t *g, cgrp_req_t *r, const net_resp_t *resp)
{
    if (resp->err == KC_ERR__DESTROY) return;
    /* The last heartbeat sent is answered, stale or not: the next may go. */
    if ((uintptr_t)r->ctx == g->hb_seq) g->hb_inflight = 0;
    if (r->epoch != g->epoch) return;
    const proto_heartbeat_response_t *b = resp->body;
    kc_err_t err = resp->err ? resp->err : (kc_err_t)b->error_code;
    switch ((int)err) {
    case 0: cgrp_serve(g); return;
    case KC_ERR_REBALANCE_IN_PROGRESS: cgrp_rejoin(g, "the group is rebalancing"); return;
    case KC_ERR_UNKNOWN_MEMBER_ID: cgrp_lost(g, err, 1); return;
    case KC_ERR_ILLEGAL_GENERATION:
    case KC_ERR_FENCED_INSTANCE_ID: cgrp_lost(g, err, 0); return;
    default:
        if (cgrp_coord_err(err)) {
            cgrp_coord_dead(g, kc_err_str(err));
            return;
        }
        if (err != KC_ERR_COORDINATOR_LOAD_IN_PROGRESS)
            log_warn("group %s: Heartbeat: %s", g->group_id, kc_err_str(err));
        if (err == KC_ERR_GROUP_AUTHORIZATION_FAILED)
            cgrp_error(g, err, "Heartbeat: %s", kc_err_str(err));
        cgrp_serve(g);
        return;
    }
}

static void hb_send(cgrp_t *g)
{
    cgrp_req_t *r = cgrp_req_new(g, on_hb, (void *)(uintptr_t)++g->hb_seq);
    char *gid = r ? cgrp_req_alloc(r, strlen(g->group_id)) : NULL;
    char *mid = r ? cgrp_req_alloc(r, strlen(g->member_id)) : NULL;
    char *iid = r && g->instance_id ? cgrp_req_alloc(r, strlen(g->instance_id)) : NULL;
    if (!gid || !mid || (g->instance_id && !iid)) {
        if (r) cgrp_req_free(r);
        cgrp_serve(g);
        return;
    }
    proto_heartbeat_request_t *q = &r->body.hb;
    proto_msg_init(&proto_heartbeat_request_desc, q);
    q->group_id = proto_str_of(strcpy(gid, g->group_id));
    q->generation_id = g->generation;
    q->member_id = proto_str_of(strcpy(mid, g->member_id));
    q->group_instance_id = iid ? proto_str_of(strcpy(iid, g->instance_id)) : PROTO_NULL_SLICE;
    g->hb_inflight = 1;
    /* An answer later than the session is worthless: the coordinator has
     * dropped us by then, and another coordinator may be found. */
    if (cgrp_req_send_coord(r, PROTO_API_HEARTBEAT, g->conf->session_timeout_ms) != 0) {
        g->hb_inflight = 0;
        cgrp_coord_dead(g, "cannot send Heartbeat");
    }
}

/* ---- LeaveGroup ---- */

static void on_leave(cgrp_t *g, cgrp_req_t *r, const net_resp_t *resp)
{
    (void)g;
    (void)r;
    if (resp->err && resp->err != KC_ERR__DESTROY)
        log_debug("LeaveGroup: %s", resp->errstr ? resp->errstr : kc_err_str(resp->err));
}

void cgrp_send_leave(cgrp_t *g, const char *reason)
{
    /* Static members never leave: their session timing out is the only way
     * out, so a restart keeps the assignment (as the Java client). */
    if (g->instance_id || !g->member_id[0] || g->coord_id < 0) return;
    cgrp_req_t *r = cgrp_req_new(g, on_leave, NULL);
    proto_leave_group_request_member_identity_t *mi = r ? cgrp_req_alloc(r, sizeof(*mi)) : NULL;
    char *gid = r ? cgrp_req_alloc(r, strlen(g->group_id)) : NULL;
    char *mid = r ? cgrp_req_alloc(r, strlen(g->member_id)) : NULL;
    char *why = r ? cgrp_req_alloc(r, strlen(reason)) : NULL;
    if (!mi || !gid || !mid || !why) {
        if (r) cgrp_req_free(r);
        return;
    }
    log_info("group %s: leaving (%s)", g->group_id, reason);
    proto_leave_group_request_t *q = &r->body.leave;
    proto_msg_init(&proto_leave_group_request_desc, q);
    proto_struct_init(&proto_leave_group_request_member_identity_sdesc, mi);
    q->group_id = proto_str_of(strcpy(gid, g->group_id));
    /* v0-2 name the member at the top, v3+ in Members: the version decides
     * which one is sent, so fill both consistently only where allowed. */
    mi->member_id = proto_str_of(strcpy(mid, g->member_id));
    mi->reason = proto_str_of(strcpy(why, reason));
    q->members.v = mi;
    q->members.n = 1;
    cgrp_req_send_coord(r, PROTO_API_LEAVE_GROUP, g->conf->socket_timeout_ms);
}
