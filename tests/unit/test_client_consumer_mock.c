/* The consumer against librdkafka's mock cluster (a broker nobody here
 * wrote): partitions led by three brokers, injected fetch errors
 * (NOT_LEADER_OR_FOLLOWER, OFFSET_OUT_OF_RANGE, FETCH_SESSION_ID_NOT_FOUND)
 * recovered, a leader moving, and a leader going down and up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client_int.h"
#include "client_test_util.h"
#include "consumer/consumer_int.h"
#include "test_client_consumer_util.h"
#include "test_client_consumer_mock_util.h"

#define NPART 6
#define NREC  50

static tmock_t mock;

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (tmock_start(&mock, 3) != 0) return -1;
    return ctu_mock_spread_topic(&mock, "m", NPART, NREC, 1);
}

static int teardown(void **state)
{
    (void)state;
    tmock_stop(&mock);
    return 0;
}

typedef struct stats {
    kc_consumer_t *c;
    int sessions, brokers_fetched;
    uint64_t resets, fetches, refreshes;
} stats_t;

static void io_stats(client_t *cl, void *arg)
{
    stats_t *s = arg;
    s->sessions = fetch_sessions(s->c);
    s->resets = s->c->session_resets;
    s->fetches = s->c->fetches_sent;
    s->refreshes = client_metadata_refreshes(cl);
}

static stats_t stats(kc_consumer_t *c)
{
    stats_t s = {.c = c};
    assert_int_equal(client_call(c->client, io_stats, &s), 0);
    return s;
}

static void assign_all(kc_consumer_t *c, int64_t offset)
{
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++)
        kc_topic_partition_list_add(l, "m", p)->offset = offset;
    assert_int_equal(kc_assign(c, l), 0);
    kc_topic_partition_list_destroy(l);
}

/* Reads until every partition reached `upto`; each offset in order, once. */
static void read_upto(kc_consumer_t *c, int64_t *next, int64_t upto)
{
    int64_t end = ctu_now_ms() + 30000;
    for (;;) {
        int done = 1;
        for (int p = 0; p < NPART; p++)
            if (next[p] < upto) done = 0;
        if (done || ctu_now_ms() > end) break;
        kc_message_t *m = kc_consumer_poll(c, 100);
        if (!m) continue;
        if (!m->err) {
            assert_int_equal(m->offset, next[m->partition]);
            char want[32];
            snprintf(want, sizeof(want), "v%d", m->partition * 1000 + (int)m->offset);
            assert_memory_equal(m->value, want, strlen(want));
            next[m->partition]++;
        }
        kc_message_destroy(m);
    }
    for (int p = 0; p < NPART; p++)
        assert_int_equal(next[p], upto);
}

static void test_three_leaders(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(mock.bootstrap, NULL);
    assert_non_null(c);
    assign_all(c, KC_OFFSET_BEGINNING);
    int64_t next[NPART] = {0};
    read_upto(c, next, NREC);
    /* One fetcher per leader: the mock spreads six partitions over three. */
    assert_int_equal(stats(c).sessions, 3);
    kc_consumer_destroy(c);
}

static void test_not_leader_recovered(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(mock.bootstrap, NULL);
    assert_non_null(c);
    uint64_t before = stats(c).refreshes;
    rd_kafka_mock_push_request_errors(
        mock.mc, PROTO_API_FETCH, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    assign_all(c, 0);
    int64_t next[NPART] = {0};
    read_upto(c, next, NREC);
    /* The errors made it look the leaders up again. */
    assert_true(stats(c).refreshes > before);
    kc_consumer_destroy(c);
}

static void test_offset_out_of_range_resets(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(mock.bootstrap, "auto.offset.reset", "earliest", NULL);
    assert_non_null(c);
    /* The first fetch from partition 4's leader (broker 2) says out of
     * range: the partition starts over at 0. Pushed to that broker only:
     * the mock's cluster-wide error queue also feeds requests of the
     * previous tests' consumers still on their way. */
    usleep(200 * 1000);
    rd_kafka_mock_broker_push_request_error_rtts(mock.mc, 2, PROTO_API_FETCH, 1,
                                                 RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE, 0);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(l, "m", 4)->offset = 20;
    assert_int_equal(kc_assign(c, l), 0);
    kc_topic_partition_list_destroy(l);
    kc_message_t *m = ctu_next_record(c, 10000, NULL);
    assert_non_null(m);
    assert_int_equal(m->partition, 4);
    assert_int_equal(m->offset, 0);
    kc_message_destroy(m);
    kc_consumer_destroy(c);
}

static void test_session_error_falls_back_to_full_fetch(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(mock.bootstrap, NULL);
    assert_non_null(c);
    rd_kafka_mock_push_request_errors(mock.mc, PROTO_API_FETCH, 2,
                                      RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND,
                                      RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH);
    assign_all(c, 0);
    int64_t next[NPART] = {0};
    read_upto(c, next, NREC);
    /* The mock hands pushed errors to the next Fetch of any connection; a
     * previous test's leftovers may take one, so at least one reset. */
    assert_true(stats(c).resets >= 1);
    kc_consumer_destroy(c);
}

static void test_leader_moves_and_goes_down(void **state)
{
    (void)state;
    kc_consumer_t *c =
        ctu_consumer(mock.bootstrap, "topic.metadata.refresh.interval.ms", "200", NULL);
    assert_non_null(c);
    assign_all(c, 0);
    int64_t next[NPART] = {0};
    read_upto(c, next, NREC);
    /* Partition 0 moves to broker 3; the old leader answers
     * NOT_LEADER_OR_FOLLOWER and the consumer follows. */
    rd_kafka_mock_partition_set_leader(mock.mc, "m", 0, 3);
    for (int p = 0; p < NPART; p++)
        assert_int_equal(
            ctu_produce(mock.bootstrap, "m", p, 10, p * 1000 + NREC, "none", 0, 1, NULL, NULL), 0);
    read_upto(c, next, NREC + 10);
    /* A leader down for a while: its partitions resume when it is back. */
    rd_kafka_mock_broker_set_down(mock.mc, 2);
    usleep(300 * 1000);
    kc_message_destroy(kc_consumer_poll(c, 100));
    rd_kafka_mock_broker_set_up(mock.mc, 2);
    for (int p = 0; p < NPART; p++)
        assert_int_equal(
            ctu_produce(mock.bootstrap, "m", p, 10, p * 1000 + NREC + 10, "none", 0, 1, NULL, NULL),
            0);
    read_upto(c, next, NREC + 20);
    kc_consumer_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_leaders),
        cmocka_unit_test(test_not_leader_recovered),
        cmocka_unit_test(test_offset_out_of_range_resets),
        cmocka_unit_test(test_session_error_falls_back_to_full_fetch),
        cmocka_unit_test(test_leader_moves_and_goes_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
