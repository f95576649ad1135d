/* DescribeConfigs, AlterConfigs and IncrementalAlterConfigs against a
 * running broker: sources and synonyms, replacement versus incremental
 * edits, validate_only, persistence across a restart, and altered settings
 * taking effect on the open partition logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "admin_test_util.h"

static harness_t h;

static int setup(void **state)
{
    /* A broker setting given in hours: topics show it in ms, from the broker. */
    static const char *const overrides[] = {"log.retention.hours=48", NULL};
    return at_setup(state, &h, overrides);
}

typedef struct kv {
    const char *name;
    const char *value; /* NULL: null */
    int8_t op;         /* IncrementalAlterConfigs */
} kv_t;

static proto_alter_configs_response_alter_configs_resource_response_t *
alter(int fd, int16_t v, int8_t type, const char *name, const kv_t *kvs, int n, int validate_only)
{
    proto_alter_configs_request_t req;
    proto_msg_init(&proto_alter_configs_request_desc, &req);
    proto_alter_configs_request_alter_configs_resource_t r;
    proto_struct_init(&proto_alter_configs_request_alter_configs_resource_sdesc, &r);
    proto_alter_configs_request_alterable_config_t cs[8];
    for (int i = 0; i < n; i++) {
        cs[i].name = proto_str_of(kvs[i].name);
        cs[i].value = proto_str_of(kvs[i].value);
    }
    r.resource_type = type;
    r.resource_name = proto_str_of(name);
    r.configs.v = cs;
    r.configs.n = n;
    req.resources.v = &r;
    req.resources.n = 1;
    req.validate_only = (bool)validate_only;
    proto_alter_configs_response_t *resp = proto_arena_alloc(&at_arena, sizeof(*resp));
    at_call(fd, PROTO_API_ALTER_CONFIGS, v, &req, resp);
    assert_int_equal(resp->responses.n, 1);
    return &resp->responses.v[0];
}

static proto_incremental_alter_configs_response_alter_configs_resource_response_t *
incremental(int fd, int16_t v, int8_t type, const char *name, const kv_t *kvs, int n,
            int validate_only)
{
    proto_incremental_alter_configs_request_t req;
    proto_msg_init(&proto_incremental_alter_configs_request_desc, &req);
    proto_incremental_alter_configs_request_alter_configs_resource_t r;
    proto_struct_init(&proto_incremental_alter_configs_request_alter_configs_resource_sdesc, &r);
    proto_incremental_alter_configs_request_alterable_config_t cs[8];
    for (int i = 0; i < n; i++) {
        cs[i].name = proto_str_of(kvs[i].name);
        cs[i].value = proto_str_of(kvs[i].value);
        cs[i].config_operation = kvs[i].op;
    }
    r.resource_type = type;
    r.resource_name = proto_str_of(name);
    r.configs.v = cs;
    r.configs.n = n;
    req.resources.v = &r;
    req.resources.n = 1;
    req.validate_only = (bool)validate_only;
    proto_incremental_alter_configs_response_t *resp = proto_arena_alloc(&at_arena, sizeof(*resp));
    at_call(fd, PROTO_API_INCREMENTAL_ALTER_CONFIGS, v, &req, resp);
    assert_int_equal(resp->responses.n, 1);
    return &resp->responses.v[0];
}

static void assert_value(int fd, const char *topic, const char *key, const char *want,
                         int want_source)
{
    int source;
    const char *v = at_topic_value(fd, topic, key, &source);
    if (!v || strcmp(v, want) || source != want_source)
        fail_msg("%s %s: want %s (source %d), have %s (source %d)", topic, key, want, want_source,
                 v ? v : "null", source);
}

static void test_describe_topic_sources_synonyms_docs(void **state)
{
    int fd = harness_connect(&h);
    static const char *const cfg[] = {"segment.bytes=1048576", NULL};
    at_create_ok(fd, "described", 1, cfg);
    at_dc_result_t *r = at_describe(fd, 4, 2, "described", NULL, 1, 1);
    assert_int_equal(r->error_code, 0);
    assert_true(r->configs.n >= 20);

    at_dc_config_t *c = at_find_config(r, "segment.bytes");
    assert_non_null(c);
    assert_true(at_str_is(c->value, "1048576"));
    assert_int_equal(c->config_source, 1); /* DYNAMIC_TOPIC_CONFIG */
    assert_false(c->read_only);
    assert_int_equal(c->config_type, 3); /* INT */
    assert_true(c->documentation.len > 0);
    assert_true(c->synonyms.n >= 2);
    assert_true(at_str_is(c->synonyms.v[0].name, "segment.bytes"));
    assert_int_equal(c->synonyms.v[0].source, 1);
    assert_true(at_str_is(c->synonyms.v[1].name, "log.segment.bytes"));
    assert_int_equal(c->synonyms.v[1].source, 5);

    /* From the broker's log.retention.hours, in ms. */
    c = at_find_config(r, "retention.ms");
    assert_non_null(c);
    assert_true(at_str_is(c->value, "172800000"));
    assert_int_equal(c->config_source, 4); /* STATIC_BROKER_CONFIG */
    assert_int_equal(c->config_type, 5);   /* LONG */
    int hours = 0;
    for (int32_t i = 0; i < c->synonyms.n; i++)
        if (at_str_is(c->synonyms.v[i].name, "log.retention.hours")) {
            assert_true(at_str_is(c->synonyms.v[i].value, "48"));
            assert_int_equal(c->synonyms.v[i].source, 4);
            hours = 1;
        }
    assert_true(hours);

    c = at_find_config(r, "cleanup.policy");
    assert_non_null(c);
    assert_true(at_str_is(c->value, "delete"));
    assert_int_equal(c->config_source, 5);
    assert_int_equal(c->config_type, 7); /* LIST */
    /* Named after Kafka's broker property, as clients key synonyms by name. */
    assert_int_equal(c->synonyms.n, 1);
    assert_true(at_str_is(c->synonyms.v[0].name, "log.cleanup.policy"));

    /* One key asked for: one answered; v1 has no documentation. */
    r = at_describe(fd, 1, 2, "described", "retention.bytes", 0, 0);
    assert_int_equal(r->configs.n, 1);
    assert_true(at_str_is(r->configs.v[0].value, "-1"));
    assert_int_equal(r->configs.v[0].synonyms.n, 0);

    r = at_describe(fd, 4, 2, "never-made", NULL, 0, 0);
    assert_int_equal(r->error_code, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_true(r->error_message.len > 0);
    r = at_describe(fd, 4, 99, "x", NULL, 0, 0);
    assert_int_equal(r->error_code, KC_ERR_INVALID_REQUEST);
    at_reset();
    close(fd);
}

static void test_describe_broker(void **state)
{
    int fd = harness_connect(&h);
    char node[16];
    snprintf(node, sizeof(node), "%d", h.broker->nodes[0].id);
    at_dc_result_t *r = at_describe(fd, 4, 4, node, NULL, 1, 1);
    assert_int_equal(r->error_code, 0);
    at_dc_config_t *c = at_find_config(r, "log.retention.hours");
    assert_non_null(c);
    assert_true(at_str_is(c->value, "48"));
    assert_int_equal(c->config_source, 4);
    assert_true(c->read_only);
    assert_false(c->is_sensitive);
    c = at_find_config(r, "log.segment.bytes");
    assert_non_null(c);
    assert_true(at_str_is(c->value, "1073741824"));
    assert_int_equal(c->config_source, 5);
    c = at_find_config(r, "log.retention.ms"); /* unset, no default */
    assert_non_null(c);
    assert_true(c->value.len < 0);

    r = at_describe(fd, 2, 4, "", NULL, 0, 0); /* cluster-wide dynamic defaults: none */
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->configs.n, 0);
    r = at_describe(fd, 4, 4, "4242", NULL, 0, 0);
    assert_int_equal(r->error_code, KC_ERR_INVALID_REQUEST);
    at_reset();
    close(fd);
}

static void test_alter_replaces_the_whole_set(void **state)
{
    int fd = harness_connect(&h);
    static const char *const cfg[] = {"retention.ms=1000", "segment.ms=5000", NULL};
    at_create_ok(fd, "replaced", 1, cfg);
    kv_t set[] = {{"retention.bytes", "4096", 0}};
    assert_int_equal(alter(fd, 1, 2, "replaced", set, 1, 0)->error_code, 0);
    assert_value(fd, "replaced", "retention.bytes", "4096", 1);
    assert_value(fd, "replaced", "retention.ms", "172800000", 4);
    assert_value(fd, "replaced", "segment.ms", "604800000", 5);

    /* validate_only and bad values change nothing. */
    kv_t other[] = {{"retention.bytes", "1", 0}};
    assert_int_equal(alter(fd, 2, 2, "replaced", other, 1, 1)->error_code, 0);
    assert_value(fd, "replaced", "retention.bytes", "4096", 1);
    kv_t bad[] = {{"retention.bytes", "1", 0}, {"segment.bytes", "lots", 0}};
    proto_alter_configs_response_alter_configs_resource_response_t *r =
        alter(fd, 0, 2, "replaced", bad, 2, 0);
    assert_int_equal(r->error_code, KC_ERR_INVALID_CONFIG);
    assert_true(r->error_message.len > 0);
    assert_value(fd, "replaced", "retention.bytes", "4096", 1);
    kv_t null_value[] = {{"retention.bytes", NULL, 0}};
    assert_int_equal(alter(fd, 2, 2, "replaced", null_value, 1, 0)->error_code,
                     KC_ERR_INVALID_CONFIG);

    assert_int_equal(alter(fd, 2, 2, "missing", set, 1, 0)->error_code,
                     KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    char node[16];
    snprintf(node, sizeof(node), "%d", h.broker->nodes[0].id);
    kv_t broker_kv[] = {{"log.retention.hours", "1", 0}};
    r = alter(fd, 2, 4, node, broker_kv, 1, 0);
    assert_int_equal(r->error_code, KC_ERR_INVALID_REQUEST);
    assert_true(r->error_message.len > 0);
    at_reset();
    close(fd);
}

static void test_incremental_ops(void **state)
{
    int fd = harness_connect(&h);
    static const char *const cfg[] = {"retention.ms=1000", "segment.ms=5000", NULL};
    at_create_ok(fd, "stepwise", 1, cfg);
    kv_t ops[] = {{"retention.bytes", "4096", 0}, {"segment.ms", NULL, 1}};
    assert_int_equal(incremental(fd, 1, 2, "stepwise", ops, 2, 0)->error_code, 0);
    assert_value(fd, "stepwise", "retention.bytes", "4096", 1);
    assert_value(fd, "stepwise", "retention.ms", "1000", 1); /* kept */
    assert_value(fd, "stepwise", "segment.ms", "604800000", 5);

    kv_t append[] = {{"cleanup.policy", "compact", 2}};
    assert_int_equal(incremental(fd, 0, 2, "stepwise", append, 1, 0)->error_code, 0);
    assert_value(fd, "stepwise", "cleanup.policy", "delete,compact", 1);
    kv_t subtract[] = {{"cleanup.policy", "delete", 3}};
    assert_int_equal(incremental(fd, 1, 2, "stepwise", subtract, 1, 0)->error_code, 0);
    assert_value(fd, "stepwise", "cleanup.policy", "compact", 1);
    kv_t empty[] = {{"cleanup.policy", "compact", 3}};
    assert_int_equal(incremental(fd, 1, 2, "stepwise", empty, 1, 0)->error_code,
                     KC_ERR_INVALID_CONFIG);
    assert_value(fd, "stepwise", "cleanup.policy", "compact", 1);

    kv_t not_list[] = {{"retention.ms", "5", 2}};
    assert_int_equal(incremental(fd, 1, 2, "stepwise", not_list, 1, 0)->error_code,
                     KC_ERR_INVALID_CONFIG);
    kv_t bad_op[] = {{"retention.ms", "5", 9}};
    assert_int_equal(incremental(fd, 1, 2, "stepwise", bad_op, 1, 0)->error_code,
                     KC_ERR_INVALID_REQUEST);
    kv_t twice[] = {{"retention.ms", "5", 0}, {"retention.ms", "6", 0}};
    assert_int_equal(incremental(fd, 1, 2, "stepwise", twice, 2, 0)->error_code,
                     KC_ERR_INVALID_REQUEST);
    kv_t unknown[] = {{"retention.mss", "5", 0}};
    assert_int_equal(incremental(fd, 1, 2, "stepwise", unknown, 1, 0)->error_code,
                     KC_ERR_INVALID_CONFIG);
    kv_t dry[] = {{"retention.ms", "7", 0}};
    assert_int_equal(incremental(fd, 1, 2, "stepwise", dry, 1, 1)->error_code, 0);
    assert_value(fd, "stepwise", "retention.ms", "1000", 1);

    /* Everything above survives a restart. */
    close(fd);
    harness_restart(&h);
    fd = harness_connect(&h);
    assert_value(fd, "stepwise", "retention.bytes", "4096", 1);
    assert_value(fd, "stepwise", "retention.ms", "1000", 1);
    assert_value(fd, "stepwise", "cleanup.policy", "compact", 1);
    assert_value(fd, "stepwise", "segment.ms", "604800000", 5);
    at_reset();
    close(fd);
}

static void test_altered_settings_reach_the_open_log(void **state)
{
    int fd = harness_connect(&h);
    at_create_ok(fd, "live", 1, NULL);
    at_append(&h, "live", 0, 4);
    assert_int_equal(at_offsets(&h, "live", 0).segments, 1);

    /* segment.bytes lowered: the next appends roll. */
    kv_t small[] = {{"segment.bytes", "2000", 0}};
    assert_int_equal(incremental(fd, 1, 2, "live", small, 1, 0)->error_code, 0);
    at_append(&h, "live", 0, 6);
    int segs = at_offsets(&h, "live", 0).segments;
    assert_true(segs >= 3);

    /* retention.bytes lowered: the next retention check deletes. */
    kv_t keep_little[] = {{"segment.bytes", "2000", 0}, {"retention.bytes", "1", 0}};
    assert_int_equal(alter(fd, 1, 2, "live", keep_little, 2, 0)->error_code, 0);
    broker_partition_t *p = broker_partition_find(h.broker, proto_str_of("live"), 0);
    int deleted = 0;
    char err[256];
    assert_int_equal(broker_log_retain(p->log, broker_now_ms(), &deleted, err, sizeof(err)), 0);
    assert_true(deleted > 0);
    assert_true(at_offsets(&h, "live", 0).start > 0);

    /* A compacted topic keeps everything whatever retention says. */
    kv_t compact[] = {{"cleanup.policy", "compact", 0},
                      {"retention.bytes", "1", 0},
                      {"segment.bytes", "2000", 0}};
    assert_int_equal(alter(fd, 1, 2, "live", compact, 3, 0)->error_code, 0);
    at_append(&h, "live", 0, 6);
    int64_t start = at_offsets(&h, "live", 0).start;
    assert_int_equal(broker_log_retain(p->log, broker_now_ms(), &deleted, err, sizeof(err)), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(at_offsets(&h, "live", 0).start, start);

    /* After a restart the log opens with the topic's settings. */
    close(fd);
    harness_restart(&h);
    fd = harness_connect(&h);
    segs = at_offsets(&h, "live", 0).segments;
    at_append(&h, "live", 0, 6);
    assert_true(at_offsets(&h, "live", 0).segments >= segs + 2);
    at_reset();
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe_topic_sources_synonyms_docs),
        cmocka_unit_test(test_describe_broker),
        cmocka_unit_test(test_alter_replaces_the_whole_set),
        cmocka_unit_test(test_incremental_ops),
        cmocka_unit_test(test_altered_settings_reach_the_open_log),
    };
    return cmocka_run_group_tests(tests, setup, at_teardown);
}
