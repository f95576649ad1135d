/* The client core through the public API (kc_client_new, kc_metadata) and
 * its I/O-thread internals through client_call(): a 3-broker mock cluster
 * with leaders spread, the metadata cache and its refresh, an unreachable
 * bootstrap, a kc-broker process, shutdown with requests in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <unistd.h>

#include "client.h"
#include "client_test_util.h"
#include "kc/kc.h"
#include "util/log.h"

static kc_client_t *new_client(const char *bootstrap, ...)
{
    char errstr[256];
    kc_conf_t *conf = kc_conf_new();
    assert_non_null(conf);
    assert_int_equal(kc_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)), 0);
    assert_int_equal(kc_conf_set(conf, "reconnect.backoff.ms", "10", errstr, sizeof(errstr)), 0);
    assert_int_equal(kc_conf_set(conf, "reconnect.backoff.max.ms", "50", errstr, sizeof(errstr)),
                     0);
    assert_int_equal(kc_conf_set(conf, "retry.backoff.ms", "10", errstr, sizeof(errstr)), 0);
    va_list ap;
    va_start(ap, bootstrap);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        assert_int_equal(kc_conf_set(conf, k, v, errstr, sizeof(errstr)), 0);
    }
    va_end(ap);
    kc_client_t *c = kc_client_new(conf, errstr, sizeof(errstr));
    if (!c) fprintf(stderr, "kc_client_new: %s\n", errstr);
    assert_non_null(c);
    return c;
}

static const kc_metadata_topic_t *find_topic(const kc_metadata_t *md, const char *name)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].name, name)) return &md->topics[i];
    return NULL;
}

/* Three brokers, six partitions led by 1,2,3,1,2,3: the snapshot has them
 * all, leaders as the cluster says. */
static void test_three_brokers_leaders_spread(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 3), 0);
    assert_int_equal(rd_kafka_mock_topic_create(m.mc, "spread", 6, 3), 0);
    for (int p = 0; p < 6; p++)
        assert_int_equal(rd_kafka_mock_partition_set_leader(m.mc, "spread", p, p % 3 + 1), 0);
    kc_client_t *c = new_client(m.bootstrap, NULL);
    kc_metadata_t *md = NULL;
    char errstr[512];
    kc_err_t err = kc_metadata(c, NULL, 10000, &md, errstr, sizeof(errstr));
    if (err) fprintf(stderr, "%s\n", errstr);
    assert_int_equal(err, 0);
    assert_int_equal(md->broker_cnt, 3);
    const kc_metadata_topic_t *t = find_topic(md, "spread");
    assert_non_null(t);
    assert_int_equal(t->err, 0);
    assert_int_equal(t->partition_cnt, 6);
    for (int p = 0; p < 6; p++) {
        assert_int_equal(t->partitions[p].id, p);
        assert_int_equal(t->partitions[p].leader, p % 3 + 1);
        assert_int_equal(t->partitions[p].replica_cnt, 3);
    }
    kc_metadata_destroy(md);
    /* One topic by name. */
    assert_int_equal(kc_metadata(c, "spread", 10000, &md, errstr, sizeof(errstr)), 0);
    assert_int_equal(md->topic_cnt, 1);
    assert_string_equal(md->topics[0].name, "spread");
    kc_metadata_destroy(md);
    kc_client_destroy(c);
    tmock_stop(&m);
}

typedef struct leader_probe {
    const char *topic;
    int32_t leaders[6];
    kc_err_t err[6];
    uint64_t refreshes;
    int32_t learned[3];
} leader_probe_t;

static void probe_leaders(client_t *c, void *arg)
{
    leader_probe_t *p = arg;
    for (int i = 0; i < 6; i++) {
        p->leaders[i] = -1;
        p->err[i] = client_topic_leader(c, p->topic, i, &p->leaders[i]);
    }
    p->refreshes = client_metadata_refreshes(c);
    for (int i = 0; i < 3; i++)
        p->learned[i] = client_broker_conn(c, i + 1) != NULL;
}

static void ask_refresh(client_t *c, void *arg)
{
    client_metadata_refresh(c, arg);
}

/* The cache: filled by a metadata answer, asked on the I/O thread; a
 * leader change reaches it through an on-demand refresh. */
static void test_cache_and_refresh(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 3), 0);
    assert_int_equal(rd_kafka_mock_topic_create(m.mc, "cached", 6, 3), 0);
    for (int p = 0; p < 6; p++)
        assert_int_equal(rd_kafka_mock_partition_set_leader(m.mc, "cached", p, p % 3 + 1), 0);
    kc_client_t *kc = new_client(m.bootstrap, NULL);
    client_t *c = client_of(kc);
    leader_probe_t p = {.topic = "cached"};
    assert_int_equal(client_call(c, probe_leaders, &p), 0);
    assert_int_equal(p.err[0], KC_ERR__UNKNOWN_TOPIC); /* and a refresh starts */
    /* Poll until the refresh the miss started has landed. */
    do
        assert_int_equal(client_call(c, probe_leaders, &p), 0);
    while (p.refreshes < 1);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(p.err[i], 0);
        assert_int_equal(p.leaders[i], i % 3 + 1);
    }
    for (int i = 0; i < 3; i++)
        assert_true(p.learned[i]);
    /* Leader moves; a caller that saw NOT_LEADER asks for a refresh. */
    assert_int_equal(rd_kafka_mock_partition_set_leader(m.mc, "cached", 0, 3), 0);
    uint64_t before = p.refreshes;
    assert_int_equal(client_call(c, ask_refresh, "cached"), 0);
    /* A refresh already in flight when we asked may land first with the old
     * leader; the one it queued brings the new one. Poll with a deadline. */
    for (int tries = 0; tries < 1000; tries++) {
        assert_int_equal(client_call(c, probe_leaders, &p), 0);
        if (p.refreshes != before && p.leaders[0] == 3) break;
        usleep(10 * 1000);
    }
    assert_true(p.refreshes != before);
    assert_int_equal(p.leaders[0], 3);
    kc_client_destroy(kc);
    tmock_stop(&m);
}

static void count_refreshes(client_t *c, void *arg)
{
    *(uint64_t *)arg = client_metadata_refreshes(c);
}

/* client_set_metadata_cb: called on the I/O thread after each metadata
 * response updated the cache (the producer's sender and the consumer's
 * fetcher go on at once with it), never after it is cleared. */
typedef struct md_cb_count {
    atomic_int calls;
    atomic_ullong refreshes_seen; /* client_metadata_refreshes() at the last call */
} md_cb_count_t;

static void on_md(client_t *c, void *arg)
{
    md_cb_count_t *n = arg;
    atomic_fetch_add(&n->calls, 1);
    atomic_store(&n->refreshes_seen, client_metadata_refreshes(c));
}

static void set_md_cb(client_t *c, void *arg)
{
    client_set_metadata_cb(c, arg ? on_md : NULL, arg);
}

static void test_metadata_cb(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 3), 0);
    assert_int_equal(rd_kafka_mock_topic_create(m.mc, "md-cb", 3, 3), 0);
    kc_client_t *kc = new_client(m.bootstrap, NULL);
    client_t *c = client_of(kc);
    md_cb_count_t n = {0}; /* written on the I/O thread */
    assert_int_equal(client_call(c, set_md_cb, &n), 0);
    assert_int_equal(client_call(c, ask_refresh, "md-cb"), 0);
    uint64_t refreshes = 0;
    for (int tries = 0; tries < 1000 && refreshes < 1; tries++) {
        assert_int_equal(client_call(c, count_refreshes, &refreshes), 0);
        if (refreshes < 1) usleep(10 * 1000);
    }
    /* Called for the refresh, before the refresh counted as done. */
    assert_true(atomic_load(&n.calls) >= 1);
    assert_true(atomic_load(&n.refreshes_seen) < refreshes);
    /* Cleared: another refresh calls nothing. */
    assert_int_equal(client_call(c, set_md_cb, NULL), 0);
    int before = atomic_load(&n.calls);
    assert_int_equal(client_call(c, ask_refresh, "md-cb"), 0);
    uint64_t target = refreshes + 1;
    for (int tries = 0; tries < 1000 && refreshes < target; tries++) {
        assert_int_equal(client_call(c, count_refreshes, &refreshes), 0);
        if (refreshes < target) usleep(10 * 1000);
    }
    assert_true(refreshes >= target);
    assert_int_equal(atomic_load(&n.calls), before);
    kc_client_destroy(kc);
    tmock_stop(&m);
}

/* topic.metadata.refresh.interval.ms refreshes the topics the cache knows
 * without anyone asking. */
static void test_periodic_refresh(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 3), 0);
    assert_int_equal(rd_kafka_mock_topic_create(m.mc, "periodic", 3, 3), 0);
    kc_client_t *kc = new_client(m.bootstrap, "topic.metadata.refresh.interval.ms", "20", NULL);
    client_t *c = client_of(kc);
    kc_metadata_t *md = NULL;
    char errstr[512];
    assert_int_equal(kc_metadata(kc, "periodic", 10000, &md, errstr, sizeof(errstr)), 0);
    kc_metadata_destroy(md);
    uint64_t n = 0;
    while (n < 2)
        assert_int_equal(client_call(c, count_refreshes, &n), 0);
    kc_client_destroy(kc);
    tmock_stop(&m);
}

/* An entry older than metadata.max.age.ms is answered and refreshed. */
static void test_max_age_refresh(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 1), 0);
    assert_int_equal(rd_kafka_mock_topic_create(m.mc, "aged", 6, 1), 0);
    kc_client_t *kc = new_client(m.bootstrap, "metadata.max.age.ms", "1",
                                 "topic.metadata.refresh.interval.ms", "-1", NULL);
    client_t *c = client_of(kc);
    kc_metadata_t *md = NULL;
    char errstr[512];
    assert_int_equal(kc_metadata(kc, "aged", 10000, &md, errstr, sizeof(errstr)), 0);
    kc_metadata_destroy(md);
    leader_probe_t p = {.topic = "aged"};
    do {
        assert_int_equal(client_call(c, probe_leaders, &p), 0);
        assert_int_equal(p.err[0], 0); /* stale entries still answer */
    } while (p.refreshes < 1);
    kc_client_destroy(kc);
    tmock_stop(&m);
}

/* Nothing listens at the bootstrap address: kc_metadata fails within its
 * time-out, naming the cause. */
static void test_unreachable_bootstrap(void **state)
{
    (void)state;
    char bs[64];
    snprintf(bs, sizeof(bs), "127.0.0.1:%d", closed_port());
    kc_client_t *c = new_client(bs, NULL);
    kc_metadata_t *md = NULL;
    char errstr[512];
    kc_err_t err = kc_metadata(c, NULL, 300, &md, errstr, sizeof(errstr));
    assert_int_equal(err, KC_ERR__TIMED_OUT);
    assert_null(md);
    assert_non_null(strstr(errstr, "refused"));
    kc_client_destroy(c);
}

/* One unreachable bootstrap entry and one good one: the client moves on. */
static void test_bootstrap_failover(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 1), 0);
    char bs[400];
    snprintf(bs, sizeof(bs), "127.0.0.1:%d,%s", closed_port(), m.bootstrap);
    kc_client_t *c = new_client(bs, NULL);
    kc_metadata_t *md = NULL;
    char errstr[512];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kc_metadata(c, NULL, 10000, &md, errstr, sizeof(errstr)), 0);
        assert_int_equal(md->broker_cnt, 1);
        kc_metadata_destroy(md);
    }
    kc_client_destroy(c);
    tmock_stop(&m);
}

/* A kc-broker process: a topic that does not exist comes back with its
 * error, and the call succeeds. */
static void test_kc_broker(void **state)
{
    (void)state;
    tbroker_t b = {0};
    assert_int_equal(tbroker_start(&b), 0);
    kc_client_t *c = new_client(b.addr, NULL);
    kc_metadata_t *md = NULL;
    char errstr[512];
    assert_int_equal(kc_metadata(c, NULL, 10000, &md, errstr, sizeof(errstr)), 0);
    assert_int_equal(md->broker_cnt, 1);
    assert_non_null(md->cluster_id);
    /* Answered over the bootstrap connection, named by the cluster's id. */
    assert_int_equal(md->orig_broker_id, md->brokers[0].id);
    kc_metadata_destroy(md);
    assert_int_equal(kc_metadata(c, "no-such-topic", 10000, &md, errstr, sizeof(errstr)), 0);
    assert_int_equal(md->topic_cnt, 1);
    assert_int_equal(md->topics[0].err, KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kc_metadata_destroy(md);
    kc_client_destroy(c);
    tbroker_stop(&b);
}

typedef struct inflight {
    int n;
    kc_err_t err;
    proto_metadata_request_t req;
} inflight_t;

static void count_cb(const net_resp_t *r, void *opaque)
{
    inflight_t *f = opaque;
    f->n++;
    f->err = r->err;
}

static void send_slow(client_t *c, void *arg)
{
    inflight_t *f = arg;
    proto_msg_init(&proto_metadata_request_desc, &f->req);
    f->req.topics.n = -1;
    assert_int_equal(
        client_broker_request(c, -1, PROTO_API_METADATA, &f->req, 60000, 0, count_cb, f), 0);
}

/* Destroy with a request on the wire: its callback fires once, with
 * KC_ERR__DESTROY, before kc_client_destroy returns. */
static void test_destroy_in_flight(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 1), 0);
    kc_client_t *kc = new_client(m.bootstrap, NULL);
    client_t *c = client_of(kc);
    kc_metadata_t *md = NULL;
    char errstr[512];
    assert_int_equal(kc_metadata(kc, NULL, 10000, &md, errstr, sizeof(errstr)), 0);
    kc_metadata_destroy(md);
    rd_kafka_mock_broker_set_rtt(m.mc, 1, 60000);
    inflight_t f = {0};
    assert_int_equal(client_call(c, send_slow, &f), 0);
    kc_client_destroy(kc);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.err, KC_ERR__DESTROY);
    tmock_stop(&m);
}

/* Bad configurations are refused with a reason, and conf stays the caller's. */
static void test_bad_conf(void **state)
{
    (void)state;
    char errstr[256];
    kc_conf_t *conf = kc_conf_new();
    assert_null(kc_client_new(conf, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "bootstrap.servers"));
    assert_int_equal(
        kc_conf_set(conf, "bootstrap.servers", "host:notaport", errstr, sizeof(errstr)), 0);
    assert_null(kc_client_new(conf, errstr, sizeof(errstr)));
    if (!strstr(errstr, "host:notaport")) fprintf(stderr, "errstr: %s\n", errstr);
    assert_non_null(strstr(errstr, "host:notaport"));
    kc_conf_destroy(conf);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (getenv("KC_TEST_DEBUG")) util_log_set_level(LOG_LVL_DEBUG);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_brokers_leaders_spread),
        cmocka_unit_test(test_cache_and_refresh),
        cmocka_unit_test(test_periodic_refresh),
        cmocka_unit_test(test_metadata_cb),
        cmocka_unit_test(test_max_age_refresh),
        cmocka_unit_test(test_unreachable_bootstrap),
        cmocka_unit_test(test_bootstrap_failover),
        cmocka_unit_test(test_kc_broker),
        cmocka_unit_test(test_destroy_in_flight),
        cmocka_unit_test(test_bad_conf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
