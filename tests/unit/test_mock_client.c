/* test.mock.num.brokers: a kc client, producer or consumer that starts its
 * own mock cluster (libkc-mock found at run time, here in the build tree's
 * lib/ next to this program's folder), the property's range, and a clear
 * error when libkc-mock cannot be found.
 *
 * As librdkafka's property of that name, each client instance starts a
 * cluster of its own: a producer and a consumer configured alike do not
 * share data, so each is checked against its own cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kc/kc_client.h"
#include "kc/kc_conf.h"
#include "kc/kc_consumer.h"
#include "kc/kc_producer.h"

static kc_conf_t *mock_conf(const char *brokers)
{
    kc_conf_t *conf = kc_conf_new();
    char err[256];
    assert_int_equal(kc_conf_set(conf, "test.mock.num.brokers", brokers, err, sizeof(err)), 0);
    return conf;
}

static void test_client_starts_its_mock(void **state)
{
    (void)state;
    unsetenv("KC_MOCK_LIBRARY");
    kc_conf_t *conf = mock_conf("3");
    char err[512];
    kc_client_t *c = kc_client_new(conf, err, sizeof(err));
    if (!c) fail_msg("kc_client_new: %s", err);
    kc_metadata_t *md = NULL;
    assert_int_equal(kc_metadata(c, NULL, 10000, &md, err, sizeof(err)), 0);
    assert_int_equal(md->broker_cnt, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(md->brokers[i].host, "127.0.0.1");
        assert_true(md->brokers[i].port > 0);
    }
    kc_metadata_destroy(md);
    /* Auto-created on request, as a broker would. */
    assert_int_equal(kc_metadata(c, "auto", 10000, &md, err, sizeof(err)), 0);
    assert_int_equal(md->topic_cnt, 1);
    kc_metadata_destroy(md);
    kc_client_destroy(c); /* stops the mock too (ASan/LSan check it all went) */
}

static void test_missing_library_is_an_error(void **state)
{
    (void)state;
    setenv("KC_MOCK_LIBRARY", "/nonexistent/libkc-mock.so.0", 1);
    kc_conf_t *conf = mock_conf("1");
    char err[512] = "";
    kc_client_t *c = kc_client_new(conf, err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "KC_MOCK_LIBRARY=/nonexistent/libkc-mock.so.0"));
    kc_conf_destroy(conf); /* still ours on failure */
    unsetenv("KC_MOCK_LIBRARY");
}

/* The mock's own bounds (0: none, 1..64), refused at kc_conf_set() with the
 * property's name and why, not when the client starts. */
static void test_num_brokers_range(void **state)
{
    (void)state;
    kc_conf_t *conf = kc_conf_new();
    char err[256] = "";
    assert_int_equal(kc_conf_set(conf, "test.mock.num.brokers", "65", err, sizeof(err)),
                     KC_ERR__CONF);
    assert_string_equal(err, "test.mock.num.brokers: 65 is above the maximum 64");
    assert_int_equal(kc_conf_set(conf, "test.mock.num.brokers", "-1", err, sizeof(err)),
                     KC_ERR__CONF);
    assert_string_equal(err, "test.mock.num.brokers: -1 is below the minimum 0");
    assert_int_equal(kc_conf_set(conf, "test.mock.num.brokers", "64", err, sizeof(err)), 0);
    assert_int_equal(kc_conf_set(conf, "test.mock.num.brokers", "0", err, sizeof(err)), 0);
    kc_conf_destroy(conf);
}

#define NREC 25

typedef struct reports {
    int n;
    int64_t offset[NREC];
    kc_err_t err[NREC];
} reports_t;

static void on_delivery(kc_producer_t *p, const kc_delivery_t *r, void *opaque)
{
    (void)p;
    reports_t *reps = opaque;
    int i = (int)(intptr_t)r->opaque;
    assert_true(i >= 0 && i < NREC);
    assert_string_equal(r->topic, "mt");
    assert_int_equal(r->partition, 0);
    reps->offset[i] = r->offset;
    reps->err[i] = r->err;
    reps->n++;
}

static void produce_range(kc_producer_t *p, int from, int to)
{
    for (int i = from; i < to; i++) {
        char v[32];
        int n = snprintf(v, sizeof(v), "v%d", i);
        kc_produce_rec_t rec = {.topic = "mt",
                                .partition = 0,
                                .value = v,
                                .value_len = (size_t)n,
                                .opaque = (void *)(intptr_t)i};
        assert_int_equal(kc_produce(p, &rec, KC_PRODUCE_F_BLOCK), 0);
    }
    assert_int_equal(kc_flush(p, 20000), 0);
}

/* A producer with nothing but the property: its records are written to its
 * own mock (the topic auto-created there), the delivery reports carry their
 * offsets, and the cluster lives as long as the producer. */
static void test_producer_delivers_to_its_mock(void **state)
{
    (void)state;
    unsetenv("KC_MOCK_LIBRARY");
    static reports_t reps;
    memset(&reps, 0, sizeof(reps));
    kc_conf_t *conf = mock_conf("3");
    kc_conf_set_delivery_cb(conf, on_delivery, &reps);
    char err[512];
    kc_producer_t *p = kc_producer_new(conf, err, sizeof(err));
    if (!p) fail_msg("kc_producer_new: %s", err);
    produce_range(p, 0, 20);
    assert_int_equal(reps.n, 20);
    produce_range(p, 20, NREC);
    assert_int_equal(reps.n, NREC);
    for (int i = 0; i < NREC; i++) {
        if (reps.err[i]) fail_msg("record %d: %s", i, kc_err_name(reps.err[i]));
        assert_int_equal(reps.offset[i], i); /* one partition, in order */
    }
    kc_producer_destroy(p, 5000);
}

/* A consumer with the property (and its group) reaches a cluster of its
 * own: a live producer's records, on the producer's cluster, are not there.
 * It commits an offset there and reads it back. */
static void test_consumer_uses_its_mock(void **state)
{
    (void)state;
    unsetenv("KC_MOCK_LIBRARY");
    static reports_t reps;
    memset(&reps, 0, sizeof(reps));
    kc_conf_t *pconf = mock_conf("3");
    kc_conf_set_delivery_cb(pconf, on_delivery, &reps);
    char err[512];
    kc_producer_t *p = kc_producer_new(pconf, err, sizeof(err));
    if (!p) fail_msg("kc_producer_new: %s", err);
    produce_range(p, 0, 5);
    assert_int_equal(reps.n, 5);
    assert_int_equal(reps.err[4], 0);
    assert_int_equal(reps.offset[4], 4);

    kc_conf_t *conf = mock_conf("3");
    assert_int_equal(kc_conf_set(conf, "group.id", "mg", err, sizeof(err)), 0);
    assert_int_equal(kc_conf_set(conf, "allow.auto.create.topics", "true", err, sizeof(err)), 0);
    kc_consumer_t *c = kc_consumer_new(conf, err, sizeof(err));
    if (!c) fail_msg("kc_consumer_new: %s", err);
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(l, "mt", 0)->offset = KC_OFFSET_BEGINNING;
    assert_int_equal(kc_assign(c, l), 0);
    /* The topic appears when the consumer's metadata request creates it. */
    int64_t low = -1, high = -1;
    kc_err_t e = KC_ERR__TIMED_OUT;
    for (int i = 0; i < 100 && e; i++) {
        kc_message_t *m = kc_consumer_poll(c, 100);
        if (m) {
            assert_int_not_equal(m->err, 0); /* no record: nothing was produced here */
            kc_message_destroy(m);
        }
        e = kc_query_watermark_offsets(c, "mt", 0, &low, &high, 5000);
    }
    if (e) fail_msg("watermarks: %s", kc_err_name(e));
    assert_int_equal(low, 0);
    assert_int_equal(high, 0);

    l->elems[0].offset = 7;
    assert_int_equal(kc_commit(c, l, 0), 0);
    l->elems[0].offset = -1;
    assert_int_equal(kc_committed(c, l, 10000), 0);
    assert_int_equal(l->elems[0].err, 0);
    assert_int_equal(l->elems[0].offset, 7);
    kc_topic_partition_list_destroy(l);
    kc_consumer_destroy(c);
    kc_producer_destroy(p, 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_library_is_an_error),
        cmocka_unit_test(test_client_starts_its_mock),
        cmocka_unit_test(test_num_brokers_range),
        cmocka_unit_test(test_producer_delivers_to_its_mock),
        cmocka_unit_test(test_consumer_uses_its_mock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
