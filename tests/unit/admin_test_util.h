/* Helpers for the admin API tests (test_broker_admin*.c): requests built
 * from a few arguments, answers decoded into an arena that lives as long as
 * the test. Header-only, after broker_harness.h and cmocka. */
#ifndef KC_TEST_ADMIN_TEST_UTIL_H
#define KC_TEST_ADMIN_TEST_UTIL_H

#include "broker_harness.h"
#include "kc/kc_err.h"
#include "proto/proto_batch.h"
#include "proto/proto_compress.h"

/* The harness is header-only; not every test program calls every helper. */
static void at_uses_harness_(void) __attribute__((unused));
static void at_uses_harness_(void)
{
    (void)harness_closed;
    (void)harness_restart;
}

/* Frames of answers: freed by at_reset(). */
static uint8_t *at_frames[256];
static int at_nframes;
static proto_arena_t at_arena;

static inline void at_reset(void)
{
    for (int i = 0; i < at_nframes; i++)
        free(at_frames[i]);
    at_nframes = 0;
    proto_arena_destroy(&at_arena);
    proto_arena_init(&at_arena);
}

/* Group setup of the admin tests: h started with overrides, the answer
 * arena ready, h the tests' state. */
static inline int at_setup(void **state, harness_t *h, const char *const *overrides)
{
    harness_start(h, overrides);
    proto_arena_init(&at_arena);
    *state = h;
    return 0;
}

/* Group teardown of the admin tests: the answers freed, the broker of
 * at_setup() stopped. */
static inline int at_teardown(void **state)
{
    at_reset();
    harness_stop(*state);
    return 0;
}

static inline void at_call(int fd, int16_t api, int16_t v, const void *req, void *resp)
{
    uint8_t *f = harness_call(fd, api, v, req, resp, &at_arena);
    assert_non_null(f);
    if (at_nframes == 256) at_reset();
    at_frames[at_nframes++] = f;
}

static inline int at_str_is(proto_str_t s, const char *want)
{
    return proto_str_eq(s, want);
}

/* ---- CreateTopics ---------------------------------------------------------------- */

typedef proto_create_topics_request_creatable_topic_t at_topic_t;

/* A CreatableTopic with configs given as "name=value" strings (NULL-ended). */
static inline at_topic_t at_topic(const char *name, int32_t partitions, int16_t rf,
                                  const char *const *configs)
{
    at_topic_t t;
    proto_struct_init(&proto_create_topics_request_creatable_topic_sdesc, &t);
    t.name = proto_str_of(name);
    t.num_partitions = partitions;
    t.replication_factor = rf;
    int n = 0;
    while (configs && configs[n])
        n++;
    t.configs.n = n;
    t.configs.v = proto_arena_alloc(&at_arena, (size_t)(n ? n : 1) * sizeof(*t.configs.v));
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(configs[i], '=');
        t.configs.v[i].name = proto_slice_of(configs[i], (size_t)(eq - configs[i]));
        t.configs.v[i].value = proto_str_of(eq + 1);
    }
    return t;
}

static inline proto_create_topics_response_creatable_topic_result_t *
at_create(int fd, int16_t v, at_topic_t *topics, int n, int validate_only)
{
    proto_create_topics_request_t req;
    proto_msg_init(&proto_create_topics_request_desc, &req);
    req.topics.v = topics;
    req.topics.n = n;
    req.validate_only = (bool)validate_only;
    proto_create_topics_response_t *resp = proto_arena_alloc(&at_arena, sizeof(*resp));
    at_call(fd, PROTO_API_CREATE_TOPICS, v, &req, resp);
    assert_int_equal(resp->topics.n, n);
    return resp->topics.v;
}

/* Creates one topic (v7) and checks that it worked. */
static inline void at_create_ok(int fd, const char *name, int32_t partitions,
                                const char *const *configs)
{
    at_topic_t t = at_topic(name, partitions, -1, configs);
    proto_create_topics_response_creatable_topic_result_t *r = at_create(fd, 7, &t, 1, 0);
    if (r->error_code)
        fail_msg("create %s: %d %.*s", name, r->error_code, r->error_message.len,
                 r->error_message.ptr);
}

/* The topic's partition count from Metadata v12, or -1 if unknown. */
static inline int32_t at_partitions(int fd, const char *name, proto_uuid_t *id)
{
    proto_metadata_request_t req;
    proto_msg_init(&proto_metadata_request_desc, &req);
    proto_metadata_request_topic_t t;
    proto_struct_init(&proto_metadata_request_topic_sdesc, &t);
    t.name = proto_str_of(name);
    req.topics.v = &t;
    req.topics.n = 1;
    req.allow_auto_topic_creation = false;
    proto_metadata_response_t resp;
    at_call(fd, PROTO_API_METADATA, 12, &req, &resp);
    assert_int_equal(resp.topics.n, 1);
    if (resp.topics.v[0].error_code) return -1;
    if (id) *id = resp.topics.v[0].topic_id;
    return resp.topics.v[0].partitions.n;
}

/* ---- DescribeConfigs --------------------------------------------------------------- */

typedef proto_describe_configs_response_describe_configs_result_t at_dc_result_t;
typedef proto_describe_configs_response_describe_configs_resource_result_t at_dc_config_t;

static inline at_dc_result_t *at_describe(int fd, int16_t v, int8_t type, const char *name,
                                          const char *key, int synonyms, int docs)
{
    proto_describe_configs_request_t req;
    proto_msg_init(&proto_describe_configs_request_desc, &req);
    proto_describe_configs_request_describe_configs_resource_t *r =
        proto_arena_alloc(&at_arena, sizeof(*r));
    proto_struct_init(&proto_describe_configs_request_describe_configs_resource_sdesc, r);
    r->resource_type = type;
    r->resource_name = proto_str_of(name);
    proto_str_t *k = proto_arena_alloc(&at_arena, sizeof(*k));
    *k = proto_str_of(key);
    r->configuration_keys.v = key ? k : NULL;
    r->configuration_keys.n = key ? 1 : -1;
    req.resources.v = r;
    req.resources.n = 1;
    req.include_synonyms = (bool)synonyms;
    req.include_documentation = (bool)docs;
    proto_describe_configs_response_t *resp = proto_arena_alloc(&at_arena, sizeof(*resp));
    at_call(fd, PROTO_API_DESCRIBE_CONFIGS, v, &req, resp);
    assert_int_equal(resp->results.n, 1);
    return &resp->results.v[0];
}

static inline at_dc_config_t *at_find_config(at_dc_result_t *r, const char *name)
{
    for (int32_t i = 0; i < r->configs.n; i++)
        if (at_str_is(r->configs.v[i].name, name)) return &r->configs.v[i];
    return NULL;
}

/* The value of one topic property as DescribeConfigs v4 shows it, and its source. */
static inline const char *at_topic_value(int fd, const char *topic, const char *key, int *source)
{
    at_dc_result_t *r = at_describe(fd, 4, 2, topic, key, 0, 0);
    assert_int_equal(r->error_code, 0);
    at_dc_config_t *c = at_find_config(r, key);
    assert_non_null(c);
    if (source) *source = c->config_source;
    if (c->value.len < 0) return NULL;
    char *s = proto_arena_alloc(&at_arena, (size_t)c->value.len + 1);
    memcpy(s, c->value.ptr, (size_t)c->value.len);
    s[c->value.len] = '\0';
    return s;
}

/* ---- Direct log access (the loop thread is idle between requests) ------------------- */

/* Appends `batches` batches of 10 records of 100 bytes to topic-partition. */
static inline void at_append(harness_t *h, const char *topic, int32_t partition, int batches)
{
    broker_partition_t *p = broker_partition_find(h->broker, proto_str_of(topic), partition);
    assert_non_null(p);
    proto_wbuf_t w = {0};
    char val[100];
    memset(val, 'v', sizeof(val));
    /* Current timestamps: an old one would make every append roll by segment.ms. */
    int64_t now = broker_now_ms();
    for (int i = 0; i < batches; i++) {
        proto_wbuf_reset(&w);
        proto_batch_builder_t b;
        assert_int_equal(proto_batch_builder_begin(&b, &w, NULL), 0);
        for (int r = 0; r < 10; r++)
            assert_int_equal(
                proto_batch_builder_append(&b, now + r, "k", 1, val, sizeof(val), NULL, 0), 0);
        assert_int_equal(proto_batch_builder_finish(&b, PROTO_CODEC_NONE, -1, NULL, NULL, 0), 0);
        broker_log_append_info_t info;
        char err[256];
        assert_int_equal(
            broker_log_append(p->log, w.data, w.len, broker_now_ms(), &info, err, sizeof(err)), 0);
    }
    proto_wbuf_free(&w);
}

static inline broker_log_offsets_t at_offsets(harness_t *h, const char *topic, int32_t partition)
{
    broker_partition_t *p = broker_partition_find(h->broker, proto_str_of(topic), partition);
    broker_log_offsets_t o = {0};
    assert_non_null(p);
    broker_log_offsets(p->log, &o);
    return o;
}

#endif
