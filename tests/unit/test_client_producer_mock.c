/* The producer against librdkafka's mock cluster (a broker nobody here
 * wrote) and against nothing at all: several leaders, leader moves,
 * injected errors, request time-outs, message.timeout.ms, queue limits,
 * purge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>

#include "client_test_util.h"
#include "test_client_producer_util.h"

#include "producer/prod_int.h"

/* Every record of partitions 0..nparts-1 read back; each value "<i>" must
 * appear exactly once when `exact`, at least once otherwise; values must
 * rise within a partition when `ordered`. */
static void check_read_back(const char *bootstrap, const char *topic, int nparts, int n, int exact,
                            int ordered)
{
    tp_read_t rd;
    int got = tp_read_all(bootstrap, topic, nparts, n, &rd);
    if (exact) assert_int_equal(got, n);
    char *seen = calloc((size_t)n, 1);
    int64_t *last = calloc((size_t)nparts, sizeof(*last));
    for (int i = 0; i < nparts; i++)
        last[i] = -1;
    for (int i = 0; i < rd.n; i++) {
        int v = atoi(rd.v[i].value);
        assert_in_range(v, 0, n - 1);
        if (exact) assert_int_equal(seen[v], 0);
        seen[v] = 1;
        if (ordered) {
            assert_true(v > last[rd.v[i].partition]);
            last[rd.v[i].partition] = v;
        }
    }
    for (int i = 0; i < n; i++)
        assert_int_equal(seen[i], 1);
    free(seen);
    free(last);
    tp_read_free(&rd);
}

static void produce_range(kc_producer_t *p, const char *topic, int nparts, int from, int to)
{
    char val[32];
    for (int i = from; i < to; i++) {
        snprintf(val, sizeof(val), "%d", i);
        kc_err_t err;
        while ((err = tp_produce(p, topic, i % nparts, NULL, val, i)) == KC_ERR__QUEUE_FULL)
            kc_poll(p, 10);
        assert_int_equal(err, 0);
        if (i % 1000 == 0) kc_poll(p, 0);
    }
}

static void test_leader_spread(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 3), 0);
    const char *topic = "spread";
    rd_kafka_mock_topic_create(m.mc, topic, 6, 1);
    for (int i = 0; i < 6; i++)
        rd_kafka_mock_partition_set_leader(m.mc, topic, i, 1 + i % 3);
    tp_drs_t drs = {0};
    kc_producer_t *p = tp_producer(m.bootstrap, &drs, NULL);
    assert_non_null(p);
    produce_range(p, topic, 6, 0, 6000);
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs.n, 6000);
    assert_int_equal(drs.errors, 0);
    /* Requests went to the three leaders, each carrying its partitions. */
    prod_t *in = prod_of(p);
    assert_int_equal(in->nbrokers, 3);
    kc_producer_destroy(p, 5000);
    check_read_back(m.bootstrap, topic, 6, 6000, 1, 1);
    tp_drs_free(&drs);
    tmock_stop(&m);
}

static void test_leader_change(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 3), 0);
    const char *topic = "moving";
    rd_kafka_mock_topic_create(m.mc, topic, 3, 1);
    for (int i = 0; i < 3; i++)
        rd_kafka_mock_partition_set_leader(m.mc, topic, i, 1 + i);
    tp_drs_t drs = {0};
    const char *props[] = {"retry.backoff.ms", "20", "linger.ms", "2", NULL};
    kc_producer_t *p = tp_producer(m.bootstrap, &drs, props);
    assert_non_null(p);
    produce_range(p, topic, 3, 0, 3000);
    assert_int_equal(kc_flush(p, 30000), 0);
    /* Every partition moves while records flow. */
    for (int i = 0; i < 3; i++)
        rd_kafka_mock_partition_set_leader(m.mc, topic, i, 1 + (i + 1) % 3);
    produce_range(p, topic, 3, 3000, 6000);
    rd_kafka_mock_partition_set_leader(m.mc, topic, 0, 3);
    produce_range(p, topic, 3, 6000, 9000);
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs.n, 9000);
    assert_int_equal(drs.errors, 0);
    kc_producer_destroy(p, 5000);
    check_read_back(m.bootstrap, topic, 3, 9000, 0, 0);
    tp_drs_free(&drs);
    tmock_stop(&m);
}

/* Retriable errors are retried; a non-retriable one fails its batch. */
static void test_injected_errors(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 1), 0);
    const char *topic = "errs";
    rd_kafka_mock_topic_create(m.mc, topic, 1, 1);
    tp_drs_t drs = {0};
    const char *props[] = {"retry.backoff.ms", "10", NULL};
    kc_producer_t *p = tp_producer(m.bootstrap, &drs, props);
    assert_non_null(p);
    assert_int_equal(tp_produce(p, topic, 0, NULL, "warm-up", 0), 0);
    assert_int_equal(kc_flush(p, 10000), 0);
    rd_kafka_mock_push_request_errors(
        m.mc, 0, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    assert_int_equal(tp_produce(p, topic, 0, NULL, "1", 1), 0);
    assert_int_equal(kc_flush(p, 10000), 0);
    assert_int_equal(drs.n, 2);
    assert_int_equal(drs.errors, 0);
    assert_true(atomic_load(&prod_of(p)->stat_retries) >= 4);

    rd_kafka_mock_push_request_errors(m.mc, 0, 1, RD_KAFKA_RESP_ERR_INVALID_RECORD);
    assert_int_equal(tp_produce(p, topic, 0, NULL, "2", 2), 0);
    assert_int_equal(kc_flush(p, 10000), 0);
    assert_int_equal(drs.n, 3);
    assert_int_equal(drs.v[2].err, KC_ERR_INVALID_RECORD);
    assert_int_equal(drs.v[2].offset, -1);
    kc_producer_destroy(p, 5000);
    tp_drs_free(&drs);
    tmock_stop(&m);
}

/* A broker that answers too late: the request times out, the connection is
 * reset and the batch goes again. */
static void test_request_timeout(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 1), 0);
    const char *topic = "slow";
    rd_kafka_mock_topic_create(m.mc, topic, 1, 1);
    tp_drs_t drs = {0};
    const char *props[] = {"request.timeout.ms", "200", "retry.backoff.ms", "10", NULL};
    kc_producer_t *p = tp_producer(m.bootstrap, &drs, props);
    assert_non_null(p);
    assert_int_equal(tp_produce(p, topic, 0, NULL, "0", 0), 0);
    assert_int_equal(kc_flush(p, 10000), 0);
    rd_kafka_mock_broker_push_request_error_rtts(m.mc, 1, 0, 1, RD_KAFKA_RESP_ERR_NO_ERROR, 500);
    assert_int_equal(tp_produce(p, topic, 0, NULL, "1", 1), 0);
    assert_int_equal(kc_flush(p, 10000), 0);
    assert_int_equal(drs.n, 2);
    assert_int_equal(drs.errors, 0);
    assert_true(atomic_load(&prod_of(p)->stat_retries) >= 1);
    kc_producer_destroy(p, 5000);
    tp_drs_free(&drs);
    tmock_stop(&m);
}

/* message.timeout.ms: records for a topic whose metadata never comes, and
 * records whose leader went away. */
static void test_message_timeout(void **state)
{
    (void)state;
    char bootstrap[64];
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", closed_port());
    tp_drs_t drs = {0};
    const char *props[] = {"message.timeout.ms", "300", NULL};
    kc_producer_t *p = tp_producer(bootstrap, &drs, props);
    assert_non_null(p);
    for (int i = 0; i < 5; i++)
        assert_int_equal(tp_produce(p, "nowhere", KC_PARTITION_ANY, NULL, "x", i), 0);
    assert_int_equal(kc_outq_len(p), 5);
    assert_int_equal(kc_flush(p, 20000), 0);
    assert_int_equal(drs.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(drs.v[i].err, KC_ERR__MSG_TIMED_OUT);
    kc_producer_destroy(p, 0);
    tp_drs_free(&drs);

    tmock_t m;
    assert_int_equal(tmock_start(&m, 1), 0);
    rd_kafka_mock_topic_create(m.mc, "gone", 1, 1);
    const char *props2[] = {"message.timeout.ms", "500", NULL};
    p = tp_producer(m.bootstrap, &drs, props2);
    assert_non_null(p);
    assert_int_equal(tp_produce(p, "gone", 0, NULL, "x", 0), 0);
    assert_int_equal(kc_flush(p, 10000), 0);
    assert_int_equal(drs.errors, 0);
    rd_kafka_mock_broker_set_down(m.mc, 1);
    for (int i = 1; i < 4; i++)
        assert_int_equal(tp_produce(p, "gone", 0, NULL, "x", i), 0);
    assert_int_equal(kc_flush(p, 20000), 0);
    assert_int_equal(drs.n, 4);
    for (int i = 1; i < 4; i++)
        assert_int_equal(drs.v[i].err, KC_ERR__MSG_TIMED_OUT);
    kc_producer_destroy(p, 0);
    tp_drs_free(&drs);
    tmock_stop(&m);
}

typedef struct blocked {
    kc_producer_t *p;
    kc_err_t err;
    atomic_int done;
} blocked_t;

static void *block_main(void *arg)
{
    blocked_t *b = arg;
    kc_produce_rec_t rec = {
        .topic = "nowhere", .partition = KC_PARTITION_ANY, .value = "b", .value_len = 1};
    b->err = kc_produce(b->p, &rec, KC_PRODUCE_F_BLOCK);
    atomic_store(&b->done, 1);
    return NULL;
}

/* queue.buffering.max.messages/kbytes: QUEUE_FULL, or a blocked producer
 * that resumes when reports free room; purge empties the queue. */
static void test_queue_full_and_purge(void **state)
{
    (void)state;
    char bootstrap[64];
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", closed_port());
    tp_drs_t drs = {0};
    const char *props[] = {"queue.buffering.max.messages", "10", NULL};
    kc_producer_t *p = tp_producer(bootstrap, &drs, props);
    assert_non_null(p);
    for (int i = 0; i < 10; i++)
        assert_int_equal(tp_produce(p, "nowhere", KC_PARTITION_ANY, NULL, "x", i), 0);
    assert_int_equal(tp_produce(p, "nowhere", KC_PARTITION_ANY, NULL, "x", 10), KC_ERR__QUEUE_FULL);
    assert_int_equal(kc_outq_len(p), 10);

    blocked_t b = {.p = p};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, block_main, &b), 0);
    usleep(100 * 1000);
    assert_int_equal(atomic_load(&b.done), 0);
    assert_int_equal(kc_purge(p, KC_PURGE_F_QUEUE), 0);
    assert_int_equal(kc_poll(p, 5000), 10);
    pthread_join(th, NULL);
    assert_int_equal(b.err, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(drs.v[i].err, KC_ERR__PURGED);
    assert_int_equal(kc_outq_len(p), 1);
    kc_producer_destroy(p, 0);
    /* destroy reports what is left. */
    assert_int_equal(drs.n, 11);
    assert_int_equal(drs.v[10].err, KC_ERR__DESTROY);
    tp_drs_free(&drs);

    const char *props2[] = {"queue.buffering.max.kbytes", "1", NULL};
    p = tp_producer(bootstrap, &drs, props2);
    assert_non_null(p);
    char big[601];
    memset(big, 'x', 600);
    big[600] = '\0';
    assert_int_equal(tp_produce(p, "nowhere", KC_PARTITION_ANY, NULL, big, 0), 0);
    assert_int_equal(tp_produce(p, "nowhere", KC_PARTITION_ANY, NULL, big, 1), KC_ERR__QUEUE_FULL);
    kc_producer_destroy(p, 0);
    assert_int_equal(drs.n, 1);
    tp_drs_free(&drs);
}

/* Purging records in flight reports them at once; their late answers are
 * dropped. */
static void test_purge_inflight(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 1), 0);
    rd_kafka_mock_topic_create(m.mc, "purge", 1, 1);
    tp_drs_t drs = {0};
    kc_producer_t *p = tp_producer(m.bootstrap, &drs, NULL);
    assert_non_null(p);
    assert_int_equal(tp_produce(p, "purge", 0, NULL, "0", 0), 0);
    assert_int_equal(kc_flush(p, 10000), 0);
    rd_kafka_mock_broker_push_request_error_rtts(m.mc, 1, 0, 1, RD_KAFKA_RESP_ERR_NO_ERROR, 3000);
    assert_int_equal(tp_produce(p, "purge", 0, NULL, "1", 1), 0);
    /* Wait until it is on the wire. */
    for (int i = 0; i < 200 && atomic_load(&prod_of(p)->stat_batches) < 2; i++)
        usleep(5000);
    assert_int_equal(kc_purge(p, KC_PURGE_F_QUEUE | KC_PURGE_F_INFLIGHT), 0);
    assert_int_equal(kc_poll(p, 5000), 1);
    assert_int_equal(drs.v[1].err, KC_ERR__PURGED);
    assert_int_equal(drs.v[1].possibly_persisted, 1);
    assert_int_equal(kc_outq_len(p), 0);
    kc_producer_destroy(p, 5000);
    assert_int_equal(drs.n, 2);
    tp_drs_free(&drs);
    tmock_stop(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_spread),   cmocka_unit_test(test_leader_change),
        cmocka_unit_test(test_injected_errors), cmocka_unit_test(test_request_timeout),
        cmocka_unit_test(test_message_timeout), cmocka_unit_test(test_queue_full_and_purge),
        cmocka_unit_test(test_purge_inflight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
