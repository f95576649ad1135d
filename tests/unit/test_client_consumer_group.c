/* The consumer in a group against a kc-broker process: subscribe, manual
 * and automatic commits, kc_committed, two members sharing a topic, the
 * rebalance and commit callbacks, and kc_assign with group.id resuming from
 * the committed offsets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client_test_util.h"
#include "test_client_consumer_util.h"

static tbroker_t broker;

#define NPART 3
#define NREC  30

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (tbroker_start(&broker) != 0) return -1;
    const char *topics[] = {"ga", "gb", "gc", "gd", "ge"};
    for (size_t t = 0; t < sizeof(topics) / sizeof(topics[0]); t++) {
        if (ctu_create_topic(broker.addr, topics[t], NPART) != 0) return -1;
        for (int p = 0; p < NPART; p++)
            if (ctu_produce(broker.addr, topics[t], p, NREC, p * 1000, "lz4", 0, 0, NULL, NULL))
                return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tbroker_stop(&broker);
    return 0;
}

static kc_consumer_t *member(const char *group, const char *autocommit)
{
    return ctu_consumer(broker.addr, "group.id", group, "enable.auto.commit", autocommit,
                        "auto.offset.reset", "earliest", "session.timeout.ms", "6000",
                        "heartbeat.interval.ms", "200", NULL);
}

/* Polls the consumers in turn until n records came in all; seen[p][off]
 * counts each. */
static int read_all(kc_consumer_t **cs, int ncs, int n, int seen[NPART][NREC + 8], int *per,
                    int timeout_ms)
{
    int got = 0;
    int64_t end = ctu_now_ms() + timeout_ms;
    while (got < n && ctu_now_ms() < end) {
        for (int i = 0; i < ncs; i++) {
            kc_message_t *m = kc_consumer_poll(cs[i], 20);
            if (!m) continue;
            if (!m->err && m->offset < NREC + 8) {
                seen[m->partition][m->offset]++;
                if (per) per[i]++;
                got++;
            }
            kc_message_destroy(m);
        }
    }
    return got;
}

static void check_committed(kc_consumer_t *c, const char *topic, int64_t want)
{
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++)
        kc_topic_partition_list_add(l, topic, p);
    assert_int_equal(kc_committed(c, l, 10000), 0);
    for (int p = 0; p < NPART; p++) {
        assert_int_equal(l->elems[p].err, 0);
        assert_int_equal(l->elems[p].offset, want);
    }
    kc_topic_partition_list_destroy(l);
}

static void test_subscribe_commit_committed_resume(void **state)
{
    (void)state;
    kc_consumer_t *c = member("g-manual", "false");
    assert_non_null(c);
    const char *topics[] = {"ga"};
    assert_int_equal(kc_subscribe(c, topics, 1), 0);
    int seen[NPART][NREC + 8] = {{0}};
    assert_int_equal(read_all(&c, 1, NPART * NREC, seen, NULL, 30000), NPART * NREC);
    for (int p = 0; p < NPART; p++)
        for (int o = 0; o < NREC; o++)
            assert_int_equal(seen[p][o], 1);
    assert_int_equal(kc_commit(c, NULL, 0), 0);
    check_committed(c, "ga", NREC);
    assert_string_equal(kc_rebalance_protocol(c), "EAGER");
    assert_int_equal(kc_consumer_close(c), 0);
    kc_consumer_destroy(c);

    /* A new member resumes after the commit: only new records come. */
    assert_int_equal(ctu_produce(broker.addr, "ga", 1, 1, 5000, "none", 0, 0, NULL, NULL), 0);
    c = member("g-manual", "false");
    assert_int_equal(kc_subscribe(c, topics, 1), 0);
    kc_message_t *m = ctu_next_record(c, 20000, NULL);
    assert_non_null(m);
    assert_int_equal(m->partition, 1);
    assert_int_equal(m->offset, NREC);
    assert_int_equal(kc_commit_message(c, m, 0), 0);
    kc_message_destroy(m);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(l, "ga", 1);
    assert_int_equal(kc_committed(c, l, 10000), 0);
    assert_int_equal(l->elems[0].offset, NREC + 1);
    kc_topic_partition_list_destroy(l);
    assert_null(ctu_next_record(c, 500, NULL));
    kc_consumer_destroy(c);
}

static void test_auto_commit_at_close(void **state)
{
    (void)state;
    kc_consumer_t *c = member("g-auto", "true");
    assert_non_null(c);
    const char *topics[] = {"gb"};
    assert_int_equal(kc_subscribe(c, topics, 1), 0);
    int seen[NPART][NREC + 8] = {{0}};
    assert_int_equal(read_all(&c, 1, NPART * NREC, seen, NULL, 30000), NPART * NREC);
    assert_int_equal(kc_consumer_close(c), 0);
    kc_consumer_destroy(c);
    c = member("g-auto", "false");
    check_committed(c, "gb", NREC);
    kc_consumer_destroy(c);
}

/* Closing after reading only part of the data commits what the application
 * was handed, not what the fetcher had queued behind it (the leave served
 * at close must not hand out, or count, more records). */
static void test_auto_commit_at_close_partial(void **state)
{
    (void)state;
    kc_consumer_t *c = member("g-auto-partial", "true");
    assert_non_null(c);
    const char *topics[] = {"ge"};
    assert_int_equal(kc_subscribe(c, topics, 1), 0);
    int64_t pos[NPART] = {0, 0, 0};
    int got = 0;
    int64_t end = ctu_now_ms() + 30000;
    while (got < 3 && ctu_now_ms() < end) {
        kc_message_t *m = kc_consumer_poll(c, 50);
        if (m && !m->err) {
            pos[m->partition] = m->offset + 1;
            got++;
        }
        kc_message_destroy(m);
    }
    assert_int_equal(got, 3);
    assert_int_equal(kc_consumer_close(c), 0);
    kc_consumer_destroy(c);
    c = member("g-auto-partial", "false");
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++)
        kc_topic_partition_list_add(l, "ge", p);
    assert_int_equal(kc_committed(c, l, 10000), 0);
    for (int p = 0; p < NPART; p++) {
        int64_t want = pos[p] ? pos[p] : KC_OFFSET_INVALID;
        /* A partition never read may have its start committed, or nothing. */
        if (!pos[p] && l->elems[p].offset == 0) continue;
        assert_int_equal(l->elems[p].offset, want);
    }
    kc_topic_partition_list_destroy(l);
    kc_consumer_destroy(c);
}

typedef struct cbs {
    int assigned, revoked, commits;
    kc_err_t commit_err;
    kc_consumer_t *self;
} cbs_t;

static void rebalance_cb(kc_consumer_t *c, kc_rebalance_event_t ev,
                         const kc_topic_partition_list_t *parts, void *opaque)
{
    cbs_t *s = opaque;
    if (ev == KC_REBALANCE_ASSIGN) {
        s->assigned += parts->cnt;
        kc_assign(c, parts);
    } else {
        s->revoked += parts->cnt;
        kc_assign(c, NULL);
    }
}

static void commit_cb(kc_consumer_t *c, kc_err_t err, const kc_topic_partition_list_t *offsets,
                      void *opaque)
{
    (void)c;
    (void)offsets;
    cbs_t *s = opaque;
    s->commits++;
    s->commit_err = err;
}

static kc_consumer_t *member_cb(const char *group, cbs_t *s)
{
    char errstr[256];
    kc_conf_t *conf = kc_conf_new();
    const char *kv[] = {"bootstrap.servers",
                        broker.addr,
                        "group.id",
                        group,
                        "enable.auto.commit",
                        "false",
                        "auto.offset.reset",
                        "earliest",
                        "session.timeout.ms",
                        "6000",
                        "heartbeat.interval.ms",
                        "200",
                        "fetch.wait.max.ms",
                        "100",
                        "retry.backoff.ms",
                        "10",
                        NULL};
    for (int i = 0; kv[i]; i += 2)
        assert_int_equal(kc_conf_set(conf, kv[i], kv[i + 1], errstr, sizeof(errstr)), 0);
    kc_conf_set_rebalance_cb(conf, rebalance_cb, s);
    kc_conf_set_commit_cb(conf, commit_cb, s);
    kc_consumer_t *c = kc_consumer_new(conf, errstr, sizeof(errstr));
    assert_non_null(c);
    return c;
}

static void test_two_members_share_and_callbacks(void **state)
{
    (void)state;
    cbs_t s[2] = {{0}};
    kc_consumer_t *cs[2];
    const char *topics[] = {"gc"};
    for (int i = 0; i < 2; i++) {
        cs[i] = member_cb("g-two", &s[i]);
        assert_int_equal(kc_subscribe(cs[i], topics, 1), 0);
    }
    int seen[NPART][NREC + 8] = {{0}};
    int per[2] = {0, 0};
    assert_int_equal(read_all(cs, 2, NPART * NREC, seen, per, 40000), NPART * NREC);
    /* Everything once (a rebalance before any commit may replay a few:
     * none here since the second member joined before records flowed, or
     * the first member's replays are counted below). */
    for (int p = 0; p < NPART; p++)
        for (int o = 0; o < NREC; o++)
            assert_true(seen[p][o] >= 1);
    assert_true(s[0].assigned > 0);
    assert_true(s[1].assigned > 0);
    /* Commits through the callback, async. */
    for (int i = 0; i < 2; i++)
        assert_int_equal(kc_commit(cs[i], NULL, 1), 0);
    int64_t end = ctu_now_ms() + 10000;
    while ((s[0].commits < 1 || s[1].commits < 1) && ctu_now_ms() < end)
        for (int i = 0; i < 2; i++)
            kc_message_destroy(kc_consumer_poll(cs[i], 20));
    assert_int_equal(s[0].commits, 1);
    assert_int_equal(s[1].commits, 1);
    assert_int_equal(s[0].commit_err, 0);
    /* Close revokes through the callback. */
    int before = s[0].revoked;
    assert_int_equal(kc_consumer_close(cs[0]), 0);
    assert_true(s[0].revoked > before);
    kc_consumer_destroy(cs[0]);
    kc_consumer_destroy(cs[1]);
    kc_consumer_t *c = member("g-two", "false");
    check_committed(c, "gc", NREC);
    kc_consumer_destroy(c);
}

/* kc_assign with a group.id: KC_OFFSET_STORED starts at the committed
 * offset (commit without membership, generation -1). */
static void test_assign_with_group_uses_committed(void **state)
{
    (void)state;
    kc_consumer_t *c = member("g-assign", "false");
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(l, "gd", 2)->offset = 17;
    assert_int_equal(kc_commit(c, l, 0), 0);
    l->elems[0].offset = KC_OFFSET_STORED;
    assert_int_equal(kc_assign(c, l), 0);
    kc_message_t *m = ctu_next_record(c, 10000, NULL);
    assert_non_null(m);
    assert_int_equal(m->partition, 2);
    assert_int_equal(m->offset, 17);
    kc_message_destroy(m);
    /* With nothing committed, auto.offset.reset (earliest). */
    kc_topic_partition_list_t *l0 = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(l0, "gd", 0)->offset = KC_OFFSET_INVALID;
    assert_int_equal(kc_incremental_assign(c, l0), 0);
    int64_t end = ctu_now_ms() + 10000;
    int got0 = 0;
    while (!got0 && ctu_now_ms() < end) {
        m = kc_consumer_poll(c, 50);
        if (m && !m->err && m->partition == 0) {
            assert_int_equal(m->offset, 0);
            got0 = 1;
        }
        kc_message_destroy(m);
    }
    assert_true(got0);
    /* Nothing to commit for an empty list. */
    kc_topic_partition_list_t *empty = kc_topic_partition_list_new(0);
    assert_int_equal(kc_commit(c, empty, 0), KC_ERR__NOENT);
    kc_topic_partition_list_destroy(empty);
    kc_topic_partition_list_destroy(l);
    kc_topic_partition_list_destroy(l0);
    kc_consumer_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscribe_commit_committed_resume),
        cmocka_unit_test(test_auto_commit_at_close),
        cmocka_unit_test(test_auto_commit_at_close_partial),
        cmocka_unit_test(test_two_members_share_and_callbacks),
        cmocka_unit_test(test_assign_with_group_uses_committed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
