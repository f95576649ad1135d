/* Helpers for the consumer tests: topics and records made with librdkafka
 * (admin and producer, a client nobody here wrote), kc consumers, and
 * reading until a condition holds. Header-only; include after
 * client_test_util.h and cmocka. */
#ifndef KC_TEST_CLIENT_CONSUMER_UTIL_H
#define KC_TEST_CLIENT_CONSUMER_UTIL_H

#include <stdarg.h>
#include <time.h>

#include "kc/kc.h"
#include "kc/kc_consumer.h"

static inline int64_t ctu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Creates topic with `partitions` partitions through librdkafka's admin API. */
static inline int ctu_create_topic(const char *bootstrap, const char *topic, int partitions)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) return -1;
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, errstr, sizeof(errstr));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    int rc = -1;
    if (ev) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : 0;
        if (n == 1 &&
            (rd_kafka_topic_result_error(tr[0]) == 0 ||
             rd_kafka_topic_result_error(tr[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS))
            rc = 0;
        else if (n == 1)
            fprintf(stderr, "create %s: %s\n", topic, rd_kafka_topic_result_error_string(tr[0]));
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

/* Produces n records to topic/partition with librdkafka: key "k<i>", value
 * "v<i>" padded to value_size (0: unpadded), header "h"="<i>" when
 * with_headers. codec: "none", "gzip", ... Returns 0 when all delivered. */
static inline int ctu_produce(const char *bootstrap, const char *topic, int32_t partition, int n,
                              int start, const char *codec, int value_size, int with_headers,
                              const char *extra_key, const char *extra_val)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "compression.codec", codec, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof(errstr));
    if (extra_key) rd_kafka_conf_set(conf, extra_key, extra_val, errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) return -1;
    char *val = malloc((size_t)value_size + 32);
    for (int i = start; i < start + n; i++) {
        char key[32];
        snprintf(key, sizeof(key), "k%d", i);
        int vl = snprintf(val, 32, "v%d", i);
        if (value_size > vl) {
            memset(val + vl, 'x', (size_t)(value_size - vl));
            vl = value_size;
        }
        char hv[32];
        snprintf(hv, sizeof(hv), "%d", i);
        rd_kafka_resp_err_t err;
        if (with_headers)
            err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                    RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, vl),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_HEADER("h", hv, (ssize_t)strlen(hv)),
                                    RD_KAFKA_V_HEADER("null", NULL, -1), RD_KAFKA_V_END);
        else
            err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                    RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, vl),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 10);
            err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                    RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, vl),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        }
        if (err) {
            free(val);
            rd_kafka_destroy(rk);
            return -1;
        }
    }
    free(val);
    int rc = rd_kafka_flush(rk, 30000) == 0 ? 0 : -1;
    rd_kafka_destroy(rk);
    return rc;
}

/* A kc consumer on bootstrap with NULL-terminated key, value pairs. */
static inline kc_consumer_t *ctu_consumer(const char *bootstrap, ...)
{
    char errstr[256];
    kc_conf_t *conf = kc_conf_new();
    kc_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr));
    kc_conf_set(conf, "reconnect.backoff.ms", "10", errstr, sizeof(errstr));
    kc_conf_set(conf, "reconnect.backoff.max.ms", "100", errstr, sizeof(errstr));
    kc_conf_set(conf, "retry.backoff.ms", "10", errstr, sizeof(errstr));
    kc_conf_set(conf, "retry.backoff.max.ms", "100", errstr, sizeof(errstr));
    kc_conf_set(conf, "fetch.wait.max.ms", "100", errstr, sizeof(errstr));
    if (getenv("CTU_DEBUG")) {
        kc_conf_set(conf, "debug", "all", errstr, sizeof(errstr));
        kc_conf_set(conf, "log_level", "7", errstr, sizeof(errstr));
    }
    va_list ap;
    va_start(ap, bootstrap);
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        if (kc_conf_set(conf, k, v, errstr, sizeof(errstr)) != 0) {
            fprintf(stderr, "%s: %s\n", k, errstr);
            va_end(ap);
            kc_conf_destroy(conf);
            return NULL;
        }
    }
    va_end(ap);
    kc_consumer_t *c = kc_consumer_new(conf, errstr, sizeof(errstr));
    if (!c) {
        fprintf(stderr, "kc_consumer_new: %s\n", errstr);
        kc_conf_destroy(conf);
    }
    return c;
}

static inline kc_err_t ctu_assign1(kc_consumer_t *c, const char *topic, int32_t partition,
                                   int64_t offset)
{
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(1);
    kc_topic_partition_list_add(l, topic, partition)->offset = offset;
    kc_err_t err = kc_assign(c, l);
    kc_topic_partition_list_destroy(l);
    return err;
}

/* The next record (not an event) within timeout_ms; events with err are
 * stored in *ev_err (last one) and destroyed. */
static inline kc_message_t *ctu_next_record(kc_consumer_t *c, int timeout_ms, kc_err_t *ev_err)
{
    int64_t end = ctu_now_ms() + timeout_ms;
    while (ctu_now_ms() < end) {
        kc_message_t *m = kc_consumer_poll(c, 100);
        if (!m) continue;
        if (m->err) {
            if (ev_err) *ev_err = m->err;
            kc_message_destroy(m);
            continue;
        }
        return m;
    }
    return NULL;
}

/* The next event with err == want within timeout_ms (records skipped). */
static inline int ctu_wait_event(kc_consumer_t *c, kc_err_t want, int timeout_ms)
{
    int64_t end = ctu_now_ms() + timeout_ms;
    while (ctu_now_ms() < end) {
        kc_message_t *m = kc_consumer_poll(c, 100);
        if (!m) continue;
        int hit = m->err == want;
        kc_message_destroy(m);
        if (hit) return 1;
    }
    return 0;
}

#endif
