/* The mock cluster through the protocol: every control operation, checked
 * as a client sees it, and hostile input closing only its own connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <cmocka.h>

#include "mock_test_util.h"

static mock_fixture_t F;

/* The wall clock as this program sees it: this clock_gettime() is linked
 * before libc's (the mock is linked statically into this program), and adds
 * wall_skew_us to CLOCK_REALTIME, so a test can step the wall clock the way
 * an NTP correction does. Other clocks are untouched. */
static _Atomic long long wall_skew_us;

int clock_gettime(clockid_t id, struct timespec *ts)
{
    int rc = (int)syscall(SYS_clock_gettime, id, ts);
    long long skew = atomic_load(&wall_skew_us);
    if (rc == 0 && skew && id == CLOCK_REALTIME) {
        long long us = (long long)ts->tv_sec * 1000000 + ts->tv_nsec / 1000 + skew;
        ts->tv_sec = (time_t)(us / 1000000);
        ts->tv_nsec = (long)(us % 1000000) * 1000;
    }
    return rc;
}

static int64_t real_now_us(void)
{
    struct timespec ts;
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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

/* Produce of one record to topic/partition on broker 1; the error. */
static int16_t produce_error(mock_fixture_t *f, const char *topic, int32_t partition)
{
    int fd = mock_connect(f, 1);
    int16_t err = -2;
    int64_t base;
    assert_int_equal(mock_produce(fd, topic, partition, 1, -1, &err, &base), 0);
    close(fd);
    return err;
}

/* Broker properties by Kafka's names, over the mock's defaults; the mock's
 * own listeners stay; a bad property is refused with its name. One broker
 * each, so that broker 1 leads every partition. */
static void test_cluster_new_with(void **state)
{
    (void)state;
    /* The defaults first: a Produce creates its topic, with one partition. */
    mock_fixture_t g;
    mock_fixture_start_with(&g, 1, NULL);
    assert_int_equal(produce_error(&g, "nw", 0), 0);
    assert_int_equal(produce_error(&g, "nw", 2), KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    mock_fixture_stop(&g);

    const char *const three[] = {"num.partitions=3", "listeners=PLAINTEXT://127.0.0.1:1", NULL};
    mock_fixture_start_with(&g, 1, three);
    assert_int_equal(g.nports, 1);
    assert_true(g.ports[0] != 1); /* the listeners are the mock's */
    assert_int_equal(produce_error(&g, "nw", 2), 0);
    mock_fixture_stop(&g);

    const char *const no_auto[] = {"auto.create.topics.enable=false", NULL};
    mock_fixture_start_with(&g, 1, no_auto);
    assert_int_equal(produce_error(&g, "nw", 0), KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    int fd = mock_connect(&g, 1);
    proto_metadata_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = mock_metadata(fd, "nw", &resp, &a);
    assert_non_null(frame);
    assert_int_equal(resp.topics.n, 1);
    assert_int_equal(resp.topics.v[0].error_code, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    free(frame);
    proto_arena_destroy(&a);
    close(fd);
    mock_fixture_stop(&g);

    char err[512] = "";
    const char *const unknown[] = {"no.such.property=1", NULL};
    assert_null(kc_mock_cluster_new_with(2, unknown, err, sizeof(err)));
    if (!strstr(err, "no.such.property")) fail_msg("%s", err);
    const char *const bad[] = {"num.partitions=0", NULL};
    assert_null(kc_mock_cluster_new_with(2, bad, err, sizeof(err)));
    if (!strstr(err, "num.partitions")) fail_msg("%s", err);
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

/* -1 unpins: the group goes back to the hashed choice. */
static void test_unpin_returns_to_hashed_coordinator(void **state)
{
    mock_fixture_t *f = *state;
    int fd = mock_connect(f, 1);
    int16_t err;
    int32_t hashed, node;
    assert_int_equal(mock_find_coordinator(fd, 4, 0, "g-unpin", &err, &hashed), 0);
    assert_int_equal(err, 0);
    assert_true(hashed >= 1 && hashed <= 3);
    int32_t other = hashed % 3 + 1;
    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_GROUP, "g-unpin", other), 0);
    assert_int_equal(mock_find_coordinator(fd, 4, 0, "g-unpin", &err, &node), 0);
    assert_int_equal(node, other);
    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_GROUP, "g-unpin", -1), 0);
    assert_int_equal(mock_find_coordinator(fd, 3, 0, "g-unpin", &err, &node), 0);
    assert_int_equal(err, 0);
    assert_int_equal(node, hashed);
    /* Unpinning a key that has no pin is not an error. */
    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_GROUP, "g-unpin", -1), 0);
    close(fd);
}

static int16_t heartbeat_error(int fd, const char *group)
{
    proto_heartbeat_request_t hb;
    proto_msg_init(&proto_heartbeat_request_desc, &hb);
    hb.group_id = proto_str_of(group);
    hb.member_id = proto_str_of("m");
    proto_heartbeat_response_t hr;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = harness_call(fd, PROTO_API_HEARTBEAT, 4, &hb, &hr, &a);
    assert_non_null(frame);
    int16_t err = hr.error_code;
    free(frame);
    proto_arena_destroy(&a);
    return err;
}

/* A pinned coordinator that is down is not handed out, as Kafka hands out
 * no coordinator while its offsets partition has no leader: clients get
 * COORDINATOR_NOT_AVAILABLE and look again. The pin stays. */
static void test_pinned_coordinator_down(void **state)
{
    mock_fixture_t *f = *state;
    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_GROUP, "g-down", 2), 0);
    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_TRANSACTION, "tx-down", 2), 0);
    assert_int_equal(kc_mock_broker_down(f->mc, 2), 0);
    int fd = mock_connect(f, 1);
    int16_t err;
    int32_t node;
    for (int16_t v = 3; v <= 4; v++) {
        assert_int_equal(mock_find_coordinator(fd, v, 0, "g-down", &err, &node), 0);
        assert_int_equal(err, KC_ERR_COORDINATOR_NOT_AVAILABLE);
        assert_int_equal(node, -1);
        assert_int_equal(mock_find_coordinator(fd, v, 1, "tx-down", &err, &node), 0);
        assert_int_equal(err, KC_ERR_COORDINATOR_NOT_AVAILABLE);
        assert_int_equal(node, -1);
    }
    assert_int_equal(heartbeat_error(fd, "g-down"), KC_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(kc_mock_broker_up(f->mc, 2), 0);
    assert_int_equal(mock_find_coordinator(fd, 4, 0, "g-down", &err, &node), 0);
    assert_int_equal(err, 0);
    assert_int_equal(node, 2);
    assert_int_equal(mock_find_coordinator(fd, 3, 1, "tx-down", &err, &node), 0);
    assert_int_equal(err, 0);
    assert_int_equal(node, 2);
    assert_int_equal(heartbeat_error(fd, "g-down"), KC_ERR_NOT_COORDINATOR);
    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_GROUP, "g-down", -1), 0);
    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_TRANSACTION, "tx-down", -1), 0);
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

static int16_t find_coordinator_error(mock_fixture_t *f, int32_t broker)
{
    int fd = mock_connect(f, broker);
    int16_t err = -2;
    int32_t node;
    assert_int_equal(mock_find_coordinator(fd, 4, 0, "ce", &err, &node), 0);
    close(fd);
    return err;
}

static int16_t metadata_error(mock_fixture_t *f, int32_t broker, const char *topic)
{
    int fd = mock_connect(f, broker);
    proto_metadata_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = mock_metadata(fd, topic, &resp, &a);
    assert_non_null(frame);
    assert_int_equal(resp.topics.n, 1);
    int16_t err = resp.topics.v[0].error_code;
    free(frame);
    proto_arena_destroy(&a);
    close(fd);
    return err;
}

/* Clearing one API's or one broker's queue leaves the others queued, and
 * they still fire. */
static void test_clear_errors_of_one_api_or_broker(void **state)
{
    mock_fixture_t *f = *state;
    assert_int_equal(kc_mock_topic_create(f->mc, "ce", 1, 1), 0);
    kc_err_t nc = KC_ERR_NOT_CONTROLLER, load = KC_ERR_COORDINATOR_LOAD_IN_PROGRESS,
             lna = KC_ERR_LEADER_NOT_AVAILABLE;
    /* One API of one broker. */
    assert_int_equal(kc_mock_push_request_errors(f->mc, 1, PROTO_API_METADATA, 1, &nc, NULL), 0);
    assert_int_equal(
        kc_mock_push_request_errors(f->mc, 1, PROTO_API_FIND_COORDINATOR, 1, &load, NULL), 0);
    assert_int_equal(kc_mock_clear_request_errors(f->mc, 1, PROTO_API_METADATA), 0);
    assert_int_equal(metadata_error(f, 1, "ce"), 0);
    assert_int_equal(find_coordinator_error(f, 1), KC_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    assert_int_equal(find_coordinator_error(f, 1), 0);

    /* One API everywhere: the other API's queue stays. */
    assert_int_equal(kc_mock_push_request_errors(f->mc, -1, PROTO_API_METADATA, 1, &nc, NULL), 0);
    assert_int_equal(kc_mock_push_request_errors(f->mc, 2, PROTO_API_METADATA, 1, &nc, NULL), 0);
    assert_int_equal(
        kc_mock_push_request_errors(f->mc, 2, PROTO_API_FIND_COORDINATOR, 1, &load, NULL), 0);
    assert_int_equal(kc_mock_clear_request_errors(f->mc, -1, PROTO_API_METADATA), 0);
    assert_int_equal(metadata_error(f, 2, "ce"), 0);
    assert_int_equal(metadata_error(f, 3, "ce"), 0);
    assert_int_equal(find_coordinator_error(f, 2), KC_ERR_COORDINATOR_LOAD_IN_PROGRESS);

    /* One broker, every API: the cluster's queue and other brokers' stay.
     * Broker 1's own error is gone, so it takes the cluster's. */
    assert_int_equal(kc_mock_push_request_errors(f->mc, 1, PROTO_API_METADATA, 1, &nc, NULL), 0);
    assert_int_equal(
        kc_mock_push_request_errors(f->mc, 1, PROTO_API_FIND_COORDINATOR, 1, &load, NULL), 0);
    assert_int_equal(kc_mock_push_request_errors(f->mc, 3, PROTO_API_METADATA, 1, &nc, NULL), 0);
    assert_int_equal(kc_mock_push_request_errors(f->mc, -1, PROTO_API_METADATA, 1, &lna, NULL), 0);
    assert_int_equal(kc_mock_clear_request_errors(f->mc, 1, -1), 0);
    assert_int_equal(find_coordinator_error(f, 1), 0);
    assert_int_equal(metadata_error(f, 1, "ce"), KC_ERR_LEADER_NOT_AVAILABLE);
    assert_int_equal(metadata_error(f, 1, "ce"), 0);
    assert_int_equal(metadata_error(f, 3, "ce"), KC_ERR_NOT_CONTROLLER);
    assert_int_equal(metadata_error(f, 3, "ce"), 0);

    assert_int_equal(kc_mock_clear_request_errors(f->mc, 4, -1), KC_ERR__INVALID_ARG);
    assert_int_equal(kc_mock_clear_request_errors(f->mc, 0, -1), KC_ERR__INVALID_ARG);
    assert_int_equal(kc_mock_clear_request_errors(f->mc, -1, -2), KC_ERR__INVALID_ARG);
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

/* Polls broker's log until it holds n entries (5 s deadline). */
static kc_mock_requests_t *wait_logged(mock_fixture_t *f, int32_t broker, size_t n)
{
    for (int i = 0; i < 500; i++) {
        kc_mock_requests_t *l = kc_mock_requests_get(f->mc, broker);
        assert_non_null(l);
        if (kc_mock_requests_count(l) >= n) return l;
        kc_mock_requests_destroy(l);
        usleep(10000);
    }
    fail_msg("broker %d logged fewer than %zu requests", broker, n);
    return NULL;
}

/* A request that never got its response (parked behind an RTT when its
 * broker went down) keeps response_us -1; the log goes on afterwards. */
static void test_unanswered_request_has_no_response_time(void **state)
{
    mock_fixture_t *f = *state;
    assert_int_equal(kc_mock_requests_clear(f->mc, 3), 0);
    assert_int_equal(kc_mock_broker_set_rtt(f->mc, 3, 60000), 0);
    int fd = mock_connect(f, 3);
    proto_metadata_request_t req;
    proto_msg_init(&proto_metadata_request_desc, &req);
    req.topics.n = -1;
    assert_true(harness_send(fd, PROTO_API_METADATA, 12, &req) > 0);
    kc_mock_requests_destroy(wait_logged(f, 3, 1));
    assert_int_equal(kc_mock_broker_down(f->mc, 3), 0); /* the parked call is dropped */
    assert_true(harness_closed(fd, 5000));
    close(fd);
    assert_int_equal(kc_mock_broker_set_rtt(f->mc, 3, 0), 0);
    assert_int_equal(kc_mock_broker_up(f->mc, 3), 0);
    fd = served_connection(f, 3);
    close(fd);
    kc_mock_requests_t *l = kc_mock_requests_get(f->mc, 3);
    assert_int_equal(kc_mock_requests_count(l), 2);
    assert_int_equal(kc_mock_request_response_us(kc_mock_requests_at(l, 0)), -1);
    assert_true(kc_mock_request_response_us(kc_mock_requests_at(l, 1)) >= 0);
    kc_mock_requests_destroy(l);
}

/* response_us is a duration on a monotonic clock: a wall-clock step back
 * while a request waits does not make it negative. received_us stays the
 * wall clock's. */
static void test_response_time_survives_wall_clock_steps(void **state)
{
    mock_fixture_t *f = *state;
    const long long hour_us = 3600LL * 1000000;
    assert_int_equal(kc_mock_requests_clear(f->mc, 1), 0);
    assert_int_equal(kc_mock_broker_set_rtt(f->mc, 1, 500), 0);
    int fd = mock_connect(f, 1);
    proto_metadata_request_t req;
    proto_msg_init(&proto_metadata_request_desc, &req);
    req.topics.n = -1;
    atomic_store(&wall_skew_us, hour_us); /* an hour ahead on arrival... */
    int32_t corr = harness_send(fd, PROTO_API_METADATA, 12, &req);
    assert_true(corr > 0);
    kc_mock_requests_destroy(wait_logged(f, 1, 1));
    atomic_store(&wall_skew_us, 0); /* ...stepped back while it waits */
    proto_metadata_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *frame = harness_recv(fd, PROTO_API_METADATA, 12, corr, &resp, &a, 10000);
    assert_non_null(frame);
    free(frame);
    proto_arena_destroy(&a);
    close(fd);
    assert_int_equal(kc_mock_broker_set_rtt(f->mc, 1, 0), 0);
    kc_mock_requests_t *l = kc_mock_requests_get(f->mc, 1);
    assert_int_equal(kc_mock_requests_count(l), 1);
    const kc_mock_request_t *r = kc_mock_requests_at(l, 0);
    assert_true(kc_mock_request_received_us(r) > real_now_us() + hour_us / 2);
    if (kc_mock_request_response_us(r) < 500000)
        fail_msg("response_us %lld", (long long)kc_mock_request_response_us(r));
    kc_mock_requests_destroy(l);
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
        cmocka_unit_test(test_cluster_new_with),
        cmocka_unit_test(test_topic_create_with_replicas),
        cmocka_unit_test(test_set_leader_and_replicas),
        cmocka_unit_test(test_coordinators),
        cmocka_unit_test(test_unpin_returns_to_hashed_coordinator),
        cmocka_unit_test(test_pinned_coordinator_down),
        cmocka_unit_test(test_push_errors_cluster_wide),
        cmocka_unit_test(test_push_errors_per_broker),
        cmocka_unit_test(test_clear_errors_of_one_api_or_broker),
        cmocka_unit_test(test_error_and_broker_rtt),
        cmocka_unit_test(test_broker_down_and_up),
        cmocka_unit_test(test_close_connections),
        cmocka_unit_test(test_request_log),
        cmocka_unit_test(test_unanswered_request_has_no_response_time),
        cmocka_unit_test(test_response_time_survives_wall_clock_steps),
        cmocka_unit_test(test_hostile_input_closes_only_its_connection),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
