/* kc's range and roundrobin give what librdkafka's own assignors give.
 * librdkafka does not export its assignors, so this runs them for real:
 * librdkafka consumers join a group on librdkafka's mock cluster, its group
 * leader computes the assignment, and kc's assignor, fed the same member
 * ids, subscriptions and partition counts, must produce the same lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "client_test_util.h"
#include "test_client_assignor_util.h"

#define CONSUMERS 3

typedef struct consumer {
    rd_kafka_t *rk;
    const char *subs;                          /* space-separated */
    rd_kafka_topic_partition_list_t *assigned; /* NULL until assigned */
} consumer_t;

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    consumer_t *c = opaque;
    if (c->assigned) rd_kafka_topic_partition_list_destroy(c->assigned);
    c->assigned = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        c->assigned = rd_kafka_topic_partition_list_copy(parts);
        rd_kafka_assign(rk, parts);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void consumer_start(consumer_t *c, const char *bootstrap, const char *group,
                           const char *strategy)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", bootstrap},
                           {"group.id", group},
                           {"partition.assignment.strategy", strategy},
                           {"log_level", "0"},
                           {"session.timeout.ms", "6000"},
                           {"heartbeat.interval.ms", "200"},
                           {"topic.metadata.refresh.interval.ms", "500"}};
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof(errstr)))
            fail_msg("%s: %s", kv[i][0], errstr);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, c);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    assert_non_null(c->rk);
    rd_kafka_poll_set_consumer(c->rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(4);
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", c->subs);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
        rd_kafka_topic_partition_list_add(topics, t, RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(c->rk, topics), 0);
    rd_kafka_topic_partition_list_destroy(topics);
}

/* Runs kc's assignor on what the consumers are now and compares; 0 if
 * equal, else writes the first difference. */
static int compare(consumer_t *cs, const char *strategy, const assignor_topic_t *topics, int tn,
                   char *diff, size_t diff_size)
{
    assignor_member_t m[CONSUMERS];
    char *ids[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) {
        ids[i] = rd_kafka_memberid(cs[i].rk);
        tm_init(&m[i], ids[i] ? ids[i] : "", cs[i].subs);
    }
    char errstr[256];
    assert_int_equal(assignor_find(strategy)->run(m, CONSUMERS, topics, tn, errstr, sizeof(errstr)),
                     0);
    int differ = 0;
    for (int i = 0; i < CONSUMERS && !differ; i++) {
        const rd_kafka_topic_partition_list_t *rd = cs[i].assigned;
        int same = rd && rd->cnt == m[i].assigned->cnt;
        for (int k = 0; same && k < rd->cnt; k++)
            same = kc_topic_partition_list_find(m[i].assigned, rd->elems[k].topic,
                                                rd->elems[k].partition) != NULL;
        if (!same) {
            char s[1024];
            snprintf(diff, diff_size, "%s member %s: kc [%s], librdkafka has %d partitions",
                     strategy, m[i].member_id, tm_str(m[i].assigned, s, sizeof(s)),
                     rd ? rd->cnt : -1);
            differ = 1;
        }
    }
    for (int i = 0; i < CONSUMERS; i++) {
        assignor_member_clear(&m[i]);
        if (ids[i]) rd_kafka_mem_free(cs[i].rk, ids[i]);
    }
    return differ;
}

/* One group of CONSUMERS librdkafka consumers on a fresh mock cluster, until
 * every consumer holds an assignment of one generation (their union covers
 * every partition) and kc agrees, or `seconds` pass. 1 when kc agreed; 0
 * with *diff saying what differed, or that no complete assignment was seen. */
static int one_group(const char *strategy, const char *const subs[CONSUMERS], int attempt,
                     double seconds, char *diff, size_t diff_size)
{
    static const assignor_topic_t topics[] = {{"t0", 5}, {"t1", 3}, {"t2", 7}};
    int total = 0;
    for (int t = 0; t < 3; t++)
        total += topics[t].partition_cnt;
    tmock_t mock;
    assert_int_equal(tmock_start(&mock, 1), 0);
    for (int t = 0; t < 3; t++)
        assert_int_equal(
            rd_kafka_mock_topic_create(mock.mc, topics[t].name, topics[t].partition_cnt, 1), 0);
    consumer_t cs[CONSUMERS] = {{0}};
    char group[64];
    snprintf(group, sizeof(group), "vectors-%s-%d", strategy, attempt);
    for (int i = 0; i < CONSUMERS; i++) {
        cs[i].subs = subs[i];
        consumer_start(&cs[i], mock.bootstrap, group, strategy);
    }
    snprintf(diff, diff_size, "no complete assignment seen");
    int ok = 0;
    for (double deadline = now_s() + seconds; !ok && now_s() < deadline;) {
        for (int i = 0; i < CONSUMERS; i++) {
            rd_kafka_message_t *msg = rd_kafka_consumer_poll(cs[i].rk, 50);
            if (msg) rd_kafka_message_destroy(msg);
        }
        int held = 0, all = 1;
        for (int i = 0; i < CONSUMERS; i++) {
            all &= cs[i].assigned != NULL;
            held += cs[i].assigned ? cs[i].assigned->cnt : 0;
        }
        if (all && held == total) ok = !compare(cs, strategy, topics, 3, diff, diff_size);
    }
    for (int i = 0; i < CONSUMERS; i++) {
        rd_kafka_consumer_close(cs[i].rk);
        if (cs[i].assigned) rd_kafka_topic_partition_list_destroy(cs[i].assigned);
        rd_kafka_destroy(cs[i].rk);
    }
    tmock_stop(&mock);
    return ok;
}

static void same_as_librdkafka(const char *strategy, const char *const subs[CONSUMERS])
{
    /* A group on librdkafka 2.0.2's mock cluster once in a while never
     * settled (seen once in the libFuzzer build under a full parallel
     * suite: no complete assignment in 60 s, while it takes about 4 s
     * alone). Only that case gets a fresh cluster and group; an assignment
     * kc disagrees with fails without one. */
    char diff[1200];
    for (int attempt = 1; attempt <= 3; attempt++) {
        if (one_group(strategy, subs, attempt, 30, diff, sizeof(diff))) return;
        if (strcmp(diff, "no complete assignment seen") != 0) break;
        print_message("%s: %s (attempt %d of 3)\n", strategy, diff, attempt);
    }
    fail_msg("%s", diff);
}

static const char *const unequal[CONSUMERS] = {"t0 t1", "t0 t1 t2", "t1 t2"};
static const char *const equal[CONSUMERS] = {"t0 t1 t2", "t0 t1 t2", "t0 t1 t2"};

static void test_range_unequal(void **state)
{
    same_as_librdkafka("range", unequal);
}

static void test_range_equal(void **state)
{
    same_as_librdkafka("range", equal);
}

static void test_roundrobin_unequal(void **state)
{
    same_as_librdkafka("roundrobin", unequal);
}

static void test_roundrobin_equal(void **state)
{
    same_as_librdkafka("roundrobin", equal);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_unequal),
        cmocka_unit_test(test_range_equal),
        cmocka_unit_test(test_roundrobin_unequal),
        cmocka_unit_test(test_roundrobin_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
