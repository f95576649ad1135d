/* ListOffsets and OffsetForLeaderEpoch: where a consumer should start.
 *
 * ListOffsets timestamps: -2 earliest (the log start), -1 latest (the high
 * watermark, or the last stable offset for read_committed: the same thing on
 * a broker without transactions in flight), -3 the record with the largest
 * timestamp (KIP-734), -4 earliest local (= earliest: no tiered storage),
 * -5 latest tiered (nothing is tiered: offset -1, as Kafka answers without
 * remote storage), anything else the first record whose timestamp is >= it.
 * The log answers by timestamp at batch level; the batch's records are then
 * decoded (decompressed if needed) to find the record itself, as Kafka does.
 *
 * Leader epochs on kc-broker start at 0 and never change (one node, no
 * elections), so OffsetForLeaderEpoch has one real answer: the current epoch
 * ends at the log end. Any other epoch is unknown to the epoch cache, and
 * Kafka answers that with UNDEFINED (-1, -1) and no error. */
#include <stdlib.h>
#include <string.h>

#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto/proto_record.h"
#include "proto_msgs.h"
#include "util/log.h"

#define TS_EARLIEST_LOCAL (-4)
#define TS_LATEST_TIERED  (-5)

/* The partition if this node leads it at the epoch the client knows (-1 =
 * any), else NULL with *err set. */
static broker_partition_t *led_partition(broker_call_t *call, proto_str_t topic, int32_t partition,
                                         int32_t current_epoch, int16_t *err)
{
    broker_partition_t *p = broker_partition_find(call->b, topic, partition);
    if (!p) {
        *err = KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    if (p->leader_id != call->node->id) {
        *err = KC_ERR_NOT_LEADER_OR_FOLLOWER;
        return NULL;
    }
    if (current_epoch >= 0 && current_epoch != p->leader_epoch) {
        *err = current_epoch < p->leader_epoch ? KC_ERR_FENCED_LEADER_EPOCH
                                               : KC_ERR_UNKNOWN_LEADER_EPOCH;
        return NULL;
    }
    *err = 0;
    return p;
}

typedef struct ts_answer {
    int64_t timestamp, offset;
    int32_t epoch;
} ts_answer_t;

/* Refines a batch-level hit to the first record at or after `target` (and
 * not below the log start). Returns 0 with *ans set (offset -1 when no
 * record qualifies), or a kc_err_t. */
static int refine_to_record(broker_log_t *log, const broker_log_ts_hit_t *hit, int64_t target,
                            int64_t log_start, ts_answer_t *ans)
{
    broker_log_range_t range;
    char err[256];
    int rc = broker_log_read(log, hit->offset, -1, 1, &range, err, sizeof(err));
    if (rc) {
        log_warn("ListOffsets: reading the batch at %lld: %s", (long long)hit->offset, err);
        return rc;
    }
    uint8_t *buf = malloc(range.len ? range.len : 1);
    int64_t got = buf ? broker_log_range_copy(&range, 0, buf, range.len, err, sizeof(err)) : -1;
    broker_log_range_release(&range);
    if (got < 0) {
        free(buf);
        log_warn("ListOffsets: copying the batch at %lld: %s", (long long)hit->offset,
                 buf ? err : "out of memory");
        return KC_ERR_KAFKA_STORAGE_ERROR;
    }
    proto_batch_iter_t bi;
    proto_batch_view_t bv;
    proto_wbuf_t scratch = {0};
    ans->offset = ans->timestamp = -1;
    ans->epoch = -1;
    proto_batch_iter_init(&bi, buf, (size_t)got);
    /* The read starts at the batch holding the hit: only that one counts. */
    if (proto_batch_iter_next(&bi, &bv)) {
        proto_record_iter_t ri;
        proto_record_t r;
        if (proto_record_iter_init(&ri, &bv, 0, &scratch, 0) == 0) {
            while (proto_record_iter_next(&ri, &r))
                if (r.timestamp >= target && r.offset >= log_start) {
                    ans->offset = r.offset;
                    ans->timestamp = r.timestamp;
                    ans->epoch = bv.h.partition_leader_epoch;
                    break;
                }
        }
        if (ri.err)
            log_warn("ListOffsets: batch at %lld: %s", (long long)bv.h.base_offset, ri.errstr);
    }
    proto_wbuf_free(&scratch);
    free(buf);
    return 0;
}

static int offset_for(broker_partition_t *p, int64_t ts, ts_answer_t *ans)
{
    broker_log_offsets_t o;
    broker_log_offsets(p->log, &o);
    ans->timestamp = -1;
    ans->epoch = p->leader_epoch;
    switch (ts) {
    case BROKER_LOG_TS_EARLIEST:
    case TS_EARLIEST_LOCAL: ans->offset = o.start; return 0;
    case BROKER_LOG_TS_LATEST: ans->offset = o.end; return 0;
    case TS_LATEST_TIERED:
        ans->offset = -1;
        ans->epoch = -1;
        return 0;
    default: break;
    }
    broker_log_ts_hit_t hit;
    char err[256];
    int rc = broker_log_offset_for_time(p->log, ts, &hit, err, sizeof(err));
    if (rc) {
        log_warn("ListOffsets %s-%d by time: %s", p->topic->name, p->index, err);
        return rc;
    }
    if (hit.offset < 0) {
        ans->offset = -1;
        ans->epoch = -1;
        return 0;
    }
    /* KIP-734: the first record holding the largest timestamp. */
    return refine_to_record(p->log, &hit, ts == BROKER_LOG_TS_MAX ? hit.timestamp : ts, o.start,
                            ans);
}

/* Kafka answers INVALID_REQUEST for every copy of a partition asked twice. */
static int is_duplicate(const proto_list_offsets_request_t *req, int32_t ti, int32_t pi)
{
    const proto_list_offsets_request_list_offsets_topic_t *t = &req->topics.v[ti];
    int32_t part = t->partitions.v[pi].partition_index;
    for (int32_t i = 0; i < req->topics.n; i++) {
        const proto_list_offsets_request_list_offsets_topic_t *u = &req->topics.v[i];
        if (u->name.len != t->name.len ||
            (t->name.len > 0 && memcmp(u->name.ptr, t->name.ptr, (size_t)t->name.len)))
            continue;
        for (int32_t j = 0; j < u->partitions.n; j++)
            if ((i != ti || j != pi) && u->partitions.v[j].partition_index == part) return 1;
    }
    return 0;
}

void broker_handle_list_offsets(broker_call_t *call)
{
    const proto_list_offsets_request_t *req = call->request;
    proto_list_offsets_response_t resp;
    proto_msg_init(&proto_list_offsets_response_desc, &resp);
    proto_list_offsets_response_list_offsets_topic_response_t *topics = broker_call_structs(
        call, req->topics.n, &proto_list_offsets_response_list_offsets_topic_response_sdesc);
    if (req->topics.n > 0 && !topics) {
        broker_call_close(call, "out of memory for a ListOffsets response");
        return;
    }
    for (int32_t i = 0; i < req->topics.n; i++) {
        const proto_list_offsets_request_list_offsets_topic_t *t = &req->topics.v[i];
        proto_list_offsets_response_list_offsets_partition_response_t *parts =
            broker_call_structs(call, t->partitions.n,
                                &proto_list_offsets_response_list_offsets_partition_response_sdesc);
        if (t->partitions.n > 0 && !parts) {
            broker_call_close(call, "out of memory for a ListOffsets response");
            return;
        }
        topics[i].name = t->name;
        topics[i].partitions.v = parts;
        topics[i].partitions.n = t->partitions.n > 0 ? t->partitions.n : 0;
        for (int32_t j = 0; j < t->partitions.n; j++) {
            const proto_list_offsets_request_list_offsets_partition_t *rp = &t->partitions.v[j];
            proto_list_offsets_response_list_offsets_partition_response_t *out = &parts[j];
            out->partition_index = rp->partition_index;
            out->timestamp = out->offset = -1;
            out->leader_epoch = -1;
            if (is_duplicate(req, i, j)) {
                out->error_code = KC_ERR_INVALID_REQUEST;
                continue;
            }
            int16_t err;
            broker_partition_t *p =
                led_partition(call, t->name, rp->partition_index, rp->current_leader_epoch, &err);
            ts_answer_t ans = {-1, -1, -1};
            if (p) err = (int16_t)offset_for(p, rp->timestamp, &ans);
            out->error_code = err;
            if (!p || err) continue;
            out->timestamp = ans.timestamp;
            out->offset = ans.offset;
            if (call->hdr.api_version >= 4) out->leader_epoch = ans.offset >= 0 ? ans.epoch : -1;
        }
    }
    resp.topics.v = topics;
    resp.topics.n = req->topics.n > 0 ? req->topics.n : 0;
    broker_call_respond(call, &resp);
}

void broker_handle_offset_for_leader_epoch(broker_call_t *call)
{
    const proto_offset_for_leader_epoch_request_t *req = call->request;
    proto_offset_for_leader_epoch_response_t resp;
    proto_msg_init(&proto_offset_for_leader_epoch_response_desc, &resp);
    proto_offset_for_leader_epoch_response_offset_for_leader_topic_result_t *topics =
        broker_call_structs(
            call, req->topics.n,
            &proto_offset_for_leader_epoch_response_offset_for_leader_topic_result_sdesc);
    if (req->topics.n > 0 && !topics) {
        broker_call_close(call, "out of memory for an OffsetForLeaderEpoch response");
        return;
    }
    for (int32_t i = 0; i < req->topics.n; i++) {
        const proto_offset_for_leader_epoch_request_offset_for_leader_topic_t *t =
            &req->topics.v[i];
        proto_offset_for_leader_epoch_response_epoch_end_offset_t *parts = broker_call_structs(
            call, t->partitions.n, &proto_offset_for_leader_epoch_response_epoch_end_offset_sdesc);
        if (t->partitions.n > 0 && !parts) {
            broker_call_close(call, "out of memory for an OffsetForLeaderEpoch response");
            return;
        }
        topics[i].topic = t->topic;
        topics[i].partitions.v = parts;
        topics[i].partitions.n = t->partitions.n > 0 ? t->partitions.n : 0;
        for (int32_t j = 0; j < t->partitions.n; j++) {
            const proto_offset_for_leader_epoch_request_offset_for_leader_partition_t *rp =
                &t->partitions.v[j];
            proto_offset_for_leader_epoch_response_epoch_end_offset_t *out = &parts[j];
            out->partition = rp->partition;
            out->leader_epoch = -1;
            out->end_offset = -1;
            int16_t err;
            broker_partition_t *p =
                led_partition(call, t->topic, rp->partition, rp->current_leader_epoch, &err);
            out->error_code = err;
            if (!p || rp->leader_epoch != p->leader_epoch) continue;
            broker_log_offsets_t o;
            broker_log_offsets(p->log, &o);
            out->leader_epoch = p->leader_epoch;
            out->end_offset = o.end;
        }
    }
    resp.topics.v = topics;
    resp.topics.n = req->topics.n > 0 ? req->topics.n : 0;
    broker_call_respond(call, &resp);
}
