/* OffsetCommit (v2-9): per-partition checks (known partition, metadata at
 * most offset.metadata.max.bytes), the group's checks (member, generation;
 * generation -1 commits to an Empty group, as Kafka allows), then the
 * commit, answered once the journal holds it. */
#include "handlers/groups_common.h"
#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"

typedef proto_offset_commit_response_topic_t oc_topic_t;
typedef proto_offset_commit_response_partition_t oc_part_t;

static void commit_done(broker_call_t *call, void *resp)
{
    broker_call_respond(call, resp);
}

void broker_handle_offset_commit(broker_call_t *call)
{
    const proto_offset_commit_request_t *req = call->request;
    int16_t ver = call->hdr.api_version;
    proto_offset_commit_response_t *resp = broker_call_alloc(call, sizeof(*resp));
    int32_t nt = req->topics.n > 0 ? req->topics.n : 0;
    oc_topic_t *topics = broker_call_structs(call, nt, &proto_offset_commit_response_topic_sdesc);
    if (!resp || (nt && !topics)) {
        broker_call_close(call, "out of memory");
        return;
    }
    proto_msg_init(&proto_offset_commit_response_desc, resp);
    int total = 0;
    for (int32_t t = 0; t < nt; t++)
        total += req->topics.v[t].partitions.n > 0 ? req->topics.v[t].partitions.n : 0;
    group_commit_t *commits = broker_call_array(call, total, sizeof(*commits));
    if (total && !commits) {
        broker_call_close(call, "out of memory");
        return;
    }
    int err = req->group_id.len < 0 ? KC_ERR_INVALID_GROUP_ID
                                    : groups_coordinator_error(call, req->group_id);
    int32_t gen = req->generation_id_or_member_epoch;
    proto_str_t instance = ver >= 7 ? req->group_instance_id : PROTO_NULL_SLICE;
    group_t *g = err ? NULL : group_find(call->b, req->group_id);
    if (!err && !g) {
        if (gen < 0) g = group_get_or_create(call->b, req->group_id);
        err = gen >= 0 ? KC_ERR_ILLEGAL_GENERATION : g ? 0 : KC_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    if (!err) err = group_commit_check(g, gen, req->member_id, instance);
    int64_t expire =
        ver <= 4 && req->retention_time_ms >= 0 ? call->b->now_ms() + req->retention_time_ms : -1;
    int n = 0;
    for (int32_t t = 0; t < nt; t++) {
        const proto_offset_commit_request_topic_t *rt = &req->topics.v[t];
        int32_t np = rt->partitions.n > 0 ? rt->partitions.n : 0;
        oc_part_t *parts =
            broker_call_structs(call, np, &proto_offset_commit_response_partition_sdesc);
        if (np && !parts) {
            broker_call_close(call, "out of memory");
            return;
        }
        topics[t].name = rt->name;
        topics[t].partitions.v = parts;
        topics[t].partitions.n = np;
        for (int32_t i = 0; i < np; i++) {
            const proto_offset_commit_request_partition_t *rp = &rt->partitions.v[i];
            parts[i].partition_index = rp->partition_index;
            int perr = err;
            if (!perr && !broker_partition_find(call->b, rt->name, rp->partition_index))
                perr = KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            if (!perr && rp->committed_metadata.len > GROUP_OFFSET_METADATA_MAX)
                perr = KC_ERR_OFFSET_METADATA_TOO_LARGE;
            parts[i].error_code = (int16_t)perr;
            commits[n++] = (group_commit_t){
                .topic = rt->name,
                .partition = rp->partition_index,
                .offset = rp->committed_offset,
                .leader_epoch = ver >= 6 ? rp->committed_leader_epoch : -1,
                .metadata = rp->committed_metadata,
                .expire_ts = expire,
                .error = &parts[i].error_code,
            };
        }
    }
    resp->topics.v = topics;
    resp->topics.n = nt;
    if (err) {
        broker_call_respond(call, resp);
        return;
    }
    group_offsets_commit(call->b, req->group_id, call, commits, n, resp, commit_done);
}
