/* The kc producer against kc's own mock cluster (3 brokers) under faults:
 * leader moves, broker outages, injected retriable and non-retriable
 * Produce errors, slow brokers, and an idempotent producer through all of
 * it. Records are read back with librdkafka's consumer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "kc/kc_mock.h"
#include "mock_fault_fixture.h"
#include "producer/prod_int.h"
#include "test_client_producer_util.h"

#define NPART 3

/* Short timeouts so that a fault costs little; callers add their own. */
static kc_producer_t *pf_producer(mock_fault_fixture_t *f, tp_drs_t *drs, const char **extra)
{
    const char *props[64] = {"linger.ms",
                             "5",
                             "retry.backoff.ms",
                             "20",
                             "reconnect.backoff.ms",
                             "10",
                             "reconnect.backoff.max.ms",
                             "100",
                             "topic.metadata.refresh.interval.ms",
                             "200",
                             "message.timeout.ms",
                             "12000",
                             NULL};
    int n = 12;
    for (int i = 0; extra && extra[i] && n < 62; i++)
        props[n++] = extra[i];
    props[n] = NULL;
    if (getenv("PF_DEBUG")) {
        props[n++] = "debug";
        props[n++] = "all";
        props[n] = NULL;
    }
    kc_producer_t *p = tp_producer(f->bootstrap, drs, props);
    assert_non_null(p);
    return p;
}

/* Partition i on broker i + 1 alone, whatever round-robin start the mock
 * chose. */
static void pf_pin(mock_fault_fixture_t *f, const char *topic, int nparts)
{
    for (int part = 0; part < nparts; part++) {
        int32_t b = part % 3 + 1;
        assert_int_equal(kc_mock_partition_set_replicas(f->mc, topic, part, &b, 1), 0);
    }
}

/* Value "p<partition>-<seq>", opaque partition * 100000 + seq. */
static void pf_send(kc_producer_t *p, const char *topic, int32_t part, int seq)
{
    char v[32];
    snprintf(v, sizeof(v), "p%d-%d", part, seq);
    kc_err_t err;
    while ((err = tp_produce(p, topic, part, NULL, v, part * 100000 + seq)) == KC_ERR__QUEUE_FULL)
        kc_poll(p, 10);
    assert_int_equal(err, KC_ERR_NO_ERROR);
}

/* Record 0 of each partition, flushed: the producer learns the topic
 * before the stream, so a fault hits a stream already flowing.
 * (test_order_while_metadata_arrives covers the records that wait for
 * metadata.) */
static void pf_warm(kc_producer_t *p, const char *topic, int nparts)
{
    for (int part = 0; part < nparts; part++)
        pf_send(p, topic, part, 0);
    assert_int_equal(kc_flush(p, 10000), 0);
}

/* Serves reports until `want` have come, or deadline_ms passes. */
static void pf_wait_reports(kc_producer_t *p, tp_drs_t *drs, int want, int deadline_ms)
{
    uint64_t end = tp_now_ms() + (uint64_t)deadline_ms;
    while (drs->n < want && tp_now_ms() < end)
        kc_poll(p, 50);
}

/* Polls (serving reports) for ms milliseconds: lets a fault act. */
static void pf_idle(kc_producer_t *p, int ms)
{
    uint64_t end = tp_now_ms() + (uint64_t)ms;
    while (tp_now_ms() < end)
        kc_poll(p, 20);
}

/* Reads the topic back and checks that partition part holds exactly
 * seq 0..count-1 (count[part]), once each, and in order when ordered. */
static void pf_check_log_ex(mock_fault_fixture_t *f, const char *topic, const int *count,
                            int ordered)
{
    int total = 0;
    for (int i = 0; i < NPART; i++)
        total += count[i];
    tp_read_t r;
    int got = tp_read_all(f->bootstrap, topic, NPART, total, &r);
    /* Give a duplicate a chance to show: read_all stops at `total`. */
    assert_int_equal(got, total);
    int next[NPART] = {0};
    static unsigned char seen[NPART][4096];
    memset(seen, 0, sizeof(seen));
    int64_t last_off[NPART] = {-1, -1, -1};
    for (int i = 0; i < r.n; i++) {
        int part = -1, seq = -1;
        assert_non_null(r.v[i].value);
        assert_int_equal(sscanf(r.v[i].value, "p%d-%d", &part, &seq), 2);
        assert_int_equal(part, r.v[i].partition);
        assert_true(part >= 0 && part < NPART);
        if (!ordered) {
            assert_true(seq >= 0 && seq < count[part]);
            if (seen[part][seq]++) fail_msg("partition %d: seq %d twice", part, seq);
            next[part]++;
            continue;
        }
        if (seq != next[part])
            fail_msg("partition %d offset %lld: seq %d, expected %d", part,
                     (long long)r.v[i].offset, seq, next[part]);
        assert_true(r.v[i].offset > last_off[part]);
        last_off[part] = r.v[i].offset;
        next[part]++;
    }
    for (int i = 0; i < NPART; i++)
        assert_int_equal(next[i], count[i]);
    tp_read_free(&r);
}

/* Whether order per partition is checked (see pf_warm for why every
 * ordered stream starts with it). */
#define PF_CHECK_ORDER 1

static void pf_check_log(mock_fault_fixture_t *f, const char *topic, const int *count)
{
    pf_check_log_ex(f, topic, count, PF_CHECK_ORDER);
}

static void pf_assert_all_ok(const tp_drs_t *drs, int want)
{
    assert_int_equal(drs->n, want);
    for (int i = 0; i < drs->n; i++)
        if (drs->v[i].err)
            fail_msg("report %d (opaque %ld): %s", i, (long)drs->v[i].opaque,
                     kc_err_name(drs->v[i].err));
}

/* ---- (a) leader moves ------------------------------------------------------------ */

/* Records produced before the topic's metadata arrives wait in a queue, and
 * records produced while the I/O thread appends that queue must wait behind
 * it. Slow brokers (200 ms per request) make the first Metadata answer late,
 * so thousands of records queue, and producing on while they are appended
 * makes the two overlap. Before the fix, a partition's records landed out of
 * produce order here. */
static void test_order_while_metadata_arrives(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "pf-order-first";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 1), 0);
    for (int32_t b = 1; b <= 3; b++)
        assert_int_equal(kc_mock_broker_set_rtt(f->mc, b, 200), 0);
    tp_drs_t drs = {0};
    /* Room for everything: a full queue would stop production during the
     * append and hide the overlap. */
    const char *extra[] = {"max.in.flight.requests.per.connection", "1",
                           "queue.buffering.max.messages", "1000000", NULL};
    kc_producer_t *p = pf_producer(f, &drs, extra);
    int seq[NPART] = {0};
    uint64_t end = tp_now_ms() + 700;
    int n = 0;
    while ((tp_now_ms() < end || n < 3000) && n < 290000) {
        int part = n % NPART;
        pf_send(p, topic, part, seq[part]++);
        /* A steady stream, so records keep coming while the queue drains. */
        if (++n % 64 == 0) usleep(500);
    }
    for (int32_t b = 1; b <= 3; b++)
        assert_int_equal(kc_mock_broker_set_rtt(f->mc, b, 0), 0);
    assert_int_equal(kc_flush(p, 30000), 0);
    pf_assert_all_ok(&drs, n);
    /* Offsets follow produce order within each partition. */
    int64_t *last = calloc(NPART * (size_t)100000, sizeof(*last));
    for (int i = 0; i < drs.n; i++) {
        intptr_t o = drs.v[i].opaque;
        assert_true(o % 100000 < 100000);
        last[o] = drs.v[i].offset;
    }
    for (int part = 0; part < NPART; part++)
        for (int s = 1; s < seq[part]; s++) {
            int64_t a = last[part * 100000 + s - 1], b = last[part * 100000 + s];
            if (b <= a)
                fail_msg("partition %d: record %d at offset %lld, after record %d at %lld", part, s,
                         (long long)b, s - 1, (long long)a);
        }
    free(last);
    kc_producer_destroy(p, 5000);
    tp_drs_free(&drs);
}

static void check_leader_moves(mock_fault_fixture_t *f, const char *topic, int idempotent)
{
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 3), 0);
    tp_drs_t drs = {0};
    /* Kafka keeps order across retries only with one request in flight,
     * or with idempotence. */
    const char *plain[] = {"max.in.flight.requests.per.connection", "1", NULL};
    const char *idem[] = {"enable.idempotence", "true", NULL};
    kc_producer_t *p = pf_producer(f, &drs, idempotent ? idem : plain);
    const int per = 300;
    pf_warm(p, topic, NPART);
    for (int seq = 1; seq < per; seq++) {
        for (int part = 0; part < NPART; part++)
            pf_send(p, topic, part, seq);
        if (seq % 10 == 0) kc_poll(p, 5);
        /* Move every leader twice, to a broker it is not on. */
        if (seq == 100 || seq == 200) {
            for (int part = 0; part < NPART; part++)
                assert_int_equal(
                    kc_mock_partition_set_leader(f->mc, topic, part, (part + seq / 100) % 3 + 1),
                    0);
        }
    }
    assert_int_equal(kc_flush(p, 15000), 0);
    pf_assert_all_ok(&drs, per * NPART);
    kc_producer_destroy(p, 1000);
    int counts[NPART] = {per, per, per};
    /* Without idempotence max.in.flight=1 is per connection: a batch sent
     * to the new leader may overtake one that failed on the old one, so
     * order is checked only with idempotence (see PF_CHECK_ORDER). */
    pf_check_log_ex(f, topic, counts, PF_CHECK_ORDER && idempotent);
    tp_drs_free(&drs);
}

static void test_leader_moves_mid_stream(void **state)
{
    check_leader_moves(*state, "pf-leader", 0);
}

static void test_leader_moves_mid_stream_idempotent(void **state)
{
    check_leader_moves(*state, "pf-leader-idem", 1);
}

/* ---- (b) broker outages ------------------------------------------------------------ */

static void test_broker_down_then_up_delivers(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "pf-outage";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 1), 0);
    pf_pin(f, topic, NPART);
    tp_drs_t drs = {0};
    /* Kafka keeps order across retries only with one request in flight. */
    const char *extra[] = {"max.in.flight.requests.per.connection", "1", NULL};
    kc_producer_t *p = pf_producer(f, &drs, extra);
    pf_warm(p, topic, NPART);
    for (int seq = 1; seq < 50; seq++)
        for (int part = 0; part < NPART; part++)
            pf_send(p, topic, part, seq);
    assert_int_equal(kc_flush(p, 10000), 0);
    assert_int_equal(drs.n, 150);
    /* Partition 1 lives on broker 2 alone. */
    assert_int_equal(kc_mock_broker_down(f->mc, 2), 0);
    for (int seq = 50; seq < 100; seq++) {
        for (int part = 0; part < NPART; part++)
            pf_send(p, topic, part, seq);
        kc_poll(p, 1);
    }
    /* The other partitions go on; partition 1's records wait. */
    pf_wait_reports(p, &drs, 250, 10000);
    assert_int_equal(drs.n, 250);
    assert_int_equal(drs.errors, 0);
    pf_idle(p, 500);
    assert_int_equal(drs.n, 250);
    assert_int_equal(kc_outq_len(p), 50);
    assert_int_equal(kc_mock_broker_up(f->mc, 2), 0);
    assert_int_equal(kc_flush(p, 12000), 0);
    pf_assert_all_ok(&drs, 300);
    kc_producer_destroy(p, 1000);
    int counts[NPART] = {100, 100, 100};
    pf_check_log(f, topic, counts);
    tp_drs_free(&drs);
}

static void test_broker_down_past_message_timeout_fails(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "pf-outage-short";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 1), 0);
    pf_pin(f, topic, NPART);
    tp_drs_t drs = {0};
    const char *extra[] = {"message.timeout.ms", "1500", NULL};
    kc_producer_t *p = pf_producer(f, &drs, extra);
    /* Learn the leaders first, so that only partition 1 is affected. */
    for (int part = 0; part < NPART; part++)
        pf_send(p, topic, part, 0);
    assert_int_equal(kc_flush(p, 10000), 0);
    pf_assert_all_ok(&drs, NPART);
    assert_int_equal(kc_mock_broker_down(f->mc, 2), 0);
    for (int seq = 1; seq <= 20; seq++)
        for (int part = 0; part < NPART; part++)
            pf_send(p, topic, part, seq);
    pf_wait_reports(p, &drs, NPART + 60, 12000);
    assert_int_equal(drs.n, NPART + 60);
    int ok = 0, timed_out = 0;
    for (int i = NPART; i < drs.n; i++) {
        int part = (int)(drs.v[i].opaque / 100000);
        if (part == 1) {
            if (drs.v[i].err != KC_ERR__MSG_TIMED_OUT)
                fail_msg("partition 1 record: %s", kc_err_name(drs.v[i].err));
            timed_out++;
        } else {
            assert_int_equal(drs.v[i].err, KC_ERR_NO_ERROR);
            ok++;
        }
    }
    assert_int_equal(ok, 40);
    assert_int_equal(timed_out, 20);
    assert_int_equal(kc_mock_broker_up(f->mc, 2), 0);
    /* The producer is still good for the partition once its broker is back. */
    pf_send(p, topic, 1, 21);
    assert_int_equal(kc_flush(p, 12000), 0);
    assert_int_equal(drs.n, NPART + 61);
    assert_int_equal(drs.v[drs.n - 1].err, KC_ERR_NO_ERROR);
    kc_producer_destroy(p, 1000);
    tp_drs_free(&drs);
}

/* ---- (c) injected retriable errors -------------------------------------------------- */

static void test_retriable_produce_errors_are_retried(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "pf-retriable";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 3), 0);
    const kc_err_t errs[] = {KC_ERR_NOT_LEADER_OR_FOLLOWER, KC_ERR_REQUEST_TIMED_OUT,
                             KC_ERR_NOT_ENOUGH_REPLICAS,    KC_ERR_NOT_LEADER_OR_FOLLOWER,
                             KC_ERR_NOT_ENOUGH_REPLICAS,    KC_ERR_REQUEST_TIMED_OUT};
    assert_int_equal(kc_mock_push_request_errors(f->mc, -1, 0, 6, errs, NULL), 0);
    tp_drs_t drs = {0};
    /* Kafka keeps order across retries only with one request in flight. */
    const char *extra[] = {"max.in.flight.requests.per.connection", "1", NULL};
    kc_producer_t *p = pf_producer(f, &drs, extra);
    const int per = 100;
    pf_warm(p, topic, NPART);
    for (int seq = 1; seq < per; seq++) {
        for (int part = 0; part < NPART; part++)
            pf_send(p, topic, part, seq);
        if (seq % 10 == 0) kc_poll(p, 5);
    }
    assert_int_equal(kc_flush(p, 15000), 0);
    pf_assert_all_ok(&drs, per * NPART);
    int injected = 0;
    mock_fault_count_requests(f, -1, 0, &injected);
    assert_int_equal(injected, 6);
    kc_producer_destroy(p, 1000);
    int counts[NPART] = {per, per, per};
    pf_check_log(f, topic, counts);
    tp_drs_free(&drs);
}

/* Each retry of a batch waits twice as long as the one before, up to
 * retry.backoff.max.ms. Only lower bounds are checked: a retry may come late
 * on a busy machine, and up to a few ms early (the producer's timers and
 * clock are milliseconds on libevent's coarse monotonic clock: a 200 ms
 * wait measured 199 ms once), so each bound allows 10 ms; a flat backoff
 * would still fail them from the second retry on. */
static void test_retry_backoff_doubles(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "pf-backoff";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, 1, 1), 0);
    pf_pin(f, topic, 1);
    tp_drs_t drs = {0};
    const char *extra[] = {"retry.backoff.ms", "40", "retry.backoff.max.ms", "200", NULL};
    kc_producer_t *p = pf_producer(f, &drs, extra);
    pf_warm(p, topic, 1);
    assert_int_equal(kc_mock_requests_clear(f->mc, 1), 0);
    const kc_err_t errs[] = {KC_ERR_NOT_ENOUGH_REPLICAS, KC_ERR_NOT_ENOUGH_REPLICAS,
                             KC_ERR_NOT_ENOUGH_REPLICAS, KC_ERR_NOT_ENOUGH_REPLICAS,
                             KC_ERR_NOT_ENOUGH_REPLICAS};
    assert_int_equal(kc_mock_push_request_errors(f->mc, 1, 0, 5, errs, NULL), 0);
    pf_send(p, topic, 0, 1);
    assert_int_equal(kc_flush(p, 10000), 0);
    pf_assert_all_ok(&drs, 2);
    /* Six Produce requests: five refused, the last written. */
    kc_mock_requests_t *l = kc_mock_requests_get(f->mc, 1);
    assert_non_null(l);
    int64_t at[8];
    int n = 0;
    for (size_t i = 0; i < kc_mock_requests_count(l) && n < 8; i++) {
        const kc_mock_request_t *r = kc_mock_requests_at(l, i);
        if (kc_mock_request_api_key(r) == 0) at[n++] = kc_mock_request_received_us(r);
    }
    kc_mock_requests_destroy(l);
    assert_int_equal(n, 6);
    const int64_t want_ms[] = {40, 80, 160, 200, 200};
    for (int i = 0; i < 5; i++)
        if (at[i + 1] - at[i] < (want_ms[i] - 10) * 1000)
            fail_msg("retry %d came %lld ms after the request before it, expected about %lld",
                     i + 1, (long long)(at[i + 1] - at[i]) / 1000, (long long)want_ms[i]);
    kc_producer_destroy(p, 1000);
    tp_drs_free(&drs);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* InitProducerId refused (retriably) is asked again after retry.backoff.ms,
 * doubled with each failure in a row up to retry.backoff.max.ms. */
static void test_init_producer_id_backoff_doubles(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "pf-pid-backoff";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, 1, 1), 0);
    pf_pin(f, topic, 1);
    /* Whichever broker is asked refuses four times. */
    const kc_err_t errs[] = {
        KC_ERR_COORDINATOR_LOAD_IN_PROGRESS, KC_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        KC_ERR_COORDINATOR_LOAD_IN_PROGRESS, KC_ERR_COORDINATOR_LOAD_IN_PROGRESS};
    for (int32_t b = 1; b <= 3; b++)
        assert_int_equal(
            kc_mock_push_request_errors(f->mc, b, PROTO_API_INIT_PRODUCER_ID, 4, errs, NULL), 0);
    tp_drs_t drs = {0};
    const char *extra[] = {"enable.idempotence",
                           "true",
                           "retry.backoff.ms",
                           "40",
                           "retry.backoff.max.ms",
                           "200",
                           NULL};
    kc_producer_t *p = pf_producer(f, &drs, extra);
    pf_send(p, topic, 0, 0);
    assert_int_equal(kc_flush(p, 20000), 0);
    pf_assert_all_ok(&drs, 1);
    int64_t at[16];
    int n = 0;
    for (int32_t b = 1; b <= 3; b++) {
        kc_mock_requests_t *l = kc_mock_requests_get(f->mc, b);
        assert_non_null(l);
        for (size_t i = 0; i < kc_mock_requests_count(l) && n < 16; i++) {
            const kc_mock_request_t *r = kc_mock_requests_at(l, i);
            if (kc_mock_request_api_key(r) == PROTO_API_INIT_PRODUCER_ID)
                at[n++] = kc_mock_request_received_us(r);
        }
        kc_mock_requests_destroy(l);
    }
    qsort(at, (size_t)n, sizeof(at[0]), cmp_i64);
    assert_true(n >= 5); /* four refusals at least, then the answer */
    for (int i = 0; i + 1 < n; i++) {
        int64_t want = 40LL << (i < 3 ? i : 3);
        if (want > 200) want = 200;
        if (at[i + 1] - at[i] < (want - 10) * 1000)
            fail_msg("InitProducerId %d came %lld ms after the one before, expected about %lld",
                     i + 1, (long long)(at[i + 1] - at[i]) / 1000, (long long)want);
    }
    kc_producer_destroy(p, 1000);
    tp_drs_free(&drs);
}

/* ---- (d) injected non-retriable errors ---------------------------------------------- */

static void check_fatal_produce_error(mock_fault_fixture_t *f, const char *topic, kc_err_t injected)
{
    assert_int_equal(kc_mock_topic_create(f->mc, topic, 1, 1), 0);
    pf_pin(f, topic, 1);
    tp_drs_t drs = {0};
    /* A long linger: the five records go in one batch, sent by the flush. */
    const char *extra[] = {"linger.ms", "2000", NULL};
    kc_producer_t *p = pf_producer(f, &drs, extra);
    /* Partition 0's leader is broker 1. */
    assert_int_equal(kc_mock_push_request_errors(f->mc, 1, 0, 1, &injected, NULL), 0);
    for (int seq = 0; seq < 5; seq++)
        pf_send(p, topic, 0, seq);
    assert_int_equal(kc_flush(p, 10000), 0);
    assert_int_equal(drs.n, 5);
    for (int i = 0; i < 5; i++) {
        if (drs.v[i].err != injected)
            fail_msg("record %d: %s, expected %s", i, kc_err_name(drs.v[i].err),
                     kc_err_name(injected));
        assert_int_equal(drs.v[i].offset, -1);
    }
    /* Not retried: one Produce, the injected one. */
    int inj = 0;
    assert_int_equal(mock_fault_count_requests(f, 1, 0, &inj), 1);
    assert_int_equal(inj, 1);
    /* The next records are written, from offset 0. */
    drs.n = 0;
    drs.errors = 0;
    for (int seq = 0; seq < 5; seq++)
        pf_send(p, topic, 0, seq);
    assert_int_equal(kc_flush(p, 10000), 0);
    pf_assert_all_ok(&drs, 5);
    assert_int_equal(drs.v[0].offset, 0);
    kc_producer_destroy(p, 1000);
    tp_read_t r;
    assert_int_equal(tp_read_all(f->bootstrap, topic, 1, 5, &r), 5);
    tp_read_free(&r);
    tp_drs_free(&drs);
}

static void test_message_too_large_reported_per_record(void **state)
{
    check_fatal_produce_error(*state, "pf-too-large", KC_ERR_MESSAGE_TOO_LARGE);
}

static void test_topic_authorization_failed_reported_per_record(void **state)
{
    mock_fault_fixture_t *f = *state;
    assert_int_equal(kc_mock_requests_clear(f->mc, -1), 0);
    check_fatal_produce_error(f, "pf-authz", KC_ERR_TOPIC_AUTHORIZATION_FAILED);
}

/* ---- (e) slow brokers ------------------------------------------------------------ */

/* Responses later than request.timeout.ms: the request is abandoned and
 * sent again; without idempotence a record may be written twice (the mock
 * served the late one), but every record is reported written. */
static void test_slow_produce_response_is_retried(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "pf-slow-retry";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, 1, 1), 0);
    pf_pin(f, topic, 1);
    tp_drs_t drs = {0};
    const char *extra[] = {"request.timeout.ms", "300", "socket.timeout.ms", "300", NULL};
    kc_producer_t *p = pf_producer(f, &drs, extra);
    pf_send(p, topic, 0, 0);
    assert_int_equal(kc_flush(p, 10000), 0);
    pf_assert_all_ok(&drs, 1);
    const kc_err_t ok[2] = {KC_ERR_NO_ERROR, KC_ERR_NO_ERROR};
    const int rtt[2] = {1500, 1500};
    assert_int_equal(kc_mock_push_request_errors(f->mc, 1, 0, 2, ok, rtt), 0);
    assert_int_equal(kc_mock_requests_clear(f->mc, -1), 0);
    for (int seq = 1; seq <= 10; seq++)
        pf_send(p, topic, 0, seq);
    assert_int_equal(kc_flush(p, 15000), 0);
    pf_assert_all_ok(&drs, 11);
    /* Two slow ones and at least the retry that got through. */
    assert_true(mock_fault_count_requests(f, 1, 0, NULL) >= 3);
    kc_producer_destroy(p, 1000);
    /* At least once each, in order of first appearance. */
    tp_read_t r;
    int got = tp_read_all(f->bootstrap, topic, 1, 11, &r);
    assert_true(got >= 11);
    int next = 0, seen[11] = {0};
    for (int i = 0; i < r.n; i++) {
        int part, seq;
        assert_int_equal(sscanf(r.v[i].value, "p%d-%d", &part, &seq), 2);
        assert_true(seq >= 0 && seq < 11);
        if (!PF_CHECK_ORDER) {
            if (!seen[seq]++) next++;
        } else if (seq == next) {
            next++;
        } else {
            assert_true(seq < next);
        }
    }
    assert_int_equal(next, 11);
    tp_read_free(&r);
    tp_drs_free(&drs);
}

/* A broker slower than every time-out: its records fail with
 * MSG_TIMED_OUT once message.timeout.ms passes; the other brokers' records
 * are written; when it is fast again it takes records again. */
static void test_slow_broker_past_message_timeout_fails(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "pf-slow-fail";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 1), 0);
    pf_pin(f, topic, NPART);
    tp_drs_t drs = {0};
    const char *extra[] = {"request.timeout.ms",
                           "300",
                           "socket.timeout.ms",
                           "300",
                           "message.timeout.ms",
                           "1500",
                           NULL};
    kc_producer_t *p = pf_producer(f, &drs, extra);
    for (int part = 0; part < NPART; part++)
        pf_send(p, topic, part, 0);
    assert_int_equal(kc_flush(p, 10000), 0);
    pf_assert_all_ok(&drs, NPART);
    assert_int_equal(kc_mock_broker_set_rtt(f->mc, 2, 4000), 0);
    for (int seq = 1; seq <= 10; seq++)
        for (int part = 0; part < NPART; part++)
            pf_send(p, topic, part, seq);
    pf_wait_reports(p, &drs, NPART + 30, 12000);
    assert_int_equal(drs.n, NPART + 30);
    for (int i = NPART; i < drs.n; i++) {
        int part = (int)(drs.v[i].opaque / 100000);
        if (part == 1) {
            if (drs.v[i].err != KC_ERR__MSG_TIMED_OUT)
                fail_msg("partition 1 record: %s", kc_err_name(drs.v[i].err));
        } else {
            assert_int_equal(drs.v[i].err, KC_ERR_NO_ERROR);
        }
    }
    assert_int_equal(kc_mock_broker_set_rtt(f->mc, 2, 0), 0);
    /* The reconnection's ApiVersions is still parked for the old delay. */
    assert_int_equal(kc_mock_close_connections(f->mc, 2), 0);
    pf_send(p, topic, 1, 11);
    assert_int_equal(kc_flush(p, 12000), 0);
    assert_int_equal(drs.v[drs.n - 1].err, KC_ERR_NO_ERROR);
    kc_producer_destroy(p, 1000);
    tp_drs_free(&drs);
}

/* ---- (f) idempotence -------------------------------------------------------------- */

static void test_idempotent_through_faults(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "pf-idem";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 3), 0);
    tp_drs_t drs = {0};
    const char *extra[] = {"enable.idempotence",
                           "true",
                           "request.timeout.ms",
                           "400",
                           "socket.timeout.ms",
                           "400",
                           NULL};
    kc_producer_t *p = pf_producer(f, &drs, extra);
    const int per = 400;
    pf_warm(p, topic, NPART);
    for (int seq = 1; seq < per; seq++) {
        for (int part = 0; part < NPART; part++)
            pf_send(p, topic, part, seq);
        kc_poll(p, 0);
        if (seq % 5 == 0) kc_poll(p, 2);
        if (seq == 50) {
            const kc_err_t errs[] = {KC_ERR_NOT_LEADER_OR_FOLLOWER, KC_ERR_REQUEST_TIMED_OUT,
                                     KC_ERR_NOT_ENOUGH_REPLICAS};
            assert_int_equal(kc_mock_push_request_errors(f->mc, -1, 0, 3, errs, NULL), 0);
        } else if (seq == 100) {
            assert_int_equal(kc_mock_close_connections(f->mc, -1), 0);
        } else if (seq == 150) {
            /* Served late: the producer gives up on it and sends again; the
             * broker must see the retry as a duplicate. */
            const kc_err_t ok[] = {KC_ERR_NO_ERROR, KC_ERR_NO_ERROR};
            const int rtt[] = {1000, 1000};
            assert_int_equal(kc_mock_push_request_errors(f->mc, -1, 0, 2, ok, rtt), 0);
        } else if (seq == 300) {
            assert_int_equal(kc_mock_partition_set_leader(f->mc, topic, 0, 3), 0);
            assert_int_equal(kc_mock_close_connections(f->mc, 2), 0);
        }
    }
    assert_int_equal(kc_flush(p, 15000), 0);
    char why[256] = "";
    if (kc_fatal_error(p, why, sizeof(why))) fail_msg("fatal: %s", why);
    pf_assert_all_ok(&drs, per * NPART);
    int inj = 0;
    mock_fault_count_requests(f, -1, 0, &inj);
    assert_int_equal(inj, 3);
    int init_pids = mock_fault_count_requests(f, -1, 22, NULL);
    assert_true(init_pids >= 1);

    /* With nothing in flight an OUT_OF_ORDER_SEQUENCE_NUMBER is unexplained:
     * the producer bumps its epoch (InitProducerId again) and goes on. */
    const kc_err_t oos = KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    assert_int_equal(kc_mock_push_request_errors(f->mc, -1, 0, 1, &oos, NULL), 0);
    for (int seq = per; seq < per + 50; seq++) {
        for (int part = 0; part < NPART; part++)
            pf_send(p, topic, part, seq);
        kc_poll(p, 0);
    }
    assert_int_equal(kc_flush(p, 15000), 0);
    if (kc_fatal_error(p, why, sizeof(why))) fail_msg("fatal: %s", why);
    pf_assert_all_ok(&drs, (per + 50) * NPART);
    mock_fault_count_requests(f, -1, 0, &inj);
    assert_int_equal(inj, 4);
    assert_true(mock_fault_count_requests(f, -1, 22, NULL) > init_pids);
    kc_producer_destroy(p, 1000);
    int counts[NPART] = {per + 50, per + 50, per + 50};
    /* No duplicate, no gap, in order. */
    pf_check_log(f, topic, counts);
    tp_drs_free(&drs);
}

/* The soak, on a broker that checks sequence numbers: 100,000
 * records over three partitions on three brokers, five requests in flight,
 * lz4 batches, and about one Produce request in twenty hit by a fault: an
 * error for the request, a response held past request.timeout.ms (the
 * producer sends again; the broker must take the resend as a duplicate), or the
 * connections of a broker closed. Every record is reported delivered once,
 * and each partition holds its records once, in produce order. */
#define SOAK_RECORDS 100000

static void soak_fault(mock_fault_fixture_t *f, int k)
{
    int32_t broker = k % 3 + 1;
    switch (k % 5) {
    case 0:
    case 1: {
        static const kc_err_t errs[] = {KC_ERR_NOT_LEADER_OR_FOLLOWER, KC_ERR_REQUEST_TIMED_OUT,
                                        KC_ERR_NOT_ENOUGH_REPLICAS};
        assert_int_equal(kc_mock_push_request_errors(f->mc, broker, 0, 1, &errs[k % 3], NULL), 0);
        break;
    }
    case 2:
    case 3: {
        const kc_err_t ok = KC_ERR_NO_ERROR;
        const int late = 700; /* request.timeout.ms is 300 */
        assert_int_equal(kc_mock_push_request_errors(f->mc, broker, 0, 1, &ok, &late), 0);
        break;
    }
    default: assert_int_equal(kc_mock_close_connections(f->mc, broker), 0); break;
    }
}

static void test_idempotent_soak(void **state)
{
    mock_fault_fixture_t *f = *state;
    const char *topic = "pf-soak";
    assert_int_equal(kc_mock_topic_create(f->mc, topic, NPART, 3), 0);
    pf_pin(f, topic, NPART);
    tp_drs_t drs = {0};
    const char *extra[] = {"enable.idempotence", "true", "request.timeout.ms", "300",
                           "socket.timeout.ms", "300", "batch.num.messages", "200",
                           /* Compressed batches: a backlog has this thread
                            * compress some, before their sequence is set. */
                           "compression.type", "lz4", NULL};
    kc_producer_t *p = pf_producer(f, &drs, extra);
    prod_t *in = prod_of(p);
    pf_warm(p, topic, NPART);
    int seq[NPART] = {1, 1, 1};
    int faults = 0;
    for (int i = NPART; i < SOAK_RECORDS; i++) {
        int part = i % NPART;
        pf_send(p, topic, part, seq[part]++);
        if (i % 500 == 0) {
            /* Keep the stream short enough that faults spread over it. */
            while (kc_outq_len(p) > 2000)
                kc_poll(p, 5);
            while (faults < (int)(atomic_load(&in->stat_requests) / 20) + 1)
                soak_fault(f, faults++);
        }
    }
    assert_int_equal(kc_flush(p, 60000), 0);
    char why[256] = "";
    if (kc_fatal_error(p, why, sizeof(why))) fail_msg("fatal: %s", why);
    print_message("soak: %d faults, %llu requests, %llu batches retried, %llu compressed by the "
                  "producing thread, %u producer ids/epochs\n",
                  faults, (unsigned long long)atomic_load(&in->stat_requests),
                  (unsigned long long)atomic_load(&in->stat_retries),
                  (unsigned long long)atomic_load(&in->stat_compressed_by_producer), in->pid_gen);
    pf_assert_all_ok(&drs, SOAK_RECORDS);
    assert_true(faults >= 20);
    assert_true(atomic_load(&in->stat_retries) > 0);
    kc_producer_destroy(p, 1000);
    pf_check_log(f, topic, seq);
    tp_drs_free(&drs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_while_metadata_arrives, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_leader_moves_mid_stream, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_leader_moves_mid_stream_idempotent, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_broker_down_then_up_delivers, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_broker_down_past_message_timeout_fails,
                                        mock_fault_setup, mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_retriable_produce_errors_are_retried, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_retry_backoff_doubles, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_init_producer_id_backoff_doubles, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_message_too_large_reported_per_record,
                                        mock_fault_setup, mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_topic_authorization_failed_reported_per_record,
                                        mock_fault_setup, mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_slow_produce_response_is_retried, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_slow_broker_past_message_timeout_fails,
                                        mock_fault_setup, mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_through_faults, mock_fault_setup,
                                        mock_fault_teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_soak, mock_fault_setup,
                                        mock_fault_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
