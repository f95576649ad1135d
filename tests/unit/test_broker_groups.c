/* The classic group coordinator through the protocol, members as separate
 * client sockets: join (MEMBER_ID_REQUIRED first), sync, heartbeats, a
 * second member's join seen as REBALANCE_IN_PROGRESS, session expiry,
 * leaving, static membership, the error answers, FindCoordinator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "groups_test_util.h"

static int setup(void **state)
{
    static harness_t h;
    static const char *const overrides[] = {"group.initial.rebalance.delay.ms=0",
                                            "group.min.session.timeout.ms=100", "num.partitions=2",
                                            NULL};
    harness_start(&h, overrides);
    *state = &h;
    int fd = harness_connect(&h);
    gt_create_topic(fd, "t1");
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    return 0;
}

/* A one-member group: join, sync, heartbeat, commit, fetch. */
static gt_member_t one_member(harness_t *h, const char *group, int32_t session_ms)
{
    gt_member_t m = {.fd = harness_connect(h)};
    int32_t corr = gt_join_start(&m, group, session_ms);
    assert_int_equal(gt_join_recv(&m, 5, corr, 10000), 0);
    assert_string_equal(m.leader, m.id);
    gt_member_t *all[] = {&m};
    int a = 0;
    assert_int_equal(gt_sync_recv(&m, gt_sync_send(&m, group, all, 1), &a), 0);
    assert_int_equal(a, 'A');
    return m;
}

static void test_single_member(void **state)
{
    harness_t *h = *state;
    gt_member_t m = one_member(h, "g-single", 10000);
    assert_int_equal(m.generation, 1);
    assert_int_equal(m.nmembers, 1);
    assert_int_equal(gt_heartbeat(&m, "g-single"), 0);
    assert_int_equal(gt_commit(m.fd, 8, "g-single", m.generation, m.id, "t1", 0, 42, "meta"), 0);
    char meta[256];
    assert_int_equal(gt_fetch(m.fd, "g-single", "t1", 0, meta), 42);
    assert_string_equal(meta, "meta");
    assert_int_equal(gt_fetch(m.fd, "g-single", "t1", 1, NULL), -1);
    char st[64];
    assert_int_equal(gt_describe(m.fd, "g-single", st, NULL), 0);
    assert_string_equal(st, "Stable");
    close(m.fd);
}

/* Members A and B, both through their join and sync of one generation. */
static void two_members(harness_t *h, const char *group, gt_member_t *a, gt_member_t *b,
                        int32_t session_b)
{
    *a = one_member(h, group, 10000);
    *b = (gt_member_t){.fd = harness_connect(h)};
    int32_t cb = gt_join_start(b, group, session_b);
    /* B's join waits for A to rejoin; A learns it from its heartbeat. */
    int64_t deadline = gt_now_ms() + 10000;
    int err;
    while ((err = gt_heartbeat(a, group)) == 0 && gt_now_ms() < deadline)
        gt_sleep_ms(10);
    assert_int_equal(err, KC_ERR_REBALANCE_IN_PROGRESS);
    int32_t ca = gt_join_send(a, 5, group, NULL, 10000, "t1");
    assert_int_equal(gt_join_recv(a, 5, ca, 10000), 0);
    assert_int_equal(gt_join_recv(b, 5, cb, 10000), 0);
    assert_int_equal(a->generation, 2);
    assert_int_equal(b->generation, 2);
    assert_string_equal(a->leader, a->id);
    assert_string_equal(b->leader, a->id);
    assert_int_equal(a->nmembers, 2); /* the leader sees everyone */
    assert_int_equal(b->nmembers, 0);
    gt_member_t *all[] = {a, b};
    int asg_a = 0, asg_b = 0;
    int32_t sb = gt_sync_send(b, group, NULL, 0); /* the follower first: it waits */
    int32_t sa = gt_sync_send(a, group, all, 2);
    assert_int_equal(gt_sync_recv(a, sa, &asg_a), 0);
    assert_int_equal(gt_sync_recv(b, sb, &asg_b), 0);
    assert_int_equal(asg_a, 'A');
    assert_int_equal(asg_b, 'B');
}

static void test_two_members_rebalance(void **state)
{
    harness_t *h = *state;
    gt_member_t a, b;
    two_members(h, "g-two", &a, &b, 10000);
    assert_int_equal(gt_heartbeat(&a, "g-two"), 0);
    assert_int_equal(gt_heartbeat(&b, "g-two"), 0);
    char st[64];
    int32_t n = 0;
    assert_int_equal(gt_describe(a.fd, "g-two", st, &n), 0);
    assert_string_equal(st, "Stable");
    assert_int_equal(n, 2);
    close(a.fd);
    close(b.fd);
}

static void test_session_expiry(void **state)
{
    harness_t *h = *state;
    gt_member_t a, b;
    two_members(h, "g-expiry", &a, &b, 300);
    /* B goes silent; A keeps heartbeating until the coordinator notices. */
    int64_t deadline = gt_now_ms() + 10000;
    int err;
    while ((err = gt_heartbeat(&a, "g-expiry")) == 0 && gt_now_ms() < deadline)
        gt_sleep_ms(50);
    assert_int_equal(err, KC_ERR_REBALANCE_IN_PROGRESS);
    int32_t ca = gt_join_send(&a, 5, "g-expiry", NULL, 10000, "t1");
    assert_int_equal(gt_join_recv(&a, 5, ca, 10000), 0);
    assert_int_equal(a.generation, 3);
    assert_int_equal(a.nmembers, 1);
    assert_int_equal(gt_heartbeat(&b, "g-expiry"), KC_ERR_UNKNOWN_MEMBER_ID);
    close(a.fd);
    close(b.fd);
}

static void test_leave_triggers_rebalance(void **state)
{
    harness_t *h = *state;
    gt_member_t a, b;
    two_members(h, "g-leave", &a, &b, 10000);
    assert_int_equal(gt_leave(&b, "g-leave"), 0);
    assert_int_equal(gt_heartbeat(&a, "g-leave"), KC_ERR_REBALANCE_IN_PROGRESS);
    int32_t ca = gt_join_send(&a, 5, "g-leave", NULL, 10000, "t1");
    assert_int_equal(gt_join_recv(&a, 5, ca, 10000), 0);
    assert_int_equal(a.nmembers, 1);
    /* The last member leaving empties the group. */
    gt_member_t *all[] = {&a};
    assert_int_equal(gt_sync_recv(&a, gt_sync_send(&a, "g-leave", all, 1), NULL), 0);
    assert_int_equal(gt_leave(&a, "g-leave"), 0);
    char st[64];
    assert_int_equal(gt_describe(a.fd, "g-leave", st, NULL), 0);
    assert_string_equal(st, "Empty");
    assert_int_equal(gt_leave(&a, "g-leave"), KC_ERR_UNKNOWN_MEMBER_ID);
    close(a.fd);
    close(b.fd);
}

static void test_static_member_rejoin(void **state)
{
    harness_t *h = *state;
    gt_member_t s = {.fd = harness_connect(h)};
    /* Static members get their id at once (no MEMBER_ID_REQUIRED). */
    int32_t c = gt_join_send(&s, 5, "g-static", "inst-1", 10000, "t1");
    assert_int_equal(gt_join_recv(&s, 5, c, 10000), 0);
    assert_int_equal(s.generation, 1);
    gt_member_t *all[] = {&s};
    assert_int_equal(gt_sync_recv(&s, gt_sync_send(&s, "g-static", all, 1), NULL), 0);
    char old_id[256];
    snprintf(old_id, sizeof(old_id), "%s", s.id);

    /* The same instance restarts: new connection, no member id. */
    gt_member_t s2 = {.fd = harness_connect(h)};
    c = gt_join_send(&s2, 5, "g-static", "inst-1", 10000, "t1");
    assert_int_equal(gt_join_recv(&s2, 5, c, 10000), 0);
    assert_int_equal(s2.generation, 1); /* no rebalance */
    assert_string_not_equal(s2.id, old_id);
    /* Before v9 the old leader id keeps it from assigning again. */
    assert_string_equal(s2.leader, old_id);
    assert_int_equal(gt_heartbeat(&s2, "g-static"), 0);
    assert_int_equal(gt_heartbeat(&s, "g-static"), KC_ERR_UNKNOWN_MEMBER_ID);
    int a = 0;
    assert_int_equal(gt_sync_recv(&s2, gt_sync_send(&s2, "g-static", NULL, 0), &a), 0);
    assert_int_equal(a, 'A'); /* its previous assignment */
    char st[64];
    assert_int_equal(gt_describe(s.fd, "g-static", st, NULL), 0);
    assert_string_equal(st, "Stable");

    /* The old process's id with the instance id is fenced. */
    proto_heartbeat_request_t req;
    proto_msg_init(&proto_heartbeat_request_desc, &req);
    req.group_id = proto_str_of("g-static");
    req.generation_id = 1;
    req.member_id = proto_str_of(old_id);
    req.group_instance_id = proto_str_of("inst-1");
    proto_heartbeat_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(s.fd, PROTO_API_HEARTBEAT, 4, &req, &resp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(resp.error_code, KC_ERR_FENCED_INSTANCE_ID);
    gt_done(&r);
    close(s.fd);
    close(s2.fd);
}

static void test_member_errors(void **state)
{
    harness_t *h = *state;
    gt_member_t m = one_member(h, "g-err", 10000);
    gt_member_t bad = m;
    bad.generation = m.generation + 1;
    assert_int_equal(gt_heartbeat(&bad, "g-err"), KC_ERR_ILLEGAL_GENERATION);
    snprintf(bad.id, sizeof(bad.id), "nobody");
    bad.generation = m.generation;
    assert_int_equal(gt_heartbeat(&bad, "g-err"), KC_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(gt_heartbeat(&m, "no-such-group"), KC_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(gt_heartbeat(&m, ""), KC_ERR_INVALID_GROUP_ID);
    bad = m;
    bad.generation = 7;
    assert_int_equal(gt_sync_recv(&bad, gt_sync_send(&bad, "g-err", NULL, 0), NULL),
                     KC_ERR_ILLEGAL_GENERATION);
    assert_int_equal(gt_commit(m.fd, 8, "g-err", 7, m.id, "t1", 0, 1, NULL),
                     KC_ERR_ILLEGAL_GENERATION);
    assert_int_equal(gt_commit(m.fd, 8, "g-err", m.generation, "nobody", "t1", 0, 1, NULL),
                     KC_ERR_UNKNOWN_MEMBER_ID);
    /* Generation -1 commits only while the group is Empty. */
    assert_int_equal(gt_commit(m.fd, 8, "g-err", -1, "", "t1", 0, 1, NULL),
                     KC_ERR_UNKNOWN_MEMBER_ID);

    gt_member_t n = {.fd = harness_connect(h)};
    assert_int_equal(gt_join_recv(&n, 5, gt_join_send(&n, 5, "", NULL, 10000, "t1"), 5000),
                     KC_ERR_INVALID_GROUP_ID);
    assert_int_equal(gt_join_recv(&n, 5, gt_join_send(&n, 5, "g-err2", NULL, 10, "t1"), 5000),
                     KC_ERR_INVALID_SESSION_TIMEOUT);
    snprintf(n.id, sizeof(n.id), "made-up");
    assert_int_equal(gt_join_recv(&n, 5, gt_join_send(&n, 5, "g-err", NULL, 10000, "t1"), 5000),
                     KC_ERR_UNKNOWN_MEMBER_ID);

    /* A member with another protocol type cannot join. */
    proto_join_group_request_t req;
    proto_msg_init(&proto_join_group_request_desc, &req);
    proto_join_group_request_protocol_t p = {proto_str_of("other"), proto_slice_of("x", 1)};
    req.group_id = proto_str_of("g-err");
    req.session_timeout_ms = 10000;
    req.member_id = proto_str_of("");
    req.protocol_type = proto_str_of("connect");
    req.protocols.v = &p;
    req.protocols.n = 1;
    proto_join_group_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(n.fd, PROTO_API_JOIN_GROUP, 7, &req, &resp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(resp.error_code, KC_ERR_INCONSISTENT_GROUP_PROTOCOL);
    assert_null(resp.protocol_name.ptr); /* null in v7+ */
    gt_done(&r);
    close(n.fd);
    close(m.fd);
}

/* JoinGroup v0-3 adds the member at once (no MEMBER_ID_REQUIRED). */
static void test_old_join_versions(void **state)
{
    harness_t *h = *state;
    for (int16_t v = 0; v <= 9; v++) {
        char group[32];
        snprintf(group, sizeof(group), "g-v%d", v);
        gt_member_t m = {.fd = harness_connect(h)};
        int err = gt_join_recv(&m, v, gt_join_send(&m, v, group, NULL, 10000, "t1"), 5000);
        if (v >= 4) {
            assert_int_equal(err, KC_ERR_MEMBER_ID_REQUIRED);
            err = gt_join_recv(&m, v, gt_join_send(&m, v, group, NULL, 10000, "t1"), 5000);
        }
        assert_int_equal(err, 0);
        assert_int_equal(m.generation, 1);
        assert_string_equal(m.leader, m.id);
        close(m.fd);
    }
}

static void test_find_coordinator(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    for (int16_t v = 0; v <= 6; v++) {
        proto_find_coordinator_request_t req;
        proto_msg_init(&proto_find_coordinator_request_desc, &req);
        proto_str_t keys[2] = {proto_str_of("g1"), proto_str_of("g2")};
        if (v >= 4) {
            req.coordinator_keys.v = keys;
            req.coordinator_keys.n = 2;
        } else {
            req.key = keys[0];
        }
        proto_find_coordinator_response_t resp;
        gt_resp_t r;
        proto_arena_init(&r.arena);
        r.frame = harness_call(fd, PROTO_API_FIND_COORDINATOR, v, &req, &resp, &r.arena);
        assert_non_null(r.frame);
        if (v >= 4) {
            assert_int_equal(resp.coordinators.n, 2);
            assert_int_equal(resp.coordinators.v[1].error_code, 0);
            assert_int_equal(resp.coordinators.v[1].port, h->port);
            assert_true(proto_str_eq(resp.coordinators.v[1].key, "g2"));
        } else {
            assert_int_equal(resp.error_code, 0);
            assert_int_equal(resp.port, h->port);
            assert_int_equal(resp.node_id, h->broker->nodes[0].id);
        }
        gt_done(&r);
    }
    /* No transaction coordinator. */
    proto_find_coordinator_request_t req;
    proto_msg_init(&proto_find_coordinator_request_desc, &req);
    req.key = proto_str_of("txn");
    req.key_type = 1;
    proto_find_coordinator_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_FIND_COORDINATOR, 3, &req, &resp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(resp.error_code, KC_ERR_COORDINATOR_NOT_AVAILABLE);
    gt_done(&r);
    close(fd);
}

/* Members that go away without leaving are ended by their session, and the
 * group empties. */
static void test_last_member_session_ends(void **state)
{
    harness_t *h = *state;
    gt_member_t a, b;
    two_members(h, "g-closed", &a, &b, 300);
    assert_int_equal(gt_leave(&a, "g-closed"), 0);
    close(a.fd);
    /* B rejoins alone and gets the generation. */
    int32_t cb = gt_join_send(&b, 5, "g-closed", NULL, 300, "t1");
    assert_int_equal(gt_join_recv(&b, 5, cb, 10000), 0);
    assert_int_equal(b.nmembers, 1);
    gt_member_t *all[] = {&b};
    assert_int_equal(gt_sync_recv(&b, gt_sync_send(&b, "g-closed", all, 1), NULL), 0);
    (void)harness_closed;
    (void)harness_restart;
    close(b.fd);
    char st[64];
    int fd = harness_connect(h);
    int64_t deadline = gt_now_ms() + 10000;
    do {
        gt_sleep_ms(50);
        assert_int_equal(gt_describe(fd, "g-closed", st, NULL), 0);
    } while (strcmp(st, "Empty") && gt_now_ms() < deadline);
    assert_string_equal(st, "Empty");
    close(fd);
}

/* A member that does not rejoin within the rebalance timeout (5 s here) is
 * dropped and the others get their generation without it. */
static void test_rebalance_timeout_drops_silent_member(void **state)
{
    harness_t *h = *state;
    gt_member_t a, b;
    two_members(h, "g-rto", &a, &b, 10000);
    gt_member_t c = {.fd = harness_connect(h)};
    int32_t cc = gt_join_start(&c, "g-rto", 10000);
    assert_int_equal(gt_heartbeat(&a, "g-rto"), KC_ERR_REBALANCE_IN_PROGRESS);
    int32_t ca = gt_join_send(&a, 5, "g-rto", NULL, 10000, "t1");
    /* B stays silent. */
    assert_int_equal(gt_join_recv(&a, 5, ca, 20000), 0);
    assert_int_equal(gt_join_recv(&c, 5, cc, 20000), 0);
    assert_int_equal(a.generation, 3);
    assert_int_equal(a.nmembers, 2);
    assert_int_equal(gt_heartbeat(&b, "g-rto"), KC_ERR_UNKNOWN_MEMBER_ID);
    close(a.fd);
    close(b.fd);
    close(c.fd);
}

/* Long protocol lists (hostile or not) cost time linear in their length:
 * two members with 20000 shared protocols join and agree on one. */
static void test_many_protocols(void **state)
{
    harness_t *h = *state;
    enum { N = 20000 };
    proto_join_group_request_protocol_t *p = calloc(N, sizeof(*p));
    char(*names)[16] = calloc(N, sizeof(*names));
    assert_non_null(p);
    assert_non_null(names);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "p%d", i);
        p[i].name = proto_str_of(names[i]);
        p[i].metadata = proto_slice_of("m", 1);
    }
    int fds[2];
    int32_t corr[2];
    for (int k = 0; k < 2; k++) {
        fds[k] = harness_connect(h);
        proto_join_group_request_t req;
        proto_msg_init(&proto_join_group_request_desc, &req);
        req.group_id = proto_str_of("g-many");
        req.session_timeout_ms = 10000;
        req.rebalance_timeout_ms = 10000;
        req.member_id = proto_str_of("");
        req.group_instance_id = proto_str_of(k ? "i2" : "i1");
        req.protocol_type = proto_str_of("consumer");
        req.protocols.v = p;
        req.protocols.n = N;
        corr[k] = harness_send(fds[k], PROTO_API_JOIN_GROUP, 5, &req);
        if (k == 0) {
            proto_join_group_response_t resp;
            gt_resp_t r;
            proto_arena_init(&r.arena);
            r.frame =
                harness_recv(fds[0], PROTO_API_JOIN_GROUP, 5, corr[0], &resp, &r.arena, 60000);
            assert_non_null(r.frame);
            assert_int_equal(resp.error_code, 0);
            assert_true(proto_str_eq(resp.protocol_name, "p0"));
            gt_done(&r);
        }
    }
    /* The second join starts a rebalance (wait until the broker has seen
     * it); the first member (static) joins again. */
    int probe = harness_connect(h);
    char gstate[64] = "";
    for (int tries = 0; tries < 1000; tries++) {
        assert_int_equal(gt_describe(probe, "g-many", gstate, NULL), 0);
        if (!strcmp(gstate, "PreparingRebalance")) break;
        gt_sleep_ms(10);
    }
    assert_string_equal(gstate, "PreparingRebalance");
    close(probe);
    proto_join_group_response_t resp;
    gt_resp_t r;
    proto_join_group_request_t req;
    proto_msg_init(&proto_join_group_request_desc, &req);
    req.group_id = proto_str_of("g-many");
    req.session_timeout_ms = 10000;
    req.rebalance_timeout_ms = 10000;
    req.member_id = proto_str_of("");
    req.group_instance_id = proto_str_of("i1");
    req.protocol_type = proto_str_of("consumer");
    req.protocols.v = p;
    req.protocols.n = N;
    int32_t c0 = harness_send(fds[0], PROTO_API_JOIN_GROUP, 5, &req);
    for (int k = 0; k < 2; k++) {
        proto_arena_init(&r.arena);
        r.frame =
            harness_recv(fds[k], PROTO_API_JOIN_GROUP, 5, k ? corr[1] : c0, &resp, &r.arena, 60000);
        assert_non_null(r.frame);
        assert_int_equal(resp.error_code, 0);
        assert_int_equal(resp.generation_id, 2);
        assert_true(proto_str_eq(resp.protocol_name, "p0"));
        gt_done(&r);
    }
    close(fds[0]);
    close(fds[1]);
    free(p);
    free(names);
}

/* group.initial.rebalance.delay.ms: members arriving within the delay land
 * in the first generation together. */
static int setup_delay(void **state)
{
    static harness_t h;
    static const char *const overrides[] = {"group.initial.rebalance.delay.ms=2000",
                                            "group.min.session.timeout.ms=100", NULL};
    harness_start(&h, overrides);
    *state = &h;
    return 0;
}

static void test_initial_rebalance_delay(void **state)
{
    harness_t *h = *state;
    gt_member_t a = {.fd = harness_connect(h)}, b = {.fd = harness_connect(h)};
    int32_t ca = gt_join_start(&a, "g-delay", 10000);
    int32_t cb = gt_join_start(&b, "g-delay", 10000);
    assert_int_equal(gt_join_recv(&a, 5, ca, 10000), 0);
    assert_int_equal(gt_join_recv(&b, 5, cb, 10000), 0);
    assert_int_equal(a.generation, 1);
    assert_int_equal(b.generation, 1);
    assert_int_equal(a.nmembers + b.nmembers, 2); /* the leader lists both */
    close(a.fd);
    close(b.fd);
}

/* Several nodes in one process (the mock cluster's shape): each group has one
 * coordinator among them, the others answer NOT_COORDINATOR, and without
 * persistence commits are answered at once. */
static void test_multi_node_coordinator(void **state)
{
    (void)state;
    harness_t h;
    memset(&h, 0, sizeof(h));
    snprintf(h.dir, sizeof(h.dir), "/tmp/kc-test-groups-XXXXXX");
    assert_non_null(mkdtemp(h.dir));
    char dirs[300], err[512];
    snprintf(dirs, sizeof(dirs), "log.dirs=%s", h.dir);
    char *argv[] = {"kc-broker", "--override", "listeners=PLAINTEXT://127.0.0.1:0", "--override",
                    dirs,        "--override", "group.initial.rebalance.delay.ms=0"};
    assert_int_equal(broker_conf_from_argv(&h.conf, 7, argv, err, sizeof(err)), 0);
    h.base = event_base_new();
    broker_opts_t opts = {.node_count = 3, .first_node_id = 1, .persistent = 0};
    h.broker = broker_new(h.base, &h.conf, &opts, err, sizeof(err));
    assert_non_null(h.broker);
    pthread_create(&h.thread, NULL, harness_loop_, &h);

    int32_t coord = -1;
    for (int i = 0; i < 3; i++) {
        h.port = broker_server_port(h.broker->nodes[i].server, 0);
        int fd = harness_connect(&h);
        if (i == 0) gt_create_topic(fd, "t1");
        proto_find_coordinator_request_t req;
        proto_msg_init(&proto_find_coordinator_request_desc, &req);
        req.key = proto_str_of("g-multi");
        proto_find_coordinator_response_t resp;
        gt_resp_t r;
        proto_arena_init(&r.arena);
        r.frame = harness_call(fd, PROTO_API_FIND_COORDINATOR, 2, &req, &resp, &r.arena);
        assert_non_null(r.frame);
        assert_int_equal(resp.error_code, 0);
        assert_true(coord == -1 || coord == resp.node_id); /* every node agrees */
        coord = resp.node_id;
        gt_done(&r);
        close(fd);
    }
    for (int i = 0; i < 3; i++) {
        h.port = broker_server_port(h.broker->nodes[i].server, 0);
        int fd = harness_connect(&h);
        int err_code = gt_commit(fd, 8, "g-multi", -1, "", "t1", 0, 11, NULL);
        assert_int_equal(err_code, h.broker->nodes[i].id == coord ? 0 : KC_ERR_NOT_COORDINATOR);
        if (h.broker->nodes[i].id == coord)
            assert_int_equal(gt_fetch(fd, "g-multi", "t1", 0, NULL), 11);
        close(fd);
    }
    harness_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_members_rebalance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_triggers_rebalance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_member_rejoin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_join_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_coordinator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_member_session_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_timeout_drops_silent_member, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_many_protocols, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initial_rebalance_delay, setup_delay, teardown),
        cmocka_unit_test(test_multi_node_coordinator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
