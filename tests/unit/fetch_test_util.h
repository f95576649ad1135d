/* Helpers for the read-path tests (Fetch, ListOffsets, DeleteRecords,
 * OffsetForLeaderEpoch) on top of broker_harness.h: code run on the broker's
 * loop thread (topic creation, appends through the storage API, poking
 * partition state), and requests built with the codec. Header-only: include
 * once per test program, after broker_harness.h. */
#ifndef KC_TEST_FETCH_TEST_UTIL_H
#define KC_TEST_FETCH_TEST_UTIL_H

#include <pthread.h>

#include "broker_harness.h"
#include "handlers/fetch_session.h"
#include "kc/kc_err.h"
#include "proto/proto_batch.h"
#include "proto/proto_compress.h"
#include "proto/proto_record.h"

typedef struct on_loop {
    void (*fn)(harness_t *h, void *arg);
    harness_t *h;
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
} on_loop_t;

static inline void on_loop_cb_(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    on_loop_t *o = arg;
    o->fn(o->h, o->arg);
    pthread_mutex_lock(&o->mu);
    o->done = 1;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

/* Runs fn(h, arg) on the broker's loop thread and waits for it: the broker
 * is not thread-safe, so tests touch it only from there. */
static inline void harness_on_loop(harness_t *h, void (*fn)(harness_t *, void *), void *arg)
{
    on_loop_t o = {.fn = fn, .h = h, .arg = arg, .done = 0};
    pthread_mutex_init(&o.mu, NULL);
    pthread_cond_init(&o.cv, NULL);
    struct timeval now = {0, 0};
    if (event_base_once(h->base, -1, EV_TIMEOUT, on_loop_cb_, &o, &now) != 0) {
        fprintf(stderr, "harness: event_base_once failed\n");
        exit(1);
    }
    pthread_mutex_lock(&o.mu);
    while (!o.done)
        pthread_cond_wait(&o.cv, &o.mu);
    pthread_mutex_unlock(&o.mu);
    pthread_mutex_destroy(&o.mu);
    pthread_cond_destroy(&o.cv);
}

/* ---- Topics and data ------------------------------------------------------------ */

typedef struct mk_topic {
    const char *name;
    int32_t partitions;
    const char *conf_name, *conf_value;
    int rc;
} mk_topic_t;

static inline void mk_topic_cb_(harness_t *h, void *arg)
{
    mk_topic_t *m = arg;
    char err[256];
    const char *names[1] = {m->conf_name}, *values[1] = {m->conf_value};
    m->rc = broker_topic_create(h->broker, proto_str_of(m->name), m->partitions, names, values,
                                m->conf_name ? 1 : 0, NULL, err, sizeof(err));
    if (m->rc) fprintf(stderr, "topic %s: %s\n", m->name, err);
}

static inline int topic_make(harness_t *h, const char *name, int32_t partitions)
{
    mk_topic_t m = {name, partitions, NULL, NULL, 0};
    harness_on_loop(h, mk_topic_cb_, &m);
    return m.rc;
}

static inline int topic_make_conf(harness_t *h, const char *name, int32_t partitions, const char *k,
                                  const char *v)
{
    mk_topic_t m = {name, partitions, k, v, 0};
    harness_on_loop(h, mk_topic_cb_, &m);
    return m.rc;
}

typedef struct appender {
    const char *topic;
    int32_t partition;
    int count;         /* records */
    const int64_t *ts; /* per record, or NULL: now + i (old times roll segments) */
    size_t value_len;  /* bytes per value */
    int codec;
    int64_t base_offset; /* out */
    int rc;
} appender_t;

static inline void append_cb_(harness_t *h, void *arg)
{
    appender_t *a = arg;
    broker_partition_t *p = broker_partition_find(h->broker, proto_str_of(a->topic), a->partition);
    if (!p) {
        a->rc = KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    proto_wbuf_t w = {0}, scratch = {0};
    proto_batch_builder_t bb;
    proto_batch_params_t params = PROTO_BATCH_PARAMS_INIT;
    params.partition_leader_epoch = p->leader_epoch;
    proto_batch_builder_begin(&bb, &w, &params);
    char *value = malloc(a->value_len + 1);
    for (int i = 0; i < a->count; i++) {
        memset(value, 'a' + i % 26, a->value_len);
        char key[32];
        int kl = snprintf(key, sizeof(key), "k%d", i);
        proto_batch_builder_append(&bb, a->ts ? a->ts[i] : h->broker->now_ms() + i, key, kl, value,
                                   (int32_t)a->value_len, NULL, 0);
    }
    free(value);
    char err[256];
    a->rc = proto_batch_builder_finish(&bb, a->codec, -1, &scratch, err, sizeof(err));
    broker_log_append_info_t info;
    if (!a->rc)
        a->rc =
            broker_log_append(p->log, w.data, w.len, h->broker->now_ms(), &info, err, sizeof(err));
    if (!a->rc) {
        a->base_offset = info.base_offset;
        broker_notify_append(h->broker, p);
    } else {
        fprintf(stderr, "append: %s\n", err);
    }
    proto_wbuf_free(&w);
    proto_wbuf_free(&scratch);
}

/* Appends one batch of `count` records (values of value_len bytes) to
 * topic-partition on the loop thread, as Produce would, and wakes fetches.
 * Returns the batch's base offset, or -1. */
static inline int64_t append_batch(harness_t *h, const char *topic, int32_t partition, int count,
                                   size_t value_len)
{
    appender_t a = {topic, partition, count, NULL, value_len, PROTO_CODEC_NONE, -1, 0};
    harness_on_loop(h, append_cb_, &a);
    return a.rc ? -1 : a.base_offset;
}

static inline int64_t append_batch_ts(harness_t *h, const char *topic, int32_t partition, int count,
                                      const int64_t *ts, int codec)
{
    appender_t a = {topic, partition, count, ts, 8, codec, -1, 0};
    harness_on_loop(h, append_cb_, &a);
    return a.rc ? -1 : a.base_offset;
}

typedef struct leader_set {
    const char *topic;
    int32_t partition;
    int32_t leader_id, leader_epoch;
} leader_set_t;

static inline void leader_cb_(harness_t *h, void *arg)
{
    leader_set_t *l = arg;
    broker_partition_t *p = broker_partition_find(h->broker, proto_str_of(l->topic), l->partition);
    if (!p) return;
    p->leader_id = l->leader_id;
    p->leader_epoch = l->leader_epoch;
}

/* Hands a partition's leadership to another node (as in a cluster). */
static inline void leader_set(harness_t *h, const char *topic, int32_t partition, int32_t leader_id,
                              int32_t epoch)
{
    leader_set_t l = {topic, partition, leader_id, epoch};
    harness_on_loop(h, leader_cb_, &l);
}

typedef struct uuid_get {
    const char *topic;
    proto_uuid_t id;
} uuid_get_t;

static inline void uuid_cb_(harness_t *h, void *arg)
{
    uuid_get_t *u = arg;
    broker_topic_t *t = broker_topic_find(h->broker, proto_str_of(u->topic));
    if (t) u->id = t->id;
}

static inline proto_uuid_t topic_id_of(harness_t *h, const char *topic)
{
    uuid_get_t u = {topic, {{0}}};
    harness_on_loop(h, uuid_cb_, &u);
    return u.id;
}

typedef struct parked_q {
    const char *topic;
    int32_t partition;
    int count;
} parked_q_t;

static inline void parked_cb_(harness_t *h, void *arg)
{
    parked_q_t *q = arg;
    broker_partition_t *p = broker_partition_find(h->broker, proto_str_of(q->topic), q->partition);
    q->count = p ? broker_fetch_parked_count(p) : -1;
}

/* Polls (up to 10 s) until exactly `want` fetches are parked on the
 * partition. Returns 1 when they are. */
static inline int wait_parked(harness_t *h, const char *topic, int32_t partition, int want)
{
    for (int i = 0; i < 10000; i++) {
        parked_q_t q = {topic, partition, -1};
        harness_on_loop(h, parked_cb_, &q);
        if (q.count == want) return 1;
        usleep(1000);
    }
    return 0;
}

/* ---- Records in responses ---------------------------------------------------------- */

/* Counts the whole batches in records and the offsets they hold; *first gets
 * the first record's offset (-1 if none). Returns the number of records. */
static inline int count_records(proto_bytes_t records, int64_t *first, int64_t *last)
{
    if (first) *first = -1;
    if (last) *last = -1;
    if (records.len <= 0) return 0;
    proto_batch_iter_t bi;
    proto_batch_view_t bv;
    proto_wbuf_t scratch = {0};
    int n = 0;
    proto_batch_iter_init(&bi, records.ptr, (size_t)records.len);
    while (proto_batch_iter_next(&bi, &bv)) {
        proto_record_iter_t ri;
        proto_record_t r;
        if (proto_record_iter_init(&ri, &bv, 1, &scratch, 0)) break;
        while (proto_record_iter_next(&ri, &r)) {
            if (first && *first < 0) *first = r.offset;
            if (last) *last = r.offset;
            n++;
        }
        if (ri.err) {
            n = -1000;
            break;
        }
    }
    proto_wbuf_free(&scratch);
    return n;
}

#endif
