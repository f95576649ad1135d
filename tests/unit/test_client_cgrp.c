/* The consumer group member (cgrp) against a kc-broker process: joining
 * alone and with others (range, roundrobin), a member that dies without
 * leaving, leaving, committing and fetching offsets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client_int.h"
#include "test_client_cgrp_util.h"

static tbroker_t broker;

static int setup(void **state)
{
    (void)state;
    if (gbroker_start(&broker) != 0) return -1;
    t_create_topic(broker.addr, "six", 6);
    t_create_topic(broker.addr, "three", 3);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tbroker_stop(&broker);
    return 0;
}

static const char *const six[] = {"six"};

static void do_nothing(client_t *c, void *arg)
{
    (void)c;
    (void)arg;
}

typedef struct pick_call {
    member_t *m;
    int32_t picked, coord_conn;
} pick_call_t;

static void do_pick(client_t *c, void *arg)
{
    pick_call_t *p = arg;
    client_broker_t *b = client_broker_pick(c, 0);
    p->picked = b ? b->node_id : -1;
    p->coord_conn = p->m->g->coord_conn;
}

/* One member: every partition, generation >= 1, a member id from the
 * KIP-394 round; requests for "any broker" do not go to the coordinator's
 * own connection (where a parked JoinGroup would hold them up). */
static void test_one_member_gets_all(void **state)
{
    (void)state;
    member_t *m = m_new(broker.addr, "g-one", NULL);
    assert_int_equal(m_subscribe(m, six, 1), 0);
    int want = 6;
    snap_t s[1];
    assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
    assert_true(s[0].generation >= 1);
    assert_true(s[0].member_id[0] != '\0');
    assert_int_equal(s[0].nrevoke, 0);
    assert_int_equal(s[0].nlost, 0);
    snaps_free(s, 1);
    pick_call_t pc = {m, 0, 0};
    assert_int_equal(client_call(m->c, do_pick, &pc), 0);
    assert_true(pc.picked >= 0);
    assert_true(pc.picked != pc.coord_conn);
    m_free(m);
}

static void split_test(const char *group, const char *strategy, int n)
{
    member_t *ms[3];
    for (int i = 0; i < n; i++) {
        ms[i] = m_new(broker.addr, group, "partition.assignment.strategy", strategy, NULL);
        assert_int_equal(m_subscribe(ms[i], six, 1), 0);
    }
    int want = 6;
    snap_t s[3];
    assert_true(t_wait(ms, n, p_split, &want, 15000, s));
    for (int i = 0; i < n; i++)
        assert_int_equal(s[i].assigned->cnt, 6 / n);
    snaps_free(s, n);
    for (int i = 0; i < n; i++)
        m_free(ms[i]);
}

static void test_two_members_range(void **state)
{
    (void)state;
    split_test("g-two-range", "range", 2);
}

static void test_three_members_roundrobin(void **state)
{
    (void)state;
    split_test("g-three-rr", "roundrobin", 3);
}

/* range over two topics: each member gets a range of each. */
static void test_range_two_topics(void **state)
{
    (void)state;
    static const char *const both[] = {"six", "three"};
    member_t *ms[2];
    for (int i = 0; i < 2; i++) {
        ms[i] = m_new(broker.addr, "g-range-2t", "partition.assignment.strategy", "range", NULL);
        assert_int_equal(m_subscribe(ms[i], both, 2), 0);
    }
    int want = 9;
    snap_t s[2];
    assert_true(t_wait(ms, 2, p_split, &want, 15000, s));
    /* range: per topic, the first member (by id) takes the extra one. */
    int a = s[0].assigned->cnt, b = s[1].assigned->cnt;
    assert_true((a == 5 && b == 4) || (a == 4 && b == 5));
    snaps_free(s, 2);
    for (int i = 0; i < 2; i++)
        m_free(ms[i]);
}

/* A member destroyed without LeaveGroup: after session.timeout.ms the
 * coordinator drops it and the other takes everything. */
static void test_dead_member_expires(void **state)
{
    (void)state;
    member_t *ms[2];
    for (int i = 0; i < 2; i++) {
        ms[i] = m_new(broker.addr, "g-dead", "session.timeout.ms", "800", NULL);
        assert_int_equal(m_subscribe(ms[i], six, 1), 0);
    }
    int want = 6;
    snap_t s[2];
    assert_true(t_wait(ms, 2, p_split, &want, 15000, s));
    int32_t gen = s[0].generation;
    snaps_free(s, 2);
    m_free(ms[1]);
    assert_true(t_wait(ms, 1, p_split, &want, 15000, s));
    assert_true(s[0].generation > gen);
    assert_int_equal(s[0].assigned->cnt, 6);
    assert_int_equal(s[0].nlost, 0);
    snaps_free(s, 1);
    m_free(ms[0]);
}

/* A member that leaves (cgrp_leave): its partitions are revoked first,
 * and the other takes over at once, long before the session would end. */
static void test_leave_hands_over(void **state)
{
    (void)state;
    member_t *ms[2];
    for (int i = 0; i < 2; i++) {
        /* A session far longer than the test's wait: only LeaveGroup can
         * make the coordinator rebalance in time. */
        ms[i] = m_new(broker.addr, "g-leave", "session.timeout.ms", "60000", NULL);
        assert_int_equal(m_subscribe(ms[i], six, 1), 0);
    }
    int want = 6;
    snap_t s[2];
    assert_true(t_wait(ms, 2, p_split, &want, 15000, s));
    int revokes = s[1].nrevoke; /* who joined first had one already */
    snaps_free(s, 2);
    assert_int_equal(client_call(ms[1]->c, m_do_leave, ms[1]), 0);
    uint64_t end = t_now_ms() + 5000;
    for (;;) {
        assert_int_equal(client_call(ms[1]->c, do_nothing, NULL), 0);
        if (ms[1]->left || t_now_ms() > end) break;
        usleep(10000);
    }
    assert_true(ms[1]->left);
    m_snap(ms[1], &s[1]);
    assert_int_equal(s[1].nrevoke, revokes + 1);
    assert_int_equal(s[1].assigned->cnt, 0);
    assert_int_equal(s[1].state, CGRP_ST_INIT);
    snaps_free(&s[1], 1);
    assert_true(t_wait(ms, 1, p_split, &want, 8000, s));
    snaps_free(s, 1);
    m_free(ms[1]);
    m_free(ms[0]);
}

/* Leaving when never subscribed: done fires at once. */
static void test_leave_idle(void **state)
{
    (void)state;
    member_t *m = m_new(broker.addr, "g-idle", NULL);
    assert_int_equal(client_call(m->c, m_do_leave, m), 0);
    assert_true(m->left);
    m_free(m);
}

/* ---- with a librdkafka consumer in the same group ---- */

typedef struct rk_member {
    rd_kafka_t *rk;
    pthread_t thread;
    volatile int stop;
    pthread_mutex_t lock;
    int assigned; /* partitions of "six" it holds */
    int32_t parts[6];
} rk_member_t;

static void rk_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    rk_member_t *r = opaque;
    pthread_mutex_lock(&r->lock);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        r->assigned = parts->cnt < 6 ? parts->cnt : 6;
        for (int i = 0; i < r->assigned; i++)
            r->parts[i] = parts->elems[i].partition;
    } else {
        rd_kafka_assign(rk, NULL);
        r->assigned = 0;
    }
    pthread_mutex_unlock(&r->lock);
}

static void *rk_main(void *arg)
{
    rk_member_t *r = arg;
    while (!r->stop) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(r->rk, 50);
        if (msg) rd_kafka_message_destroy(msg);
    }
    return NULL;
}

static void rk_member_start(rk_member_t *r, const char *group)
{
    char errstr[256];
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[] = {"bootstrap.servers",
                        broker.addr,
                        "group.id",
                        group,
                        "partition.assignment.strategy",
                        "range",
                        "session.timeout.ms",
                        "6000",
                        "heartbeat.interval.ms",
                        "100",
                        "log_level",
                        "0"};
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i += 2)
        assert_int_equal(rd_kafka_conf_set(conf, kv[i], kv[i + 1], errstr, sizeof(errstr)), 0);
    rd_kafka_conf_set_rebalance_cb(conf, rk_rebalance);
    rd_kafka_conf_set_opaque(conf, r);
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    assert_non_null(r->rk);
    rd_kafka_poll_set_consumer(r->rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, "six", RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(r->rk, sub), 0);
    rd_kafka_topic_partition_list_destroy(sub);
    assert_int_equal(pthread_create(&r->thread, NULL, rk_main, r), 0);
}

static void rk_member_stop(rk_member_t *r)
{
    r->stop = 1;
    pthread_join(r->thread, NULL);
    rd_kafka_consumer_close(r->rk);
    rd_kafka_destroy(r->rk);
    pthread_mutex_destroy(&r->lock);
}

/* A kc member and a librdkafka consumer in one group: each reads the
 * other's ConsumerProtocol bytes and they split the topic. kc_first makes
 * kc's member the leader (the first to join). */
static void mixed_test(const char *group, int kc_first)
{
    rk_member_t r;
    member_t *m = m_new(broker.addr, group, "partition.assignment.strategy", "range",
                        "session.timeout.ms", "6000", NULL);
    int want = 6;
    snap_t s[1];
    if (kc_first) {
        assert_int_equal(m_subscribe(m, six, 1), 0);
        assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
        snaps_free(s, 1);
    }
    rk_member_start(&r, group);
    if (!kc_first) {
        uint64_t end = t_now_ms() + 10000;
        int n = 0;
        while (n != 6 && t_now_ms() < end) {
            usleep(20000);
            pthread_mutex_lock(&r.lock);
            n = r.assigned;
            pthread_mutex_unlock(&r.lock);
        }
        assert_int_equal(n, 6);
        assert_int_equal(m_subscribe(m, six, 1), 0);
    }
    want = 3;
    int ok = 0;
    uint64_t end = t_now_ms() + 20000;
    while (!ok && t_now_ms() < end) {
        m_snap(m, s);
        pthread_mutex_lock(&r.lock);
        ok = p_split(s, 1, &want) && r.assigned == 3;
        for (int i = 0; ok && i < r.assigned; i++)
            ok = !kc_topic_partition_list_find(s[0].assigned, "six", r.parts[i]);
        if (ok) assert_int_equal(s[0].is_leader, kc_first);
        pthread_mutex_unlock(&r.lock);
        snaps_free(s, 1);
        if (!ok) usleep(20000);
    }
    assert_true(ok);
    m_free(m);
    rk_member_stop(&r);
}

static void test_with_librdkafka_leader(void **state)
{
    (void)state;
    mixed_test("g-mixed-rk", 0);
}

static void test_with_librdkafka_follower(void **state)
{
    (void)state;
    mixed_test("g-mixed-kc", 1);
}

/* ---- offsets ---- */

typedef struct off_call {
    member_t *m;
    int commit;
    kc_topic_partition_list_t *parts;
    int timeout_ms;
    int done;
    kc_err_t err;
    kc_topic_partition_list_t *result;
} off_call_t;

static void off_cb(kc_err_t err, const char *errstr, const kc_topic_partition_list_t *parts,
                   void *opaque)
{
    off_call_t *oc = opaque;
    if (err && errstr) fprintf(stderr, "offsets: %s\n", errstr);
    oc->err = err;
    oc->result = kc_topic_partition_list_copy(parts);
    oc->done++;
}

static void do_off(client_t *c, void *arg)
{
    (void)c;
    off_call_t *oc = arg;
    if (oc->commit)
        cgrp_commit(oc->m->g, oc->parts, oc->timeout_ms, off_cb, oc);
    else
        cgrp_fetch_committed(oc->m->g, oc->parts, oc->timeout_ms, off_cb, oc);
}

/* Runs a commit or fetch and waits for its callback (client_call orders
 * the test thread's reads after the I/O thread's writes). */
static kc_err_t t_offsets(member_t *m, int commit, kc_topic_partition_list_t *parts,
                          kc_topic_partition_list_t **result)
{
    off_call_t oc = {m, commit, parts, 5000, 0, 0, NULL};
    assert_int_equal(client_call(m->c, do_off, &oc), 0);
    uint64_t end = t_now_ms() + 10000;
    for (;;) {
        assert_int_equal(client_call(m->c, do_nothing, NULL), 0);
        if (oc.done) break;
        assert_true(t_now_ms() < end);
        usleep(10000);
    }
    assert_int_equal(oc.done, 1);
    *result = oc.result;
    return oc.err;
}

static void test_commit_then_fetch(void **state)
{
    (void)state;
    member_t *m = m_new(broker.addr, "g-offsets", NULL);
    assert_int_equal(m_subscribe(m, six, 1), 0);
    int want = 6;
    snap_t s[1];
    assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
    snaps_free(s, 1);

    kc_topic_partition_list_t *parts = kc_topic_partition_list_new(2);
    kc_topic_partition_t *e = kc_topic_partition_list_add(parts, "six", 1);
    e->offset = 42;
    e->leader_epoch = 0;
    kc_topic_partition_set_metadata(parts, e, "meta-1");
    e = kc_topic_partition_list_add(parts, "six", 4);
    e->offset = 7;
    kc_topic_partition_list_t *res = NULL;
    assert_int_equal(t_offsets(m, 1, parts, &res), 0);
    assert_int_equal(res->cnt, 2);
    assert_int_equal(res->elems[0].err, 0);
    assert_int_equal(res->elems[1].err, 0);
    kc_topic_partition_list_destroy(res);
    kc_topic_partition_list_destroy(parts);

    parts = kc_topic_partition_list_new(3);
    kc_topic_partition_list_add(parts, "six", 1);
    kc_topic_partition_list_add(parts, "six", 4);
    kc_topic_partition_list_add(parts, "six", 5);
    assert_int_equal(t_offsets(m, 0, parts, &res), 0);
    assert_int_equal(res->cnt, 3);
    assert_int_equal(res->elems[0].offset, 42);
    assert_string_equal(res->elems[0].metadata, "meta-1");
    assert_int_equal(res->elems[1].offset, 7);
    assert_int_equal(res->elems[2].offset, KC_OFFSET_INVALID);
    kc_topic_partition_list_destroy(res);
    kc_topic_partition_list_destroy(parts);
    m_free(m);
}

/* A member that never joined commits with generation -1 (kc_assign with a
 * group.id) to a group nobody is in. */
static void test_commit_without_membership(void **state)
{
    (void)state;
    member_t *m = m_new(broker.addr, "g-simple", NULL);
    kc_topic_partition_list_t *parts = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(parts, "three", 2)->offset = 99;
    kc_topic_partition_list_t *res = NULL;
    assert_int_equal(t_offsets(m, 1, parts, &res), 0);
    kc_topic_partition_list_destroy(res);
    assert_int_equal(t_offsets(m, 0, parts, &res), 0);
    assert_int_equal(res->elems[0].offset, 99);
    kc_topic_partition_list_destroy(res);
    kc_topic_partition_list_destroy(parts);
    m_free(m);
}

/* Destroyed with a fetch waiting: its callback fires once, with
 * KC_ERR__DESTROY, before cgrp_destroy returns. */
static void test_destroy_fails_waiting_ops(void **state)
{
    (void)state;
    /* Nothing listens there: the op waits for a coordinator. */
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", closed_port());
    member_t *m = m_new(addr, "g-nowhere", NULL);
    kc_topic_partition_list_t *parts = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(parts, "six", 0);
    off_call_t oc = {m, 0, parts, 30000, 0, 0, NULL};
    assert_int_equal(client_call(m->c, do_off, &oc), 0);
    assert_int_equal(client_call(m->c, m_do_destroy, m), 0);
    assert_int_equal(oc.done, 1);
    assert_int_equal(oc.err, KC_ERR__DESTROY);
    kc_topic_partition_list_destroy(oc.result);
    kc_topic_partition_list_destroy(parts);
    m_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_member_gets_all),
        cmocka_unit_test(test_two_members_range),
        cmocka_unit_test(test_three_members_roundrobin),
        cmocka_unit_test(test_range_two_topics),
        cmocka_unit_test(test_dead_member_expires),
        cmocka_unit_test(test_leave_hands_over),
        cmocka_unit_test(test_leave_idle),
        cmocka_unit_test(test_with_librdkafka_leader),
        cmocka_unit_test(test_with_librdkafka_follower),
        cmocka_unit_test(test_commit_then_fetch),
        cmocka_unit_test(test_commit_without_membership),
        cmocka_unit_test(test_destroy_fails_waiting_ops),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
