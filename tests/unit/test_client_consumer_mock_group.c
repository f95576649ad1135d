/* The public consumer in a group on librdkafka's mock cluster (a broker and
 * coordinator nobody here wrote): kc_subscribe, consume, kc_commit; then the
 * group coordinator moves to another broker and Fetch requests fail with
 * NOT_LEADER_OR_FOLLOWER while more records are consumed and committed.
 * Every record comes once, and the committed offsets (and metadata) after
 * the move are read back by a second kc consumer and by librdkafka. And a
 * synchronous commit naming the partition the mock refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client_int.h"
#include "client_test_util.h"
#include "consumer/cgrp_int.h"
#include "consumer/consumer_int.h"
#include "test_client_consumer_util.h"
#include "test_client_consumer_mock_util.h"

#define NPART 4
#define NREC  40
#define GROUP "g-mock-move"

static tmock_t mock;

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (tmock_start(&mock, 3) != 0) return -1;
    if (rd_kafka_mock_coordinator_set(mock.mc, "group", GROUP, 1)) return -1;
    return ctu_mock_spread_topic(&mock, "mg", NPART, NREC, 0);
}

static int teardown(void **state)
{
    (void)state;
    tmock_stop(&mock);
    return 0;
}

typedef struct probe {
    kc_consumer_t *c;
    int32_t coord;
    uint64_t refreshes;
} probe_t;

static void io_probe(client_t *cl, void *arg)
{
    probe_t *q = arg;
    q->coord = q->c->cgrp ? q->c->cgrp->coord_id : -1;
    q->refreshes = client_metadata_refreshes(cl);
}

static probe_t probe(kc_consumer_t *c)
{
    probe_t q = {.c = c};
    assert_int_equal(client_call(c->client, io_probe, &q), 0);
    return q;
}

/* Reads until got reaches want; seen[p][off] counts each record, whose
 * value must be the one produced for it. */
static int read_until(kc_consumer_t *c, int seen[NPART][2 * NREC], int got, int want)
{
    int64_t end = ctu_now_ms() + 40000;
    while (got < want && ctu_now_ms() < end) {
        kc_message_t *m = kc_consumer_poll(c, 100);
        if (m && !m->err) {
            assert_true(m->partition >= 0 && m->partition < NPART);
            assert_true(m->offset >= 0 && m->offset < 2 * NREC);
            char v[32];
            int n = snprintf(v, sizeof(v), "v%d", m->partition * 1000 + (int)m->offset);
            assert_int_equal(m->value_len, (size_t)n);
            assert_memory_equal(m->value, v, (size_t)n);
            seen[m->partition][m->offset]++;
            got++;
        }
        kc_message_destroy(m);
    }
    return got;
}

static void check_kc_committed(kc_consumer_t *c, int64_t want, const char *md0)
{
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++)
        kc_topic_partition_list_add(l, "mg", p);
    assert_int_equal(kc_committed(c, l, 10000), 0);
    for (int p = 0; p < NPART; p++) {
        assert_int_equal(l->elems[p].err, 0);
        assert_int_equal(l->elems[p].offset, want);
    }
    if (md0) {
        assert_non_null(l->elems[0].metadata);
        assert_string_equal(l->elems[0].metadata, md0);
    }
    kc_topic_partition_list_destroy(l);
}

/* What the mock stored, as librdkafka reads it. */
static void check_rdkafka_committed(int64_t want, const char *md0)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", mock.bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", GROUP, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    assert_non_null(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++)
        rd_kafka_topic_partition_list_add(l, "mg", p);
    assert_int_equal(rd_kafka_committed(rk, l, 10000), 0);
    for (int p = 0; p < NPART; p++) {
        assert_int_equal(l->elems[p].err, 0);
        assert_int_equal(l->elems[p].offset, want);
    }
    if (md0) {
        assert_int_equal(l->elems[0].metadata_size, strlen(md0));
        assert_memory_equal(l->elems[0].metadata, md0, strlen(md0));
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

static void test_commit_across_coordinator_move_and_fetch_errors(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(mock.bootstrap, "group.id", GROUP, "enable.auto.commit",
                                    "false", "auto.offset.reset", "earliest", "session.timeout.ms",
                                    "6000", "heartbeat.interval.ms", "200", NULL);
    assert_non_null(c);
    const char *topics[] = {"mg"};
    assert_int_equal(kc_subscribe(c, topics, 1), 0);
    static int seen[NPART][2 * NREC];
    memset(seen, 0, sizeof(seen));
    int got = read_until(c, seen, 0, NPART * NREC);
    assert_int_equal(got, NPART * NREC);
    assert_int_equal(kc_commit(c, NULL, 0), 0);
    assert_int_equal(probe(c).coord, 1);
    check_kc_committed(c, NREC, NULL);

    /* The coordinator moves: broker 1 now answers NOT_COORDINATOR for the
     * group. The next four Fetch requests (only this consumer fetches)
     * fail with NOT_LEADER_OR_FOLLOWER. */
    uint64_t refreshes = probe(c).refreshes;
    assert_int_equal(rd_kafka_mock_coordinator_set(mock.mc, "group", GROUP, 2), 0);
    rd_kafka_mock_push_request_errors(
        mock.mc, PROTO_API_FETCH, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    for (int p = 0; p < NPART; p++)
        assert_int_equal(
            ctu_produce(mock.bootstrap, "mg", p, NREC, p * 1000 + NREC, "none", 0, 0, NULL, NULL),
            0);
    got = read_until(c, seen, got, 2 * NPART * NREC);
    assert_int_equal(got, 2 * NPART * NREC);
    /* Nothing more: every record once. */
    assert_null(ctu_next_record(c, 500, NULL));
    for (int p = 0; p < NPART; p++)
        for (int o = 0; o < 2 * NREC; o++)
            assert_int_equal(seen[p][o], 1);
    /* The fetch errors were seen (they make the consumer look the leaders
     * up again). */
    assert_true(probe(c).refreshes > refreshes);

    /* The positions, then an explicit commit with metadata, both at the new
     * coordinator. */
    assert_int_equal(kc_commit(c, NULL, 0), 0);
    assert_int_equal(probe(c).coord, 2);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(1);
    kc_topic_partition_t *tp = kc_topic_partition_list_add(l, "mg", 0);
    tp->offset = 2 * NREC;
    assert_int_equal(kc_topic_partition_set_metadata(l, tp, "after-move"), 0);
    assert_int_equal(kc_commit(c, l, 0), 0);
    assert_int_equal(l->elems[0].err, 0);
    kc_topic_partition_list_destroy(l);

    /* Read back by another kc consumer of the group and by librdkafka. */
    kc_consumer_t *c2 =
        ctu_consumer(mock.bootstrap, "group.id", GROUP, "enable.auto.commit", "false", NULL);
    assert_non_null(c2);
    check_kc_committed(c2, 2 * NREC, "after-move");
    assert_int_equal(probe(c2).coord, 2);
    kc_consumer_destroy(c2);
    assert_int_equal(kc_consumer_close(c), 0);
    kc_consumer_destroy(c);
    check_rdkafka_committed(2 * NREC, "after-move");
}

/* The mock's OffsetCommit refuses a partition it does not have; a
 * synchronous kc_commit says which one in the caller's list. */
static void test_commit_partition_error(void **state)
{
    (void)state;
    kc_consumer_t *c = ctu_consumer(mock.bootstrap, "group.id", "g-mock-perr", "enable.auto.commit",
                                    "false", NULL);
    assert_non_null(c);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(3);
    kc_topic_partition_list_add(l, "mg", 1)->offset = 5;
    kc_topic_partition_list_add(l, "mg-nowhere", 0)->offset = 1;
    kc_topic_partition_list_add(l, "mg", 3)->offset = 6;
    kc_err_t err = kc_commit(c, l, 0);
    assert_int_equal(err, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(l->elems[1].err, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(l->elems[0].err, 0);
    assert_int_equal(l->elems[2].err, 0);
    kc_topic_partition_list_destroy(l);
    kc_consumer_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_partition_error),
        cmocka_unit_test(test_commit_across_coordinator_move_and_fetch_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
