/* rk_loadgen: a librdkafka load generator, the same client for every broker
 * bench/run_broker_bench.py compares (kc-broker, librdkafka's mock).
 *
 *   rk_loadgen --bootstrap HOST:PORT --topic T --count N --size S
 *              [--produce] [--consume] [--rewind] [--partition P]
 *
 * --produce sends N records of S bytes (null key, no headers) to partition P
 * and waits for every delivery report; --consume reads N records from the
 * beginning of partition P. --rewind makes the consumer start over at the
 * log start when it reaches the end before N records: librdkafka's mock keeps
 * only the newest few MB of a partition, so without it the mock could not
 * serve as many bytes as were produced (the log start and end are read
 * once, before consuming; nothing may produce meanwhile). Prints one JSON line per phase with
 * the client settings, counts, elapsed time, records/s, MB/s (1 MB = 1e6
 * bytes of record values) and the loadgen's own CPU seconds. Exit status is
 * non-zero when a phase did not complete. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

typedef struct {
    const char *bootstrap;
    const char *topic;
    long long count;
    size_t size;
    int partition;
    int produce;
    int consume;
    int rewind;
} opts_t;

/* Fixed producer settings, printed with every result so a figure always says
 * what it was measured with. Idempotence stays off: it is not what this
 * measures, and it adds InitProducerId to the peers' requirements. */
static const char *const producer_props[][2] = {
    {"acks", "1"},
    {"linger.ms", "5"},
    {"batch.size", "1000000"},
    {"batch.num.messages", "10000"},
    {"queue.buffering.max.messages", "1000000"},
    {"queue.buffering.max.kbytes", "1048576"},
    {"compression.type", "none"},
    {"enable.idempotence", "false"},
    {"max.in.flight.requests.per.connection", "5"},
    {"message.max.bytes", "1000000"},
};

/* Fixed consumer settings. No group.id: see start_at_beginning(). */
static const char *const consumer_props[][2] = {
    {"enable.partition.eof", "true"},
    {"fetch.wait.max.ms", "10"},
    {"fetch.min.bytes", "1"},
    {"fetch.message.max.bytes", "1048576"},
    {"fetch.max.bytes", "52428800"},
    {"queued.min.messages", "100000"},
    {"queued.max.messages.kbytes", "65536"},
    {"check.crcs", "false"},
};

#define N_PROPS(a) (sizeof(a) / sizeof((a)[0]))

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_sec(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void usage(void)
{
    fprintf(stderr, "usage: rk_loadgen --bootstrap HOST:PORT --topic T --count N --size S\n"
                    "                  [--produce] [--consume] [--rewind] [--partition P]\n");
}

static int parse_opts(opts_t *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->count = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--produce")) {
            o->produce = 1;
        } else if (!strcmp(a, "--consume")) {
            o->consume = 1;
        } else if (!strcmp(a, "--rewind")) {
            o->rewind = 1;
        } else if (v && !strcmp(a, "--bootstrap")) {
            o->bootstrap = v, i++;
        } else if (v && !strcmp(a, "--topic")) {
            o->topic = v, i++;
        } else if (v && !strcmp(a, "--count")) {
            o->count = strtoll(v, NULL, 10), i++;
        } else if (v && !strcmp(a, "--size")) {
            o->size = (size_t)strtoull(v, NULL, 10), i++;
        } else if (v && !strcmp(a, "--partition")) {
            o->partition = atoi(v), i++;
        } else {
            fprintf(stderr, "rk_loadgen: unknown or incomplete option '%s'\n", a);
            return -1;
        }
    }
    if (!o->bootstrap || !o->topic || o->count <= 0 || o->size == 0 || o->size > 900000 ||
        (!o->produce && !o->consume)) {
        fprintf(stderr, "rk_loadgen: need --bootstrap, --topic, --count > 0, "
                        "0 < --size <= 900000 and --produce and/or --consume\n");
        return -1;
    }
    return 0;
}

static rd_kafka_conf_t *make_conf(const opts_t *o, const char *const (*props)[2], size_t n)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, err, sizeof(err)) !=
        RD_KAFKA_CONF_OK)
        goto fail;
    for (size_t i = 0; i < n; i++)
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK)
            goto fail;
    return conf;
fail:
    fprintf(stderr, "rk_loadgen: %s\n", err);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static void print_props(const char *const (*props)[2], size_t n)
{
    printf("\"conf\":{");
    for (size_t i = 0; i < n; i++)
        printf("%s\"%s\":\"%s\"", i ? "," : "", props[i][0], props[i][1]);
    printf("}");
}

static void print_result(const char *phase, const opts_t *o, long long records, double secs,
                         double cpu, const char *const (*props)[2], size_t n, const char *error)
{
    double bytes = (double)records * (double)o->size;
    printf("{\"phase\":\"%s\",\"librdkafka\":\"%s\",\"topic\":\"%s\",\"partition\":%d,"
           "\"record_bytes\":%zu,\"records\":%lld,\"bytes\":%.0f,\"elapsed_s\":%.4f,"
           "\"records_per_s\":%.0f,\"mb_per_s\":%.2f,\"loadgen_cpu_s\":%.3f,",
           phase, rd_kafka_version_str(), o->topic, o->partition, o->size, records, bytes, secs,
           secs > 0 ? (double)records / secs : 0.0, secs > 0 ? bytes / secs / 1e6 : 0.0, cpu);
    print_props(props, n);
    if (error)
        printf(",\"error\":\"%s\"}\n", error);
    else
        printf("}\n");
    fflush(stdout);
}

/* ---- Produce -------------------------------------------------------------------- */

typedef struct {
    long long delivered;
    long long failed;
    rd_kafka_resp_err_t first_err;
    double last_dr;
} produce_state_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    produce_state_t *st = opaque;
    if (m->err) {
        if (!st->failed) st->first_err = m->err;
        st->failed++;
    } else {
        st->delivered++;
    }
    st->last_dr = now_sec();
}

static int run_produce(const opts_t *o)
{
    char err[512];
    produce_state_t st = {0};
    rd_kafka_conf_t *conf = make_conf(o, producer_props, N_PROPS(producer_props));
    if (!conf) return -1;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "rk_loadgen: producer: %s\n", err);
        return -1;
    }
    /* One payload for every record: flags 0 means librdkafka neither copies
     * nor frees it, so the client spends its CPU on the protocol, not on
     * memcpy of its own input. Not all zeros, not compressible by accident. */
    unsigned char *payload = malloc(o->size);
    if (!payload) {
        fprintf(stderr, "rk_loadgen: out of memory\n");
        rd_kafka_destroy(rk);
        return -1;
    }
    for (size_t i = 0; i < o->size; i++)
        payload[i] = (unsigned char)('a' + (i * 7 + i / 13) % 26);

    double cpu0 = cpu_sec(), t0 = now_sec();
    const char *error = NULL;
    for (long long i = 0; i < o->count && !error; i++) {
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(o->partition),
                RD_KAFKA_V_VALUE(payload, o->size), RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                error = rd_kafka_err2str(e);
                break;
            }
            rd_kafka_poll(rk, 1);
        }
        if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
    }
    /* Every record must be acknowledged (or failed) before the clock stops. */
    while (!error && st.delivered + st.failed < o->count) {
        rd_kafka_poll(rk, 100);
        if (now_sec() - t0 > 300) error = "timed out waiting for delivery reports";
    }
    double secs = (st.last_dr > 0 ? st.last_dr : now_sec()) - t0;
    double cpu = cpu_sec() - cpu0;
    if (!error && st.failed) error = rd_kafka_err2str(st.first_err);
    print_result("produce", o, st.delivered, secs, cpu, producer_props, N_PROPS(producer_props),
                 error);
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    free(payload);
    return error ? -1 : 0;
}

/* ---- Consume -------------------------------------------------------------------- */

/* The legacy per-partition consumer: it needs no group.id (the high-level
 * consumer refuses assign() without one) and so no group coordinator on
 * either peer. */
static int start_at_beginning(rd_kafka_topic_t *rkt, const opts_t *o)
{
    if (rd_kafka_consume_start(rkt, o->partition, RD_KAFKA_OFFSET_BEGINNING) != 0) {
        fprintf(stderr, "rk_loadgen: consume_start: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    return 0;
}

/* --rewind: seek back to the log start as soon as the last record is in
 * hand, without waiting for an end-of-partition round trip, so the rewinds
 * cost one seek each and the figure stays about fetching. */
static int rewind_to(rd_kafka_topic_t *rkt, const opts_t *o, int64_t low)
{
    rd_kafka_resp_err_t e = rd_kafka_seek(rkt, o->partition, low, 10000);
    if (e) fprintf(stderr, "rk_loadgen: seek to %" PRId64 ": %s\n", low, rd_kafka_err2str(e));
    return e ? -1 : 0;
}

static int run_consume(const opts_t *o)
{
    char err[512];
    rd_kafka_conf_t *conf = make_conf(o, consumer_props, N_PROPS(consumer_props));
    if (!conf) return -1;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "rk_loadgen: consumer: %s\n", err);
        return -1;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    if (!rkt || start_at_beginning(rkt, o) != 0) {
        if (rkt) rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        return -1;
    }

    int64_t low = 0, high = 0;
    if (o->rewind) {
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, o->topic, o->partition, &low, &high, 10000);
        if (e) {
            fprintf(stderr, "rk_loadgen: watermarks: %s\n", rd_kafka_err2str(e));
            rd_kafka_consume_stop(rkt, o->partition);
            rd_kafka_topic_destroy(rkt);
            rd_kafka_destroy(rk);
            return -1;
        }
    }

    enum { BATCH = 1000 };
    rd_kafka_message_t *msgs[BATCH];
    long long records = 0, rewinds = 0;
    const char *error = NULL;
    double cpu0 = cpu_sec(), t0 = now_sec(), first = 0, last = 0, idle_since = t0;
    while (records < o->count && !error) {
        ssize_t n = rd_kafka_consume_batch(rkt, o->partition, 100, msgs, BATCH);
        if (n < 0) {
            error = rd_kafka_err2str(rd_kafka_last_error());
            break;
        }
        double now = now_sec();
        if (n == 0 && now - idle_since > 30) error = "no records for 30 s";
        int at_end = 0;
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                at_end = 1;
            } else if (m->err) {
                fprintf(stderr, "rk_loadgen: consume: %s\n", rd_kafka_message_errstr(m));
                if (!error) error = "consumer error";
            } else if (records < o->count) {
                if (!first) first = now;
                records++;
                last = now;
                idle_since = now;
                if (o->rewind && m->offset + 1 >= high) at_end = 1;
            }
            rd_kafka_message_destroy(m);
        }
        if (at_end && records < o->count && !error) {
            if (!o->rewind) {
                error = "end of partition before --count records";
            } else {
                rewinds++;
                if (rewind_to(rkt, o, low) != 0) error = "seek to the log start failed";
            }
        }
    }
    double cpu = cpu_sec() - cpu0;
    /* Throughput runs from the first record to the last: the metadata and
     * offset look-ups before the first fetch are not the broker's data path. */
    double secs = first ? last - first : now_sec() - t0;
    print_result("consume", o, records, secs, cpu, consumer_props, N_PROPS(consumer_props), error);
    if (o->rewind)
        fprintf(stderr, "rk_loadgen: consumer went back to the log start %lld times\n", rewinds);
    rd_kafka_consume_stop(rkt, o->partition);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return error ? -1 : 0;
}

int main(int argc, char **argv)
{
    opts_t o;
    if (parse_opts(&o, argc, argv) != 0) {
        usage();
        return 2;
    }
    int rc = 0;
    if (o.produce) rc = run_produce(&o);
    if (rc == 0 && o.consume) rc = run_consume(&o);
    return rc == 0 ? 0 : 1;
}
