/* DeleteRecords: moves a partition's log start offset up (KIP-107).
 *
 * Offset -1 means the high watermark. An offset past the high watermark is
 * OFFSET_OUT_OF_RANGE; one below the current start changes nothing; either
 * way the answer carries the low watermark (the log start afterwards). A
 * topic whose cleanup.policy lacks "delete" refuses, as in Kafka. The storage
 * makes the new start durable before this answers, so a restart keeps it.
 * Parked fetches on the partition are woken: those now below the start answer
 * OFFSET_OUT_OF_RANGE. */
#include <string.h>

#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"
#include "util/log.h"

static int16_t delete_one(broker_call_t *call, proto_str_t topic, int32_t partition, int64_t offset,
                          int64_t *low_watermark)
{
    broker_partition_t *p = broker_partition_find(call->b, topic, partition);
    if (!p) return KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (p->leader_id != call->node->id) return KC_ERR_NOT_LEADER_OR_FOLLOWER;
    const char *policy = broker_topic_conf_get(p->topic, "cleanup.policy");
    if (policy && !strstr(policy, "delete")) return KC_ERR_POLICY_VIOLATION;
    broker_log_offsets_t o;
    broker_log_offsets(p->log, &o);
    if (offset == -1) offset = o.end;
    if (offset < 0 || offset > o.end) return KC_ERR_OFFSET_OUT_OF_RANGE;
    if (offset > o.start) {
        char err[256];
        int rc = broker_log_advance_start(p->log, offset, err, sizeof(err));
        if (rc) {
            log_warn("DeleteRecords %s-%d to %lld: %s", p->topic->name, p->index, (long long)offset,
                     err);
            return (int16_t)rc;
        }
        broker_notify_append(call->b, p);
        broker_log_offsets(p->log, &o);
    }
    *low_watermark = o.start;
    return 0;
}

void broker_handle_delete_records(broker_call_t *call)
{
    const proto_delete_records_request_t *req = call->request;
    proto_delete_records_response_t resp;
    proto_msg_init(&proto_delete_records_response_desc, &resp);
    int32_t nt = req->topics.n > 0 ? req->topics.n : 0;
    proto_delete_records_response_delete_records_topic_result_t *topics = broker_call_structs(
        call, nt, &proto_delete_records_response_delete_records_topic_result_sdesc);
    if (nt && !topics) {
        broker_call_close(call, "out of memory for a DeleteRecords response");
        return;
    }
    for (int32_t i = 0; i < nt; i++) {
        const proto_delete_records_request_delete_records_topic_t *t = &req->topics.v[i];
        int32_t np = t->partitions.n > 0 ? t->partitions.n : 0;
        proto_delete_records_response_delete_records_partition_result_t *parts =
            broker_call_structs(
                call, np, &proto_delete_records_response_delete_records_partition_result_sdesc);
        if (np && !parts) {
            broker_call_close(call, "out of memory for a DeleteRecords response");
            return;
        }
        topics[i].name = t->name;
        topics[i].partitions.v = parts;
        topics[i].partitions.n = np;
        for (int32_t j = 0; j < np; j++) {
            const proto_delete_records_request_delete_records_partition_t *rp = &t->partitions.v[j];
            parts[j].partition_index = rp->partition_index;
            parts[j].low_watermark = -1;
            parts[j].error_code =
                delete_one(call, t->name, rp->partition_index, rp->offset, &parts[j].low_watermark);
        }
    }
    resp.topics.v = topics;
    resp.topics.n = nt;
    broker_call_respond(call, &resp);
}
