/* Heartbeat (v0-4) and LeaveGroup (v0-5; v3+ removes several members, by
 * member id or by group.instance.id). A heartbeat answered
 * REBALANCE_IN_PROGRESS is how members learn that they must rejoin. */
#include "handlers/groups_common.h"
#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"

void broker_handle_heartbeat(broker_call_t *call)
{
    const proto_heartbeat_request_t *req = call->request;
    proto_heartbeat_response_t resp;
    proto_msg_init(&proto_heartbeat_response_desc, &resp);
    int err = req->group_id.len <= 0 ? KC_ERR_INVALID_GROUP_ID
                                     : groups_coordinator_error(call, req->group_id);
    if (!err) {
        group_t *g = group_find(call->b, req->group_id);
        proto_str_t instance =
            call->hdr.api_version >= 3 ? req->group_instance_id : PROTO_NULL_SLICE;
        err = g ? group_heartbeat(g, req->member_id, instance, req->generation_id)
                : KC_ERR_UNKNOWN_MEMBER_ID;
    }
    resp.error_code = (int16_t)err;
    broker_call_respond(call, &resp);
}

void broker_handle_leave_group(broker_call_t *call)
{
    const proto_leave_group_request_t *req = call->request;
    int16_t ver = call->hdr.api_version;
    proto_leave_group_response_t resp;
    proto_msg_init(&proto_leave_group_response_desc, &resp);
    int err = req->group_id.len <= 0 ? KC_ERR_INVALID_GROUP_ID
                                     : groups_coordinator_error(call, req->group_id);
    group_t *g = err ? NULL : group_find(call->b, req->group_id);
    if (g && g->state == GROUP_DEAD) err = KC_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err) {
        resp.error_code = (int16_t)err;
        broker_call_respond(call, &resp);
        return;
    }
    if (ver < 3) {
        resp.error_code = (int16_t)(g ? group_leave(g, req->member_id, PROTO_NULL_SLICE)
                                      : KC_ERR_UNKNOWN_MEMBER_ID);
        broker_call_respond(call, &resp);
        return;
    }
    int32_t n = req->members.n > 0 ? req->members.n : 0;
    proto_leave_group_response_member_response_t *out =
        broker_call_structs(call, n, &proto_leave_group_response_member_response_sdesc);
    if (n && !out) {
        broker_call_close(call, "out of memory");
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const proto_leave_group_request_member_identity_t *mi = &req->members.v[i];
        out[i].member_id = mi->member_id;
        out[i].group_instance_id = mi->group_instance_id;
        /* A leave may end the group's last rebalance; look it up each time. */
        g = group_find(call->b, req->group_id);
        out[i].error_code = (int16_t)(g ? group_leave(g, mi->member_id, mi->group_instance_id)
                                        : KC_ERR_UNKNOWN_MEMBER_ID);
    }
    resp.members.v = out;
    resp.members.n = n;
    broker_call_respond(call, &resp);
}
