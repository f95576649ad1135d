/* DescribeGroups (v0-6), ListGroups (v0-5: v4+ filters by state, v5 by
 * type; every group here is "classic") and DeleteGroups (v0-2: only Empty
 * groups, with their offsets). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "handlers/groups_common.h"
#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"

typedef proto_describe_groups_response_described_group_t dg_t;
typedef proto_describe_groups_response_described_group_member_t dgm_t;

static const uint8_t no_bytes[1];

static void describe_members(broker_call_t *call, const group_t *g, dg_t *out)
{
    int stable = g->state == GROUP_STABLE;
    dgm_t *v = broker_call_structs(call, g->nmembers,
                                   &proto_describe_groups_response_described_group_member_sdesc);
    int32_t n = 0;
    const group_member_t *m;
    TAILQ_FOREACH(m, &g->members, link)
    {
        if (!v) break;
        v[n].member_id = proto_str_of(m->id);
        v[n].group_instance_id = m->instance_id ? proto_str_of(m->instance_id) : PROTO_NULL_SLICE;
        v[n].client_id = proto_str_of(m->client_id);
        v[n].client_host = proto_str_of(m->client_host);
        v[n].member_metadata = proto_slice_of(no_bytes, 0);
        v[n].member_assignment = proto_slice_of(no_bytes, 0);
        /* Kafka shows metadata and assignments only once the group is Stable. */
        if (stable) {
            for (int i = 0; i < m->nprotocols; i++)
                if (g->protocol_name && !strcmp(m->protocols[i].name, g->protocol_name))
                    v[n].member_metadata =
                        proto_slice_of(m->protocols[i].metadata, (size_t)m->protocols[i].len);
            if (m->assignment)
                v[n].member_assignment = proto_slice_of(m->assignment, (size_t)m->assignment_len);
        }
        n++;
    }
    out->members.v = v;
    out->members.n = n;
}

void broker_handle_describe_groups(broker_call_t *call)
{
    const proto_describe_groups_request_t *req = call->request;
    int16_t ver = call->hdr.api_version;
    proto_describe_groups_response_t resp;
    proto_msg_init(&proto_describe_groups_response_desc, &resp);
    int32_t n = req->groups.n > 0 ? req->groups.n : 0;
    dg_t *out = broker_call_structs(call, n, &proto_describe_groups_response_described_group_sdesc);
    if (n && !out) {
        broker_call_close(call, "out of memory");
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        proto_str_t id = req->groups.v[i];
        dg_t *d = &out[i];
        d->group_id = id;
        d->group_state = proto_str_of("");
        d->protocol_type = proto_str_of("");
        d->protocol_data = proto_str_of("");
        d->members.n = 0;
        int err = id.len < 0 ? KC_ERR_INVALID_GROUP_ID : groups_coordinator_error(call, id);
        if (err) {
            d->error_code = (int16_t)err;
            continue;
        }
        if (req->include_authorized_operations) d->authorized_operations = GROUP_ALL_OPERATIONS;
        group_t *g = group_find(call->b, id);
        if (!g) {
            d->group_state = proto_str_of("Dead");
            if (ver >= 6) {
                d->error_code = KC_ERR_GROUP_ID_NOT_FOUND;
                char msg[300];
                snprintf(msg, sizeof(msg), "Group %.*s not found.",
                         id.len > 200 ? 200 : (int)id.len, id.ptr ? (const char *)id.ptr : "");
                d->error_message = broker_call_str(call, msg);
            }
            continue;
        }
        d->group_state = proto_str_of(group_state_name(g->state));
        d->protocol_type = proto_str_of(g->protocol_type ? g->protocol_type : "");
        if (g->state == GROUP_STABLE && g->protocol_name)
            d->protocol_data = proto_str_of(g->protocol_name);
        describe_members(call, g, d);
    }
    resp.groups.v = out;
    resp.groups.n = n;
    broker_call_respond(call, &resp);
}

static int in_filter(proto_str_t *v, int32_t n, const char *s)
{
    if (n <= 0) return 1;
    for (int32_t i = 0; i < n; i++)
        if (v[i].len == (int32_t)strlen(s) &&
            !strncasecmp((const char *)v[i].ptr, s, (size_t)v[i].len))
            return 1;
    return 0;
}

void broker_handle_list_groups(broker_call_t *call)
{
    const proto_list_groups_request_t *req = call->request;
    int16_t ver = call->hdr.api_version;
    proto_list_groups_response_t resp;
    proto_msg_init(&proto_list_groups_response_desc, &resp);
    const util_hmap_t *all = broker_groups_all(call->b);
    proto_list_groups_response_listed_group_t *v = broker_call_structs(
        call, (int32_t)all->count, &proto_list_groups_response_listed_group_sdesc);
    int32_t n = 0;
    size_t it = 0;
    group_t *g;
    while (v && util_hmap_next(all, &it, NULL, NULL, (void **)&g)) {
        if (g->state == GROUP_DEAD) continue;
        if (groups_coordinator_error(call, proto_str_of(g->id))) continue;
        const char *state = group_state_name(g->state);
        if (ver >= 4 && !in_filter(req->states_filter.v, req->states_filter.n, state)) continue;
        if (ver >= 5 && !in_filter(req->types_filter.v, req->types_filter.n, "classic")) continue;
        v[n].group_id = proto_str_of(g->id);
        v[n].protocol_type = proto_str_of(g->protocol_type ? g->protocol_type : "");
        v[n].group_state = proto_str_of(state);
        v[n].group_type = proto_str_of("classic");
        n++;
    }
    resp.groups.v = v;
    resp.groups.n = n;
    broker_call_respond(call, &resp);
}

void broker_handle_delete_groups(broker_call_t *call)
{
    const proto_delete_groups_request_t *req = call->request;
    proto_delete_groups_response_t resp;
    proto_msg_init(&proto_delete_groups_response_desc, &resp);
    int32_t n = req->groups_names.n > 0 ? req->groups_names.n : 0;
    proto_delete_groups_response_deletable_group_result_t *out =
        broker_call_structs(call, n, &proto_delete_groups_response_deletable_group_result_sdesc);
    if (n && !out) {
        broker_call_close(call, "out of memory");
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        proto_str_t id = req->groups_names.v[i];
        out[i].group_id = id;
        int err = id.len < 0 ? KC_ERR_INVALID_GROUP_ID : groups_coordinator_error(call, id);
        group_t *g = err ? NULL : group_find(call->b, id);
        if (!err && (!g || g->state == GROUP_DEAD)) err = KC_ERR_GROUP_ID_NOT_FOUND;
        if (!err && (g->state != GROUP_EMPTY || g->busy)) err = KC_ERR_NON_EMPTY_GROUP;
        if (!err) group_delete(g);
        out[i].error_code = (int16_t)err;
    }
    resp.results.v = out;
    resp.results.n = n;
    broker_call_respond(call, &resp);
}
