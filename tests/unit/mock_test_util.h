/* Helpers for the mock cluster's tests: a mock cluster, the broker ports
 * parsed from its bootstrap string, and protocol calls made with the codec
 * (through broker_harness.h's blocking client). Header-only: each test
 * program includes it once. */
#ifndef KC_TEST_MOCK_UTIL_H
#define KC_TEST_MOCK_UTIL_H

#include <errno.h>

#include "broker_harness.h"
#include "kc/kc_mock.h"
#include "proto/proto_batch.h"
#include "proto/proto_compress.h"

typedef struct mock_fixture {
    kc_mock_cluster_t *mc;
    int nports;
    int ports[16];
} mock_fixture_t;

/* A cluster with broker properties (kc_mock_cluster_new_with; NULL: none). */
static void mock_fixture_start_with(mock_fixture_t *f, int brokers, const char *const *props)
{
    memset(f, 0, sizeof(*f));
    util_log_set_level(getenv("KC_TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
    char err[256];
    f->mc = kc_mock_cluster_new_with(brokers, props, err, sizeof(err));
    if (!f->mc) {
        fprintf(stderr, "mock: %s\n", err);
        exit(1);
    }
    const char *s = kc_mock_cluster_bootstrap(f->mc);
    while (s && *s && f->nports < 16) {
        const char *colon = strchr(s, ':');
        if (!colon) break;
        f->ports[f->nports++] = atoi(colon + 1);
        s = strchr(colon, ',');
        if (s) s++;
    }
}

static void mock_fixture_start(mock_fixture_t *f, int brokers)
{
    mock_fixture_start_with(f, brokers, NULL);
}

static void mock_fixture_stop(mock_fixture_t *f)
{
    kc_mock_cluster_destroy(f->mc);
    f->mc = NULL;
}

/* A connection to broker id (1..n); -1 if refused. */
static int mock_try_connect(mock_fixture_t *f, int32_t broker_id)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)f->ports[broker_id - 1])};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int mock_connect(mock_fixture_t *f, int32_t broker_id)
{
    int fd = mock_try_connect(f, broker_id);
    if (fd < 0) {
        fprintf(stderr, "mock: cannot connect to broker %d: %s\n", broker_id, strerror(errno));
        exit(1);
    }
    return fd;
}

/* Metadata v12 for one topic (NULL: every topic). */
static uint8_t *mock_metadata(int fd, const char *topic, proto_metadata_response_t *resp,
                              proto_arena_t *a)
{
    proto_metadata_request_t req;
    proto_msg_init(&proto_metadata_request_desc, &req);
    proto_metadata_request_topic_t t;
    proto_struct_init(&proto_metadata_request_topic_sdesc, &t);
    if (topic) {
        t.name = proto_str_of(topic);
        req.topics.v = &t;
        req.topics.n = 1;
    } else {
        req.topics.n = -1;
    }
    req.allow_auto_topic_creation = false;
    return harness_call(fd, PROTO_API_METADATA, 12, &req, resp, a);
}

/* Produce v9 of `count` small records to topic/partition with acks; fills
 * *error and *base_offset from the response. Returns 0, or -1 if no
 * response came (closed connection, or acks=0). */
static int mock_produce(int fd, const char *topic, int32_t partition, int count, int16_t acks,
                        int16_t *error, int64_t *base_offset)
{
    proto_wbuf_t w = {0}, scratch = {0};
    proto_batch_builder_t bb;
    proto_batch_params_t params = PROTO_BATCH_PARAMS_INIT;
    proto_batch_builder_begin(&bb, &w, &params);
    for (int i = 0; i < count; i++) {
        char v[32];
        int n = snprintf(v, sizeof(v), "value-%d", i);
        proto_batch_builder_append(&bb, 1700000000000 + i, NULL, -1, v, n, NULL, 0);
    }
    char err[256];
    if (proto_batch_builder_finish(&bb, PROTO_CODEC_NONE, -1, &scratch, err, sizeof(err)))
        return -1;
    proto_produce_request_t req;
    proto_msg_init(&proto_produce_request_desc, &req);
    proto_produce_request_partition_produce_data_t pd = {.index = partition};
    pd.records = proto_slice_of(w.data, w.len);
    proto_produce_request_topic_produce_data_t td;
    proto_struct_init(&proto_produce_request_topic_produce_data_sdesc, &td);
    td.name = proto_str_of(topic);
    td.partition_data.v = &pd;
    td.partition_data.n = 1;
    req.acks = acks;
    req.timeout_ms = 5000;
    req.topic_data.v = &td;
    req.topic_data.n = 1;
    int rc = -1;
    if (acks == 0) {
        harness_send(fd, PROTO_API_PRODUCE, 9, &req);
    } else {
        proto_produce_response_t resp;
        proto_arena_t a;
        proto_arena_init(&a);
        uint8_t *frame = harness_call(fd, PROTO_API_PRODUCE, 9, &req, &resp, &a);
        if (frame && resp.responses.n == 1 && resp.responses.v[0].partition_responses.n == 1) {
            const proto_produce_response_topic_produce_response_t *tr = &resp.responses.v[0];
            const proto_produce_response_partition_produce_response_t *pr =
                &tr->partition_responses.v[0];
            /* The answer names what it answers, injected error or not. */
            if (tr->name.len == (int32_t)strlen(topic) &&
                !memcmp(tr->name.ptr, topic, strlen(topic)) && pr->index == partition) {
                *error = pr->error_code;
                *base_offset = pr->base_offset;
                rc = 0;
            }
        }
        free(frame);
        proto_arena_destroy(&a);
    }
    proto_wbuf_free(&w);
    proto_wbuf_free(&scratch);
    return rc;
}

/* FindCoordinator: v3 (one key) or v4 (keys as an array). */
static int mock_find_coordinator(int fd, int16_t version, int8_t key_type, const char *key,
                                 int16_t *error, int32_t *node_id)
{
    proto_find_coordinator_request_t req;
    proto_msg_init(&proto_find_coordinator_request_desc, &req);
    proto_str_t k = proto_str_of(key);
    req.key_type = key_type;
    if (version >= 4) {
        req.coordinator_keys.v = &k;
        req.coordinator_keys.n = 1;
    } else {
        req.key = k;
    }
    proto_find_coordinator_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = harness_call(fd, PROTO_API_FIND_COORDINATOR, version, &req, &resp, &a);
    int rc = -1;
    if (frame && version >= 4 && resp.coordinators.n == 1 &&
        resp.coordinators.v[0].key.len == (int32_t)strlen(key) &&
        !memcmp(resp.coordinators.v[0].key.ptr, key, strlen(key))) {
        *error = resp.coordinators.v[0].error_code;
        *node_id = resp.coordinators.v[0].node_id;
        rc = 0;
    } else if (frame && version < 4) {
        *error = resp.error_code;
        *node_id = resp.node_id;
        rc = 0;
    }
    free(frame);
    proto_arena_destroy(&a);
    return rc;
}

__attribute__((unused)) static void mock_util_unused_(void)
{
    (void)harness_restart;
    (void)harness_stop;
    (void)harness_start;
    (void)harness_connect;
    (void)harness_closed;
    (void)mock_produce;
    (void)mock_find_coordinator;
}

#endif
