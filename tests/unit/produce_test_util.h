/* Helpers for the Produce tests: real batches from proto_batch_builder and a
 * one-partition Produce through the harness client. Header-only; include
 * after broker_harness.h. */
#ifndef KC_TEST_PRODUCE_TEST_UTIL_H
#define KC_TEST_PRODUCE_TEST_UTIL_H

#include "proto/proto_batch.h"
#include "proto/proto_compress.h"

typedef struct batch_opts {
    int records;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int16_t attributes;
    int codec;
    int value_size; /* bytes per value; 0: a short text */
} batch_opts_t;

#define BATCH_OPTS_INIT                                                             \
    {                                                                               \
        .records = 1, .producer_id = -1, .producer_epoch = -1, .base_sequence = -1, \
        .attributes = 0, .codec = PROTO_CODEC_NONE, .value_size = 0                 \
    }

/* Appends one finished batch to w (reset first). */
static inline void build_batch(proto_wbuf_t *w, const batch_opts_t *o)
{
    proto_wbuf_reset(w);
    proto_batch_builder_t bb;
    proto_batch_params_t params = PROTO_BATCH_PARAMS_INIT;
    params.producer_id = o->producer_id;
    params.producer_epoch = o->producer_epoch;
    params.base_sequence = o->base_sequence;
    params.attributes = o->attributes;
    if (proto_batch_builder_begin(&bb, w, &params) != 0) exit(1);
    char *value = malloc(o->value_size > 0 ? (size_t)o->value_size : 16);
    memset(value, 'v', o->value_size > 0 ? (size_t)o->value_size : 16);
    for (int i = 0; i < o->records; i++) {
        int32_t vlen = o->value_size > 0 ? o->value_size : 5;
        if (proto_batch_builder_append(&bb, 1700000000000LL + i, "k", 1, value, vlen, NULL, 0))
            exit(1);
    }
    free(value);
    proto_wbuf_t scratch = {0};
    char err[256];
    if (proto_batch_builder_finish(&bb, o->codec, -1, &scratch, err, sizeof(err)) != 0) {
        fprintf(stderr, "build_batch: %s\n", err);
        exit(1);
    }
    proto_wbuf_free(&scratch);
}

typedef struct produce_result {
    int16_t error_code;
    int64_t base_offset;
    int64_t log_append_time_ms;
    int64_t log_start_offset;
    int32_t leader_id; /* current_leader, v10+ */
    int32_t node_endpoints;
    int got_response;
} produce_result_t;

/* Produces data[0..len) to topic/partition and returns the partition's
 * answer (got_response 0 when none came within 10 s, or for acks=0). */
static inline produce_result_t produce_raw(int fd, int16_t version, int16_t acks, const char *topic,
                                           int32_t partition, const void *data, int32_t len)
{
    proto_produce_request_t req;
    proto_msg_init(&proto_produce_request_desc, &req);
    proto_produce_request_partition_produce_data_t pd = {.index = partition,
                                                         .records = {(const uint8_t *)data, len}};
    proto_produce_request_topic_produce_data_t td = {.name = proto_str_of(topic)};
    td.partition_data.v = &pd;
    td.partition_data.n = 1;
    req.acks = acks;
    req.timeout_ms = 5000;
    req.topic_data.v = &td;
    req.topic_data.n = 1;
    produce_result_t res = {.error_code = -1, .base_offset = -2};
    int32_t corr = harness_send(fd, PROTO_API_PRODUCE, version, &req);
    if (corr < 0 || acks == 0) return res;
    proto_produce_response_t resp;
    proto_arena_t arena;
    proto_arena_init(&arena);
    uint8_t *frame = harness_recv(fd, PROTO_API_PRODUCE, version, corr, &resp, &arena, 10000);
    if (frame && resp.responses.n == 1 && resp.responses.v[0].partition_responses.n == 1) {
        const proto_produce_response_partition_produce_response_t *p =
            &resp.responses.v[0].partition_responses.v[0];
        res.got_response = 1;
        res.error_code = p->error_code;
        res.base_offset = p->base_offset;
        res.log_append_time_ms = p->log_append_time_ms;
        res.log_start_offset = p->log_start_offset;
        res.leader_id = p->current_leader.leader_id;
        res.node_endpoints = resp.node_endpoints.n;
    }
    free(frame);
    proto_arena_destroy(&arena);
    return res;
}

static inline produce_result_t produce_batch(int fd, int16_t version, const char *topic,
                                             int32_t partition, const batch_opts_t *o)
{
    proto_wbuf_t w = {0};
    build_batch(&w, o);
    produce_result_t r = produce_raw(fd, version, 1, topic, partition, w.data, (int32_t)w.len);
    proto_wbuf_free(&w);
    return r;
}

/* A plain one-record produce: returns the base offset (or -error). */
static inline int64_t produce_one(int fd, const char *topic, int32_t partition)
{
    batch_opts_t o = BATCH_OPTS_INIT;
    produce_result_t r = produce_batch(fd, 9, topic, partition, &o);
    return r.error_code ? -r.error_code : r.base_offset;
}

/* InitProducerId with a null transactional id; returns the error code. */
static inline int16_t init_producer_id(int fd, int16_t version, int64_t pid_in, int16_t epoch_in,
                                       int64_t *pid, int16_t *epoch)
{
    proto_init_producer_id_request_t req;
    proto_msg_init(&proto_init_producer_id_request_desc, &req);
    req.transactional_id = PROTO_NULL_SLICE;
    req.transaction_timeout_ms = 60000;
    req.producer_id = pid_in;
    req.producer_epoch = epoch_in;
    proto_init_producer_id_response_t resp;
    proto_arena_t arena;
    proto_arena_init(&arena);
    uint8_t *frame = harness_call(fd, PROTO_API_INIT_PRODUCER_ID, version, &req, &resp, &arena);
    int16_t err = frame ? resp.error_code : -1;
    if (frame) {
        *pid = resp.producer_id;
        *epoch = resp.producer_epoch;
    }
    free(frame);
    proto_arena_destroy(&arena);
    return err;
}

#endif
