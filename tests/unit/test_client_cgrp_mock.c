/* The group member against librdkafka's mock cluster (a coordinator kc did
 * not write): the coordinator moving to another broker, injected Heartbeat
 * and OffsetCommit errors (NOT_COORDINATOR, REBALANCE_IN_PROGRESS,
 * UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_client_cgrp_util.h"

enum { API_OFFSET_COMMIT = 8, API_HEARTBEAT = 12 };

static const char *const mt[] = {"mt"};

static member_t *mock_member(tmock_t *m, const char *group, const char *instance)
{
    assert_int_equal(tmock_start(m, 3), 0);
    assert_int_equal(rd_kafka_mock_topic_create(m->mc, "mt", 4, 1), 0);
    assert_int_equal(rd_kafka_mock_coordinator_set(m->mc, "group", group, 1), 0);
    /* The mock holds a first JoinGroup 3 s and drops members whose session
     * ends meanwhile. */
    member_t *mb = instance ? m_new(m->bootstrap, group, "group.instance.id", instance,
                                    "session.timeout.ms", "4000", NULL)
                            : m_new(m->bootstrap, group, "session.timeout.ms", "4000", NULL);
    assert_int_equal(m_subscribe(mb, mt, 1), 0);
    return mb;
}

typedef struct coord_want {
    int parts;
    int32_t coord;
} coord_want_t;

static int p_split_at(const snap_t *s, int n, void *arg)
{
    coord_want_t *w = arg;
    return s[0].coord_id == w->coord && p_split(s, n, &w->parts);
}

/* The coordinator moves from broker 1 to broker 2: the member finds it and
 * is a member there with all partitions. */
static void test_coordinator_moves(void **state)
{
    (void)state;
    tmock_t m;
    member_t *mb = mock_member(&m, "g-move", NULL);
    coord_want_t w = {4, 1};
    snap_t s[1];
    assert_true(t_wait(&mb, 1, p_split_at, &w, 15000, s));
    snaps_free(s, 1);
    assert_int_equal(rd_kafka_mock_coordinator_set(m.mc, "group", "g-move", 2), 0);
    w.coord = 2;
    assert_true(t_wait(&mb, 1, p_split_at, &w, 15000, s));
    snaps_free(s, 1);
    m_free(mb);
    tmock_stop(&m);
}

/* The coordinator's broker goes down (and the coordinator moves): the
 * lost connection sends the member to look for it again. */
static void test_coordinator_connection_lost(void **state)
{
    (void)state;
    tmock_t m;
    member_t *mb = mock_member(&m, "g-down", NULL);
    coord_want_t w = {4, 1};
    snap_t s[1];
    assert_true(t_wait(&mb, 1, p_split_at, &w, 15000, s));
    snaps_free(s, 1);
    assert_int_equal(rd_kafka_mock_coordinator_set(m.mc, "group", "g-down", 3), 0);
    rd_kafka_mock_broker_set_down(m.mc, 1);
    w.coord = 3;
    assert_true(t_wait(&mb, 1, p_split_at, &w, 20000, s));
    snaps_free(s, 1);
    m_free(mb);
    tmock_stop(&m);
}

typedef struct gen_want {
    int parts;
    int32_t after_gen;
    int min_revokes;
} gen_want_t;

static int p_newer(const snap_t *s, int n, void *arg)
{
    gen_want_t *w = arg;
    return s[0].generation > w->after_gen && s[0].nrevoke >= w->min_revokes &&
           p_split(s, n, &w->parts);
}

/* Heartbeat answers NOT_COORDINATOR, then REBALANCE_IN_PROGRESS: the member
 * looks the coordinator up again, then rejoins (eager: revoking all) into a
 * newer generation. */
static void test_heartbeat_errors(void **state)
{
    (void)state;
    tmock_t m;
    member_t *mb = mock_member(&m, "g-hb", NULL);
    int want = 4;
    snap_t s[1];
    assert_true(t_wait(&mb, 1, p_split, &want, 15000, s));
    gen_want_t w = {4, s[0].generation, 1};
    snaps_free(s, 1);
    rd_kafka_mock_push_request_errors(m.mc, API_HEARTBEAT, 2, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                      RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
    assert_true(t_wait(&mb, 1, p_newer, &w, 15000, s));
    assert_int_equal(s[0].nlost, 0);
    snaps_free(s, 1);
    m_free(mb);
    tmock_stop(&m);
}

static int p_lost_back(const snap_t *s, int n, void *arg)
{
    return s[0].nlost == 1 && p_split(s, n, arg);
}

/* UNKNOWN_MEMBER_ID on Heartbeat: the partitions are lost (not revoked),
 * and the member joins again. */
static void test_unknown_member_lost(void **state)
{
    (void)state;
    tmock_t m;
    member_t *mb = mock_member(&m, "g-unknown", NULL);
    int want = 4;
    snap_t s[1];
    assert_true(t_wait(&mb, 1, p_split, &want, 15000, s));
    snaps_free(s, 1);
    rd_kafka_mock_push_request_errors(m.mc, API_HEARTBEAT, 1, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID);
    assert_true(t_wait(&mb, 1, p_lost_back, &want, 15000, s));
    assert_int_equal(s[0].nrevoke, 0);
    snaps_free(s, 1);
    m_free(mb);
    tmock_stop(&m);
}

/* ILLEGAL_GENERATION on Heartbeat: lost too, but the member keeps its id
 * when it joins again. */
static void test_illegal_generation_lost(void **state)
{
    (void)state;
    tmock_t m;
    member_t *mb = mock_member(&m, "g-illegal", NULL);
    int want = 4;
    snap_t s[1];
    assert_true(t_wait(&mb, 1, p_split, &want, 15000, s));
    char id[256];
    snprintf(id, sizeof(id), "%s", s[0].member_id);
    snaps_free(s, 1);
    rd_kafka_mock_push_request_errors(m.mc, API_HEARTBEAT, 1, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION);
    assert_true(t_wait(&mb, 1, p_lost_back, &want, 15000, s));
    assert_string_equal(s[0].member_id, id);
    assert_int_equal(s[0].nrevoke, 0);
    snaps_free(s, 1);
    m_free(mb);
    tmock_stop(&m);
}

static int p_fenced(const snap_t *s, int n, void *arg)
{
    (void)n;
    (void)arg;
    return s[0].nlost == 1 && s[0].last_error == KC_ERR_FENCED_INSTANCE_ID &&
           s[0].state == CGRP_ST_INIT && !s[0].busy;
}

/* FENCED_INSTANCE_ID: another process has our group.instance.id. Lost,
 * told to the application, and no rejoin. */
static void test_fenced_is_fatal(void **state)
{
    (void)state;
    tmock_t m;
    member_t *mb = mock_member(&m, "g-fenced", "inst-1");
    int want = 4;
    snap_t s[1];
    assert_true(t_wait(&mb, 1, p_split, &want, 15000, s));
    snaps_free(s, 1);
    rd_kafka_mock_push_request_errors(m.mc, API_HEARTBEAT, 1, RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID);
    assert_true(t_wait(&mb, 1, p_fenced, NULL, 15000, s));
    snaps_free(s, 1);
    /* Still out a while later. */
    usleep(300000);
    m_snap(mb, s);
    assert_int_equal(s[0].state, CGRP_ST_INIT);
    assert_int_equal(s[0].nassign, 1);
    snaps_free(s, 1);
    /* A leave still completes. */
    assert_int_equal(client_call(mb->c, m_do_leave, mb), 0);
    assert_true(mb->left);
    m_free(mb);
    tmock_stop(&m);
}

typedef struct off_call {
    member_t *m;
    kc_topic_partition_list_t *parts;
    int commit;
    int done;
    kc_err_t err;
    int64_t offset;
} off_call_t;

static void off_cb(kc_err_t err, const char *errstr, const kc_topic_partition_list_t *parts,
                   void *opaque)
{
    off_call_t *oc = opaque;
    if (err) fprintf(stderr, "offsets: %s\n", errstr);
    oc->err = err;
    oc->offset = parts->cnt ? parts->elems[0].offset : -1;
    oc->done++;
}

static void do_off(client_t *c, void *arg)
{
    (void)c;
    off_call_t *oc = arg;
    if (oc->commit)
        cgrp_commit(oc->m->g, oc->parts, 5000, off_cb, oc);
    else
        cgrp_fetch_committed(oc->m->g, oc->parts, 5000, off_cb, oc);
}

static void do_nothing(client_t *c, void *arg)
{
    (void)c;
    (void)arg;
}

static void t_off(off_call_t *oc)
{
    assert_int_equal(client_call(oc->m->c, do_off, oc), 0);
    uint64_t end = t_now_ms() + 10000;
    for (;;) {
        assert_int_equal(client_call(oc->m->c, do_nothing, NULL), 0);
        if (oc->done || t_now_ms() > end) break;
        usleep(10000);
    }
    assert_int_equal(oc->done, 1);
}

/* OffsetCommit answered NOT_COORDINATOR then COORDINATOR_LOAD_IN_PROGRESS:
 * retried until it succeeds; the fetch then reads it back. */
static void test_commit_retries_coordinator_errors(void **state)
{
    (void)state;
    tmock_t m;
    member_t *mb = mock_member(&m, "g-commit", NULL);
    int want = 4;
    snap_t s[1];
    assert_true(t_wait(&mb, 1, p_split, &want, 15000, s));
    snaps_free(s, 1);
    rd_kafka_mock_push_request_errors(m.mc, API_OFFSET_COMMIT, 2, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    kc_topic_partition_list_t *parts = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(parts, "mt", 3)->offset = 1234;
    off_call_t oc = {mb, parts, 1, 0, 0, 0};
    t_off(&oc);
    assert_int_equal(oc.err, 0);
    off_call_t of = {mb, parts, 0, 0, 0, 0};
    t_off(&of);
    assert_int_equal(of.err, 0);
    assert_int_equal(of.offset, 1234);
    kc_topic_partition_list_destroy(parts);
    m_free(mb);
    tmock_stop(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coordinator_moves),
        cmocka_unit_test(test_coordinator_connection_lost),
        cmocka_unit_test(test_heartbeat_errors),
        cmocka_unit_test(test_unknown_member_lost),
        cmocka_unit_test(test_illegal_generation_lost),
        cmocka_unit_test(test_fenced_is_fatal),
        cmocka_unit_test(test_commit_retries_coordinator_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
