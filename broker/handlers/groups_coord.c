/* FindCoordinator (v0-6; v4+ asks for several keys at once). Every group's
 * coordinator is the node a stable hash of its id picks among the nodes
 * that are up (kc-broker has one node). kc-broker has no transaction
 * coordinator yet, so key type 1 gets COORDINATOR_NOT_AVAILABLE. */
#include <stdio.h>
#include <string.h>

#include "handlers/groups_common.h"
#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"

int groups_coordinator_error(broker_call_t *call, proto_str_t group_id)
{
    broker_node_t *n = broker_groups_coordinator(call->b, group_id);
    if (!n) return KC_ERR_COORDINATOR_NOT_AVAILABLE;
    return n == call->node ? 0 : KC_ERR_NOT_COORDINATOR;
}

const char *groups_client_host(broker_call_t *call, char *buf, size_t cap)
{
    const char *peer = broker_conn_peer(call->req->conn);
    const char *colon = strrchr(peer, ':');
    size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
    if (n >= 2 && peer[0] == '[' && peer[n - 1] == ']') {
        peer++;
        n -= 2;
    }
    snprintf(buf, cap, "/%.*s", (int)n, peer);
    return buf;
}

typedef struct coord_answer {
    int16_t error;
    const char *message;
    int32_t node_id;
    proto_str_t host;
    int32_t port;
} coord_answer_t;

static coord_answer_t find(broker_call_t *call, int8_t key_type, proto_str_t key)
{
    coord_answer_t a = {.node_id = -1, .host = proto_str_of(""), .port = -1};
    const broker_hooks_t *hooks = call->b->hooks;
    broker_node_t *txn = key_type == 1 && hooks && hooks->coordinator
                             ? hooks->coordinator(hooks->opaque, 1, key)
                             : NULL; /* only the mock has transaction coordinators */
    if (key_type == 1 && !txn) {
        a.error = KC_ERR_COORDINATOR_NOT_AVAILABLE;
        a.message = "kc-broker has no transaction coordinator";
        return a;
    }
    if (key_type != 0 && !txn) {
        a.error = KC_ERR_INVALID_REQUEST;
        a.message = "unknown coordinator key type";
        return a;
    }
    broker_node_t *n = txn ? txn : broker_groups_coordinator(call->b, key);
    if (!n || !n->up) { /* none up, or a pinned one (the mock) is down */
        a.error = KC_ERR_COORDINATOR_NOT_AVAILABLE;
        a.message = "the coordinator is not available";
        return a;
    }
    a.node_id = n->id;
    a.host = proto_str_of(n->host);
    a.port = n->port;
    return a;
}

void broker_handle_find_coordinator(broker_call_t *call)
{
    const proto_find_coordinator_request_t *req = call->request;
    proto_find_coordinator_response_t resp;
    proto_msg_init(&proto_find_coordinator_response_desc, &resp);
    if (call->hdr.api_version >= 4) {
        int32_t n = req->coordinator_keys.n > 0 ? req->coordinator_keys.n : 0;
        proto_find_coordinator_response_coordinator_t *c =
            broker_call_structs(call, n, &proto_find_coordinator_response_coordinator_sdesc);
        if (n && !c) {
            broker_call_close(call, "out of memory");
            return;
        }
        for (int32_t i = 0; i < n; i++) {
            coord_answer_t a = find(call, req->key_type, req->coordinator_keys.v[i]);
            c[i].key = req->coordinator_keys.v[i];
            c[i].node_id = a.node_id;
            c[i].host = a.host;
            c[i].port = a.port;
            c[i].error_code = a.error;
            c[i].error_message = a.message ? proto_str_of(a.message) : PROTO_NULL_SLICE;
        }
        resp.coordinators.v = c;
        resp.coordinators.n = n;
    } else {
        coord_answer_t a = find(call, req->key_type, req->key);
        resp.error_code = a.error;
        resp.error_message = a.message ? proto_str_of(a.message) : PROTO_NULL_SLICE;
        resp.node_id = a.node_id;
        resp.host = a.host;
        resp.port = a.port;
    }
    broker_call_respond(call, &resp);
}
