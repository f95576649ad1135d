/* Group members for the cgrp tests: a client each, a cgrp_t driven through
 * client_call(), and a fake consumer (cgrp_ops_t) that records what it was
 * told and answers revokes on the next loop turn, as the consumer does
 * after the application saw them. Header-only; one test program includes
 * it once. */
#ifndef TEST_CLIENT_CGRP_UTIL_H
#define TEST_CLIENT_CGRP_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "client.h"
#include "client_test_util.h"
#include "consumer/cgrp.h"
#include "consumer/cgrp_int.h"
#include "kc/kc.h"

typedef struct member {
    kc_client_t *kc;
    client_t *c;
    cgrp_t *g;
    kc_topic_partition_list_t *assigned; /* what the member holds now */
    kc_topic_partition_list_t *revoked;  /* every partition ever revoked (not lost) */
    int nassign, nrevoke, nlost, nerror;
    kc_err_t last_error;
    int hold_revoke; /* do not answer revokes: the test does */
    int revoke_pending;
    int left;
    int poll; /* call cgrp_poll_seen on every check */
} member_t;

static inline void m_revoke_answer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    member_t *m = arg;
    if (!m->g || !m->revoke_pending) return;
    m->revoke_pending = 0;
    cgrp_revoke_done(m->g);
}

static inline void m_assign(void *opaque, const kc_topic_partition_list_t *parts)
{
    member_t *m = opaque;
    m->nassign++;
    if (cgrp_rebalance_protocol(m->g)[0] == 'E') {
        kc_topic_partition_list_destroy(m->assigned);
        m->assigned = kc_topic_partition_list_new(parts->cnt);
    }
    for (int i = 0; i < parts->cnt; i++) {
        assert_int_equal(parts->elems[i].offset, KC_OFFSET_STORED);
        if (!kc_topic_partition_list_find(m->assigned, parts->elems[i].topic,
                                          parts->elems[i].partition))
            kc_topic_partition_list_add(m->assigned, parts->elems[i].topic,
                                        parts->elems[i].partition);
    }
}

static inline void list_remove(kc_topic_partition_list_t *l, const char *topic, int32_t p)
{
    for (int i = 0; i < l->cnt; i++) {
        if (l->elems[i].partition != p || strcmp(l->elems[i].topic, topic)) continue;
        kc_topic_partition_list_t *n = kc_topic_partition_list_new(l->cnt);
        for (int j = 0; j < l->cnt; j++)
            if (j != i) kc_topic_partition_list_add(n, l->elems[j].topic, l->elems[j].partition);
        kc_topic_partition_t *tmp = l->elems;
        int cnt = l->cnt, size = l->size;
        *l = *n;
        n->elems = tmp;
        n->cnt = cnt;
        n->size = size;
        kc_topic_partition_list_destroy(n);
        return;
    }
}

static inline void m_revoke(void *opaque, const kc_topic_partition_list_t *parts, int lost)
{
    member_t *m = opaque;
    if (lost)
        m->nlost++;
    else
        m->nrevoke++;
    for (int i = 0; i < parts->cnt; i++) {
        list_remove(m->assigned, parts->elems[i].topic, parts->elems[i].partition);
        if (!lost)
            kc_topic_partition_list_add(m->revoked, parts->elems[i].topic,
                                        parts->elems[i].partition);
    }
    m->revoke_pending = 1;
    if (m->hold_revoke) return;
    struct timeval zero = {0, 0};
    event_base_once(client_base(m->c), -1, EV_TIMEOUT, m_revoke_answer, m, &zero);
}

static inline void m_error(void *opaque, kc_err_t err, const char *errstr)
{
    member_t *m = opaque;
    (void)errstr;
    m->nerror++;
    m->last_error = err;
}

static const cgrp_ops_t m_ops = {m_assign, m_revoke, m_error};

static inline void m_do_new(client_t *c, void *arg)
{
    member_t *m = arg;
    char errstr[256];
    m->g = cgrp_new(c, &m_ops, m, errstr, sizeof(errstr));
    if (!m->g) fprintf(stderr, "cgrp_new: %s\n", errstr);
}

/* A member of group at bootstrap; extra "key", "value" pairs, NULL-ended. */
static inline member_t *m_new(const char *bootstrap, const char *group, ...)
{
    char errstr[256];
    member_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    kc_conf_t *conf = kc_conf_new();
    const char *defaults[] = {"bootstrap.servers",
                              bootstrap,
                              "group.id",
                              group,
                              "reconnect.backoff.ms",
                              "10",
                              "reconnect.backoff.max.ms",
                              "100",
                              "retry.backoff.ms",
                              "20",
                              "retry.backoff.max.ms",
                              "200",
                              "session.timeout.ms",
                              "1500",
                              "heartbeat.interval.ms",
                              "100",
                              "log_level",
                              "3"};
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i += 2)
        assert_int_equal(kc_conf_set(conf, defaults[i], defaults[i + 1], errstr, sizeof(errstr)),
                         0);
    if (getenv("CGRP_TEST_DEBUG"))
        assert_int_equal(kc_conf_set(conf, "log_level", "7", errstr, sizeof(errstr)), 0);
    va_list ap;
    va_start(ap, group);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        if (kc_conf_set(conf, k, v, errstr, sizeof(errstr)) != 0) fprintf(stderr, "%s\n", errstr);
        assert_int_equal(kc_conf_set(conf, k, v, errstr, sizeof(errstr)), 0);
    }
    va_end(ap);
    m->kc = kc_client_new(conf, errstr, sizeof(errstr));
    assert_non_null(m->kc);
    m->c = client_of(m->kc);
    m->assigned = kc_topic_partition_list_new(0);
    m->revoked = kc_topic_partition_list_new(0);
    assert_int_equal(client_call(m->c, m_do_new, m), 0);
    assert_non_null(m->g);
    return m;
}

typedef struct sub_args {
    member_t *m;
    const char *const *topics;
    int n;
    kc_err_t err;
} sub_args_t;

static inline void m_do_subscribe(client_t *c, void *arg)
{
    (void)c;
    sub_args_t *a = arg;
    a->err = cgrp_subscribe(a->m->g, a->topics, a->n);
}

static inline kc_err_t m_subscribe(member_t *m, const char *const *topics, int n)
{
    sub_args_t a = {m, topics, n, 0};
    assert_int_equal(client_call(m->c, m_do_subscribe, &a), 0);
    return a.err;
}

static inline void m_leave_done(void *opaque)
{
    ((member_t *)opaque)->left = 1;
}

static inline void m_do_leave(client_t *c, void *arg)
{
    (void)c;
    member_t *m = arg;
    cgrp_leave(m->g, m_leave_done, m);
}

static inline void m_do_destroy(client_t *c, void *arg)
{
    (void)c;
    member_t *m = arg;
    cgrp_destroy(m->g);
    m->g = NULL;
}

static inline void m_free(member_t *m)
{
    if (m->g) assert_int_equal(client_call(m->c, m_do_destroy, m), 0);
    kc_client_destroy(m->kc);
    kc_topic_partition_list_destroy(m->assigned);
    kc_topic_partition_list_destroy(m->revoked);
    free(m);
}

static inline uint64_t t_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* What a member looked like at one moment, copied on its I/O thread. */
typedef struct snap {
    cgrp_state_t state;
    int32_t generation;
    int busy; /* a join wanted, a revoke unanswered */
    int owned;
    int32_t coord_id;
    int is_leader;
    kc_topic_partition_list_t *assigned;
    int nassign, nrevoke, nlost, nerror;
    kc_err_t last_error;
    char member_id[256];
} snap_t;

typedef struct snap_call {
    member_t *m;
    snap_t *s;
} snap_call_t;

static inline void do_snap(client_t *c, void *arg)
{
    (void)c;
    snap_call_t *sc = arg;
    snap_t *s = sc->s;
    member_t *m = sc->m;
    cgrp_t *g = m->g;
    if (g && m->poll) cgrp_poll_seen(g);
    s->state = g->state;
    s->generation = g->generation;
    s->busy = g->want_join || g->revoke_wait || m->revoke_pending || g->rejoin_after;
    s->owned = g->owned->cnt;
    s->coord_id = g->coord_id;
    s->is_leader = g->is_leader;
    s->assigned = kc_topic_partition_list_copy(m->assigned);
    s->nassign = m->nassign;
    s->nrevoke = m->nrevoke;
    s->nlost = m->nlost;
    s->nerror = m->nerror;
    s->last_error = m->last_error;
    snprintf(s->member_id, sizeof(s->member_id), "%s", g->member_id);
}

static inline void m_snap(member_t *m, snap_t *s)
{
    memset(s, 0, sizeof(*s));
    snap_call_t sc = {m, s};
    assert_int_equal(client_call(m->c, do_snap, &sc), 0);
}

static inline void snaps_free(snap_t *s, int n)
{
    for (int i = 0; i < n; i++)
        kc_topic_partition_list_destroy(s[i].assigned);
}

typedef int (*t_pred)(const snap_t *s, int n, void *arg);

/* Snapshots the members until pred holds or timeout_ms passed; the last
 * snapshots stay in out (free with snaps_free). Returns pred's answer. */
static inline int t_wait(member_t **ms, int n, t_pred pred, void *arg, int timeout_ms, snap_t *out)
{
    uint64_t end = t_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        for (int i = 0; i < n; i++)
            m_snap(ms[i], &out[i]);
        int ok = pred(out, n, arg);
        if (ok || t_now_ms() > end) return ok;
        snaps_free(out, n);
        usleep(20000);
    }
}

/* ---- a kc-broker process with short group timings ---- */

static inline int gbroker_start(tbroker_t *b)
{
    static const char *const group_timings[] = {"group.initial.rebalance.delay.ms=0",
                                                "group.min.session.timeout.ms=100",
                                                "num.partitions=1", NULL};
    return tbroker_start_with(b, "/tmp/kc-cgrp-test-XXXXXX", group_timings);
}

/* A quiet librdkafka client on bootstrap, for the admin calls below. */
static inline rd_kafka_t *t_admin_client(const char *bootstrap)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(rk);
    return rk;
}

/* Asserts that an admin call (what, for the message) on topic answered for
 * that one topic, without error. */
static inline void t_assert_topic_ok(const rd_kafka_topic_result_t **trs, size_t n,
                                     const char *what, const char *topic)
{
    assert_int_equal(n, 1);
    if (rd_kafka_topic_result_error(trs[0]))
        fprintf(stderr, "%s %s: %s\n", what, topic, rd_kafka_topic_result_error_string(trs[0]));
    assert_int_equal(rd_kafka_topic_result_error(trs[0]), 0);
}

/* Creates topic with partitions through librdkafka's admin API. */
static inline void t_create_topic(const char *bootstrap, const char *topic, int partitions)
{
    char errstr[256];
    rd_kafka_t *rk = t_admin_client(bootstrap);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, errstr, sizeof(errstr));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 10000);
    assert_non_null(ev);
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t **trs = rd_kafka_CreateTopics_result_topics(res, &n);
    t_assert_topic_ok(trs, n, "create", topic);
    rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

/* Adds partitions to topic (to total) through librdkafka's admin API. */
static inline void t_create_partitions(const char *bootstrap, const char *topic, int total)
{
    char errstr[256];
    rd_kafka_t *rk = t_admin_client(bootstrap);
    rd_kafka_NewPartitions_t *np =
        rd_kafka_NewPartitions_new(topic, (size_t)total, errstr, sizeof(errstr));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreatePartitions(rk, &np, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 10000);
    assert_non_null(ev);
    const rd_kafka_CreatePartitions_result_t *res = rd_kafka_event_CreatePartitions_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t **trs = rd_kafka_CreatePartitions_result_topics(res, &n);
    t_assert_topic_ok(trs, n, "partitions", topic);
    rd_kafka_event_destroy(ev);
    rd_kafka_NewPartitions_destroy(np);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

/* ---- predicates ---- */

/* Every member STEADY in the same generation, holding disjoint partitions
 * that together are exactly *(int *)arg of them, nothing pending. */
static inline int p_split(const snap_t *s, int n, void *arg)
{
    int want = *(int *)arg, total = 0;
    for (int i = 0; i < n; i++) {
        if (s[i].state != CGRP_ST_STEADY || s[i].busy) return 0;
        if (s[i].generation != s[0].generation) return 0;
        if (s[i].owned != s[i].assigned->cnt) return 0;
        total += s[i].assigned->cnt;
        for (int j = 0; j < i; j++)
            for (int k = 0; k < s[i].assigned->cnt; k++)
                if (kc_topic_partition_list_find(s[j].assigned, s[i].assigned->elems[k].topic,
                                                 s[i].assigned->elems[k].partition))
                    return 0;
    }
    return total == want;
}

#endif
