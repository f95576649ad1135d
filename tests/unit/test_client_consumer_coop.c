/* cooperative-sticky through the public consumer API on a kc-broker
 * process: when a second member joins, the first gives up only the
 * partitions that move (KC_REBALANCE_REVOKE lists just those, answered with
 * kc_incremental_unassign) and keeps reading the others throughout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client_test_util.h"
#include "test_client_cgrp_util.h"
#include "test_client_consumer_util.h"

#define TOPIC "coop"
#define NPART 6

static tbroker_t broker;

typedef struct member_state {
    int assigned[NPART]; /* times assigned */
    int revoked[NPART];  /* times revoked */
    int owned[NPART];
    int lost;
    const char *proto;
} member_state_t;

static void on_rebalance(kc_consumer_t *c, kc_rebalance_event_t ev,
                         const kc_topic_partition_list_t *parts, void *opaque)
{
    member_state_t *s = opaque;
    s->proto = kc_rebalance_protocol(c);
    for (int i = 0; i < parts->cnt; i++) {
        int p = parts->elems[i].partition;
        if (ev == KC_REBALANCE_ASSIGN) {
            s->assigned[p]++;
            s->owned[p] = 1;
        } else {
            if (ev == KC_REBALANCE_LOST) s->lost++;
            s->revoked[p]++;
            s->owned[p] = 0;
        }
    }
    if (ev == KC_REBALANCE_ASSIGN)
        kc_incremental_assign(c, parts);
    else
        kc_incremental_unassign(c, parts);
}

static kc_consumer_t *member(member_state_t *s)
{
    char errstr[256];
    kc_conf_t *conf = kc_conf_new();
    const char *kv[] = {"bootstrap.servers",
                        broker.addr,
                        "group.id",
                        "coop-group",
                        "partition.assignment.strategy",
                        "cooperative-sticky",
                        "auto.offset.reset",
                        "earliest",
                        "session.timeout.ms",
                        "6000",
                        "heartbeat.interval.ms",
                        "100",
                        "fetch.wait.max.ms",
                        "50",
                        NULL};
    for (int i = 0; kv[i]; i += 2)
        assert_int_equal(kc_conf_set(conf, kv[i], kv[i + 1], errstr, sizeof(errstr)), 0);
    kc_conf_set_rebalance_cb(conf, on_rebalance, s);
    kc_consumer_t *c = kc_consumer_new(conf, errstr, sizeof(errstr));
    assert_non_null(c);
    const char *topics[] = {TOPIC};
    assert_int_equal(kc_subscribe(c, topics, 1), 0);
    return c;
}

static int owned_cnt(const member_state_t *s)
{
    int n = 0;
    for (int p = 0; p < NPART; p++)
        n += s->owned[p];
    return n;
}

static void test_second_member_takes_only_what_moves(void **state)
{
    (void)state;
    assert_int_equal(gbroker_start(&broker), 0);
    assert_int_equal(ctu_create_topic(broker.addr, TOPIC, NPART), 0);
    member_state_t sa = {0}, sb = {0};
    kc_consumer_t *a = member(&sa);
    int64_t end = ctu_now_ms() + 20000;
    while (owned_cnt(&sa) < NPART && ctu_now_ms() < end)
        kc_message_destroy(kc_consumer_poll(a, 20));
    assert_int_equal(owned_cnt(&sa), NPART);
    assert_string_equal(sa.proto, "COOPERATIVE");

    kc_consumer_t *b = member(&sb);
    end = ctu_now_ms() + 30000;
    while (!(owned_cnt(&sa) == NPART / 2 && owned_cnt(&sb) == NPART / 2) && ctu_now_ms() < end) {
        kc_message_destroy(kc_consumer_poll(a, 10));
        kc_message_destroy(kc_consumer_poll(b, 10));
    }
    assert_int_equal(owned_cnt(&sa), NPART / 2);
    assert_int_equal(owned_cnt(&sb), NPART / 2);
    for (int p = 0; p < NPART; p++) {
        /* A partition A kept was never revoked; one that moved was revoked
         * once, and only then given to B. */
        if (sa.owned[p]) {
            assert_int_equal(sa.revoked[p], 0);
            assert_int_equal(sb.assigned[p], 0);
        } else {
            assert_int_equal(sa.revoked[p], 1);
            assert_int_equal(sb.assigned[p], 1);
        }
        assert_int_equal(sa.assigned[p], 1);
    }
    assert_int_equal(sa.lost + sb.lost, 0);

    /* A still reads its kept partitions: records produced to one arrive. */
    int kept = -1;
    for (int p = 0; p < NPART && kept < 0; p++)
        if (sa.owned[p]) kept = p;
    assert_int_equal(ctu_produce(broker.addr, TOPIC, kept, 5, 0, "none", 0, 0, NULL, NULL), 0);
    int got = 0;
    end = ctu_now_ms() + 20000;
    while (got < 5 && ctu_now_ms() < end) {
        kc_message_t *m = kc_consumer_poll(a, 20);
        if (m && !m->err && m->partition == kept) got++;
        kc_message_destroy(m);
        kc_message_destroy(kc_consumer_poll(b, 0));
    }
    assert_int_equal(got, 5);

    kc_consumer_destroy(b);
    kc_consumer_destroy(a);
    tbroker_stop(&broker);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_member_takes_only_what_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
