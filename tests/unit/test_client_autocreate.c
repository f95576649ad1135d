/* allow.auto.create.topics: a producer's first record to a missing topic has
 * the broker create it (librdkafka's producer default); with the property
 * false, or from a plain client, the topic stays missing. Against a
 * kc-broker process, whose auto.create.topics.enable defaults to true. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client_test_util.h"
#include "kc/kc.h"

static tbroker_t broker;

static int setup(void **state)
{
    (void)state;
    return tbroker_start(&broker);
}

static int teardown(void **state)
{
    (void)state;
    tbroker_stop(&broker);
    return 0;
}

typedef struct report {
    int n;
    kc_err_t err;
} report_t;

static void on_delivery(kc_producer_t *p, const kc_delivery_t *d, void *opaque)
{
    (void)p;
    report_t *r = opaque;
    r->n++;
    r->err = d->err;
}

static kc_err_t produce_one(const char *topic, const char *allow, report_t *r)
{
    char errstr[256];
    kc_conf_t *conf = kc_conf_new();
    assert_int_equal(kc_conf_set(conf, "bootstrap.servers", broker.addr, errstr, sizeof(errstr)),
                     0);
    assert_int_equal(kc_conf_set(conf, "message.timeout.ms", "2000", errstr, sizeof(errstr)), 0);
    if (allow)
        assert_int_equal(
            kc_conf_set(conf, "allow.auto.create.topics", allow, errstr, sizeof(errstr)), 0);
    kc_conf_set_delivery_cb(conf, on_delivery, r);
    kc_producer_t *p = kc_producer_new(conf, errstr, sizeof(errstr));
    assert_non_null(p);
    kc_produce_rec_t rec = {
        .topic = topic, .partition = KC_PARTITION_ANY, .value = "v", .value_len = 1};
    kc_err_t err = kc_produce(p, &rec, 0);
    if (err == 0) kc_flush(p, 10000);
    kc_producer_destroy(p, 1000);
    return err;
}

static kc_err_t topic_err(const char *topic)
{
    char errstr[256];
    kc_conf_t *conf = kc_conf_new();
    assert_int_equal(kc_conf_set(conf, "bootstrap.servers", broker.addr, errstr, sizeof(errstr)),
                     0);
    kc_client_t *c = kc_client_new(conf, errstr, sizeof(errstr));
    assert_non_null(c);
    kc_metadata_t *md = NULL;
    assert_int_equal(kc_metadata(c, topic, 5000, &md, errstr, sizeof(errstr)), 0);
    assert_int_equal(md->topic_cnt, 1);
    kc_err_t err = md->topics[0].err;
    kc_metadata_destroy(md);
    kc_client_destroy(c);
    return err;
}

static void test_producer_creates_missing_topic(void **state)
{
    (void)state;
    report_t r = {0};
    assert_int_equal(produce_one("auto-created", NULL, &r), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.err, 0);
    assert_int_equal(topic_err("auto-created"), 0);
}

static void test_producer_told_not_to_create(void **state)
{
    (void)state;
    report_t r = {0};
    kc_err_t err = produce_one("not-created", "false", &r);
    /* Refused at once, or reported as failed: either way nothing exists. */
    if (err == 0) {
        assert_int_equal(r.n, 1);
        assert_int_not_equal(r.err, 0);
    }
    /* A plain client's Metadata request does not create it either. */
    assert_int_equal(topic_err("not-created"), KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_producer_creates_missing_topic),
        cmocka_unit_test(test_producer_told_not_to_create),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
