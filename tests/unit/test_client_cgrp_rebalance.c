/* The group member through rebalances, against a kc-broker process:
 * cooperative-sticky keeping the partitions that stay, a static member's
 * restart without a rebalance, max.poll.interval.ms, topic patterns and
 * partition counts re-read from metadata, unsubscribing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_client_cgrp_util.h"

static tbroker_t broker;

static int setup(void **state)
{
    (void)state;
    if (gbroker_start(&broker) != 0) return -1;
    t_create_topic(broker.addr, "six", 6);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tbroker_stop(&broker);
    return 0;
}

static const char *const six[] = {"six"};

static void do_poll_on(client_t *c, void *arg)
{
    (void)c;
    ((member_t *)arg)->poll = 1;
}

/* cooperative-sticky: when B joins, A gives up exactly the three
 * partitions B gets; the three it keeps are never revoked, and nothing is
 * lost. */
static void test_cooperative_keeps_unaffected(void **state)
{
    (void)state;
    member_t *ms[2];
    ms[0] =
        m_new(broker.addr, "g-coop", "partition.assignment.strategy", "cooperative-sticky", NULL);
    assert_int_equal(m_subscribe(ms[0], six, 1), 0);
    int want = 6;
    snap_t s[2];
    assert_true(t_wait(ms, 1, p_split, &want, 10000, s));
    snaps_free(s, 1);
    ms[1] =
        m_new(broker.addr, "g-coop", "partition.assignment.strategy", "cooperative-sticky", NULL);
    assert_int_equal(m_subscribe(ms[1], six, 1), 0);
    assert_true(t_wait(ms, 2, p_split, &want, 15000, s));
    assert_int_equal(s[0].assigned->cnt, 3);
    assert_int_equal(s[1].assigned->cnt, 3);
    assert_int_equal(s[0].nlost, 0);
    assert_int_equal(s[1].nrevoke, 0);
    assert_int_equal(ms[0]->revoked->cnt, 3);
    for (int i = 0; i < ms[0]->revoked->cnt; i++) {
        const kc_topic_partition_t *e = &ms[0]->revoked->elems[i];
        assert_null(kc_topic_partition_list_find(s[0].assigned, e->topic, e->partition));
        assert_non_null(kc_topic_partition_list_find(s[1].assigned, e->topic, e->partition));
    }
    snaps_free(s, 2);
    for (int i = 0; i < 2; i++)
        m_free(ms[i]);
}

/* cooperative-sticky, three members, one leaves: the other two take its
 * partitions without giving up any of their own. */
static void test_cooperative_member_leaves(void **state)
{
    (void)state;
    member_t *ms[3];
    for (int i = 0; i < 3; i++) {
        ms[i] = m_new(broker.addr, "g-coop3", "partition.assignment.strategy", "cooperative-sticky",
                      NULL);
        assert_int_equal(m_subscribe(ms[i], six, 1), 0);
    }
    int want = 6;
    snap_t s[3];
    assert_true(t_wait(ms, 3, p_split, &want, 15000, s));
    int revokes[2] = {s[0].nrevoke, s[1].nrevoke};
    kc_topic_partition_list_t *kept[2] = {kc_topic_partition_list_copy(s[0].assigned),
                                          kc_topic_partition_list_copy(s[1].assigned)};
    snaps_free(s, 3);
    assert_int_equal(client_call(ms[2]->c, m_do_leave, ms[2]), 0);
    assert_true(t_wait(ms, 2, p_split, &want, 15000, s));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s[i].nrevoke, revokes[i]);
        assert_int_equal(s[i].nlost, 0);
        for (int k = 0; k < kept[i]->cnt; k++)
            assert_non_null(kc_topic_partition_list_find(s[i].assigned, kept[i]->elems[k].topic,
                                                         kept[i]->elems[k].partition));
        kc_topic_partition_list_destroy(kept[i]);
    }
    snaps_free(s, 2);
    for (int i = 0; i < 3; i++)
        m_free(ms[i]);
}

/* Eager (range): every rebalance revokes everything first. */
static void test_eager_revokes_all(void **state)
{
    (void)state;
    member_t *ms[2];
    ms[0] = m_new(broker.addr, "g-eager", "partition.assignment.strategy", "range", NULL);
    assert_int_equal(m_subscribe(ms[0], six, 1), 0);
    int want = 6;
    snap_t s[2];
    assert_true(t_wait(ms, 1, p_split, &want, 10000, s));
    snaps_free(s, 1);
    ms[1] = m_new(broker.addr, "g-eager", "partition.assignment.strategy", "range", NULL);
    assert_int_equal(m_subscribe(ms[1], six, 1), 0);
    assert_true(t_wait(ms, 2, p_split, &want, 15000, s));
    assert_true(s[0].nrevoke >= 1);
    assert_int_equal(ms[0]->revoked->cnt >= 6, 1);
    snaps_free(s, 2);
    for (int i = 0; i < 2; i++)
        m_free(ms[i]);
}

static int p_revoked(const snap_t *s, int n, void *arg)
{
    (void)n;
    (void)arg;
    return s[0].nrevoke == 1;
}

static void do_release_revoke(client_t *c, void *arg)
{
    (void)c;
    member_t *m = arg;
    m->hold_revoke = 0;
    if (!m->revoke_pending) return;
    m->revoke_pending = 0;
    cgrp_revoke_done(m->g);
}

/* An application that takes longer than the session over a revoke: the
 * member keeps heartbeating meanwhile, so it rejoins as the same member. */
static void test_heartbeats_during_held_revoke(void **state)
{
    (void)state;
    member_t *ms[2];
    ms[0] = m_new(broker.addr, "g-hold", "partition.assignment.strategy", "range",
                  "session.timeout.ms", "1000", NULL);
    ms[0]->hold_revoke = 1;
    assert_int_equal(m_subscribe(ms[0], six, 1), 0);
    int want = 6;
    snap_t s[2];
    assert_true(t_wait(ms, 1, p_split, &want, 10000, s));
    char id[256];
    snprintf(id, sizeof(id), "%s", s[0].member_id);
    snaps_free(s, 1);
    ms[1] = m_new(broker.addr, "g-hold", "partition.assignment.strategy", "range",
                  "session.timeout.ms", "1000", NULL);
    assert_int_equal(m_subscribe(ms[1], six, 1), 0);
    assert_true(t_wait(ms, 1, p_revoked, NULL, 10000, s));
    snaps_free(s, 1);
    usleep(2500 * 1000); /* well past session.timeout.ms */
    assert_int_equal(client_call(ms[0]->c, do_release_revoke, ms[0]), 0);
    assert_true(t_wait(ms, 2, p_split, &want, 15000, s));
    assert_string_equal(s[0].member_id, id);
    assert_int_equal(s[0].nlost, 0);
    snaps_free(s, 2);
    for (int i = 0; i < 2; i++)
        m_free(ms[i]);
}

static int same_parts(const kc_topic_partition_list_t *a, const kc_topic_partition_list_t *b)
{
    if (a->cnt != b->cnt) return 0;
    for (int i = 0; i < a->cnt; i++)
        if (!kc_topic_partition_list_find(b, a->elems[i].topic, a->elems[i].partition)) return 0;
    return 1;
}

/* A static member (group.instance.id) that restarts within the session gets
 * its partitions back in the same generation; the other member sees no
 * rebalance at all. */
static void test_static_restart_keeps_assignment(void **state)
{
    (void)state;
    member_t *ms[2];
    const char *ids[] = {"static-1", "static-2"};
    for (int i = 0; i < 2; i++) {
        ms[i] = m_new(broker.addr, "g-static", "group.instance.id", ids[i], "session.timeout.ms",
                      "6000", NULL);
        assert_int_equal(m_subscribe(ms[i], six, 1), 0);
    }
    int want = 6;
    snap_t s[2];
    assert_true(t_wait(ms, 2, p_split, &want, 15000, s));
    int32_t gen = s[0].generation;
    kc_topic_partition_list_t *before = kc_topic_partition_list_copy(s[0].assigned);
    int other_assign = s[1].nassign, other_revoke = s[1].nrevoke;
    snaps_free(s, 2);

    m_free(ms[0]); /* no LeaveGroup: static members never send one */
    ms[0] = m_new(broker.addr, "g-static", "group.instance.id", ids[0], "session.timeout.ms",
                  "6000", NULL);
    assert_int_equal(m_subscribe(ms[0], six, 1), 0);
    assert_true(t_wait(ms, 2, p_split, &want, 15000, s));
    assert_int_equal(s[0].generation, gen);
    assert_int_equal(s[1].generation, gen);
    assert_true(same_parts(before, s[0].assigned));
    assert_int_equal(s[1].nassign, other_assign);
    assert_int_equal(s[1].nrevoke, other_revoke);
    assert_int_equal(s[1].nlost, 0);
    snaps_free(s, 2);
    kc_topic_partition_list_destroy(before);
    for (int i = 0; i < 2; i++)
        m_free(ms[i]);
}

static int p_maxpoll_left(const snap_t *s, int n, void *arg)
{
    (void)n;
    (void)arg;
    return s[0].nerror >= 1 && s[0].last_error == KC_ERR__MAX_POLL_EXCEEDED && s[0].nlost == 1 &&
           s[0].state == CGRP_ST_INIT && s[0].assigned->cnt == 0;
}

/* An application that stops polling: after max.poll.interval.ms the
 * member leaves (its partitions lost, an error for the application), and
 * the next poll brings it back. */
static void test_max_poll_interval(void **state)
{
    (void)state;
    member_t *m = m_new(broker.addr, "g-maxpoll", "max.poll.interval.ms", "700", NULL);
    assert_int_equal(m_subscribe(m, six, 1), 0);
    int want = 6;
    snap_t s[1];
    assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
    snaps_free(s, 1);
    assert_true(t_wait(&m, 1, p_maxpoll_left, NULL, 10000, s));
    snaps_free(s, 1);
    assert_int_equal(client_call(m->c, do_poll_on, m), 0);
    assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
    snaps_free(s, 1);
    m_free(m);
}

/* "^rx\..*" follows the topics the cluster has: a new matching topic
 * triggers a rebalance that includes it. */
static void test_pattern_follows_new_topics(void **state)
{
    (void)state;
    t_create_topic(broker.addr, "rx.a", 2);
    static const char *const pat[] = {"^rx\\..*"};
    member_t *m =
        m_new(broker.addr, "g-pattern", "topic.metadata.refresh.interval.ms", "200", NULL);
    assert_int_equal(m_subscribe(m, pat, 1), 0);
    int want = 2;
    snap_t s[1];
    assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
    snaps_free(s, 1);
    t_create_topic(broker.addr, "rx.b", 3);
    t_create_topic(broker.addr, "rxc", 1); /* no dot: no match */
    want = 5;
    assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
    assert_non_null(kc_topic_partition_list_find(s[0].assigned, "rx.b", 2));
    snaps_free(s, 1);
    m_free(m);
}

/* A bad pattern is refused. */
static void test_bad_pattern(void **state)
{
    (void)state;
    static const char *const pat[] = {"^rx(("};
    member_t *m = m_new(broker.addr, "g-badpat", NULL);
    assert_int_equal(m_subscribe(m, pat, 1), KC_ERR__INVALID_ARG);
    m_free(m);
}

/* More partitions in a subscribed topic: a rebalance hands them out. */
static void test_partition_count_change(void **state)
{
    (void)state;
    t_create_topic(broker.addr, "grow", 2);
    static const char *const grow[] = {"grow"};
    member_t *m = m_new(broker.addr, "g-grow", "topic.metadata.refresh.interval.ms", "200", NULL);
    assert_int_equal(m_subscribe(m, grow, 1), 0);
    int want = 2;
    snap_t s[1];
    assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
    snaps_free(s, 1);
    t_create_partitions(broker.addr, "grow", 4);
    want = 4;
    assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
    snaps_free(s, 1);
    m_free(m);
}

/* A subscribed topic that does not exist yet: the member joins with
 * nothing, and gets the partitions once the topic appears. */
static void test_topic_created_later(void **state)
{
    (void)state;
    static const char *const later[] = {"later"};
    member_t *m = m_new(broker.addr, "g-later", "topic.metadata.refresh.interval.ms", "200", NULL);
    assert_int_equal(m_subscribe(m, later, 1), 0);
    int want = 0;
    snap_t s[1];
    assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
    snaps_free(s, 1);
    t_create_topic(broker.addr, "later", 3);
    want = 3;
    assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
    snaps_free(s, 1);
    m_free(m);
}

/* Unsubscribing revokes everything; the member stays, with nothing. */
static void test_unsubscribe(void **state)
{
    (void)state;
    member_t *m = m_new(broker.addr, "g-unsub", NULL);
    assert_int_equal(m_subscribe(m, six, 1), 0);
    int want = 6;
    snap_t s[1];
    assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
    int32_t gen = s[0].generation;
    snaps_free(s, 1);
    assert_int_equal(m_subscribe(m, NULL, 0), 0);
    want = 0;
    assert_true(t_wait(&m, 1, p_split, &want, 10000, s));
    assert_int_equal(s[0].nrevoke, 1);
    assert_true(s[0].generation > gen);
    snaps_free(s, 1);
    m_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cooperative_keeps_unaffected),
        cmocka_unit_test(test_cooperative_member_leaves),
        cmocka_unit_test(test_eager_revokes_all),
        cmocka_unit_test(test_heartbeats_during_held_revoke),
        cmocka_unit_test(test_static_restart_keeps_assignment),
        cmocka_unit_test(test_max_poll_interval),
        cmocka_unit_test(test_pattern_follows_new_topics),
        cmocka_unit_test(test_bad_pattern),
        cmocka_unit_test(test_partition_count_change),
        cmocka_unit_test(test_topic_created_later),
        cmocka_unit_test(test_unsubscribe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
