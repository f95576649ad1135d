/* kc bench produce: COUNT records of SIZE bytes as fast as the producer
 * takes them, with each record's delivery latency (kc_produce() to its
 * report). The send time rides in the record's opaque, so the benchmark
 * allocates nothing per record either. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_bench.h"
#include "cmd_bench_stats.h"
#include "tool_common.h"

#define CMD "kc bench produce"

static const char bench_produce_usage[] =
    "usage: kc bench produce -b HOST:PORT -t TOPIC [-n COUNT] [-s SIZE] [-p "
    "PARTITION]\n"
    "                        [-X prop=value]... [-F FILE] [--json] [-q]\n"
    "  -n      records to produce (default 1000000)\n"
    "  -s      value bytes per record (default 100); keys are null, no "
    "headers\n"
    "  -p      partition (default: the partitioner chooses)\n"
    "  -X, -F  client properties, as for kc produce (the defaults are kc's "
    "own)\n"
    "  --json  end with one line of JSON: records, seconds, records_per_sec, "
    "mb_per_sec,\n"
    "          p50_ms, p99_ms (delivery latency), errors, rss_kb (peak), ...\n"
    "  -q      no progress lines on stderr\n";

/* The properties a figure depends on, printed with it. */
static const char *const produce_conf_names[] = {
    "acks",
    "linger.ms",
    "batch.size",
    "batch.num.messages",
    "compression.type",
    "compression.level",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "max.in.flight.requests.per.connection",
    "enable.idempotence",
    "partitioner",
};

typedef struct bench_produce {
    kc_producer_t *p;
    int warming; /* the warm-up record's report is not counted */
    tool_reports_t rep;
    kc_err_t first_err;
    char first_errstr[256];
} bench_produce_t;

static void on_delivery(kc_producer_t *p, const kc_delivery_t *d, void *opaque)
{
    (void)p;
    bench_produce_t *b = opaque;
    if (b->warming) {
        if (d->err) b->warming = -1;
        return;
    }
    if (tool_reports_add(&b->rep, (uint64_t)(uintptr_t)d->opaque, d->err != 0)) {
        b->first_err = d->err;
        snprintf(b->first_errstr, sizeof(b->first_errstr), "%s: %s", kc_err_name(d->err),
                 d->errstr ? d->errstr : kc_err_str(d->err));
    }
}

typedef struct produce_opts {
    const char *topic;
    long long count, size, partition;
    int json, quiet;
} produce_opts_t;

static int parse_args(int argc, char **argv, kc_conf_t *conf, produce_opts_t *o)
{
    o->count = 1000000;
    o->size = 100;
    o->partition = KC_PARTITION_ANY;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s", bench_produce_usage);
            return 0x100;
        }
        if (!strcmp(a, "--json") || !strcmp(a, "-J")) {
            o->json = 1;
            continue;
        }
        if (!strcmp(a, "-q")) {
            o->quiet = 1;
            continue;
        }
        if (strcmp(a, "-b") && strcmp(a, "-X") && strcmp(a, "-F") && strcmp(a, "-t") &&
            strcmp(a, "-n") && strcmp(a, "-s") && strcmp(a, "-p")) {
            fprintf(stderr, CMD ": unknown option '%s'\n%s", a, bench_produce_usage);
            return 2;
        }
        const char *v = tool_opt_value(argc, argv, &i, CMD, bench_produce_usage);
        if (!v) return 2;
        int rc = tool_conf_option(conf, CMD, a, v);
        if (rc > 0) return rc;
        if (rc == 0) continue;
        rc = 0;
        if (!strcmp(a, "-t"))
            o->topic = v;
        else if (!strcmp(a, "-n"))
            rc = tool_parse_ll(CMD, a, v, 1, INT64_MAX / 2, &o->count);
        else if (!strcmp(a, "-s"))
            rc = tool_parse_ll(CMD, a, v, 0, 100000000, &o->size);
        else
            rc = tool_parse_ll(CMD, a, v, 0, INT32_MAX, &o->partition);
        if (rc) return rc;
    }
    if (!o->topic) {
        fprintf(stderr, CMD ": no topic: use -t TOPIC\n%s", bench_produce_usage);
        return 2;
    }
    return tool_conf_require_brokers(conf, CMD, bench_produce_usage);
}

/* Produces o->count records; the error that stopped it early, or NULL. */
static const char *produce_all(bench_produce_t *b, const produce_opts_t *o,
                               const unsigned char *payload, tool_progress_t *pr, long long *queued)
{
    static char why[300];
    kc_produce_rec_t rec = {
        .topic = o->topic,
        .partition = (int32_t)o->partition,
        .value_len = (size_t)o->size,
    };
    for (long long i = 0; i < o->count; i++) {
        kc_err_t e;
        rec.value = tool_bench_value(payload, (size_t)o->size, i);
        for (;;) {
            rec.opaque = (void *)(uintptr_t)tool_lat_stamp(i, b->rep.t0_ns);
            e = kc_produce(b->p, &rec, 0);
            if (e != KC_ERR__QUEUE_FULL) break;
            kc_poll(b->p, 1);
            tool_progress_tick(pr, b->rep.delivered, -1,
                               *queued - b->rep.delivered - b->rep.failed);
            if (tool_stop) return "interrupted";
        }
        if (e) {
            snprintf(why, sizeof(why), "kc_produce: %s: %s", kc_err_name(e), kc_err_str(e));
            return why;
        }
        ++*queued;
        if ((i & 1023) == 0) {
            kc_poll(b->p, 0);
            tool_progress_tick(pr, b->rep.delivered, -1,
                               *queued - b->rep.delivered - b->rep.failed);
            if (tool_stop) return "interrupted";
        }
    }
    return NULL;
}

static int run(kc_conf_t *conf, const produce_opts_t *o)
{
    static bench_produce_t b; /* the histogram is too large for the stack */
    char conf_json[2048];
    tool_conf_json(conf, produce_conf_names,
                   sizeof(produce_conf_names) / sizeof(produce_conf_names[0]), conf_json,
                   sizeof(conf_json));
    kc_conf_set_delivery_cb(conf, on_delivery, &b);
    char err[512] = "";
    b.p = kc_producer_new(conf, err, sizeof(err));
    if (!b.p) {
        fprintf(stderr, CMD ": %s\n", err);
        kc_conf_destroy(conf);
        return 1;
    }
    unsigned char *payload = tool_bench_pool_new((size_t)o->size);
    if (!payload) {
        fprintf(stderr, CMD ": out of memory\n");
        kc_producer_destroy(b.p, 0);
        return 1;
    }
    tool_catch_signals();

    /* One record first, flushed, off the clock: the producer has learned the
     * topic's partitions and leader before timing starts, so the figures
     * are production, not start-up (librdkafka 2.0.2 takes up to a second
     * to ask for a new topic's metadata; rk_client_bench warms up the same
     * way). */
    b.warming = 1;
    kc_produce_rec_t warm = {.topic = o->topic,
                             .partition = (int32_t)o->partition,
                             .value = payload,
                             .value_len = (size_t)o->size};
    kc_err_t werr = kc_produce(b.p, &warm, 0);
    if (!werr) werr = kc_flush(b.p, 30000);
    if (werr || b.warming < 0) {
        fprintf(stderr, CMD ": the warm-up record failed: %s\n",
                werr ? kc_err_str(werr) : "see the delivery report");
        free(payload);
        kc_producer_destroy(b.p, 0);
        return 1;
    }
    b.warming = 0;

    tool_progress_t pr;
    tool_progress_start(&pr, CMD, "delivered", (size_t)o->size, o->quiet);
    double cpu0 = tool_cpu_sec();
    long long queued = 0;
    b.rep.expect = o->count;
    b.rep.t0_ns = tool_now_ns();
    const char *error = produce_all(&b, o, payload, &pr, &queued);
    b.rep.expect = queued; /* fewer when produce_all stopped early */
    /* The clock runs until the last report: every record must be answered. */
    while (b.rep.delivered + b.rep.failed < queued && !tool_stop) {
        kc_poll(b.p, 100);
        tool_progress_tick(&pr, b.rep.delivered, -1, queued - b.rep.delivered - b.rep.failed);
    }
    if (!error && tool_stop) error = "interrupted";
    double secs =
        (double)(b.rep.last_report_ns ? b.rep.last_report_ns : tool_now_ns() - b.rep.t0_ns) / 1e9;
    double cpu = tool_cpu_sec() - cpu0;
    if (!error && b.rep.failed) error = b.first_errstr;
    kc_producer_destroy(b.p, tool_stop ? 0 : 10000);

    tool_bench_result_t r = {
        .test = "produce",
        .client = "kc",
        .topic = o->topic,
        .record_bytes = (size_t)o->size,
        .records = b.rep.delivered,
        .errors = b.rep.failed + (queued < o->count ? o->count - queued : 0),
        .bytes = b.rep.delivered * o->size,
        .seconds = secs,
        .cpu_s = cpu,
        .rss_kb = tool_peak_rss_kb(),
        .lat = &b.rep.lat,
        .lat_what = "kc_produce() to delivery report, 1 record in 16",
        .error = error,
    };
    tool_bench_print_text(stdout, &r);
    if (o->json) tool_bench_print_json(stdout, &r, conf_json);
    free(payload);
    if (error) fprintf(stderr, CMD ": %s\n", error);
    return error ? 1 : 0;
}

int tool_bench_produce(int argc, char **argv)
{
    produce_opts_t o;
    memset(&o, 0, sizeof(o));
    kc_conf_t *conf = tool_conf_new();
    if (!conf) {
        fprintf(stderr, CMD ": out of memory\n");
        return 1;
    }
    int rc = parse_args(argc, argv, conf, &o);
    if (rc) {
        kc_conf_destroy(conf);
        return rc == 0x100 ? 0 : rc;
    }
    return run(conf, &o);
}
