/* ApiVersions, Metadata and DescribeCluster against a running broker, and the
 * broker's answers to requests it does not serve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker_harness.h"
#include "kc/kc_err.h"

static int setup(void **state)
{
    static harness_t h;
    static const char *const overrides[] = {"num.partitions=3", NULL};
    harness_start(&h, overrides);
    *state = &h;
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    return 0;
}

static void test_api_versions_every_version(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    for (int16_t v = 0; v <= 4; v++) {
        proto_api_versions_request_t req;
        proto_msg_init(&proto_api_versions_request_desc, &req);
        req.client_software_name = proto_str_of("kc-test");
        req.client_software_version = proto_str_of("1.0");
        proto_api_versions_response_t resp;
        proto_arena_t arena;
        proto_arena_init(&arena);
        uint8_t *frame = harness_call(fd, PROTO_API_API_VERSIONS, v, &req, &resp, &arena);
        assert_non_null(frame);
        assert_int_equal(resp.error_code, 0);
        int found_produce = 0, found_av = 0;
        for (int32_t i = 0; i < resp.api_keys.n; i++) {
            if (resp.api_keys.v[i].api_key == PROTO_API_PRODUCE) found_produce = 1;
            if (resp.api_keys.v[i].api_key == PROTO_API_API_VERSIONS) {
                found_av = 1;
                assert_int_equal(resp.api_keys.v[i].min_version, 0);
                assert_int_equal(resp.api_keys.v[i].max_version, 4);
            }
        }
        (void)found_produce;
        assert_true(found_av);
        free(frame);
        proto_arena_destroy(&arena);
    }
    close(fd);
}

/* KIP-511: a newer ApiVersions than the broker knows gets a v0 body with
 * UNSUPPORTED_VERSION and the supported ranges, in response header v0. */
static void test_api_versions_too_new(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    proto_wbuf_t w = {0};
    size_t at = proto_wbuf_skip(&w, 4);
    proto_put_i16(&w, PROTO_API_API_VERSIONS);
    proto_put_i16(&w, 99);
    proto_put_i32(&w, 77);
    proto_put_str(&w, proto_str_of("future-client"));
    proto_put_uvarint(&w, 0); /* header tags */
    proto_put_uvarint(&w, 0); /* body: as a flexible body might start */
    proto_put_i32_at(&w, at, (int32_t)(w.len - 4));
    assert_int_equal(harness_send_all(fd, w.data, w.len), 0);
    proto_wbuf_free(&w);
    size_t len = 0;
    uint8_t *frame = harness_recv_frame(fd, &len, 5000);
    assert_non_null(frame);
    proto_rbuf_t r;
    proto_rbuf_init(&r, frame, len);
    assert_int_equal(proto_get_i32(&r, "corr"), 77);
    proto_api_versions_response_t resp;
    proto_arena_t arena;
    proto_arena_init(&arena);
    assert_int_equal(proto_msg_decode(&proto_api_versions_response_desc, 0, &r, &resp, &arena), 0);
    assert_int_equal(resp.error_code, KC_ERR_UNSUPPORTED_VERSION);
    assert_true(resp.api_keys.n > 0);
    free(frame);
    proto_arena_destroy(&arena);
    close(fd);
}

static void test_unserved_requests_close_the_connection(void **state)
{
    harness_t *h = *state;
    /* An API key nobody knows. */
    int fd = harness_connect(h);
    const uint8_t unknown[] = {0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0, 0};
    harness_send_all(fd, unknown, sizeof(unknown));
    assert_true(harness_closed(fd, 5000));
    close(fd);
    /* Produce v2 is advertised (librdkafka's compression probe) but not served. */
    fd = harness_connect(h);
    const uint8_t produce_v2[] = {0, 0, 0, 10, 0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff};
    harness_send_all(fd, produce_v2, sizeof(produce_v2));
    assert_true(harness_closed(fd, 5000));
    close(fd);
    /* A malformed body. */
    fd = harness_connect(h);
    const uint8_t bad_md[] = {0, 0, 0, 14,   0,    3,    0,    1,    0,
                              0, 0, 1, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff};
    harness_send_all(fd, bad_md, sizeof(bad_md));
    assert_true(harness_closed(fd, 5000));
    close(fd);
    /* The broker still serves. */
    fd = harness_connect(h);
    proto_api_versions_request_t req;
    proto_msg_init(&proto_api_versions_request_desc, &req);
    proto_api_versions_response_t resp;
    proto_arena_t arena;
    proto_arena_init(&arena);
    uint8_t *frame = harness_call(fd, PROTO_API_API_VERSIONS, 3, &req, &resp, &arena);
    assert_non_null(frame);
    free(frame);
    proto_arena_destroy(&arena);
    close(fd);
}

static uint8_t *metadata(int fd, int16_t v, const char *topic, int allow_create,
                         proto_metadata_response_t *resp, proto_arena_t *arena)
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
        req.topics.n = v == 0 ? 0 : -1;
    }
    if (v >= 4) req.allow_auto_topic_creation = (int8_t)allow_create;
    return harness_call(fd, PROTO_API_METADATA, v, &req, resp, arena);
}

static void test_metadata_auto_create_and_restart(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    proto_metadata_response_t resp;
    proto_arena_t arena;
    proto_arena_init(&arena);

    /* v4+ asks before creating. */
    uint8_t *f = metadata(fd, 9, "orders", 0, &resp, &arena);
    assert_non_null(f);
    assert_int_equal(resp.topics.n, 1);
    assert_int_equal(resp.topics.v[0].error_code, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    free(f);

    f = metadata(fd, 12, "orders", 1, &resp, &arena);
    assert_non_null(f);
    assert_int_equal(resp.topics.v[0].error_code, 0);
    assert_int_equal(resp.topics.v[0].partitions.n, 3);
    assert_int_equal(resp.brokers.n, 1);
    assert_int_equal(resp.brokers.v[0].port, h->port);
    assert_int_equal(resp.topics.v[0].partitions.v[2].leader_id, resp.brokers.v[0].node_id);
    proto_uuid_t id = resp.topics.v[0].topic_id;
    assert_true(resp.cluster_id.len > 0);
    char cluster[64];
    snprintf(cluster, sizeof(cluster), "%.*s", resp.cluster_id.len, resp.cluster_id.ptr);
    free(f);

    f = metadata(fd, 1, "bad/name", 1, &resp, &arena);
    assert_non_null(f);
    assert_int_equal(resp.topics.v[0].error_code, KC_ERR_INVALID_TOPIC_EXCEPTION);
    free(f);
    close(fd);

    /* Topics, their ids and the cluster id survive a restart. */
    harness_restart(h);
    fd = harness_connect(h);
    f = metadata(fd, 0, NULL, 0, &resp, &arena); /* v0: empty list = all */
    assert_non_null(f);
    assert_int_equal(resp.topics.n, 1);
    assert_true(proto_str_eq(resp.topics.v[0].name, "orders"));
    assert_int_equal(resp.topics.v[0].partitions.n, 3);
    free(f);
    f = metadata(fd, 10, NULL, 0, &resp, &arena);
    assert_non_null(f);
    assert_memory_equal(resp.topics.v[0].topic_id.b, id.b, 16);
    assert_true(proto_str_eq(resp.cluster_id, cluster));
    free(f);
    proto_arena_destroy(&arena);
    close(fd);
}

static void test_describe_cluster(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    proto_describe_cluster_request_t req;
    proto_msg_init(&proto_describe_cluster_request_desc, &req);
    proto_describe_cluster_response_t resp;
    proto_arena_t arena;
    proto_arena_init(&arena);
    uint8_t *f = harness_call(fd, PROTO_API_DESCRIBE_CLUSTER, 1, &req, &resp, &arena);
    assert_non_null(f);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(resp.brokers.n, 1);
    assert_int_equal(resp.brokers.v[0].port, h->port);
    free(f);
    proto_arena_destroy(&arena);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_versions_every_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_versions_too_new, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unserved_requests_close_the_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metadata_auto_create_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_cluster, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
