/* CreateTopics, DeleteTopics and CreatePartitions against a running broker,
 * as an admin client sees them: every error path, validate_only, and what
 * survives a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "admin_test_util.h"
#include "util/uuid.h"

static harness_t h;

static int setup(void **state)
{
    static const char *const overrides[] = {"num.partitions=2", NULL};
    return at_setup(state, &h, overrides);
}

static void assert_error(const proto_create_topics_response_creatable_topic_result_t *r, int code,
                         const char *in_message)
{
    if (r->error_code != code)
        fail_msg("expected error %d, got %d (%.*s)", code, r->error_code,
                 r->error_message.len > 0 ? r->error_message.len : 0, r->error_message.ptr);
    if (in_message) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%.*s", r->error_message.len > 0 ? r->error_message.len : 0,
                 r->error_message.ptr);
        if (!strstr(msg, in_message)) fail_msg("message \"%s\" lacks \"%s\"", msg, in_message);
    }
}

static void test_create_v7_answers_layout_configs_and_id(void **state)
{
    int fd = harness_connect(&h);
    static const char *const cfg[] = {"retention.ms=3600000", "cleanup.policy=compact", NULL};
    at_topic_t t = at_topic("created", 3, 1, cfg);
    proto_create_topics_response_creatable_topic_result_t *r = at_create(fd, 7, &t, 1, 0);
    assert_int_equal(r->error_code, 0);
    assert_true(r->error_message.len < 0);
    assert_int_equal(r->num_partitions, 3);
    assert_int_equal(r->replication_factor, 1);
    assert_false(util_uuid_is_zero(&r->topic_id));
    int found = 0;
    for (int32_t i = 0; i < r->configs.n; i++) {
        if (at_str_is(r->configs.v[i].name, "retention.ms")) {
            assert_true(at_str_is(r->configs.v[i].value, "3600000"));
            assert_int_equal(r->configs.v[i].config_source, 1);
            found++;
        }
        if (at_str_is(r->configs.v[i].name, "segment.bytes")) {
            assert_true(at_str_is(r->configs.v[i].value, "1073741824"));
            assert_int_equal(r->configs.v[i].config_source, 5);
            found++;
        }
    }
    assert_int_equal(found, 2);
    proto_uuid_t id;
    assert_int_equal(at_partitions(fd, "created", &id), 3);
    assert_memory_equal(id.b, r->topic_id.b, 16);
    at_reset();
    close(fd);
}

static void test_create_defaults_and_old_versions(void **state)
{
    int fd = harness_connect(&h);
    /* -1 / -1: num.partitions (2 here) and default.replication.factor. */
    at_topic_t t = at_topic("defaults", -1, -1, NULL);
    proto_create_topics_response_creatable_topic_result_t *r = at_create(fd, 5, &t, 1, 0);
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->num_partitions, 2);
    assert_int_equal(r->replication_factor, 1);
    assert_int_equal(at_partitions(fd, "defaults", NULL), 2);
    /* v2 (not flexible, no configs in the answer). */
    t = at_topic("old-client", 1, 1, NULL);
    r = at_create(fd, 2, &t, 1, 0);
    assert_int_equal(r->error_code, 0);
    assert_int_equal(at_partitions(fd, "old-client", NULL), 1);
    r = at_create(fd, 2, &t, 1, 0);
    assert_error(r, KC_ERR_TOPIC_ALREADY_EXISTS, "already exists");
    at_reset();
    close(fd);
}

static void test_create_errors_per_topic(void **state)
{
    int fd = harness_connect(&h);
    static const char *const unknown[] = {"no.such.thing=1", NULL};
    static const char *const bad_value[] = {"retention.ms=soon", NULL};
    static const char *const gzip[] = {"compression.type=gzip", NULL};
    static const char *const small_seg[] = {"segment.bytes=5", NULL};
    at_topic_t ts[] = {
        at_topic("bad/name", 1, 1, NULL),
        at_topic("rf-too-big", 1, 2, NULL),
        at_topic("rf-zero", 1, 0, NULL),
        at_topic("no-partitions", 0, 1, NULL),
        at_topic("unknown-conf", 1, 1, unknown),
        at_topic("bad-value", 1, 1, bad_value),
        at_topic("gzip", 1, 1, gzip),
        at_topic("small-seg", 1, 1, small_seg),
        at_topic("fine", 1, 1, NULL),
        at_topic("twice", 1, 1, NULL),
        at_topic("twice", 1, 1, NULL),
    };
    int n = (int)(sizeof(ts) / sizeof(ts[0]));
    proto_create_topics_response_creatable_topic_result_t *r = at_create(fd, 7, ts, n, 0);
    assert_error(&r[0], KC_ERR_INVALID_TOPIC_EXCEPTION, "bad/name");
    assert_error(&r[1], KC_ERR_INVALID_REPLICATION_FACTOR, "number of brokers");
    assert_error(&r[2], KC_ERR_INVALID_REPLICATION_FACTOR, NULL);
    assert_error(&r[3], KC_ERR_INVALID_PARTITIONS, NULL);
    assert_error(&r[4], KC_ERR_INVALID_CONFIG, "no.such.thing");
    assert_error(&r[5], KC_ERR_INVALID_CONFIG, "retention.ms");
    assert_error(&r[6], KC_ERR_INVALID_CONFIG, "not supported");
    assert_error(&r[7], KC_ERR_INVALID_CONFIG, "segment.bytes");
    assert_error(&r[8], 0, NULL);
    assert_error(&r[9], KC_ERR_INVALID_REQUEST, "more than once");
    assert_error(&r[10], KC_ERR_INVALID_REQUEST, "more than once");
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%.*s", ts[i].name.len, ts[i].name.ptr);
        if (i != 8 && i != 0) assert_int_equal(at_partitions(fd, name, NULL), -1);
    }
    assert_int_equal(at_partitions(fd, "fine", NULL), 1);
    /* '.' and '_' collide. */
    at_topic_t c1 = at_topic("metric.name", 1, 1, NULL), c2 = at_topic("metric_name", 1, 1, NULL);
    assert_error(at_create(fd, 7, &c1, 1, 0), 0, NULL);
    assert_error(at_create(fd, 7, &c2, 1, 0), KC_ERR_INVALID_TOPIC_EXCEPTION, "collides");
    at_reset();
    close(fd);
}

static void test_create_replica_assignments(void **state)
{
    int fd = harness_connect(&h);
    int32_t node = h.broker->nodes[0].id, other = node + 7;
    int32_t one[] = {node}, bad[] = {other}, dup[] = {node, node};
    proto_create_topics_request_creatable_replica_assignment_t good_as[] = {
        {.partition_index = 1, .broker_ids = {one, 1}},
        {.partition_index = 0, .broker_ids = {one, 1}},
    };
    at_topic_t t = at_topic("assigned", -1, -1, NULL);
    t.assignments.v = good_as;
    t.assignments.n = 2;
    proto_create_topics_response_creatable_topic_result_t *r = at_create(fd, 7, &t, 1, 0);
    assert_error(r, 0, NULL);
    assert_int_equal(r->num_partitions, 2);
    assert_int_equal(at_partitions(fd, "assigned", NULL), 2);

    proto_create_topics_request_creatable_replica_assignment_t unknown_node[] = {
        {.partition_index = 0, .broker_ids = {bad, 1}}};
    proto_create_topics_request_creatable_replica_assignment_t gap[] = {
        {.partition_index = 0, .broker_ids = {one, 1}},
        {.partition_index = 2, .broker_ids = {one, 1}}};
    proto_create_topics_request_creatable_replica_assignment_t twice[] = {
        {.partition_index = 0, .broker_ids = {dup, 2}}};
    proto_create_topics_request_creatable_replica_assignment_t *cases[] = {unknown_node, gap,
                                                                           twice};
    int counts[] = {1, 2, 1};
    for (int i = 0; i < 3; i++) {
        t = at_topic("bad-assignment", -1, -1, NULL);
        t.assignments.v = cases[i];
        t.assignments.n = counts[i];
        assert_error(at_create(fd, 7, &t, 1, 0), KC_ERR_INVALID_REPLICA_ASSIGNMENT, NULL);
    }
    /* Assignments together with a partition count: one or the other. */
    t = at_topic("bad-assignment", 2, -1, NULL);
    t.assignments.v = good_as;
    t.assignments.n = 2;
    assert_error(at_create(fd, 7, &t, 1, 0), KC_ERR_INVALID_REQUEST, NULL);
    assert_int_equal(at_partitions(fd, "bad-assignment", NULL), -1);
    at_reset();
    close(fd);
}

static void test_create_validate_only_creates_nothing(void **state)
{
    int fd = harness_connect(&h);
    static const char *const cfg[] = {"segment.bytes=1048576", NULL};
    at_topic_t t = at_topic("dry-run", 4, 1, cfg);
    proto_create_topics_response_creatable_topic_result_t *r = at_create(fd, 7, &t, 1, 1);
    assert_error(r, 0, NULL);
    assert_int_equal(r->num_partitions, 4);
    int found = 0;
    for (int32_t i = 0; i < r->configs.n; i++)
        if (at_str_is(r->configs.v[i].name, "segment.bytes")) {
            assert_true(at_str_is(r->configs.v[i].value, "1048576"));
            found = 1;
        }
    assert_true(found);
    assert_int_equal(at_partitions(fd, "dry-run", NULL), -1);
    char path[512];
    snprintf(path, sizeof(path), "%s/dry-run-0", h.dir);
    assert_int_not_equal(access(path, F_OK), 0);
    /* validate_only still reports errors. */
    t = at_topic("dry-run", 4, 3, NULL);
    assert_error(at_create(fd, 7, &t, 1, 1), KC_ERR_INVALID_REPLICATION_FACTOR, NULL);
    at_reset();
    close(fd);
}

/* ---- DeleteTopics ---------------------------------------------------------------- */

static proto_delete_topics_response_deletable_topic_result_t *delete_v6(int fd, const char *name,
                                                                        const proto_uuid_t *id)
{
    proto_delete_topics_request_t req;
    proto_msg_init(&proto_delete_topics_request_desc, &req);
    proto_delete_topics_request_delete_topic_state_t s;
    proto_struct_init(&proto_delete_topics_request_delete_topic_state_sdesc, &s);
    s.name = name ? proto_str_of(name) : PROTO_NULL_SLICE;
    if (id) s.topic_id = *id;
    req.topics.v = &s;
    req.topics.n = 1;
    req.timeout_ms = 1000;
    proto_delete_topics_response_t *resp = proto_arena_alloc(&at_arena, sizeof(*resp));
    at_call(fd, PROTO_API_DELETE_TOPICS, 6, &req, resp);
    assert_int_equal(resp->responses.n, 1);
    return &resp->responses.v[0];
}

static proto_delete_topics_response_deletable_topic_result_t *delete_old(int fd, int16_t v,
                                                                         proto_str_t *names, int n)
{
    proto_delete_topics_request_t req;
    proto_msg_init(&proto_delete_topics_request_desc, &req);
    req.topic_names.v = names;
    req.topic_names.n = n;
    proto_delete_topics_response_t *resp = proto_arena_alloc(&at_arena, sizeof(*resp));
    at_call(fd, PROTO_API_DELETE_TOPICS, v, &req, resp);
    assert_int_equal(resp->responses.n, n);
    return resp->responses.v;
}

static void test_delete_by_name_and_id(void **state)
{
    int fd = harness_connect(&h);
    at_create_ok(fd, "del-name", 2, NULL);
    at_create_ok(fd, "del-id", 1, NULL);
    proto_uuid_t id;
    assert_int_equal(at_partitions(fd, "del-id", &id), 1);

    proto_delete_topics_response_deletable_topic_result_t *r = delete_v6(fd, "del-name", NULL);
    assert_int_equal(r->error_code, 0);
    assert_int_equal(at_partitions(fd, "del-name", NULL), -1);
    char path[512];
    snprintf(path, sizeof(path), "%s/del-name-1", h.dir);
    assert_int_not_equal(access(path, F_OK), 0);

    r = delete_v6(fd, NULL, &id);
    assert_int_equal(r->error_code, 0);
    assert_true(at_str_is(r->name, "del-id"));
    assert_int_equal(at_partitions(fd, "del-id", NULL), -1);

    r = delete_v6(fd, NULL, &id);
    assert_int_equal(r->error_code, KC_ERR_UNKNOWN_TOPIC_ID);
    r = delete_v6(fd, "never-was", NULL);
    assert_int_equal(r->error_code, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_true(r->error_message.len > 0);
    r = delete_v6(fd, "both", &id);
    assert_int_equal(r->error_code, KC_ERR_INVALID_REQUEST);

    /* v1 by names; a name given twice is not deleted. */
    at_create_ok(fd, "del-v1", 1, NULL);
    at_create_ok(fd, "del-twice", 1, NULL);
    proto_str_t names[] = {proto_str_of("del-v1"), proto_str_of("del-twice"),
                           proto_str_of("del-twice"), proto_str_of("nope")};
    r = delete_old(fd, 1, names, 4);
    assert_int_equal(r[0].error_code, 0);
    assert_int_equal(r[1].error_code, KC_ERR_INVALID_REQUEST);
    assert_int_equal(r[2].error_code, KC_ERR_INVALID_REQUEST);
    assert_int_equal(r[3].error_code, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(at_partitions(fd, "del-v1", NULL), -1);
    assert_int_equal(at_partitions(fd, "del-twice", NULL), 1);
    at_reset();
    close(fd);
}

static void test_delete_then_create_is_a_new_topic(void **state)
{
    int fd = harness_connect(&h);
    static const char *const cfg[] = {"retention.ms=1234", NULL};
    at_create_ok(fd, "reborn", 1, cfg);
    proto_uuid_t old_id, new_id;
    assert_int_equal(at_partitions(fd, "reborn", &old_id), 1);
    at_append(&h, "reborn", 0, 5);
    assert_int_equal(at_offsets(&h, "reborn", 0).end, 50);

    assert_int_equal(delete_v6(fd, "reborn", NULL)->error_code, 0);
    at_create_ok(fd, "reborn", 1, NULL);
    assert_int_equal(at_partitions(fd, "reborn", &new_id), 1);
    assert_memory_not_equal(old_id.b, new_id.b, 16);
    assert_int_equal(at_offsets(&h, "reborn", 0).end, 0);
    int source;
    const char *v = at_topic_value(fd, "reborn", "retention.ms", &source);
    assert_string_not_equal(v, "1234");
    assert_int_not_equal(source, 1);

    /* And the same after a restart. */
    close(fd);
    harness_restart(&h);
    fd = harness_connect(&h);
    proto_uuid_t after;
    assert_int_equal(at_partitions(fd, "reborn", &after), 1);
    assert_memory_equal(after.b, new_id.b, 16);
    assert_int_equal(at_offsets(&h, "reborn", 0).end, 0);
    at_reset();
    close(fd);
}

static void test_delete_disabled(void **state)
{
    harness_t h2;
    static const char *const overrides[] = {"delete.topic.enable=false", NULL};
    const char *const *saved = harness_overrides_; /* h restarts with its own */
    harness_start(&h2, overrides);
    int fd = harness_connect(&h2);
    at_create_ok(fd, "kept", 1, NULL);
    proto_delete_topics_response_deletable_topic_result_t *r = delete_v6(fd, "kept", NULL);
    assert_int_equal(r->error_code, KC_ERR_TOPIC_DELETION_DISABLED);
    assert_int_equal(at_partitions(fd, "kept", NULL), 1);
    at_reset();
    close(fd);
    harness_stop(&h2);
    harness_overrides_ = saved;
}

/* ---- CreatePartitions ------------------------------------------------------------ */

static proto_create_partitions_response_create_partitions_topic_result_t *
grow(int fd, int16_t v, const char *name, int32_t count, int32_t *nodes, int nassign,
     int validate_only)
{
    proto_create_partitions_request_t req;
    proto_msg_init(&proto_create_partitions_request_desc, &req);
    proto_create_partitions_request_create_partitions_topic_t t;
    proto_struct_init(&proto_create_partitions_request_create_partitions_topic_sdesc, &t);
    proto_create_partitions_request_create_partitions_assignment_t as[8];
    t.name = proto_str_of(name);
    t.count = count;
    t.assignments.n = nassign;
    t.assignments.v = nassign > 0 ? as : NULL;
    for (int i = 0; i < nassign && i < 8; i++) {
        as[i].broker_ids.v = nodes;
        as[i].broker_ids.n = 1;
    }
    req.topics.v = &t;
    req.topics.n = 1;
    req.validate_only = (bool)validate_only;
    proto_create_partitions_response_t *resp = proto_arena_alloc(&at_arena, sizeof(*resp));
    at_call(fd, PROTO_API_CREATE_PARTITIONS, v, &req, resp);
    assert_int_equal(resp->results.n, 1);
    return &resp->results.v[0];
}

static void test_create_partitions(void **state)
{
    int fd = harness_connect(&h);
    int32_t node = h.broker->nodes[0].id, nowhere = node + 9;
    at_create_ok(fd, "growing", 1, NULL);
    assert_int_equal(grow(fd, 3, "growing", 3, NULL, -1, 0)->error_code, 0);
    assert_int_equal(at_partitions(fd, "growing", NULL), 3);
    assert_int_equal(grow(fd, 0, "growing", 3, NULL, -1, 0)->error_code, KC_ERR_INVALID_PARTITIONS);
    assert_int_equal(grow(fd, 1, "growing", 2, NULL, -1, 0)->error_code, KC_ERR_INVALID_PARTITIONS);
    assert_int_equal(grow(fd, 3, "nope", 5, NULL, -1, 0)->error_code,
                     KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* validate_only changes nothing. */
    assert_int_equal(grow(fd, 3, "growing", 5, NULL, -1, 1)->error_code, 0);
    assert_int_equal(at_partitions(fd, "growing", NULL), 3);
    /* Assignments: one per new partition, on known nodes. */
    assert_int_equal(grow(fd, 3, "growing", 5, &node, 1, 0)->error_code,
                     KC_ERR_INVALID_REPLICA_ASSIGNMENT);
    assert_int_equal(grow(fd, 3, "growing", 4, &nowhere, 1, 0)->error_code,
                     KC_ERR_INVALID_REPLICA_ASSIGNMENT);
    proto_create_partitions_response_create_partitions_topic_result_t *r =
        grow(fd, 2, "growing", 5, &node, 2, 0);
    assert_int_equal(r->error_code, 0);
    assert_true(r->error_message.len < 0);
    assert_int_equal(at_partitions(fd, "growing", NULL), 5);
    close(fd);
    harness_restart(&h);
    fd = harness_connect(&h);
    assert_int_equal(at_partitions(fd, "growing", NULL), 5);
    at_reset();
    close(fd);
}

static proto_describe_log_dirs_response_t *describe_dirs(int fd, int16_t v, const char *topic,
                                                         int32_t *parts, int nparts)
{
    proto_describe_log_dirs_request_t req;
    proto_msg_init(&proto_describe_log_dirs_request_desc, &req);
    proto_describe_log_dirs_request_describable_log_dir_topic_t t;
    proto_struct_init(&proto_describe_log_dirs_request_describable_log_dir_topic_sdesc, &t);
    t.topic = proto_str_of(topic);
    t.partitions.v = parts;
    t.partitions.n = nparts;
    req.topics.v = topic ? &t : NULL;
    req.topics.n = topic ? 1 : -1;
    proto_describe_log_dirs_response_t *resp = proto_arena_alloc(&at_arena, sizeof(*resp));
    at_call(fd, PROTO_API_DESCRIBE_LOG_DIRS, v, &req, resp);
    return resp;
}

static void test_describe_log_dirs(void **state)
{
    int fd = harness_connect(&h);
    at_create_ok(fd, "sized", 2, NULL);
    at_append(&h, "sized", 0, 3);
    proto_describe_log_dirs_response_t *r = describe_dirs(fd, 4, NULL, NULL, 0);
    assert_int_equal(r->results.n, 1);
    assert_true(at_str_is(r->results.v[0].log_dir, h.dir));
    assert_true(r->results.v[0].total_bytes > 0);
    int found = 0;
    for (int32_t i = 0; i < r->results.v[0].topics.n; i++) {
        proto_describe_log_dirs_response_describe_log_dirs_topic_t *t =
            &r->results.v[0].topics.v[i];
        if (!at_str_is(t->name, "sized")) continue;
        found = 1;
        assert_int_equal(t->partitions.n, 2);
        for (int32_t k = 0; k < 2; k++) {
            int64_t want = at_offsets(&h, "sized", t->partitions.v[k].partition_index).bytes;
            assert_int_equal(t->partitions.v[k].partition_size, want);
            if (t->partitions.v[k].partition_index == 0) assert_true(want > 0);
        }
    }
    assert_true(found);
    /* Asked for one partition (and one that does not exist): that one. */
    int32_t want[] = {1, 7};
    r = describe_dirs(fd, 1, "sized", want, 2);
    assert_int_equal(r->results.n, 1);
    assert_int_equal(r->results.v[0].topics.n, 1);
    assert_int_equal(r->results.v[0].topics.v[0].partitions.n, 1);
    assert_int_equal(r->results.v[0].topics.v[0].partitions.v[0].partition_index, 1);
    r = describe_dirs(fd, 2, "no-such-topic", want, 1);
    assert_int_equal(r->results.v[0].topics.n, 0);
    at_reset();
    close(fd);
}

static void test_advertised_ranges(void **state)
{
    int fd = harness_connect(&h);
    proto_api_versions_request_t req;
    proto_msg_init(&proto_api_versions_request_desc, &req);
    proto_api_versions_response_t resp;
    at_call(fd, PROTO_API_API_VERSIONS, 3, &req, &resp);
    static const int16_t want[][3] = {{19, 2, 7}, {20, 1, 6}, {32, 1, 4}, {33, 0, 2},
                                      {35, 1, 4}, {37, 0, 3}, {44, 0, 1}};
    for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
        int found = 0;
        for (int32_t i = 0; i < resp.api_keys.n; i++)
            if (resp.api_keys.v[i].api_key == want[w][0]) {
                assert_int_equal(resp.api_keys.v[i].min_version, want[w][1]);
                assert_int_equal(resp.api_keys.v[i].max_version, want[w][2]);
                found = 1;
            }
        assert_true(found);
    }
    at_reset();
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_advertised_ranges),
        cmocka_unit_test(test_create_v7_answers_layout_configs_and_id),
        cmocka_unit_test(test_create_defaults_and_old_versions),
        cmocka_unit_test(test_create_errors_per_topic),
        cmocka_unit_test(test_create_replica_assignments),
        cmocka_unit_test(test_create_validate_only_creates_nothing),
        cmocka_unit_test(test_delete_by_name_and_id),
        cmocka_unit_test(test_delete_disabled),
        cmocka_unit_test(test_delete_then_create_is_a_new_topic),
        cmocka_unit_test(test_create_partitions),
        cmocka_unit_test(test_describe_log_dirs),
    };
    return cmocka_run_group_tests(tests, setup, at_teardown);
}
