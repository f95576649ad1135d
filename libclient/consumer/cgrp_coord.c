/* FindCoordinator, and the connection to the coordinator.
 *
 * The coordinator gets a connection of its own, registered under a node id
 * no broker has (as the Java client does): a broker answers a connection's
 * requests in order, so a JoinGroup it parks until the rebalance completes
 * would hold up everything behind it. The id is negative, like the
 * bootstrap entries', so requests for "any broker" (metadata) stay off it
 * while learned brokers answer. */
#include <stdint.h>
#include <stdlib.h>

#include <event2/event.h>

#include "client_int.h"
#include "consumer/cgrp_int.h"
#include "util/log.h"

int cgrp_coord_err(kc_err_t err)
{
    return err == KC_ERR_NOT_COORDINATOR || err == KC_ERR_COORDINATOR_NOT_AVAILABLE ||
           err == KC_ERR__TRANSPORT || err == KC_ERR__TIMED_OUT || err == KC_ERR_REQUEST_TIMED_OUT;
}

static void on_coord_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cgrp_t *g = arg;
    cgrp_coord_find(g);
}

static void retry_later(cgrp_t *g)
{
    g->coord_attempt++;
    cgrp_timer_add(g->coord_timer, cgrp_backoff_ms(g, g->coord_attempt));
}

static void on_find(cgrp_t *g, cgrp_req_t *r, const net_resp_t *resp)
{
    (void)r;
    g->coord_inflight = 0;
    if (resp->err == KC_ERR__DESTROY) return;
    kc_err_t err = resp->err;
    int32_t node = -1, port = 0;
    proto_str_t host = PROTO_NULL_SLICE;
    const char *why = resp->errstr;
    if (!err) {
        const proto_find_coordinator_response_t *b = resp->body;
        if (resp->version >= 4) {
            if (b->coordinators.n < 1) {
                err = KC_ERR__BAD_MSG;
                why = "FindCoordinator answered no coordinator";
            } else {
                const proto_find_coordinator_response_coordinator_t *co = &b->coordinators.v[0];
                err = (kc_err_t)co->error_code;
                node = co->node_id;
                host = co->host;
                port = co->port;
            }
        } else {
            err = (kc_err_t)b->error_code;
            node = b->node_id;
            host = b->host;
            port = b->port;
        }
    }
    if (!err && (node < 0 || host.len <= 0)) err = KC_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err) {
        log_debug("group %s: FindCoordinator: %s%s%s", g->group_id, kc_err_str(err),
                  why ? ": " : "", why ? why : "");
        if (err == KC_ERR_GROUP_AUTHORIZATION_FAILED || err == KC_ERR_INVALID_GROUP_ID)
            cgrp_error(g, err, "FindCoordinator: %s", kc_err_str(err));
        retry_later(g);
        return;
    }
    char *h = cgrp_strdup_slice(host);
    int32_t conn = INT32_MIN + 1 + node;
    if (!h || !client_broker_upsert(g->c, conn, h, port, NULL)) {
        free(h);
        retry_later(g);
        return;
    }
    free(h);
    log_debug("group %s: coordinator is broker %d", g->group_id, (int)node);
    g->coord_id = node;
    g->coord_conn = conn;
    g->coord_attempt = 0;
    cgrp_offops_kick(g);
    cgrp_serve(g);
}

void cgrp_coord_find(cgrp_t *g)
{
    if (g->coord_id >= 0 || g->coord_inflight) return;
    if (!g->coord_timer) g->coord_timer = evtimer_new(client_base(g->c), on_coord_timer, g);
    if (!g->coord_timer || evtimer_pending(g->coord_timer, NULL)) return;
    cgrp_req_t *r = cgrp_req_new(g, on_find, NULL);
    proto_str_t *keys = r ? cgrp_req_alloc(r, sizeof(*keys)) : NULL;
    if (!keys) {
        free(r);
        retry_later(g);
        return;
    }
    proto_msg_init(&proto_find_coordinator_request_desc, &r->body.fc);
    keys[0] = proto_str_of(g->group_id);
    r->body.fc.key = keys[0];
    r->body.fc.key_type = 0; /* a group */
    r->body.fc.coordinator_keys.v = keys;
    r->body.fc.coordinator_keys.n = 1;
    g->coord_inflight = 1;
    int tmo = g->conf->socket_timeout_ms;
    if (cgrp_req_send(r, -1, g->coord_attempt, PROTO_API_FIND_COORDINATOR, tmo) != 0) {
        g->coord_inflight = 0;
        retry_later(g);
    }
}

void cgrp_coord_dead(cgrp_t *g, const char *why)
{
    if (g->coord_id < 0) return;
    log_info("group %s: coordinator %d lost (%s), looking it up again", g->group_id,
             (int)g->coord_id, why);
    g->coord_id = -1;
    if (g->state == CGRP_ST_JOINING || g->state == CGRP_ST_ASSIGNING ||
        g->state == CGRP_ST_SYNCING) {
        /* The join under way is gone with it; start over at the new one. */
        g->state = CGRP_ST_INIT;
        g->want_join = 1;
        g->epoch++;
    }
    if (g->hb_inflight) {
        g->hb_inflight = 0;
        g->epoch++;
    }
    cgrp_hb_stop(g);
    cgrp_serve(g);
}
