/* range and roundrobin: the assignments the Java client documents, unequal
 * subscriptions, static members, more members than partitions, unknown
 * topics, determinism, and a large group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_client_assignor_util.h"

static void run(const char *name, assignor_member_t *m, int mcnt, const assignor_topic_t *t,
                int tcnt)
{
    const assignor_t *a = assignor_find(name);
    assert_non_null(a);
    char errstr[256] = "";
    kc_err_t err = a->run(m, mcnt, t, tcnt, errstr, sizeof(errstr));
    if (err) fail_msg("%s: %d %s", name, err, errstr);
    for (int i = 0; i < mcnt; i++)
        assert_non_null(m[i].assigned);
}

static void expect(const assignor_member_t *m, const char *want)
{
    char s[4096];
    if (strcmp(tm_str(m->assigned, s, sizeof(s)), want))
        fail_msg("%s: got [%s], want [%s]", m->member_id, s, want);
}

static void clear_all(assignor_member_t *m, int n)
{
    for (int i = 0; i < n; i++)
        assignor_member_clear(&m[i]);
}

static const assignor_topic_t t0t1[] = {{"t0", 3}, {"t1", 3}};

/* RangeAssignor's Javadoc: C0 [t0p0, t0p1, t1p0, t1p1], C1 [t0p2, t1p2]. */
static void test_range_javadoc(void **state)
{
    assignor_member_t m[2];
    /* Input order does not matter: members are sorted. */
    tm_init(&m[0], "C1", "t0 t1");
    tm_init(&m[1], "C0", "t1 t0");
    run("range", m, 2, t0t1, 2);
    expect(&m[1], "t0p0 t0p1 t1p0 t1p1");
    expect(&m[0], "t0p2 t1p2");
    clear_all(m, 2);
}

/* RoundRobinAssignor's Javadoc: C0 [t0p0, t0p2, t1p1], C1 [t0p1, t1p0, t1p2]. */
static void test_roundrobin_javadoc(void **state)
{
    assignor_member_t m[2];
    tm_init(&m[0], "C1", "t0 t1");
    tm_init(&m[1], "C0", "t0 t1");
    run("roundrobin", m, 2, t0t1, 2);
    expect(&m[1], "t0p0 t0p2 t1p1");
    expect(&m[0], "t0p1 t1p0 t1p2");
    clear_all(m, 2);
}

/* RoundRobinAssignor's Javadoc, unequal subscriptions: t0, t1, t2 with 1,
 * 2, 3 partitions; C0 takes t0, C1 t0 t1, C2 t0 t1 t2:
 * C0 [t0p0], C1 [t1p0], C2 [t1p1, t2p0, t2p1, t2p2]. */
static void test_roundrobin_javadoc_unequal(void **state)
{
    const assignor_topic_t topics[] = {{"t2", 3}, {"t0", 1}, {"t1", 2}};
    assignor_member_t m[3];
    tm_init(&m[0], "C0", "t0");
    tm_init(&m[1], "C1", "t0 t1");
    tm_init(&m[2], "C2", "t0 t1 t2");
    run("roundrobin", m, 3, topics, 3);
    expect(&m[0], "t0p0");
    expect(&m[1], "t1p0");
    expect(&m[2], "t1p1 t2p0 t2p1 t2p2");
    clear_all(m, 3);
}

/* Range is per topic: each topic is split over its own subscribers. */
static void test_range_unequal(void **state)
{
    const assignor_topic_t topics[] = {{"t0", 3}, {"t1", 2}, {"t2", 5}};
    assignor_member_t m[3];
    tm_init(&m[0], "a", "t0");
    tm_init(&m[1], "b", "t0 t1 t2");
    tm_init(&m[2], "c", "t2");
    run("range", m, 3, topics, 3);
    expect(&m[0], "t0p0 t0p1");
    expect(&m[1], "t0p2 t1p0 t1p1 t2p0 t2p1 t2p2");
    expect(&m[2], "t2p3 t2p4");
    clear_all(m, 3);
}

/* With group.instance.id, Java orders static members by instance id, ahead
 * of dynamic members (by member id): RangeAssignor's Javadoc example with
 * I0, I1 gives I0 [t0p0, t0p1, t1p0, t1p1], I1 [t0p2, t1p2]. */
static void test_static_members_ordered_by_instance_id(void **state)
{
    assignor_member_t m[3];
    tm_init(&m[0], "a-member", "t0 t1");
    m[0].group_instance_id = "I1";
    tm_init(&m[1], "z-member", "t0 t1");
    m[1].group_instance_id = "I0";
    run("range", m, 2, t0t1, 2);
    expect(&m[1], "t0p0 t0p1 t1p0 t1p1");
    expect(&m[0], "t0p2 t1p2");

    /* A dynamic member sorts after the static ones, whatever its id. */
    tm_init(&m[2], "0-dynamic", "t0 t1");
    run("range", m, 3, t0t1, 2);
    expect(&m[1], "t0p0 t1p0");
    expect(&m[0], "t0p1 t1p1");
    expect(&m[2], "t0p2 t1p2");
    run("roundrobin", m, 3, t0t1, 2);
    expect(&m[1], "t0p0 t1p0");
    expect(&m[0], "t0p1 t1p1");
    expect(&m[2], "t0p2 t1p2");
    clear_all(m, 3);
}

static void test_more_members_than_partitions(void **state)
{
    const assignor_topic_t topics[] = {{"t", 2}};
    assignor_member_t m[4];
    const char *ids[] = {"m3", "m1", "m0", "m2"};
    for (int i = 0; i < 4; i++)
        tm_init(&m[i], ids[i], "t");
    run("range", m, 4, topics, 1);
    expect(&m[2], "tp0");
    expect(&m[1], "tp1");
    expect(&m[3], "");
    expect(&m[0], "");
    run("roundrobin", m, 4, topics, 1);
    expect(&m[2], "tp0");
    expect(&m[1], "tp1");
    expect(&m[3], "");
    expect(&m[0], "");
    clear_all(m, 4);
}

/* Topics missing from metadata (or with no partitions) are skipped;
 * duplicate names in a subscription or in metadata count once; a member
 * with nothing to take gets an empty list, not NULL. */
static void test_unknown_and_duplicate_topics(void **state)
{
    const assignor_topic_t topics[] = {{"t", 2}, {"empty", 0}, {"t", 2}, {"other", 4}};
    const char *names[] = {"range", "roundrobin"};
    for (int n = 0; n < 2; n++) {
        assignor_member_t m[3];
        tm_init(&m[0], "a", "t missing t");
        tm_init(&m[1], "b", "missing empty");
        tm_init(&m[2], "c", "");
        run(names[n], m, 3, topics, 4);
        expect(&m[0], "tp0 tp1");
        expect(&m[1], "");
        expect(&m[2], "");
        clear_all(m, 3);
    }
    /* No members, no topics. */
    run("range", NULL, 0, NULL, 0);
    run("roundrobin", NULL, 0, topics, 4);
    run("cooperative-sticky", NULL, 0, topics, 4);
    assignor_member_t none[2];
    tm_init(&none[0], "a", "");
    tm_init(&none[1], "b", "missing");
    run("cooperative-sticky", none, 2, NULL, 0);
    expect(&none[0], "");
    expect(&none[1], "");
    clear_all(none, 2);
}

/* The roundrobin cursor runs on across topics. */
static void test_roundrobin_cursor_spans_topics(void **state)
{
    const assignor_topic_t topics[] = {{"a", 1}, {"b", 2}};
    assignor_member_t m[3];
    tm_init(&m[0], "m0", "a b");
    tm_init(&m[1], "m1", "a b");
    tm_init(&m[2], "m2", "a b");
    run("roundrobin", m, 3, topics, 2);
    expect(&m[0], "ap0");
    expect(&m[1], "bp0");
    expect(&m[2], "bp1");
    clear_all(m, 3);
}

/* The same input in any member order gives the same assignment; a second
 * run replaces the first run's lists. */
static void test_deterministic(void **state)
{
    const assignor_topic_t topics[] = {{"x", 7}, {"y", 5}, {"z", 11}};
    const char *subs[] = {"x y", "y z", "x z", "x y z", "z"};
    const char *ids[] = {"e", "c", "a", "d", "b"};
    const char *names[] = {"range", "roundrobin", "cooperative-sticky"};
    for (int n = 0; n < 3; n++) {
        char first[5][256];
        for (int perm = 0; perm < 5; perm++) {
            assignor_member_t m[5];
            for (int i = 0; i < 5; i++) {
                int k = (i + perm) % 5;
                tm_init(&m[i], ids[k], subs[k]);
            }
            run(names[n], m, 5, topics, 3);
            run(names[n], m, 5, topics, 3);
            for (int i = 0; i < 5; i++) {
                int k = (i + perm) % 5;
                char s[256];
                tm_str(m[i].assigned, s, sizeof(s));
                if (!perm)
                    strcpy(first[k], s);
                else if (strcmp(first[k], s))
                    fail_msg("%s: member %s got [%s] then [%s]", names[n], ids[k], first[k], s);
            }
            clear_all(m, 5);
        }
    }
}

static void test_bad_arguments(void **state)
{
    const assignor_t *a = assignor_find("range");
    assignor_member_t m[1];
    tm_init(&m[0], NULL, "t");
    char errstr[128] = "";
    assert_int_equal(a->run(m, 1, t0t1, 2, errstr, sizeof(errstr)), KC_ERR__INVALID_ARG);
    assert_true(strlen(errstr) > 0);
    assert_int_equal(a->run(NULL, 1, t0t1, 2, errstr, sizeof(errstr)), KC_ERR__INVALID_ARG);
    assert_int_equal(a->run(m, -1, t0t1, 2, errstr, sizeof(errstr)), KC_ERR__INVALID_ARG);
    const assignor_topic_t huge[] = {{"a", INT32_MAX}, {"b", INT32_MAX}};
    m[0].member_id = "m";
    assert_int_equal(a->run(m, 1, huge, 2, errstr, sizeof(errstr)), KC_ERR__INVALID_ARG);
    clear_all(m, 1);
}

/* 1000 members over 100 topics of 100 partitions: every partition assigned
 * once; roundrobin and sticky give 10 each; range, topic by topic, gives
 * one partition of every topic to each of the first 100 members. */
static void test_large_group(void **state)
{
    enum { MEMBERS = 1000, TOPICS = 100, PARTS = 100 };
    assignor_topic_t topics[TOPICS];
    char tnames[TOPICS][16];
    char all[TOPICS * 16] = "";
    for (int t = 0; t < TOPICS; t++) {
        snprintf(tnames[t], sizeof(tnames[t]), "topic-%03d", t);
        topics[t] = (assignor_topic_t){tnames[t], PARTS};
        strcat(all, tnames[t]);
        strcat(all, " ");
    }
    static char ids[MEMBERS][32];
    assignor_member_t *m = calloc(MEMBERS, sizeof(*m));
    for (int i = 0; i < MEMBERS; i++) {
        snprintf(ids[i], sizeof(ids[i]), "consumer-%d-uuid", i);
        tm_init(&m[i], ids[i], all);
    }
    const char *names[] = {"range", "roundrobin", "cooperative-sticky"};
    for (int n = 0; n < 3; n++) {
        run(names[n], m, MEMBERS, topics, TOPICS);
        int total = 0;
        for (int i = 0; i < MEMBERS; i++) {
            total += m[i].assigned->cnt;
            int want = TOPICS * PARTS / MEMBERS;
            if (n == 0) want = m[i].assigned->cnt ? TOPICS : 0;
            if (m[i].assigned->cnt != want)
                fail_msg("%s: %s has %d", names[n], ids[i], m[i].assigned->cnt);
        }
        assert_int_equal(total, TOPICS * PARTS);
    }
    clear_all(m, MEMBERS);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_javadoc),
        cmocka_unit_test(test_roundrobin_javadoc),
        cmocka_unit_test(test_roundrobin_javadoc_unequal),
        cmocka_unit_test(test_range_unequal),
        cmocka_unit_test(test_static_members_ordered_by_instance_id),
        cmocka_unit_test(test_more_members_than_partitions),
        cmocka_unit_test(test_unknown_and_duplicate_topics),
        cmocka_unit_test(test_roundrobin_cursor_spans_topics),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_large_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
