/* Produce (key 0): validate each partition's batch, check the idempotent
 * producer's sequence, append, and answer once every partition is done --
 * after the batched flush when log.flush.interval.messages says the data must
 * be on disk before the ack.
 *
 * Versions: 3-12 are served (v0-2 close the connection, as Kafka 4 does);
 * v12 is v11 (kc-broker advertises no transaction.version feature). Kafka's
 * rules kept here: one magic-2 batch per partition (INVALID_RECORD /
 * CORRUPT_MESSAGE), zstd only from v7 (UNSUPPORTED_COMPRESSION_TYPE),
 * message.max.bytes / max.message.bytes (MESSAGE_TOO_LARGE), LogAppendTime
 * topics get the broker's time and a new CRC, acks=0 gets no answer -- and a
 * closed connection when something failed, so the client notices.
 *
 * Transactional batches: kc-broker has no transaction coordinator, so no
 * transactional id can have added a partition to a transaction. Kafka's
 * answer when the coordinator does not know the producer's transactional id
 * is INVALID_PRODUCER_ID_MAPPING; that is what these batches get, with a
 * message saying why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "producers/producers.h"
#include "proto/proto_batch.h"
#include "proto_msgs.h"
#include "util/log.h"

typedef proto_produce_response_partition_produce_response_t part_resp_t;

typedef struct produce_ctx {
    proto_produce_response_t resp;
    part_resp_t **awaiting; /* appended partitions whose ack waits for the flush */
    int32_t nawaiting;
    int32_t *leaders; /* node ids named in NOT_LEADER_OR_FOLLOWER answers (v10+) */
    int32_t nleaders;
    int errors;
    proto_wbuf_t scratch; /* decompression for validation */
} produce_ctx_t;

static void part_fail(broker_call_t *call, produce_ctx_t *ctx, part_resp_t *out, int err,
                      const char *msg)
{
    out->error_code = (int16_t)err;
    out->base_offset = -1;
    out->log_append_time_ms = -1;
    out->log_start_offset = -1;
    if (msg && msg[0]) out->error_message = broker_call_str(call, msg);
    ctx->errors++;
}

static int64_t topic_max_bytes(broker_t *b, const broker_topic_t *t)
{
    const char *v = broker_topic_conf_get(t, "max.message.bytes");
    if (v) {
        char *end;
        long long x = strtoll(v, &end, 10);
        if (end != v && !*end && x >= 0) return x;
    }
    return b->conf->message_max_bytes;
}

static int topic_log_append_time(broker_t *b, const broker_topic_t *t)
{
    const char *v = broker_topic_conf_get(t, "message.timestamp.type");
    if (v) return !strcmp(v, "LogAppendTime");
    return b->conf->log_message_timestamp_type == BROKER_TS_LOG_APPEND_TIME;
}

static void not_leader(broker_call_t *call, produce_ctx_t *ctx, part_resp_t *out,
                       const broker_partition_t *p)
{
    part_fail(call, ctx, out, KC_ERR_NOT_LEADER_OR_FOLLOWER, NULL);
    if (call->hdr.api_version < 10) return; /* CurrentLeader is v10+: v9 could not encode it */
    out->current_leader.leader_id = p->leader_id;
    out->current_leader.leader_epoch = p->leader_epoch;
    for (int32_t i = 0; i < ctx->nleaders; i++)
        if (ctx->leaders[i] == p->leader_id) return;
    ctx->leaders[ctx->nleaders++] = p->leader_id;
}

/* A duplicate is acknowledged like its original, so when the original's ack
 * had to wait for the disk, so does this one. */
static int dup_needs_flush(broker_t *b, broker_partition_t *p, const broker_producer_batch_t *dup)
{
    int64_t every = b->conf->log_flush_interval_messages;
    if (every <= 0 || p->unflushed_msgs < every) return 0;
    broker_log_offsets_t off;
    broker_log_offsets(p->log, &off);
    return dup->last_offset >= off.flushed;
}

/* Validation, producer checks and the append of one partition's batch. */
static void produce_partition(broker_call_t *call, produce_ctx_t *ctx, broker_partition_t *p,
                              proto_bytes_t records, part_resp_t *out)
{
    broker_t *b = call->b;
    const broker_topic_t *t = p->topic;
    int16_t ver = call->hdr.api_version;
    char errstr[256] = "";
    if (records.len <= 0) {
        part_fail(call, ctx, out, KC_ERR_INVALID_RECORD,
                  "Produce v3+ must hold exactly one record batch; this one holds none");
        return;
    }
    /* The frame is ours: batches are patched (offsets, epoch, LogAppendTime)
     * in place and stored as they are. */
    uint8_t *data = (uint8_t *)records.ptr;
    size_t len = (size_t)records.len;
    proto_batch_validate_opts_t vo = {
        .allow_zstd = ver >= 7, .decompress = 1, .scratch = &ctx->scratch};
    proto_batch_header_t h;
    int rc = proto_batch_validate(data, len, &vo, &h, errstr, sizeof(errstr));
    if (rc) {
        part_fail(call, ctx, out, rc, errstr);
        return;
    }
    int64_t max = topic_max_bytes(b, t);
    if ((int64_t)len > max) {
        snprintf(errstr, sizeof(errstr), "the batch has %zu bytes; the limit is %lld", len,
                 (long long)max);
        part_fail(call, ctx, out, KC_ERR_MESSAGE_TOO_LARGE, errstr);
        return;
    }
    if (h.attributes & PROTO_BATCH_ATTR_TRANSACTIONAL) {
        part_fail(call, ctx, out, KC_ERR_INVALID_PRODUCER_ID_MAPPING,
                  "kc-broker has no transactions: no transactional id is known here");
        return;
    }
    int64_t now = b->now_ms();
    broker_producer_state_t *ps = NULL;
    if (h.producer_id >= 0) {
        ps = broker_producers_get(b, p);
        if (!ps) {
            part_fail(call, ctx, out, KC_ERR_KAFKA_STORAGE_ERROR,
                      "the partition's producer state could not be loaded");
            return;
        }
        broker_producers_expire(b, ps, now);
        broker_producer_verdict_t verdict;
        broker_producer_batch_t dup;
        rc = broker_producers_check(b, ps, &h, &verdict, &dup, errstr, sizeof(errstr));
        if (rc) {
            part_fail(call, ctx, out, rc, errstr);
            return;
        }
        if (verdict == BROKER_PRODUCER_DUPLICATE) {
            broker_log_offsets_t off;
            broker_log_offsets(p->log, &off);
            out->base_offset = dup.first_offset;
            out->log_append_time_ms = topic_log_append_time(b, t) ? dup.timestamp : -1;
            out->log_start_offset = off.start;
            if (dup_needs_flush(b, p, &dup)) ctx->awaiting[ctx->nawaiting++] = out;
            return;
        }
    }
    int lat = topic_log_append_time(b, t);
    if (lat) {
        proto_batch_set_log_append_time(data, len, now);
        h.max_timestamp = now;
    }
    proto_batch_set_partition_leader_epoch(data, p->leader_epoch);
    broker_log_append_info_t info;
    rc = broker_log_append(p->log, data, len, now, &info, errstr, sizeof(errstr));
    if (rc) {
        if (rc == KC_ERR_KAFKA_STORAGE_ERROR)
            log_error("produce to %s-%d: %s", t->name, p->index, errstr);
        part_fail(call, ctx, out, rc, errstr);
        return;
    }
    if (ps && broker_producers_update(b, ps, &h, info.base_offset, now) != 0)
        log_error("produce to %s-%d: out of memory recording producer %lld; a retry of this "
                  "batch would be appended again",
                  t->name, p->index, (long long)h.producer_id);
    out->error_code = 0;
    out->base_offset = info.base_offset;
    out->log_append_time_ms = lat ? now : -1;
    out->log_start_offset = info.start;
    broker_notify_append(b, p);
    if (broker_partition_note_append(b, p, h.record_count)) ctx->awaiting[ctx->nawaiting++] = out;
}

/* The topic of a produce entry, auto-created when the broker allows; NULL
 * with *err. */
static broker_topic_t *produce_topic(broker_t *b, proto_str_t name, int *err)
{
    broker_topic_t *t = broker_topic_find(b, name);
    *err = 0;
    if (t) {
        if (t->internal) *err = KC_ERR_INVALID_TOPIC_EXCEPTION; /* clients may not write there */
        return *err ? NULL : t;
    }
    char why[256];
    if (broker_topic_name_check(name, why, sizeof(why)) == 0 && b->conf->auto_create_topics_enable)
        t = broker_topic_auto_create(b, name, err);
    if (!t && (!*err || *err == KC_ERR_INVALID_TOPIC_EXCEPTION))
        *err = KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    return t;
}

static void fill_node_endpoints(broker_call_t *call, produce_ctx_t *ctx)
{
    if (!ctx->nleaders || call->hdr.api_version < 10) return;
    proto_produce_response_node_endpoint_t *eps =
        broker_call_structs(call, ctx->nleaders, &proto_produce_response_node_endpoint_sdesc);
    int32_t n = 0;
    for (int32_t i = 0; eps && i < ctx->nleaders; i++) {
        broker_node_t *node = broker_node_find(call->b, ctx->leaders[i]);
        if (!node) continue;
        eps[n].node_id = node->id;
        eps[n].host = proto_str_of(node->host);
        eps[n].port = node->port;
        eps[n].rack = proto_str_of(node->rack);
        n++;
    }
    ctx->resp.node_endpoints.v = eps;
    ctx->resp.node_endpoints.n = n;
}

static void ctx_release(produce_ctx_t *ctx)
{
    proto_wbuf_free(&ctx->scratch);
}

static void produce_flushed(void *arg, int err)
{
    broker_call_t *call = arg;
    produce_ctx_t *ctx = call->handler_data;
    if (err)
        for (int32_t i = 0; i < ctx->nawaiting; i++) {
            part_resp_t *out = ctx->awaiting[i];
            out->error_code = KC_ERR_KAFKA_STORAGE_ERROR;
            out->base_offset = -1;
            out->log_append_time_ms = -1;
            out->log_start_offset = -1;
            out->error_message = proto_str_of("the log could not be flushed to disk");
        }
    broker_call_respond(call, &ctx->resp);
}

static void produce_abandoned(broker_call_t *call)
{
    broker_flush_cancel(call->b, call);
}

static int32_t partition_total(const proto_produce_request_t *req)
{
    int64_t n = 0;
    for (int32_t i = 0; i < req->topic_data.n; i++)
        n += req->topic_data.v[i].partition_data.n > 0 ? req->topic_data.v[i].partition_data.n : 0;
    return n > INT32_MAX ? INT32_MAX : (int32_t)n;
}

void broker_handle_produce(broker_call_t *call)
{
    broker_t *b = call->b;
    const proto_produce_request_t *req = call->request;
    produce_ctx_t *ctx = broker_call_alloc(call, sizeof(*ctx));
    int32_t total = partition_total(req);
    if (ctx) {
        ctx->awaiting = broker_call_array(call, total, sizeof(*ctx->awaiting));
        ctx->leaders = broker_call_array(call, total, sizeof(*ctx->leaders));
    }
    proto_produce_response_topic_produce_response_t *topics = broker_call_structs(
        call, req->topic_data.n, &proto_produce_response_topic_produce_response_sdesc);
    if (!ctx || (total && (!ctx->awaiting || !ctx->leaders)) ||
        (req->topic_data.n > 0 && !topics)) {
        broker_call_close(call, "out of memory for a Produce response");
        return;
    }
    proto_msg_init(&proto_produce_response_desc, &ctx->resp);
    proto_wbuf_init(&ctx->scratch, 0);
    call->handler_data = ctx;
    int acks_ok = req->acks == 0 || req->acks == 1 || req->acks == -1;
    for (int32_t i = 0; i < req->topic_data.n; i++) {
        const proto_produce_request_topic_produce_data_t *td = &req->topic_data.v[i];
        int32_t np = td->partition_data.n > 0 ? td->partition_data.n : 0;
        part_resp_t *parts =
            broker_call_structs(call, np, &proto_produce_response_partition_produce_response_sdesc);
        if (np && !parts) {
            ctx_release(ctx);
            broker_call_close(call, "out of memory for a Produce response");
            return;
        }
        topics[i].name = td->name;
        topics[i].partition_responses.v = parts;
        topics[i].partition_responses.n = np;
        int terr = 0;
        broker_topic_t *t = acks_ok ? produce_topic(b, td->name, &terr) : NULL;
        for (int32_t j = 0; j < np; j++) {
            const proto_produce_request_partition_produce_data_t *pd = &td->partition_data.v[j];
            part_resp_t *out = &parts[j];
            out->index = pd->index;
            if (!acks_ok) {
                part_fail(call, ctx, out, KC_ERR_INVALID_REQUIRED_ACKS, NULL);
                continue;
            }
            if (!t) {
                part_fail(call, ctx, out, terr, NULL);
                continue;
            }
            if (pd->index < 0 || pd->index >= t->partition_count) {
                part_fail(call, ctx, out, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL);
                continue;
            }
            broker_partition_t *p = t->partitions[pd->index];
            if (p->leader_id != call->node->id) {
                not_leader(call, ctx, out, p);
                continue;
            }
            produce_partition(call, ctx, p, pd->records, out);
        }
    }
    ctx->resp.responses.v = topics;
    ctx->resp.responses.n = req->topic_data.n;
    fill_node_endpoints(call, ctx);
    ctx_release(ctx);
    if (req->acks == 0) {
        /* No answer to carry the error: Kafka closes the connection so that
         * the client finds out and refreshes its metadata. */
        if (ctx->errors)
            broker_call_close(call, "Produce with acks=0 failed for some partition");
        else
            broker_call_finish_silent(call);
        return;
    }
    if (ctx->nawaiting) {
        if (broker_flush_wait(b, produce_flushed, call) == 0) {
            call->on_abandon = produce_abandoned;
            return;
        }
        produce_flushed(call, KC_ERR__NO_MEMORY);
        return;
    }
    broker_call_respond(call, &ctx->resp);
}
