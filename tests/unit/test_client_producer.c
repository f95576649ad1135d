/* The producer against a kc-broker process: records produced, reported and
 * read back with librdkafka's consumer; partitioners, batching limits,
 * compression codecs, acks=0, headers, LogAppendTime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "client_test_util.h"
#include "test_client_producer_util.h"

#include "conf_client.h"
#include "producer/partitioner.h"
#include "producer/prod_int.h"

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

/* Produces n keyed records "v<i>" with key "k<i % nkeys>"; all must be
 * reported without error. */
static void produce_n(kc_producer_t *p, tp_drs_t *drs, const char *topic, int n, int nkeys)
{
    char key[32], val[32];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "k%d", i % nkeys);
        snprintf(val, sizeof(val), "v%d", i);
        assert_int_equal(tp_produce(p, topic, KC_PARTITION_ANY, nkeys ? key : NULL, val, i), 0);
    }
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs->n, n);
    for (int i = 0; i < drs->n; i++)
        assert_int_equal(drs->v[i].err, 0);
}

static void test_produce_read_back(void **state)
{
    (void)state;
    const char *topic = "prod-basic";
    assert_int_equal(tp_create_topic(broker.addr, topic, 3, NULL, NULL), 0);
    tp_drs_t drs = {0};
    const char *props[] = {"linger.ms", "2", NULL};
    kc_producer_t *p = tp_producer(broker.addr, &drs, props);
    assert_non_null(p);
    produce_n(p, &drs, topic, 3000, 50);
    assert_int_equal(kc_outq_len(p), 0);
    /* Offsets: per partition, 0..n-1 in produce order. */
    int64_t next[3] = {0, 0, 0};
    for (int i = 0; i < drs.n; i++) {
        tp_dr_t *d = &drs.v[i];
        assert_in_range(d->partition, 0, 2);
        assert_int_equal(d->offset, next[d->partition]);
        next[d->partition]++;
        assert_int_equal(d->tstype, KC_TIMESTAMP_CREATE_TIME);
        /* consistent_random: the key's CRC picks the partition. */
        char key[32];
        snprintf(key, sizeof(key), "k%d", (int)(d->opaque % 50));
        assert_int_equal(d->partition, producer_partition(CLIENT_PARTITIONER_CONSISTENT_RANDOM, key,
                                                          strlen(key), 3, 0));
    }
    kc_producer_destroy(p, 5000);

    tp_read_t rd;
    assert_int_equal(tp_read_all(broker.addr, topic, 3, 3000, &rd), 3000);
    /* Each record where its report said, values in produce order per partition. */
    int64_t last[3] = {-1, -1, -1};
    tp_dr_t *by_v = calloc(3000, sizeof(*by_v));
    for (int i = 0; i < drs.n; i++)
        by_v[drs.v[i].opaque] = drs.v[i];
    for (int i = 0; i < rd.n; i++) {
        int v = atoi(rd.v[i].value + 1);
        assert_int_equal(by_v[v].partition, rd.v[i].partition);
        assert_int_equal(by_v[v].offset, rd.v[i].offset);
        assert_true(v > last[rd.v[i].partition]);
        last[rd.v[i].partition] = v;
    }
    free(by_v);
    tp_read_free(&rd);
    tp_drs_free(&drs);
}

static void test_partitioners(void **state)
{
    (void)state;
    const char *topic = "prod-partitioners";
    assert_int_equal(tp_create_topic(broker.addr, topic, 7, NULL, NULL), 0);
    static const struct {
        const char *name;
        int kind;
    } kinds[] = {
        {"murmur2", CLIENT_PARTITIONER_MURMUR2},
        {"murmur2_random", CLIENT_PARTITIONER_MURMUR2_RANDOM},
        {"consistent", CLIENT_PARTITIONER_CONSISTENT},
        {"consistent_random", CLIENT_PARTITIONER_CONSISTENT_RANDOM},
        {"fnv1a", CLIENT_PARTITIONER_FNV1A},
        {"fnv1a_random", CLIENT_PARTITIONER_FNV1A_RANDOM},
    };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        tp_drs_t drs = {0};
        const char *props[] = {"partitioner", kinds[k].name, "linger.ms", "0", NULL};
        kc_producer_t *p = tp_producer(broker.addr, &drs, props);
        assert_non_null(p);
        char key[32];
        for (int i = 0; i < 200; i++) {
            snprintf(key, sizeof(key), "key-%d", i);
            assert_int_equal(tp_produce(p, topic, KC_PARTITION_ANY, key, "x", i), 0);
        }
        /* An explicit partition wins over the partitioner. */
        assert_int_equal(tp_produce(p, topic, 5, "key-0", "x", 1000), 0);
        assert_int_equal(kc_flush(p, 30000), 0);
        assert_int_equal(drs.n, 201);
        for (int i = 0; i < drs.n; i++) {
            assert_int_equal(drs.v[i].err, 0);
            if (drs.v[i].opaque == 1000) {
                assert_int_equal(drs.v[i].partition, 5);
                continue;
            }
            snprintf(key, sizeof(key), "key-%d", (int)drs.v[i].opaque);
            assert_int_equal(drs.v[i].partition,
                             producer_partition(kinds[k].kind, key, strlen(key), 7, 0));
        }
        kc_producer_destroy(p, 5000);
        tp_drs_free(&drs);
    }
}

/* kc_conf_set_partitioner_cb: the application's function places every
 * KC_PARTITION_ANY record (keyed or not); an explicit partition bypasses it;
 * an out-of-range answer fails the record with UNKNOWN_PARTITION. */
typedef struct part_cb_seen {
    atomic_int calls;
    atomic_int bad_args;
} part_cb_seen_t;

static int32_t digit_partitioner(const char *topic, const void *key, size_t key_len,
                                 int32_t partition_cnt, void *opaque)
{
    part_cb_seen_t *seen = opaque;
    atomic_fetch_add(&seen->calls, 1);
    if (strcmp(topic, "prod-partitioner-cb") || partition_cnt != 4)
        atomic_fetch_add(&seen->bad_args, 1);
    if (!key) return partition_cnt - 1;
    const char *k = key;
    if (key_len == 3 && !memcmp(k, "bad", 3)) return partition_cnt; /* out of range */
    return (k[0] - '0') % partition_cnt;
}

static void test_partitioner_cb(void **state)
{
    (void)state;
    const char *topic = "prod-partitioner-cb";
    assert_int_equal(tp_create_topic(broker.addr, topic, 4, NULL, NULL), 0);
    char errstr[256];
    kc_conf_t *conf = kc_conf_new();
    assert_int_equal(kc_conf_set(conf, "bootstrap.servers", broker.addr, errstr, sizeof(errstr)),
                     0);
    assert_int_equal(kc_conf_set(conf, "linger.ms", "0", errstr, sizeof(errstr)), 0);
    tp_drs_t drs = {0};
    part_cb_seen_t seen = {0};
    kc_conf_set_delivery_cb(conf, tp_on_dr, &drs);
    kc_conf_set_partitioner_cb(conf, digit_partitioner, &seen);
    kc_producer_t *p = kc_producer_new(conf, errstr, sizeof(errstr));
    assert_non_null(p);
    char key[8];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "%d", i % 10);
        assert_int_equal(tp_produce(p, topic, KC_PARTITION_ANY, key, "x", i), 0);
    }
    assert_int_equal(tp_produce(p, topic, KC_PARTITION_ANY, NULL, "x", 100), 0);
    assert_int_equal(tp_produce(p, topic, 2, "1", "x", 101), 0);
    assert_int_equal(kc_flush(p, 30000), 0);
    /* Metadata is known now: an out-of-range answer is refused at once. */
    assert_int_equal(tp_produce(p, topic, KC_PARTITION_ANY, "bad", "x", 102),
                     KC_ERR__UNKNOWN_PARTITION);
    assert_int_equal(drs.n, 42);
    for (int i = 0; i < drs.n; i++) {
        tp_dr_t *d = &drs.v[i];
        assert_int_equal(d->err, 0);
        if (d->opaque == 100)
            assert_int_equal(d->partition, 3);
        else if (d->opaque == 101)
            assert_int_equal(d->partition, 2);
        else
            assert_int_equal(d->partition, (int)(d->opaque % 10) % 4);
    }
    /* Called for the 41 placed records and the refused one, never for the
     * explicit partition, always with the topic and its partition count. */
    assert_int_equal(atomic_load(&seen.calls), 42);
    assert_int_equal(atomic_load(&seen.bad_args), 0);
    kc_producer_destroy(p, 5000);
    tp_drs_free(&drs);
}

/* Keyless records stick to one partition for sticky.partitioning.linger.ms;
 * with 0 they spread. The random partitioner is sticky for every record. */
static void test_sticky(void **state)
{
    (void)state;
    const char *topic = "prod-sticky";
    assert_int_equal(tp_create_topic(broker.addr, topic, 8, NULL, NULL), 0);
    for (int mode = 0; mode < 3; mode++) {
        tp_drs_t drs = {0};
        const char *sticky[] = {"sticky.partitioning.linger.ms", "600000", "partitioner",
                                "consistent_random", NULL};
        const char *spread[] = {"sticky.partitioning.linger.ms", "0", NULL};
        const char *rnd[] = {"sticky.partitioning.linger.ms", "600000", "partitioner", "random",
                             NULL};
        kc_producer_t *p = tp_producer(broker.addr, &drs,
                                       mode == 0   ? sticky
                                       : mode == 1 ? spread
                                                   : rnd);
        assert_non_null(p);
        char key[32];
        for (int i = 0; i < 300; i++) {
            snprintf(key, sizeof(key), "key-%d", i);
            assert_int_equal(tp_produce(p, topic, KC_PARTITION_ANY, mode == 2 ? key : NULL, "x", i),
                             0);
        }
        assert_int_equal(kc_flush(p, 30000), 0);
        assert_int_equal(drs.n, 300);
        int used[8] = {0}, nused = 0;
        for (int i = 0; i < drs.n; i++) {
            assert_int_equal(drs.v[i].err, 0);
            if (!used[drs.v[i].partition]++) nused++;
        }
        if (mode == 1)
            assert_true(nused >= 4);
        else
            assert_int_equal(nused, 1);
        kc_producer_destroy(p, 5000);
        tp_drs_free(&drs);
    }
}

/* batch.num.messages and batch.size close batches; linger.ms holds them. */
static void test_batch_limits(void **state)
{
    (void)state;
    const char *topic = "prod-batches";
    assert_int_equal(tp_create_topic(broker.addr, topic, 1, NULL, NULL), 0);
    tp_drs_t drs = {0};
    const char *props[] = {"linger.ms", "200000", "batch.num.messages", "10", NULL};
    kc_producer_t *p = tp_producer(broker.addr, &drs, props);
    assert_non_null(p);
    for (int i = 0; i < 105; i++)
        assert_int_equal(tp_produce(p, topic, 0, NULL, "0123456789", i), 0);
    /* Ten full batches leave; the five left wait for linger.ms. */
    int served = 0;
    for (int i = 0; i < 600 && served < 100; i++)
        served += kc_poll(p, 50);
    assert_int_equal(served, 100);
    assert_int_equal(kc_poll(p, 200), 0);
    assert_int_equal(kc_outq_len(p), 5);
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs.n, 105);
    prod_t *in = prod_of(p);
    assert_int_equal(atomic_load(&in->stat_batches), 11);
    assert_int_equal(atomic_load(&in->stat_max_batch_records), 10);
    kc_producer_destroy(p, 5000);
    tp_drs_free(&drs);

    /* batch.size: 1000-byte records in 4000-byte batches hold at most 3. */
    tp_drs_t drs2 = {0};
    const char *props2[] = {"linger.ms", "200000", "batch.size", "4000", NULL};
    p = tp_producer(broker.addr, &drs2, props2);
    assert_non_null(p);
    char big[1001];
    memset(big, 'b', 1000);
    big[1000] = '\0';
    for (int i = 0; i < 30; i++)
        assert_int_equal(tp_produce(p, topic, 0, NULL, big, i), 0);
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs2.errors, 0);
    in = prod_of(p);
    assert_int_equal(atomic_load(&in->stat_max_batch_records), 3);
    assert_int_equal(atomic_load(&in->stat_batches), 10);
    kc_producer_destroy(p, 5000);
    tp_drs_free(&drs2);
}

static void test_compression(void **state)
{
    (void)state;
    static const char *codecs[] = {"gzip", "snappy", "lz4", "zstd"};
    /* Each codec's highest level (snappy has none but 0). */
    static const char *levels[] = {"9", "0", "12", "22"};
    for (size_t c = 0; c < 4; c++) {
        char topic[64];
        snprintf(topic, sizeof(topic), "prod-codec-%s", codecs[c]);
        assert_int_equal(tp_create_topic(broker.addr, topic, 2, NULL, NULL), 0);
        tp_drs_t drs = {0};
        const char *props[] = {"compression.type",  codecs[c], "linger.ms", "20",
                               "compression.level", levels[c], NULL};
        kc_producer_t *p = tp_producer(broker.addr, &drs, props);
        assert_non_null(p);
        char val[200];
        for (int i = 0; i < 1000; i++) {
            snprintf(val, sizeof(val), "value %d repeated repeated repeated repeated %d", i, i);
            assert_int_equal(tp_produce(p, topic, i % 2, NULL, val, i), 0);
        }
        assert_int_equal(kc_flush(p, 30000), 0);
        assert_int_equal(drs.n, 1000);
        assert_int_equal(drs.errors, 0);
        kc_producer_destroy(p, 5000);
        tp_read_t rd;
        assert_int_equal(tp_read_all(broker.addr, topic, 2, 1000, &rd), 1000);
        for (int i = 0; i < rd.n; i++) {
            int v = atoi(rd.v[i].value + 6);
            snprintf(val, sizeof(val), "value %d repeated repeated repeated repeated %d", v, v);
            assert_string_equal(rd.v[i].value, val);
            assert_int_equal(rd.v[i].partition, v % 2);
        }
        tp_read_free(&rd);
        tp_drs_free(&drs);
    }
}

/* With a codec and a backlog (here: the broker stopped, one request in
 * flight), the thread that fills a batch compresses it itself; the batches
 * still leave in order, whole and once. */
static void test_compressed_by_producer(void **state)
{
    (void)state;
    const char *topic = "prod-compress-helper";
    assert_int_equal(tp_create_topic(broker.addr, topic, 1, NULL, NULL), 0);
    tp_drs_t drs = {0};
    const char *props[] = {"compression.type",
                           "lz4",
                           "batch.num.messages",
                           "100",
                           "linger.ms",
                           "5",
                           "max.in.flight.requests.per.connection",
                           "1",
                           NULL};
    kc_producer_t *p = tp_producer(broker.addr, &drs, props);
    assert_non_null(p);
    char val[200];
    /* Metadata and connection first, so the backlog is the broker's doing. */
    assert_int_equal(tp_produce(p, topic, 0, NULL, "warm-up", 0), 0);
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(kill(broker.pid, SIGSTOP), 0);
    for (int i = 1; i <= 2000; i++) {
        snprintf(val, sizeof(val), "value %d compressed compressed compressed %d", i, i);
        assert_int_equal(tp_produce(p, topic, 0, NULL, val, i), 0);
    }
    prod_t *in = prod_of(p);
    /* 20 batches: the first in flight, the second left for the sender, each
     * later one compressed by this thread as it closed. */
    assert_true(atomic_load(&in->stat_compressed_by_producer) >= 17);
    assert_int_equal(kill(broker.pid, SIGCONT), 0);
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs.n, 2001);
    assert_int_equal(drs.errors, 0);
    for (int i = 0; i < drs.n; i++) {
        assert_int_equal(drs.v[i].opaque, i);
        assert_int_equal(drs.v[i].offset, i);
    }
    kc_producer_destroy(p, 5000);
    tp_read_t rd;
    assert_int_equal(tp_read_all(broker.addr, topic, 1, 2001, &rd), 2001);
    for (int i = 1; i < rd.n; i++) {
        snprintf(val, sizeof(val), "value %d compressed compressed compressed %d", i, i);
        assert_string_equal(rd.v[i].value, val);
    }
    tp_read_free(&rd);
    tp_drs_free(&drs);
}

/* A purge that comes while a producing thread compresses a batch: the
 * batch is not freed under that thread; it is reported purged once the
 * compression ends, and nothing else is lost. */
typedef struct slow_batches {
    kc_producer_t *p;
    const char *topic;
    int n;
} slow_batches_t;

static void *produce_slow_batches(void *arg)
{
    slow_batches_t *a = arg;
    char val[1001];
    for (int i = 1; i <= a->n; i++) {
        /* Text gzip takes its time over (level 9): the window the purge hits. */
        snprintf(val, sizeof(val), "%0*d", 1000, i * 7919);
        if (tp_produce(a->p, a->topic, 0, NULL, val, i) != 0) break;
        /* Batch 1 on the wire before batch 2 closes, so that batch 3 is
         * the one this thread compresses. */
        while (i == 500 && atomic_load(&prod_of(a->p)->stat_batches) < 2)
            usleep(100);
    }
    return NULL;
}

/* Whether partition 0's ready queue holds a batch a producing thread is
 * compressing. */
static int compressing_now(kc_producer_t *p, const char *topic)
{
    prod_t *in = prod_of(p);
    int found = 0;
    pthread_rwlock_rdlock(&in->topics_lock);
    prod_topic_t *t = util_hmap_gets(&in->topics, topic);
    if (t) {
        pthread_mutex_lock(&t->lock);
        prod_part_t *pp = t->npart > 0 ? t->parts[0] : NULL;
        pthread_mutex_unlock(&t->lock);
        if (pp) {
            pthread_mutex_lock(&pp->lock);
            prod_batch_t *b;
            TAILQ_FOREACH(b, &pp->ready, link)
            found |= b->compressing;
            pthread_mutex_unlock(&pp->lock);
        }
    }
    pthread_rwlock_unlock(&in->topics_lock);
    return found;
}

static void test_purge_while_compressing(void **state)
{
    (void)state;
    const char *topic = "prod-purge-compressing";
    assert_int_equal(tp_create_topic(broker.addr, topic, 1, NULL, NULL), 0);
    tp_drs_t drs = {0};
    const char *props[] = {"compression.type",
                           "gzip",
                           "compression.level",
                           "9",
                           "batch.num.messages",
                           "500",
                           "linger.ms",
                           "5",
                           "max.in.flight.requests.per.connection",
                           "1",
                           NULL};
    kc_producer_t *p = tp_producer(broker.addr, &drs, props);
    assert_non_null(p);
    assert_int_equal(tp_produce(p, topic, 0, NULL, "warm-up", 0), 0);
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(kill(broker.pid, SIGSTOP), 0);
    /* Batch 1 goes (and hangs), batch 2 waits, batch 3 is compressed by the
     * thread that closes it. */
    slow_batches_t a = {p, topic, 1500};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, produce_slow_batches, &a), 0);
    int seen = 0;
    for (int i = 0; i < 200000 && !seen; i++) {
        seen = compressing_now(p, topic);
        if (!seen) usleep(50);
    }
    assert_true(seen);
    assert_int_equal(kc_purge(p, KC_PURGE_F_QUEUE), 0);
    pthread_join(th, NULL);
    assert_int_equal(kill(broker.pid, SIGCONT), 0);
    assert_int_equal(kc_flush(p, 30000), 0);
    /* Every record reported once: batch 1 written, batches 2 and 3 purged. */
    assert_int_equal(drs.n, 1501);
    int ok = 0, purged = 0;
    for (int i = 1; i < drs.n; i++) {
        if (drs.v[i].err == 0)
            ok++;
        else if (drs.v[i].err == KC_ERR__PURGED)
            purged++;
    }
    assert_int_equal(ok, 500);
    assert_int_equal(purged, 1000);
    kc_producer_destroy(p, 5000);
    tp_drs_free(&drs);
}

/* Headers, null values, explicit timestamps, copy-in versus hand-over. */
static int freed;
static void free_value(void *value, void *opaque)
{
    (void)opaque;
    free(value);
    freed++;
}

static void test_record_fields(void **state)
{
    (void)state;
    const char *topic = "prod-fields";
    assert_int_equal(tp_create_topic(broker.addr, topic, 1, NULL, NULL), 0);
    tp_drs_t drs = {0};
    kc_producer_t *p = tp_producer(broker.addr, &drs, NULL);
    assert_non_null(p);
    kc_header_t hdrs[2] = {{"h1", "one", 3}, {"h2", NULL, 0}};
    kc_produce_rec_t rec = {.topic = topic,
                            .partition = 0,
                            .key = "k",
                            .key_len = 1,
                            .value = "with headers",
                            .value_len = 12,
                            .headers = hdrs,
                            .header_cnt = 2,
                            .timestamp_ms = 1700000000123,
                            .opaque = (void *)1};
    assert_int_equal(kc_produce(p, &rec, 0), 0);
    kc_produce_rec_t tomb = {
        .topic = topic, .partition = 0, .key = "k", .key_len = 1, .opaque = (void *)2};
    assert_int_equal(kc_produce(p, &tomb, 0), 0);
    char *owned = strdup("handed over");
    kc_produce_rec_t ho = {.topic = topic,
                           .partition = 0,
                           .value = owned,
                           .value_len = 11,
                           .opaque = (void *)3,
                           .free_cb = free_value};
    assert_int_equal(kc_produce(p, &ho, KC_PRODUCE_F_FREE), 0);
    assert_int_equal(freed, 1);
    /* Bad arguments fail without a report (and still free a handed-over value). */
    kc_produce_rec_t bad = {.topic = NULL};
    assert_int_equal(kc_produce(p, &bad, 0), KC_ERR__INVALID_ARG);
    kc_produce_rec_t badp = {.topic = topic, .partition = -5};
    assert_int_equal(kc_produce(p, &badp, 0), KC_ERR__INVALID_ARG);
    kc_produce_rec_t hof = {
        .topic = NULL, .value = strdup("x"), .value_len = 1, .free_cb = free_value};
    assert_int_equal(kc_produce(p, &hof, KC_PRODUCE_F_FREE), KC_ERR__INVALID_ARG);
    assert_int_equal(freed, 2);
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs.n, 3);
    assert_int_equal(drs.errors, 0);
    assert_int_equal(drs.v[0].timestamp, 1700000000123);
    kc_producer_destroy(p, 5000);

    tp_read_t rd;
    assert_int_equal(tp_read_all(broker.addr, topic, 1, 3, &rd), 3);
    assert_string_equal(rd.v[0].value, "with headers");
    assert_int_equal(rd.v[0].nhdr, 2);
    assert_int_equal(rd.v[0].timestamp, 1700000000123);
    assert_string_equal(rd.v[0].key, "k");
    assert_null(rd.v[1].value);
    assert_false(rd.v[2].has_key);
    assert_string_equal(rd.v[2].value, "handed over");
    tp_read_free(&rd);
    tp_drs_free(&drs);
}

static void test_log_append_time(void **state)
{
    (void)state;
    const char *topic = "prod-lat";
    assert_int_equal(
        tp_create_topic(broker.addr, topic, 1, "message.timestamp.type", "LogAppendTime"), 0);
    tp_drs_t drs = {0};
    kc_producer_t *p = tp_producer(broker.addr, &drs, NULL);
    assert_non_null(p);
    kc_produce_rec_t rec = {
        .topic = topic, .partition = 0, .value = "v", .value_len = 1, .timestamp_ms = 1000};
    assert_int_equal(kc_produce(p, &rec, 0), 0);
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs.n, 1);
    assert_int_equal(drs.v[0].err, 0);
    assert_int_equal(drs.v[0].tstype, KC_TIMESTAMP_LOG_APPEND_TIME);
    assert_true(drs.v[0].timestamp > 1000);
    kc_producer_destroy(p, 5000);
    tp_drs_free(&drs);
}

static void test_acks0(void **state)
{
    (void)state;
    const char *topic = "prod-acks0";
    assert_int_equal(tp_create_topic(broker.addr, topic, 1, NULL, NULL), 0);
    tp_drs_t drs = {0};
    const char *props[] = {"acks", "0", NULL};
    kc_producer_t *p = tp_producer(broker.addr, &drs, props);
    assert_non_null(p);
    for (int i = 0; i < 500; i++)
        assert_int_equal(tp_produce(p, topic, 0, NULL, "zero", i), 0);
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs.n, 500);
    for (int i = 0; i < drs.n; i++) {
        assert_int_equal(drs.v[i].err, 0);
        assert_int_equal(drs.v[i].offset, -1);
    }
    /* Then a normal request on the same connection still matches its answer. */
    kc_producer_destroy(p, 5000);
    tp_read_t rd;
    assert_int_equal(tp_read_all(broker.addr, topic, 1, 500, &rd), 500);
    tp_read_free(&rd);
    tp_drs_free(&drs);
}

static void test_unknown_topic_partition(void **state)
{
    (void)state;
    const char *topic = "prod-known";
    assert_int_equal(tp_create_topic(broker.addr, topic, 2, NULL, NULL), 0);
    tp_drs_t drs = {0};
    const char *props[] = {"allow.auto.create.topics", "false", NULL};
    kc_producer_t *p = tp_producer(broker.addr, &drs, props);
    assert_non_null(p);
    /* Before the metadata: accepted, then reported UNKNOWN_PARTITION. */
    assert_int_equal(tp_produce(p, topic, 9, NULL, "x", 1), 0);
    /* A topic the cluster lacks (and is not asked to create). */
    assert_int_equal(tp_produce(p, "prod-no-such-topic", KC_PARTITION_ANY, NULL, "x", 2), 0);
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs.n, 2);
    for (int i = 0; i < 2; i++)
        assert_int_equal(drs.v[i].err,
                         drs.v[i].opaque == 1 ? KC_ERR__UNKNOWN_PARTITION : KC_ERR__UNKNOWN_TOPIC);
    /* Once known: refused at once. */
    assert_int_equal(tp_produce(p, topic, 9, NULL, "x", 3), KC_ERR__UNKNOWN_PARTITION);
    assert_int_equal(tp_produce(p, "prod-no-such-topic", 0, NULL, "x", 4), KC_ERR__UNKNOWN_TOPIC);
    kc_producer_destroy(p, 5000);
    tp_drs_free(&drs);

    /* A producer asks for missing topics by default (allow.auto.create.topics),
     * and kc-broker creates them: the record waits for the topic, then goes. */
    p = tp_producer(broker.addr, &drs, NULL);
    assert_non_null(p);
    assert_int_equal(tp_produce(p, "prod-auto-created", KC_PARTITION_ANY, NULL, "x", 5), 0);
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs.n, 1);
    assert_int_equal(drs.v[0].err, 0);
    assert_int_equal(drs.v[0].offset, 0);
    kc_producer_destroy(p, 5000);
    tp_drs_free(&drs);
}

/* Refusals without a report: a contradictory configuration (the caller
 * keeps its conf), a record larger than message.max.bytes. */
static void test_refusals(void **state)
{
    (void)state;
    char errstr[256];
    kc_conf_t *conf = kc_conf_new();
    assert_int_equal(kc_conf_set(conf, "bootstrap.servers", broker.addr, errstr, sizeof(errstr)),
                     0);
    assert_int_equal(kc_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)), 0);
    assert_int_equal(kc_conf_set(conf, "acks", "1", errstr, sizeof(errstr)), 0);
    assert_null(kc_producer_new(conf, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "acks"));
    assert_int_equal(kc_conf_set(conf, "acks", "all", errstr, sizeof(errstr)), 0);
    tp_drs_t drs = {0};
    kc_conf_set_delivery_cb(conf, tp_on_dr, &drs);
    kc_producer_t *p = kc_producer_new(conf, errstr, sizeof(errstr));
    assert_non_null(p);
    char *big = calloc(1, 1100000);
    kc_produce_rec_t rec = {
        .topic = "prod-basic", .partition = KC_PARTITION_ANY, .value = big, .value_len = 1100000};
    assert_int_equal(kc_produce(p, &rec, 0), KC_ERR_MESSAGE_TOO_LARGE);
    free(big);
    assert_int_equal(kc_outq_len(p), 0);
    assert_int_equal(kc_fatal_error(p, errstr, sizeof(errstr)), 0);
    kc_producer_destroy(p, 1000);
    assert_int_equal(drs.n, 0);
    kc_producer_destroy(NULL, 0);
}

typedef struct th_arg {
    kc_producer_t *p;
    int id;
    int errors;
} th_arg_t;

static void *produce_main(void *arg)
{
    th_arg_t *a = arg;
    char key[32], val[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "t%d-%d", a->id, i % 17);
        snprintf(val, sizeof(val), "%d:%d", a->id, i);
        kc_produce_rec_t rec = {.topic = a->id % 2 ? "prod-threads" : "prod-threads-b",
                                .partition = KC_PARTITION_ANY,
                                .key = i % 3 ? key : NULL,
                                .key_len = strlen(key),
                                .value = val,
                                .value_len = strlen(val),
                                .opaque = (void *)(intptr_t)(a->id * 5000 + i)};
        if (kc_produce(a->p, &rec, KC_PRODUCE_F_BLOCK) != 0) a->errors++;
    }
    return NULL;
}

/* Several application threads produce at once (two topics, keyed and
 * keyless records) while the main thread serves reports. */
static void test_threads(void **state)
{
    (void)state;
    assert_int_equal(tp_create_topic(broker.addr, "prod-threads", 3, NULL, NULL), 0);
    assert_int_equal(tp_create_topic(broker.addr, "prod-threads-b", 2, NULL, NULL), 0);
    tp_drs_t drs = {0};
    const char *props[] = {"queue.buffering.max.messages", "2000", "linger.ms", "1", NULL};
    kc_producer_t *p = tp_producer(broker.addr, &drs, props);
    assert_non_null(p);
    pthread_t th[4];
    th_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (th_arg_t){p, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, produce_main, &args[i]), 0);
    }
    while (drs.n < 20000)
        kc_poll(p, 100);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].errors, 0);
    }
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs.n, 20000);
    assert_int_equal(drs.errors, 0);
    char *seen = calloc(20000, 1);
    for (int i = 0; i < drs.n; i++) {
        assert_int_equal(seen[drs.v[i].opaque], 0);
        seen[drs.v[i].opaque] = 1;
    }
    free(seen);
    kc_producer_destroy(p, 5000);
    tp_read_t rd;
    assert_int_equal(tp_read_all(broker.addr, "prod-threads", 3, 10000, &rd), 10000);
    tp_read_free(&rd);
    tp_drs_free(&drs);
}

/* One Produce request carrying the batches of 150 partitions (more than the
 * 64 that net_conn references in place: this frame is encoded whole): every
 * record lands where its report says, in order. */
static void test_many_partitions_one_request(void **state)
{
    (void)state;
    enum { NPART = 150, PER = 20 };
    const char *topic = "prod-many-parts";
    assert_int_equal(tp_create_topic(broker.addr, topic, NPART, NULL, NULL), 0);
    tp_drs_t drs = {0};
    /* Nothing leaves before kc_flush(): then all 150 batches are ready at once. */
    const char *props[] = {"linger.ms", "60000", NULL};
    kc_producer_t *p = tp_producer(broker.addr, &drs, props);
    assert_non_null(p);
    char val[32];
    for (int i = 0; i < NPART * PER; i++) {
        snprintf(val, sizeof(val), "v%d", i);
        assert_int_equal(tp_produce(p, topic, i % NPART, NULL, val, i), 0);
    }
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs.n, NPART * PER);
    assert_int_equal(drs.errors, 0);
    prod_t *in = prod_of(p);
    assert_int_equal(atomic_load(&in->stat_batches), NPART);
    assert_int_equal(atomic_load(&in->stat_requests), 1);
    for (int i = 0; i < drs.n; i++) {
        assert_int_equal(drs.v[i].partition, (int)(drs.v[i].opaque % NPART));
        assert_int_equal(drs.v[i].offset, (int64_t)(drs.v[i].opaque / NPART));
    }
    kc_producer_destroy(p, 5000);
    tp_read_t rd;
    assert_int_equal(tp_read_all(broker.addr, topic, NPART, NPART * PER, &rd), NPART * PER);
    for (int i = 0; i < rd.n; i++) {
        int v = atoi(rd.v[i].value + 1);
        assert_int_equal(rd.v[i].partition, v % NPART);
        assert_int_equal(rd.v[i].offset, v / NPART);
    }
    tp_read_free(&rd);
    tp_drs_free(&drs);
}

/* A batch's buffer starts at what the partition's last batch held, so a
 * partition that fills its batches does not grow each one by copying; the
 * first batch, with nothing to go by, starts small. */
static void test_batch_buffer_sized_from_last(void **state)
{
    (void)state;
    const char *topic = "prod-buffer-size";
    assert_int_equal(tp_create_topic(broker.addr, topic, 1, NULL, NULL), 0);
    tp_drs_t drs = {0};
    const char *props[] = {"linger.ms", "60000", "batch.num.messages", "100", NULL};
    kc_producer_t *p = tp_producer(broker.addr, &drs, props);
    assert_non_null(p);
    char val[1001];
    memset(val, 'v', 1000);
    val[1000] = '\0';
    /* Metadata first, so that records go straight into batches. */
    assert_int_equal(tp_produce(p, topic, 0, NULL, "warm-up", 150), 0);
    assert_int_equal(kc_flush(p, 30000), 0);
    prod_t *in = prod_of(p);
    for (int i = 0; i < 150; i++) {
        assert_int_equal(tp_produce(p, topic, 0, NULL, val, i), 0);
        if (i != 0 && i != 149) continue;
        pthread_rwlock_rdlock(&in->topics_lock);
        assert_int_equal(in->ntopics, 1);
        prod_part_t *pp = in->topic_list[0]->parts[0];
        pthread_mutex_lock(&pp->lock);
        assert_non_null(pp->open);
        if (i == 0) {
            assert_true(pp->open->buf.cap < 100 * 1000);
        } else {
            assert_int_equal(pp->open->nrec, 50);
            assert_true(pp->last_size > 100 * 1000);
            assert_true(pp->open->buf.cap >= pp->last_size);
        }
        pthread_mutex_unlock(&pp->lock);
        pthread_rwlock_unlock(&in->topics_lock);
    }
    assert_int_equal(kc_flush(p, 30000), 0);
    assert_int_equal(drs.n, 151);
    assert_int_equal(drs.errors, 0);
    kc_producer_destroy(p, 5000);
    tp_drs_free(&drs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_produce_read_back),
        cmocka_unit_test(test_partitioners),
        cmocka_unit_test(test_partitioner_cb),
        cmocka_unit_test(test_sticky),
        cmocka_unit_test(test_batch_limits),
        cmocka_unit_test(test_compression),
        cmocka_unit_test(test_compressed_by_producer),
        cmocka_unit_test(test_purge_while_compressing),
        cmocka_unit_test(test_record_fields),
        cmocka_unit_test(test_log_append_time),
        cmocka_unit_test(test_acks0),
        cmocka_unit_test(test_unknown_topic_partition),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_many_partitions_one_request),
        cmocka_unit_test(test_batch_buffer_sized_from_last),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
