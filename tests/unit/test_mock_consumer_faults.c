/* The kc consumer against kc's own mock cluster (3 brokers) under faults:
 * leader moves, a broker outage, injected Fetch errors (retriable, and a
 * non-retriable one on one partition), a coordinator move
 * while a group member commits, and slow brokers. Records are produced
 * with librdkafka. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <librdkafka/rdkafka.h>

#include "kc/kc_mock.h"
#include "mock_fault_fixture.h"
#include "test_client_consumer_util.h"

#define NPART  3
#define MAXREC 2000

/* What a consumer has read: seen[part][offset] counts, and the key of each
 * record checked against its offset (records are produced "k<i>" at
 * offset i). */
typedef struct cf_seen {
    unsigned char seen[NPART][MAXREC];
    int n;
    int dups;
    kc_err_t last_event;
    int events[NPART]; /* error events per partition */
    int per_part[NPART];
} cf_seen_t;

/* Partition i led by broker i + 1: alone on it (rf 1), or among all three. */
static void cf_place(mock_fault_fixture_t *f, const char *topic, int rf)
{
    for (int part = 0; part < NPART; part++) {
        int32_t b = part + 1;
        if (rf == 1)
            assert_int_equal(kc_mock_partition_set_replicas(f->mc, topic, part, &b, 1), 0);
        else
            assert_int_equal(kc_mock_partition_set_leader(f->mc, topic, part, b), 0);
    }
}

static void cf_produce(mock_fault_fixture_t *f, const char *topic, int per, int start)
{
    for (int part = 0; part < NPART; part++)
        assert_int_equal(
            ctu_produce(f->bootstrap, topic, part, per, start, "none", 0, 0, NULL, NULL), 0);
}

/* Polls until s->n reaches want or deadline_ms passes. */
static void cf_read(kc_consumer_t *c, cf_seen_t *s, int want, int deadline_ms)
{
    int64_t end = ctu_now_ms() + deadline_ms;
    while (s->n < want && ctu_now_ms() < end) {
        kc_message_t *m = kc_consumer_poll(c, 50);
        if (!m) continue;
        if (m->err) {
            s->last_event = m->err;
            if (m->topic && m->partition >= 0 && m->partition < NPART) s->events[m->partition]++;
            kc_message_destroy(m);
            continue;
        }
        assert_true(m->partition >= 0 && m->partition < NPART);
        assert_true(m->offset >= 0 && m->offset < MAXREC);
        char key[32];
        int kl = snprintf(key, sizeof(key), "k%lld", (long long)m->offset);
        assert_int_equal(m->key_len, (size_t)kl);
        assert_memory_equal(m->key, key, (size_t)kl);
        if (s->seen[m->partition][m->offset]++) s->dups++;
        s->n++;
        s->per_part[m->partition]++;
        kc_message_destroy(m);
    }
}

/* Every offset 0..per-1 of every partition read exactly once. */
static void cf_check_once(const cf_seen_t *s, int per)
{
    assert_int_equal(s->dups, 0);
    for (int part = 0; part < NPART; part++)
        for (int off = 0; off < per; off++)
            if (s->seen[part][off] != 1)
                fail_msg("partition %d offset %d read %d times", part, off, s->seen[part][off]);
    assert_int_equal(s->n, per * NPART);
}

/* Nothing more comes for a while: no duplicate is still on its way. */
static void cf_read_quiet(kc_consumer_t *c, cf_seen_t *s, int per)
{
    cf_read(c, s, per * NPART + 1, 400);
    cf_check_once(s, per);
}

static kc_consumer_t *cf_assigned(mock_fault_fixture_t *f, const char *topic, const char *reset)
{
    kc_consumer_t *c = ctu_consumer(f->bootstrap, "socket.timeout.ms", "2000",
                                    "topic.metadata.refresh.interval.ms", "200",
                                    "auto.offset.reset", reset ? reset : "earliest", NULL);
    assert_non_null(c);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(NPART);
    for (int part = 0; part < NPART; part++)
        kc_topic_partition_list_add(l, topic, part)->offset = 0;
    assert_int_equal(kc_assign(c, l), 0);
    kc_topic_partition_list_destroy(l);
    return c;
}

/* ---- (a) leader moves ------------------------------------------------------------ */

static void test_leader_move_during_consumption(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "cf-leader";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 3), 0);
    cf_place(f, topic, 3);
    cf_produce(f, topic, 100, 0);
    cf_seen_t *s = calloc(1, sizeof(*s));
    kc_consumer_t *c = cf_assigned(f, topic, NULL);
    cf_read(c, s, 150, 10000);
    assert_true(s->n >= 150);
    for (int part = 0; part < NPART; part++)
        assert_int_equal(kc_mock_partition_set_leader(f->mc, topic, part, (part + 1) % 3 + 1), 0);
    cf_produce(f, topic, 100, 100);
    cf_read(c, s, 600, 12000);
    cf_read_quiet(c, s, 200);
    kc_consumer_destroy(c);
    free(s);
}

/* ---- (b) broker outage ------------------------------------------------------------ */

static void test_broker_down_up_consumption_resumes(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "cf-outage";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 1), 0);
    cf_place(f, topic, 1);
    cf_produce(f, topic, 100, 0);
    cf_seen_t *s = calloc(1, sizeof(*s));
    kc_consumer_t *c = cf_assigned(f, topic, NULL);
    cf_read(c, s, 300, 10000);
    assert_int_equal(s->n, 300);
    /* Partition 1 lives on broker 2 alone. */
    assert_int_equal(kc_mock_broker_down(f->mc, 2), 0);
    cf_read(c, s, 301, 800);
    assert_int_equal(s->n, 300);
    assert_int_equal(kc_mock_broker_up(f->mc, 2), 0);
    cf_produce(f, topic, 100, 100);
    cf_read(c, s, 600, 12000);
    cf_read_quiet(c, s, 200);
    kc_consumer_destroy(c);
    free(s);
}

/* ---- (c) injected Fetch errors ------------------------------------------------------ */

static void test_fetch_errors_recovered(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "cf-fetch-errors";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 3), 0);
    cf_place(f, topic, 3);
    cf_produce(f, topic, 100, 0);
    const kc_err_t errs[] = {KC_ERR_NOT_LEADER_OR_FOLLOWER, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION,
                             KC_ERR_NOT_LEADER_OR_FOLLOWER, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION};
    assert_int_equal(kc_mock_push_request_errors(f->mc, -1, 1, 4, errs, NULL), 0);
    cf_seen_t *s = calloc(1, sizeof(*s));
    kc_consumer_t *c = cf_assigned(f, topic, NULL);
    cf_read(c, s, 300, 12000);
    cf_read_quiet(c, s, 100);
    int inj = 0;
    mock_fault_count_requests(f, -1, 1, &inj);
    assert_int_equal(inj, 4);
    /* And again mid-stream, on one broker's fetches. */
    assert_int_equal(kc_mock_push_request_errors(f->mc, 2, 1, 3, errs, NULL), 0);
    cf_produce(f, topic, 100, 100);
    cf_read(c, s, 600, 12000);
    cf_read_quiet(c, s, 200);
    kc_consumer_destroy(c);
    free(s);
}

/* A non-retriable error on one broker's fetches (TOPIC_AUTHORIZATION_FAILED
 * for partition 1, alone on broker 2): the application gets error events
 * for that partition from kc_consumer_poll, the other partitions are
 * consumed meanwhile, and partition 1 resumes once the error stops. */
static void test_fetch_non_retriable_error_reported(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "cf-authz";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 1), 0);
    cf_place(f, topic, 1);
    cf_produce(f, topic, 100, 0);
    kc_err_t authz[50];
    for (int i = 0; i < 50; i++)
        authz[i] = KC_ERR_TOPIC_AUTHORIZATION_FAILED;
    assert_int_equal(kc_mock_push_request_errors(f->mc, 2, 1, 50, authz, NULL), 0);
    cf_seen_t *s = calloc(1, sizeof(*s));
    kc_consumer_t *c = cf_assigned(f, topic, NULL);
    int64_t end = ctu_now_ms() + 12000;
    while ((s->n < 200 || s->events[1] < 2) && ctu_now_ms() < end)
        cf_read(c, s, s->n + 1, 100);
    if (s->n != 200 || s->per_part[1] != 0 || s->events[1] < 2)
        fail_msg("read %d (partition 1: %d), partition 1 error events %d", s->n, s->per_part[1],
                 s->events[1]);
    assert_int_equal(s->last_event, KC_ERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(s->events[0] + s->events[2], 0);
    int inj = 0;
    mock_fault_count_requests(f, 2, 1, &inj);
    assert_true(inj >= 2);
    /* Records produced meanwhile still reach the other partitions. */
    cf_produce(f, topic, 100, 100);
    end = ctu_now_ms() + 12000;
    while (s->n < 400 && ctu_now_ms() < end)
        cf_read(c, s, 400, 100);
    assert_int_equal(s->n, 400);
    assert_int_equal(s->per_part[1], 0);

    assert_int_equal(kc_mock_clear_request_errors(f->mc, 2, 1), 0);
    cf_read(c, s, 600, 15000);
    cf_read_quiet(c, s, 200);
    kc_consumer_destroy(c);
    free(s);
}

/* OFFSET_OUT_OF_RANGE on the first fetches with auto.offset.reset=earliest:
 * the consumer resets to the log start (0 here) and reads everything. */
static void test_fetch_offset_out_of_range_resets_earliest(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "cf-oor";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 3), 0);
    cf_place(f, topic, 3);
    cf_produce(f, topic, 100, 0);
    const kc_err_t oor[] = {KC_ERR_OFFSET_OUT_OF_RANGE, KC_ERR_OFFSET_OUT_OF_RANGE,
                            KC_ERR_OFFSET_OUT_OF_RANGE};
    assert_int_equal(kc_mock_push_request_errors(f->mc, -1, 1, 3, oor, NULL), 0);
    cf_seen_t *s = calloc(1, sizeof(*s));
    kc_consumer_t *c = cf_assigned(f, topic, "earliest");
    cf_read(c, s, 300, 12000);
    cf_read_quiet(c, s, 100);
    int inj = 0;
    mock_fault_count_requests(f, -1, 1, &inj);
    assert_int_equal(inj, 3);
    kc_consumer_destroy(c);
    free(s);
}

/* ---- (d) coordinator moves ---------------------------------------------------------- */

static void cf_commit_sync(kc_consumer_t *c, cf_seen_t *s)
{
    /* A commit racing the coordinator move may fail retriably; the member
     * must get there within a few tries (polling keeps it alive). */
    kc_err_t err = KC_ERR__TIMED_OUT;
    for (int i = 0; i < 20 && err; i++) {
        err = kc_commit(c, NULL, 0);
        if (err) cf_read(c, s, s->n, 100);
    }
    if (err) fail_msg("commit: %s", kc_err_name(err));
}

static void cf_check_committed(kc_consumer_t *c, const char *topic, int64_t want)
{
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(NPART);
    for (int part = 0; part < NPART; part++)
        kc_topic_partition_list_add(l, topic, part);
    assert_int_equal(kc_committed(c, l, 10000), 0);
    for (int part = 0; part < NPART; part++) {
        assert_int_equal(l->elems[part].err, 0);
        if (l->elems[part].offset != want)
            fail_msg("partition %d committed %lld, expected %lld", part,
                     (long long)l->elems[part].offset, (long long)want);
    }
    kc_topic_partition_list_destroy(l);
}

static void test_coordinator_moves_while_committing(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "cf-coord";
    const char *group = "cf-coord-group";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 3), 0);
    cf_place(f, topic, 3);
    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_GROUP, group, 1), 0);
    cf_produce(f, topic, 100, 0);
    kc_consumer_t *c =
        ctu_consumer(f->bootstrap, "group.id", group, "enable.auto.commit", "false",
                     "auto.offset.reset", "earliest", "session.timeout.ms", "6000",
                     "heartbeat.interval.ms", "200", "socket.timeout.ms", "2000", NULL);
    assert_non_null(c);
    const char *topics[] = {topic};
    assert_int_equal(kc_subscribe(c, topics, 1), 0);
    cf_seen_t *s = calloc(1, sizeof(*s));
    cf_read(c, s, 300, 12000);
    assert_int_equal(s->n, 300);
    cf_commit_sync(c, s);
    cf_check_committed(c, topic, 100);
    assert_true(mock_fault_count_requests(f, 1, 8, NULL) >= 1); /* OffsetCommit on broker 1 */
    assert_int_equal(mock_fault_count_requests(f, 3, 8, NULL), 0);

    assert_int_equal(kc_mock_coordinator_set(f->mc, KC_MOCK_COORD_GROUP, group, 3), 0);
    cf_produce(f, topic, 100, 100);
    cf_read(c, s, 600, 12000);
    cf_check_once(s, 200);
    cf_commit_sync(c, s);
    cf_check_committed(c, topic, 200);
    /* The commit that counted went to the new coordinator. */
    assert_true(mock_fault_count_requests(f, 3, 8, NULL) >= 1);
    assert_true(mock_fault_count_requests(f, -1, 10, NULL) >= 2); /* FindCoordinator again */
    kc_consumer_close(c);
    kc_consumer_destroy(c);

    /* A new member of the group starts from the committed offsets. */
    kc_consumer_t *c2 = ctu_consumer(f->bootstrap, "group.id", group, "enable.auto.commit", "false",
                                     "auto.offset.reset", "earliest", NULL);
    assert_non_null(c2);
    cf_check_committed(c2, topic, 200);
    kc_consumer_destroy(c2);
    free(s);
}

/* ---- (e) slow brokers ------------------------------------------------------------ */

static void test_slow_brokers_still_read_everything(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "cf-slow";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 3), 0);
    cf_place(f, topic, 3);
    cf_produce(f, topic, 100, 0);
    for (int32_t b = 1; b <= 3; b++)
        assert_int_equal(kc_mock_broker_set_rtt(f->mc, b, b == 2 ? 400 : 150), 0);
    cf_seen_t *s = calloc(1, sizeof(*s));
    kc_consumer_t *c = cf_assigned(f, topic, NULL);
    cf_read(c, s, 300, 12000);
    cf_read_quiet(c, s, 100);
    kc_consumer_destroy(c);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_leader_move_during_consumption, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_broker_down_up_consumption_resumes, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_fetch_errors_recovered, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_fetch_offset_out_of_range_resets_earliest,
                                        mock_fault_setup, mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_fetch_non_retriable_error_reported, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_moves_while_committing, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_slow_brokers_still_read_everything, mock_fault_setup,
                                        mock_fault_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
