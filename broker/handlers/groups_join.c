/* JoinGroup (v0-9) and SyncGroup (v0-5): the checks Kafka makes before the
 * state machine (group id, coordinator, session timeout bounds, member and
 * generation), the state machine itself in groups/group_join.c, and the
 * responses it sends back, now or when a parked call completes. */
#include <string.h>

#include "handlers/groups_common.h"
#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"

static const uint8_t no_bytes[1];

static proto_str_t str_or(const char *s, int nullable)
{
    if (s) return proto_str_of(s);
    return nullable ? PROTO_NULL_SLICE : proto_str_of("");
}

static void fill_members(broker_call_t *call, const group_t *g, proto_join_group_response_t *resp)
{
    proto_join_group_response_member_t *v =
        broker_call_structs(call, g->nmembers, &proto_join_group_response_member_sdesc);
    int32_t n = 0;
    const group_member_t *m;
    TAILQ_FOREACH(m, &g->members, link)
    {
        if (!v) break;
        v[n].member_id = proto_str_of(m->id);
        v[n].group_instance_id = m->instance_id ? proto_str_of(m->instance_id) : PROTO_NULL_SLICE;
        v[n].metadata = proto_slice_of(no_bytes, 0);
        for (int i = 0; i < m->nprotocols; i++)
            if (g->protocol_name && !strcmp(m->protocols[i].name, g->protocol_name))
                v[n].metadata =
                    proto_slice_of(m->protocols[i].metadata, (size_t)m->protocols[i].len);
        n++;
    }
    resp->members.v = v;
    resp->members.n = n;
}

void group_join_reply(broker_call_t *call, const group_join_result_t *res)
{
    int16_t ver = call->hdr.api_version;
    proto_join_group_response_t resp;
    proto_msg_init(&proto_join_group_response_desc, &resp);
    resp.error_code = (int16_t)res->error;
    resp.generation_id = res->generation;
    resp.protocol_type = res->error ? PROTO_NULL_SLICE : str_or(res->protocol_type, 1);
    resp.protocol_name = str_or(res->error ? NULL : res->protocol_name, ver >= 7);
    resp.leader = str_or(res->leader, 0);
    resp.skip_assignment = res->skip_assignment != 0;
    resp.member_id = str_or(res->member_id, 0);
    if (res->members_of) fill_members(call, res->members_of, &resp);
    broker_call_respond(call, &resp);
}

static void join_error(broker_call_t *call, proto_str_t member_id, int err)
{
    group_join_result_t r = {.error = err, .generation = -1};
    char buf[256];
    int n = member_id.len > 0 ? (member_id.len < 255 ? member_id.len : 255) : 0;
    memcpy(buf, member_id.ptr ? (const char *)member_id.ptr : "", (size_t)n);
    buf[n] = '\0';
    r.member_id = buf;
    group_join_reply(call, &r);
}

void broker_handle_join_group(broker_call_t *call)
{
    const proto_join_group_request_t *req = call->request;
    const broker_conf_t *conf = call->b->conf;
    int16_t ver = call->hdr.api_version;
    if (req->group_id.len <= 0) {
        join_error(call, req->member_id, KC_ERR_INVALID_GROUP_ID);
        return;
    }
    int err = groups_coordinator_error(call, req->group_id);
    if (err) {
        join_error(call, req->member_id, err);
        return;
    }
    if (req->session_timeout_ms < conf->group_min_session_timeout_ms ||
        req->session_timeout_ms > conf->group_max_session_timeout_ms) {
        join_error(call, req->member_id, KC_ERR_INVALID_SESSION_TIMEOUT);
        return;
    }
    group_t *g = req->member_id.len > 0 ? group_find(call->b, req->group_id)
                                        : group_get_or_create(call->b, req->group_id);
    if (!g) {
        join_error(call, req->member_id,
                   req->member_id.len > 0 ? KC_ERR_UNKNOWN_MEMBER_ID
                                          : KC_ERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    int32_t np = req->protocols.n > 0 ? req->protocols.n : 0;
    proto_str_t *names = broker_call_array(call, np, sizeof(*names));
    proto_bytes_t *md = broker_call_array(call, np, sizeof(*md));
    if (np && (!names || !md)) {
        join_error(call, req->member_id, KC_ERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    for (int32_t i = 0; i < np; i++) {
        names[i] = req->protocols.v[i].name.len >= 0 ? req->protocols.v[i].name : proto_str_of("");
        md[i] = req->protocols.v[i].metadata;
    }
    char host[300];
    group_join_req_t jr = {
        .member_id = req->member_id,
        .instance_id = ver >= 5 ? req->group_instance_id : PROTO_NULL_SLICE,
        .client_id = call->hdr.client_id,
        .client_host = groups_client_host(call, host, sizeof(host)),
        .session_timeout_ms = req->session_timeout_ms,
        .rebalance_timeout_ms = ver >= 1 && req->rebalance_timeout_ms > 0
                                    ? req->rebalance_timeout_ms
                                    : req->session_timeout_ms,
        .protocol_type = req->protocol_type,
        .nprotocols = np,
        .protocol_names = names,
        .protocol_metadata = md,
        .require_known_id = ver >= 4,
        .supports_skip = ver >= 9,
    };
    group_join(call->b, call, g, &jr);
}

/* ---- SyncGroup ------------------------------------------------------------------------ */

void group_sync_reply(broker_call_t *call, int error, const group_t *g, const uint8_t *assignment,
                      int32_t assignment_len)
{
    proto_sync_group_response_t resp;
    proto_msg_init(&proto_sync_group_response_desc, &resp);
    resp.error_code = (int16_t)error;
    if (!error && g) {
        resp.protocol_type = str_or(g->protocol_type, 1);
        resp.protocol_name = str_or(g->protocol_name, 1);
    }
    resp.assignment = assignment && !error ? proto_slice_of(assignment, (size_t)assignment_len)
                                           : proto_slice_of(no_bytes, 0);
    broker_call_respond(call, &resp);
}

static int str_differs(proto_str_t s, const char *have)
{
    return s.len >= 0 && (!have || !proto_str_eq(s, have));
}

void broker_handle_sync_group(broker_call_t *call)
{
    const proto_sync_group_request_t *req = call->request;
    int16_t ver = call->hdr.api_version;
    if (req->group_id.len <= 0) {
        group_sync_reply(call, KC_ERR_INVALID_GROUP_ID, NULL, NULL, 0);
        return;
    }
    int err = groups_coordinator_error(call, req->group_id);
    group_t *g = err ? NULL : group_find(call->b, req->group_id);
    proto_str_t instance = ver >= 3 ? req->group_instance_id : PROTO_NULL_SLICE;
    if (!err && !g) err = KC_ERR_UNKNOWN_MEMBER_ID;
    if (!err && g->state == GROUP_DEAD) err = KC_ERR_COORDINATOR_NOT_AVAILABLE;
    if (!err) err = group_check_member(g, req->member_id, instance);
    if (!err && req->generation_id != g->generation) err = KC_ERR_ILLEGAL_GENERATION;
    if (!err && ver >= 5 &&
        (str_differs(req->protocol_type, g->protocol_type) ||
         str_differs(req->protocol_name, g->protocol_name)))
        err = KC_ERR_INCONSISTENT_GROUP_PROTOCOL;
    if (err) {
        group_sync_reply(call, err, NULL, NULL, 0);
        return;
    }
    int32_t n = req->assignments.n > 0 ? req->assignments.n : 0;
    group_assignment_t *a = broker_call_array(call, n, sizeof(*a));
    if (n && !a) {
        group_sync_reply(call, KC_ERR_COORDINATOR_NOT_AVAILABLE, NULL, NULL, 0);
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        a[i].member_id = req->assignments.v[i].member_id;
        a[i].assignment = req->assignments.v[i].assignment;
    }
    group_sync(g, group_member_find(g, req->member_id), call, a, n);
}
