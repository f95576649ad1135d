/* Helpers for the producer tests: topics created and records read back with
 * librdkafka (a client nobody here wrote), a delivery-report collector, and
 * kc producers built from "name=value" lists. Header-only, included once
 * per test program after client_test_util.h. */
#ifndef TEST_CLIENT_PRODUCER_UTIL_H
#define TEST_CLIENT_PRODUCER_UTIL_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "kc/kc.h"
#include "kc/kc_producer.h"

static inline uint64_t tp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- topics through librdkafka's admin API ---- */

static inline int tp_create_topic(const char *bootstrap, const char *topic, int partitions,
                                  const char *cfg_name, const char *cfg_value)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) return -1;
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, errstr, sizeof(errstr));
    if (cfg_name) rd_kafka_NewTopic_set_config(nt, cfg_name, cfg_value);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    int rc = -1;
    if (ev && rd_kafka_event_error(ev) == 0) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
        if (n == 1 &&
            (rd_kafka_topic_result_error(tr[0]) == 0 ||
             rd_kafka_topic_result_error(tr[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS))
            rc = 0;
        else if (n == 1)
            fprintf(stderr, "create %s: %s\n", topic, rd_kafka_topic_result_error_string(tr[0]));
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- reading back with librdkafka's consumer ---- */

typedef struct tp_rec {
    int32_t partition;
    int64_t offset;
    int64_t timestamp;
    int tstype;
    int has_key;
    char key[64];
    size_t value_len;
    char *value;
    int nhdr;
} tp_rec_t;

typedef struct tp_read {
    tp_rec_t *v;
    int n;
} tp_read_t;

static inline void tp_read_free(tp_read_t *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->v[i].value);
    free(r->v);
    memset(r, 0, sizeof(*r));
}

/* Reads partitions 0..nparts-1 of topic from the beginning until `expect`
 * records arrived (or nothing new came for a long while). Returns the
 * count read. */
static inline int tp_read_all(const char *bootstrap, const char *topic, int nparts, int expect,
                              tp_read_t *out)
{
    char errstr[512];
    memset(out, 0, sizeof(*out));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", "kc-producer-test", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) return -1;
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(nparts);
    for (int i = 0; i < nparts; i++)
        rd_kafka_topic_partition_list_add(tl, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    int cap = expect > 0 ? expect : 16;
    out->v = calloc((size_t)cap, sizeof(*out->v));
    uint64_t idle_until = tp_now_ms() + 20000;
    while (out->n < expect && tp_now_ms() < idle_until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (!m->err) {
            if (out->n == cap) {
                cap *= 2;
                out->v = realloc(out->v, sizeof(*out->v) * (size_t)cap);
            }
            tp_rec_t *r = &out->v[out->n++];
            memset(r, 0, sizeof(*r));
            r->partition = m->partition;
            r->offset = m->offset;
            rd_kafka_timestamp_type_t tt;
            r->timestamp = rd_kafka_message_timestamp(m, &tt);
            r->tstype = (int)tt;
            if (m->key) {
                r->has_key = 1;
                size_t kl = m->key_len < sizeof(r->key) - 1 ? m->key_len : sizeof(r->key) - 1;
                memcpy(r->key, m->key, kl);
            }
            if (m->payload) {
                r->value = malloc(m->len + 1);
                memcpy(r->value, m->payload, m->len);
                r->value[m->len] = '\0';
                r->value_len = m->len;
            }
            rd_kafka_headers_t *h = NULL;
            if (rd_kafka_message_headers(m, &h) == 0) r->nhdr = (int)rd_kafka_header_cnt(h);
            idle_until = tp_now_ms() + 20000;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return out->n;
}

/* ---- delivery reports ---- */

typedef struct tp_dr {
    int32_t partition;
    int64_t offset;
    int64_t timestamp;
    int tstype;
    kc_err_t err;
    int possibly_persisted;
    intptr_t opaque;
} tp_dr_t;

typedef struct tp_drs {
    tp_dr_t *v;
    int n, cap;
    int errors;
} tp_drs_t;

static inline void tp_on_dr(kc_producer_t *p, const kc_delivery_t *d, void *arg)
{
    (void)p;
    tp_drs_t *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = realloc(s->v, sizeof(*s->v) * (size_t)s->cap);
    }
    s->v[s->n++] = (tp_dr_t){d->partition,       d->offset, d->timestamp_ms,
                             d->timestamp_type,  d->err,    d->possibly_persisted,
                             (intptr_t)d->opaque};
    if (d->err) s->errors++;
}

static inline void tp_drs_free(tp_drs_t *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* A producer on bootstrap with the given NULL-terminated name, value
 * pairs, reporting into drs. NULL on failure (printed). */
static inline kc_producer_t *tp_producer(const char *bootstrap, tp_drs_t *drs, const char **props)
{
    char errstr[512];
    kc_conf_t *conf = kc_conf_new();
    if (kc_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr))) {
        fprintf(stderr, "%s\n", errstr);
        kc_conf_destroy(conf);
        return NULL;
    }
    for (int i = 0; props && props[i]; i += 2) {
        if (kc_conf_set(conf, props[i], props[i + 1], errstr, sizeof(errstr))) {
            fprintf(stderr, "%s\n", errstr);
            kc_conf_destroy(conf);
            return NULL;
        }
    }
    kc_conf_set_delivery_cb(conf, tp_on_dr, drs);
    kc_producer_t *p = kc_producer_new(conf, errstr, sizeof(errstr));
    if (!p) {
        fprintf(stderr, "kc_producer_new: %s\n", errstr);
        kc_conf_destroy(conf);
    }
    return p;
}

/* kc_produce of a keyed (key may be NULL) string value. */
static inline kc_err_t tp_produce(kc_producer_t *p, const char *topic, int32_t partition,
                                  const char *key, const char *value, intptr_t opaque)
{
    kc_produce_rec_t rec = {0};
    rec.topic = topic;
    rec.partition = partition;
    rec.key = key;
    rec.key_len = key ? strlen(key) : 0;
    rec.value = value;
    rec.value_len = value ? strlen(value) : 0;
    rec.opaque = (void *)opaque;
    return kc_produce(p, &rec, 0);
}

#endif
