/* The mock cluster through the protocol: every control operation, checked
 * as a client sees it, and hostile input closing only its own connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mock_test_util.h"

static mock_fixture_t F;

static int setup(void **state)
{
    mock_fixture_start(&F, 3);
    *state = &F;
    return 0;
}

static int teardown(void **state)
{
    mock_fixture_stop(*state);
    return 0;
}

static const proto_metadata_response_partition_t *md_partition(const proto_metadata_response_t *r,
                                                               int32_t p)
{
    assert_int_equal(r->topics.n, 1);
    assert_true(p < r->topics.v[0].partitions.n);
    return &r->topics.v[0].partitions.v[p];
}

/* ---- Cluster ------------------------------------------------------------------------ */

static void test_bootstrap_lists_every_broker(void **state)
{
    mock_fixture_t *f = *state;
    assert_int_equal(f->nports, 3);
    assert_int_equal(kc_mock_cluster_broker_count(f->mc), 3);
    for (int32_t b = 1; b <= 3; b++) {
        int fd = mock_connect(f, b);
        proto_metadata_response_t resp;
        proto_arena_t a;
        proto_arena_init(&a);
        uint8_t *frame = mock_metadata(fd, NULL, &resp, &a);
        assert_non_null(frame);
        assert_int_equal(resp.brokers.n, 3);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(resp.brokers.v[i].node_id, i + 1);
            assert_int_equal(resp.brokers.v[i].port, f->ports[i]);
        }
        free(frame);
        proto_arena_destroy(&a);
        close(fd);
    }
    assert_null(kc_mock_cluster_new(0, NULL, 0));
}

static void test_topic_create_with_replicas(void **state)
{
    mock_fixture_t *f = *state;
    assert_int_equal(kc_mock_topic_create(f->mc, "rf3", 4, 3), KC_ERR_NO_ERROR);
    assert_int_equal(kc_mock_topic_create(f->mc, "rf3", 4, 3), KC_ERR_TOPIC_ALREADY_EXISTS);
    assert_int_equal(kc_mock_topic_create(f->mc, "rf4", 1, 4), KC_ERR__INVALID_ARG);
    assert_int_equal(kc_mock_topic_create(f->mc, "bad name", 1, 1), KC_ERR_INVALID_TOPIC_EXCEPTION);
    int fd = mock_connect(f, 1);
    proto_metadata_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = mock_metadata(fd, "rf3", &resp, &a);
    assert_non_null(frame);
    int led[4] = {0};
    for (int32_t p = 0; p < 4; p++) {
        const proto_metadata_response_partition_t *mp = md_partition(&resp, p);
        assert_int_equal(mp->error_code, 0);
        assert_int_equal(mp->replica_nodes.n, 3);
        assert_int_equal(mp->isr_nodes.n, 3);
        assert_int_equal(mp->replica_nodes.v[0], mp->leader_id);
        assert_true(mp->replica_nodes.v[1] != mp->replica_nodes.v[0]);
        assert_true(mp->replica_nodes.v[2] != mp->replica_nodes.v[1]);
        led[mp->leader_id]++;
    }
    assert_true(led[1] && led[2] && led[3]); /* leaders spread over the brokers */
    free(frame);
    proto_arena_destroy(&a);
    close(fd);
}

static void test_set_leader_and_replicas(void **state)
{
    mock_fixture_t *f = *state;
    assert_int_equal(kc_mock_topic_create(f->mc, "lead", 1, 1), 0);
    /* Through 1 to 2, so that the leadership changes at least once. */
    assert_int_equal(kc_mock_partition_set_leader(f->mc, "lead", 0, 1), 0);
    assert_int_equal(kc_mock_partition_set_leader(f->mc, "lead", 0, 2), 0);
    assert_int_equal(kc_mock_partition_set_leader(f->mc, "lead", 5, 2), KC_ERR__INVALID_ARG);
    assert_int_equal(kc_mock_partition_set_leader(f->mc, "nope", 0, 2), KC_ERR__INVALID_ARG);
    assert_int_equal(kc_mock_partition_set_leader(f->mc, "lead", 0, 4), KC_ERR__INVALID_ARG);
    int fd1 = mock_connect(f, 1), fd2 = mock_connect(f, 2);
    proto_metadata_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = mock_metadata(fd1, "lead", &resp, &a);
    assert_non_null(frame);
    const proto_metadata_response_partition_t *mp = md_partition(&resp, 0);
    assert_int_equal(mp->leader_id, 2);
    int32_t epoch = mp->leader_epoch;
    assert_true(epoch >= 1);
    free(frame);

    int16_t err = -2;
    int64_t base = -2;
    assert_int_equal(mock_produce(fd1, "lead", 0, 1, -1, &err, &base), 0);
    assert_int_equal(err, KC_ERR_NOT_LEADER_OR_FOLLOWER);
    assert_int_equal(mock_produce(fd2, "lead", 0, 1, -1, &err, &base), 0);
    assert_int_equal(err, 0);

    /* Followers: a replica list without the leader moves the leadership. */
    int32_t replicas[2] = {3, 1};
    assert_int_equal(kc_mock_partition_set_replicas(f->mc, "lead", 0, replicas, 2), 0);
    int32_t dup[2] = {3, 3};
    assert_int_equal(kc_mock_partition_set_replicas(f->mc, "lead", 0, dup, 2), KC_ERR__INVALID_ARG);
    frame = mock_metadata(fd1, "lead", &resp, &a);
    assert_non_null(frame);
    mp = md_partition(&resp, 0);
    assert_int_equal(mp->leader_id, 3);
    assert_true(mp->leader_epoch > epoch);
    assert_int_equal(mp->replica_nodes.n, 2);
    assert_int_equal(mp->replica_nodes.v[0], 3);
    assert_int_equal(mp->replica_nodes.v[1], 1);
    free(frame);
    /* A leader outside the replicas joins them. */
    assert_int_equal(kc_mock_partition_set_leader(f->mc, "lead", 0, 2), 0);
    frame = mock_metadata(fd1, "lead", &resp, &a);
    mp = md_partition(&resp, 0);
    assert_int_equal(mp->leader_id, 2);
    assert_int_equal(mp->replica_nodes.n, 3);
    free(frame);
    proto_arena_destroy(&a);
    close(fd1);
    close(fd2);
}

/* ---- Coordinators ------------------------------------------------------------------ */

static void test_coordinators(void **state)
{
    mock_fixture_t *f = *state;
    int fd = mock_connect(f, 1);
    int16_t err;
    int32_t node;
    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_GROUP, "g1", 2), 0);
    assert_int_equal(mock_find_coordinator(fd, 3, 0, "g1", &err, &node), 0);
    assert_int_equal(err, 0);
    assert_int_equal(node, 2);
    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_GROUP, "g1", 3), 0);
    assert_int_equal(mock_find_coordinator(fd, 4, 0, "g1", &err, &node), 0);
    assert_int_equal(node, 3);

    /* The group APIs follow the pin: another broker is not the coordinator. */
    proto_heartbeat_request_t hb;
    proto_msg_init(&proto_heartbeat_request_desc, &hb);
    hb.group_id = proto_str_of("g1");
    hb.member_id = proto_str_of("m");
    proto_heartbeat_response_t hr;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = harness_call(fd, PROTO_API_HEARTBEAT, 4, &hb, &hr, &a);
    assert_non_null(frame);
    assert_int_equal(hr.error_code, KC_ERR_NOT_COORDINATOR);
    free(frame);
    proto_arena_destroy(&a);

    /* Transactions: none by default; a pinned one is answered. */
    assert_int_equal(mock_find_coordinator(fd, 3, 1, "tx", &err, &node), 0);
    assert_int_equal(err, KC_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_TRANSACTION, "tx", 1), 0);
    assert_int_equal(mock_find_coordinator(fd, 4, 1, "tx", &err, &node), 0);
    assert_int_equal(err, 0);
    assert_int_equal(node, 1);
    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_TRANSACTION, "tx", -1), 0);
    assert_int_equal(mock_find_coordinator(fd, 4, 1, "tx", &err, &node), 0);
    assert_int_equal(err, KC_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(kc_mock_coordinator_set(f->mc, 7, "tx", 1), KC_ERR__INVALID_ARG);
    assert_int_equal(kc_mock_coordinator_set(f->mc, 0, "tx", 9), KC_ERR__INVALID_ARG);
    close(fd);
}

/* ---- Injected errors ------------------------------------------------------------------ */

static const kc_mock_request_t *last_request(kc_mock_requests_t *l)
{
    size_t n = kc_mock_requests_count(l);
    assert_true(n > 0);
    return kc_mock_requests_at(l, n - 1);
}

static void test_push_errors_cluster_wide(void **state)
{
    mock_fixture_t *f = *state;
    assert_int_equal(kc_mock_topic_create(f->mc, "errs", 1, 1), 0);
    assert_int_equal(kc_mock_partition_set_leader(f->mc, "errs", 0, 1), 0);
    kc_err_t errs[2] = {KC_ERR_NOT_LEADER_OR_FOLLOWER, KC_ERR_REQUEST_TIMED_OUT};
    assert_int_equal(kc_mock_push_request_errors(f->mc, -1, PROTO_API_PRODUCE, 2, errs, NULL), 0);
    int fd = mock_connect(f, 1);
    int16_t err;
    int64_t base;
    assert_int_equal(mock_produce(fd, "errs", 0, 2, -1, &err, &base), 0);
    assert_int_equal(err, KC_ERR_NOT_LEADER_OR_FOLLOWER);
    assert_int_equal(mock_produce(fd, "errs", 0, 2, -1, &err, &base), 0);
    assert_int_equal(err, KC_ERR_REQUEST_TIMED_OUT);
    assert_int_equal(mock_produce(fd, "errs", 0, 2, -1, &err, &base), 0);
    assert_int_equal(err, 0);
    assert_int_equal(base, 0); /* the failed requests appended nothing */
    kc_mock_requests_t *l = kc_mock_requests_get(f->mc, 1);
    size_t n = kc_mock_requests_count(l);
    assert_true(n >= 3);
    assert_int_equal(kc_mock_request_injected_error(kc_mock_requests_at(l, n - 3)), 6);
    assert_int_equal(kc_mock_request_injected_error(kc_mock_requests_at(l, n - 2)), 7);
    assert_int_equal(kc_mock_request_injected_error(kc_mock_requests_at(l, n - 1)), 0);
    kc_mock_requests_destroy(l);

    /* acks=0: an injected error is not answered; the next request is. */
    assert_int_equal(kc_mock_push_request_errors(f->mc, -1, PROTO_API_PRODUCE, 1, errs, NULL), 0);
    assert_int_equal(mock_produce(fd, "errs", 0, 1, 0, &err, &base), -1);
    assert_int_equal(mock_produce(fd, "errs", 0, 1, -1, &err, &base), 0);
    assert_int_equal(err, 0);
    assert_int_equal(base, 2);

    /* Bad arguments. */
    assert_int_equal(kc_mock_push_request_errors(f->mc, 4, 0, 2, errs, NULL), KC_ERR__INVALID_ARG);
    assert_int_equal(kc_mock_push_request_errors(f->mc, -1, 9999, 2, errs, NULL),
                     KC_ERR__INVALID_ARG);
    kc_err_t local = KC_ERR__TRANSPORT;
    assert_int_equal(kc_mock_push_request_errors(f->mc, -1, 0, 1, &local, NULL),
                     KC_ERR__INVALID_ARG);
    close(fd);
}

static void test_push_errors_per_broker(void **state)
{
    mock_fixture_t *f = *state;
    assert_int_equal(kc_mock_topic_create(f->mc, "pb", 1, 1), 0);
    kc_err_t e = KC_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    assert_int_equal(kc_mock_push_request_errors(f->mc, 2, PROTO_API_FIND_COORDINATOR, 1, &e, NULL),
                     0);
    int fd1 = mock_connect(f, 1), fd2 = mock_connect(f, 2);
    int16_t err;
    int32_t node;
    /* Broker 1 has no queued error; broker 2 answers with it once. The v4
     * answer carries the key it was asked (keys sent as bare strings). */
    assert_int_equal(mock_find_coordinator(fd1, 4, 0, "grp", &err, &node), 0);
    assert_int_equal(err, 0);
    assert_int_equal(mock_find_coordinator(fd2, 4, 0, "grp", &err, &node), 0);
    assert_int_equal(err, KC_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    assert_int_equal(mock_find_coordinator(fd2, 4, 0, "grp", &err, &node), 0);
    assert_int_equal(err, 0);

    /* Metadata: the topic asked for comes back with the error. */
    e = KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    assert_int_equal(kc_mock_push_request_errors(f->mc, 2, PROTO_API_METADATA, 1, &e, NULL), 0);
    proto_metadata_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = mock_metadata(fd2, "pb", &resp, &a);
    assert_non_null(frame);
    assert_int_equal(resp.topics.n, 1);
    assert_int_equal(resp.topics.v[0].error_code, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(resp.topics.v[0].name.len, 2);
    free(frame);
    /* Cleared queues inject nothing. */
    assert_int_equal(kc_mock_push_request_errors(f->mc, 2, PROTO_API_METADATA, 1, &e, NULL), 0);
    assert_int_equal(kc_mock_clear_request_errors(f->mc, -1, -1), 0);
    frame = mock_metadata(fd2, "pb", &resp, &a);
    assert_int_equal(resp.topics.v[0].error_code, 0);
    free(frame);
    proto_arena_destroy(&a);
    close(fd1);
    close(fd2);
}

/* Lower bounds only: a timer never fires early, so these cannot flake. */
static void test_error_and_broker_rtt(void **state)
{
    mock_fixture_t *f = *state;
    int fd = mock_connect(f, 3);
    assert_int_equal(kc_mock_requests_clear(f->mc, 3), 0);
    kc_err_t e[2] = {KC_ERR_NO_ERROR, KC_ERR_NOT_COORDINATOR};
    int rtt[2] = {300, 200};
    assert_int_equal(kc_mock_push_request_errors(f->mc, 3, PROTO_API_FIND_COORDINATOR, 2, e, rtt),
                     0);
    int16_t err;
    int32_t node;
    assert_int_equal(mock_find_coordinator(fd, 3, 0, "x", &err, &node), 0);
    assert_int_equal(err, 0);
    assert_int_equal(mock_find_coordinator(fd, 3, 0, "x", &err, &node), 0);
    assert_int_equal(err, KC_ERR_NOT_COORDINATOR);
    kc_mock_requests_t *l = kc_mock_requests_get(f->mc, 3);
    assert_int_equal(kc_mock_requests_count(l), 2);
    assert_true(kc_mock_request_response_us(kc_mock_requests_at(l, 0)) >= 300000);
    assert_true(kc_mock_request_response_us(kc_mock_requests_at(l, 1)) >= 200000);
    kc_mock_requests_destroy(l);

    assert_int_equal(kc_mock_broker_set_rtt(f->mc, 3, 250), 0);
    proto_metadata_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = mock_metadata(fd, NULL, &resp, &a);
    assert_non_null(frame);
    free(frame);
    proto_arena_destroy(&a);
    l = kc_mock_requests_get(f->mc, 3);
    assert_true(kc_mock_request_response_us(last_request(l)) >= 250000);
    kc_mock_requests_destroy(l);
    assert_int_equal(kc_mock_broker_set_rtt(f->mc, 3, 0), 0);
    assert_int_equal(kc_mock_broker_set_rtt(f->mc, 3, -1), KC_ERR__INVALID_ARG);
    /* A connection closed while its request waits out the delay is fine. */
    assert_int_equal(kc_mock_broker_set_rtt(f->mc, 3, 5000), 0);
    proto_metadata_request_t req;
    proto_msg_init(&proto_metadata_request_desc, &req);
    req.topics.n = -1;
    assert_true(harness_send(fd, PROTO_API_METADATA, 12, &req) > 0);
    close(fd);
    assert_int_equal(kc_mock_broker_set_rtt(f->mc, 3, 0), 0);
}

/* ---- Brokers and connections -------------------------------------------------------- */

static void test_broker_down_and_up(void **state)
{
    mock_fixture_t *f = *state;
    assert_int_equal(kc_mock_topic_create(f->mc, "down", 1, 1), 0);
    assert_int_equal(kc_mock_partition_set_leader(f->mc, "down", 0, 2), 0);
    int fd2 = mock_connect(f, 2);
    assert_int_equal(kc_mock_broker_down(f->mc, 2), 0);
    assert_true(harness_closed(fd2, 5000));
    close(fd2);
    assert_int_equal(mock_try_connect(f, 2), -1);
    int fd1 = mock_connect(f, 1);
    proto_metadata_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = mock_metadata(fd1, "down", &resp, &a);
    assert_non_null(frame);
    assert_int_equal(resp.brokers.n, 2);
    assert_int_equal(md_partition(&resp, 0)->error_code, KC_ERR_LEADER_NOT_AVAILABLE);
    assert_int_equal(md_partition(&resp, 0)->leader_id, -1);
    free(frame);

    assert_int_equal(kc_mock_broker_up(f->mc, 2), 0);
    fd2 = mock_connect(f, 2);
    frame = mock_metadata(fd2, "down", &resp, &a);
    assert_non_null(frame);
    assert_int_equal(resp.brokers.n, 3);
    assert_int_equal(md_partition(&resp, 0)->leader_id, 2);
    free(frame);
    proto_arena_destroy(&a);
    close(fd1);
    close(fd2);
}

/* A connection the mock has accepted: one request answered on it. */
static int served_connection(mock_fixture_t *f, int32_t broker)
{
    int fd = mock_connect(f, broker);
    proto_metadata_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = mock_metadata(fd, NULL, &resp, &a);
    assert_non_null(frame);
    free(frame);
    proto_arena_destroy(&a);
    return fd;
}

static void test_close_connections(void **state)
{
    mock_fixture_t *f = *state;
    int fds[3];
    for (int i = 0; i < 3; i++)
        fds[i] = served_connection(f, i + 1);
    assert_int_equal(kc_mock_close_connections(f->mc, 2), 0);
    assert_true(harness_closed(fds[1], 5000));
    assert_false(harness_closed(fds[0], 100)); /* time-out: still open */
    close(fds[1]);
    fds[1] = served_connection(f, 2);
    assert_int_equal(kc_mock_close_connections(f->mc, -1), 0);
    for (int i = 0; i < 3; i++) {
        assert_true(harness_closed(fds[i], 5000));
        close(fds[i]);
    }
    /* Still serving. */
    int fd = mock_connect(f, 3);
    proto_metadata_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = mock_metadata(fd, NULL, &resp, &a);
    assert_non_null(frame);
    free(frame);
    proto_arena_destroy(&a);
    close(fd);
}

/* ---- Request log --------------------------------------------------------------------- */

static void test_request_log(void **state)
{
    mock_fixture_t *f = *state;
    assert_int_equal(kc_mock_requests_clear(f->mc, -1), 0);
    kc_mock_requests_t *l = kc_mock_requests_get(f->mc, -1);
    assert_int_equal(kc_mock_requests_count(l), 0);
    kc_mock_requests_destroy(l);
    int fd1 = mock_connect(f, 1), fd2 = mock_connect(f, 2);
    int16_t err;
    int32_t node;
    assert_int_equal(mock_find_coordinator(fd2, 3, 0, "a", &err, &node), 0);
    proto_metadata_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    free(mock_metadata(fd1, NULL, &resp, &a));
    proto_arena_destroy(&a);

    l = kc_mock_requests_get(f->mc, 1);
    assert_int_equal(kc_mock_requests_count(l), 1);
    const kc_mock_request_t *r = kc_mock_requests_at(l, 0);
    assert_int_equal(kc_mock_request_broker_id(r), 1);
    assert_int_equal(kc_mock_request_api_key(r), PROTO_API_METADATA);
    assert_int_equal(kc_mock_request_api_version(r), 12);
    assert_string_equal(kc_mock_request_client_id(r), "kc-test");
    assert_true(kc_mock_request_received_us(r) > 0);
    assert_true(kc_mock_request_response_us(r) >= 0);
    assert_null(kc_mock_requests_at(l, 1));
    kc_mock_requests_destroy(l);
    /* Every broker's, in arrival order. */
    l = kc_mock_requests_get(f->mc, -1);
    assert_int_equal(kc_mock_requests_count(l), 2);
    assert_int_equal(kc_mock_request_api_key(kc_mock_requests_at(l, 0)),
                     PROTO_API_FIND_COORDINATOR);
    assert_int_equal(kc_mock_request_broker_id(kc_mock_requests_at(l, 0)), 2);
    assert_int_equal(kc_mock_request_api_key(kc_mock_requests_at(l, 1)), PROTO_API_METADATA);
    kc_mock_requests_destroy(l);
    assert_null(kc_mock_requests_get(f->mc, 7));
    assert_int_equal(kc_mock_requests_clear(f->mc, 2), 0);
    l = kc_mock_requests_get(f->mc, -1);
    assert_int_equal(kc_mock_requests_count(l), 1);
    kc_mock_requests_destroy(l);
    close(fd1);
    close(fd2);
}

/* ---- Hostile input ------------------------------------------------------------------ */

static void send_raw(int fd, const uint8_t *body, size_t n)
{
    uint8_t size[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    assert_int_equal(harness_send_all(fd, size, 4), 0);
    assert_int_equal(harness_send_all(fd, body, n), 0);
}

static void assert_still_serving(mock_fixture_t *f, int32_t broker, int other_fd)
{
    proto_metadata_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = mock_metadata(other_fd, NULL, &resp, &a);
    assert_non_null(frame);
    free(frame);
    int fd = mock_connect(f, broker);
    frame = mock_metadata(fd, NULL, &resp, &a);
    assert_non_null(frame);
    assert_int_equal(resp.brokers.n, 3);
    free(frame);
    proto_arena_destroy(&a);
    close(fd);
}

static void test_hostile_input_closes_only_its_connection(void **state)
{
    mock_fixture_t *f = *state;
    int other = mock_connect(f, 1);
    /* Metadata v1 claiming 2^31-1 topics (librdkafka's mock aborts here). */
    static const uint8_t huge_topics[] = {
        0,    3,    0,    1,              /* api key 3, version 1 */
        0,    0,    0,    7,              /* correlation id */
        0,    4,    'e',  'v',  'i', 'l', /* client id */
        0x7f, 0xff, 0xff, 0xff,           /* topic count */
        0,    1,    'a',                  /* one name, then nothing */
    };
    int fd = mock_connect(f, 1);
    send_raw(fd, huge_topics, sizeof(huge_topics));
    assert_true(harness_closed(fd, 5000));
    close(fd);
    assert_still_serving(f, 1, other);

    /* The same in a flexible version: a compact array of 2^31-2 topics. */
    static const uint8_t huge_compact[] = {
        0,    3,    0,    12,   0,    0, 0, 8, 0, 4, 'e', 'v', 'i', 'l', 0, /* header v2, no tags */
        0xff, 0xff, 0xff, 0xff, 0x07,                                       /* uvarint 2^31-1 */
    };
    fd = mock_connect(f, 1);
    send_raw(fd, huge_compact, sizeof(huge_compact));
    assert_true(harness_closed(fd, 5000));
    close(fd);

    /* A frame claiming 2 GiB, an unknown API key, garbage. */
    fd = mock_connect(f, 1);
    uint8_t big[4] = {0x7f, 0xff, 0xff, 0xff};
    assert_int_equal(harness_send_all(fd, big, 4), 0);
    assert_true(harness_closed(fd, 5000));
    close(fd);
    static const uint8_t unknown_api[] = {0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff};
    fd = mock_connect(f, 1);
    send_raw(fd, unknown_api, sizeof(unknown_api));
    assert_true(harness_closed(fd, 5000));
    close(fd);
    static const uint8_t garbage[] = {1, 2, 3};
    fd = mock_connect(f, 1);
    send_raw(fd, garbage, sizeof(garbage));
    assert_true(harness_closed(fd, 5000));
    close(fd);

    /* Injected errors answer well-formed requests only. */
    kc_err_t e = KC_ERR_NOT_CONTROLLER;
    assert_int_equal(kc_mock_push_request_errors(f->mc, -1, PROTO_API_METADATA, 1, &e, NULL), 0);
    fd = mock_connect(f, 1);
    send_raw(fd, huge_topics, sizeof(huge_topics));
    assert_true(harness_closed(fd, 5000));
    close(fd);
    assert_int_equal(kc_mock_clear_request_errors(f->mc, -1, -1), 0);
    assert_still_serving(f, 1, other);
    close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap_lists_every_broker),
        cmocka_unit_test(test_topic_create_with_replicas),
        cmocka_unit_test(test_set_leader_and_replicas),
        cmocka_unit_test(test_coordinators),
        cmocka_unit_test(test_push_errors_cluster_wide),
        cmocka_unit_test(test_push_errors_per_broker),
        cmocka_unit_test(test_error_and_broker_rtt),
        cmocka_unit_test(test_broker_down_and_up),
        cmocka_unit_test(test_close_connections),
        cmocka_unit_test(test_request_log),
        cmocka_unit_test(test_hostile_input_closes_only_its_connection),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
