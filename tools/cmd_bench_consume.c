/* kc bench consume: reads COUNT records from the beginning of every
 * partition of a topic (assigned, no group) and reports the rate. With --e2e
 * it also reports each record's age when handed out (now minus its
 * CreateTime), which means something only while a producer writes. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_bench.h"
#include "cmd_bench_stats.h"
#include "tool_common.h"

#define CMD "kc bench consume"

static const char bench_consume_usage[] =
    "usage: kc bench consume -b HOST:PORT -t TOPIC [-n COUNT] [-p PARTITION]\n"
    "                        [-X prop=value]... [-F FILE] [--json] [--e2e] "
    "[-q]\n"
    "  -n      records to read from the beginning (default 1000000); fails if "
    "the\n"
    "          topic holds fewer\n"
    "  -p      only this partition (default: all of them)\n"
    "  -X, -F  client properties, as for kc consume (the defaults are kc's "
    "own)\n"
    "  --json  end with one line of JSON: records, seconds, records_per_sec,\n"
    "          mb_per_sec, p50_ms, p99_ms (null without --e2e), errors, "
    "rss_kb, ...\n"
    "  --e2e   latency = the record's age when handed out (wall clock minus "
    "its\n"
    "          CreateTime); without it there are no latency figures\n"
    "  -q      no progress lines on stderr\n";

static const char *const consume_conf_names[] = {
    "fetch.min.bytes",           "fetch.wait.max.ms",          "fetch.max.bytes",
    "max.partition.fetch.bytes", "queued.max.messages.kbytes", "check.crcs",
};

typedef struct consume_opts {
    const char *topic;
    long long count, partition;
    int json, quiet, e2e;
} consume_opts_t;

static int parse_args(int argc, char **argv, kc_conf_t *conf, consume_opts_t *o)
{
    o->count = 1000000;
    o->partition = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s", bench_consume_usage);
            return 0x100;
        }
        if (!strcmp(a, "--json") || !strcmp(a, "-J") || !strcmp(a, "-q") || !strcmp(a, "--e2e")) {
            *(a[1] == 'q' ? &o->quiet : !strcmp(a, "--e2e") ? &o->e2e : &o->json) = 1;
            continue;
        }
        if (strcmp(a, "-b") && strcmp(a, "-X") && strcmp(a, "-F") && strcmp(a, "-t") &&
            strcmp(a, "-n") && strcmp(a, "-p")) {
            fprintf(stderr, CMD ": unknown option '%s'\n%s", a, bench_consume_usage);
            return 2;
        }
        const char *v = tool_opt_value(argc, argv, &i, CMD, bench_consume_usage);
        if (!v) return 2;
        int rc = tool_conf_option(conf, CMD, a, v);
        if (rc > 0) return rc;
        if (rc == 0) continue;
        rc = 0;
        if (!strcmp(a, "-t"))
            o->topic = v;
        else if (!strcmp(a, "-n"))
            rc = tool_parse_ll(CMD, a, v, 1, INT64_MAX / 2, &o->count);
        else
            rc = tool_parse_ll(CMD, a, v, 0, INT32_MAX, &o->partition);
        if (rc) return rc;
    }
    if (!o->topic) {
        fprintf(stderr, CMD ": no topic: use -t TOPIC\n%s", bench_consume_usage);
        return 2;
    }
    char err[256];
    /* The end of every partition before COUNT records is a failure, not a wait.
     */
    if (kc_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err))) {
        fprintf(stderr, CMD ": %s\n", err);
        return 1;
    }
    return tool_conf_require_brokers(conf, CMD, bench_consume_usage);
}

static kc_topic_partition_list_t *at_beginning(const kc_conf_t *conf, const consume_opts_t *o)
{
    int32_t *ids = NULL, one = (int32_t)o->partition;
    int cnt = 1;
    if (o->partition < 0 && tool_topic_partitions(conf, CMD, o->topic, 10000, &ids, &cnt))
        return NULL;
    kc_topic_partition_list_t *list = kc_topic_partition_list_new(cnt);
    for (int i = 0; list && i < cnt; i++) {
        kc_topic_partition_t *tp = kc_topic_partition_list_add(list, o->topic, ids ? ids[i] : one);
        if (!tp) {
            kc_topic_partition_list_destroy(list);
            list = NULL;
            break;
        }
        tp->offset = KC_OFFSET_BEGINNING;
    }
    if (!list) fprintf(stderr, CMD ": out of memory\n");
    free(ids);
    return list;
}

typedef struct bench_consume {
    kc_consumer_t *c;
    const consume_opts_t *o;
    kc_topic_partition_list_t *assigned;
    tool_eof_t eof;
    tool_hist_t lat;
    long long records, bytes, errors;
    uint64_t t0_ns, last_ns;
    char why[300];
} bench_consume_t;

/* Counts one message; the reason to stop early, or NULL. */
static const char *take(bench_consume_t *b, const kc_message_t *m)
{
    if (m->err == KC_ERR__PARTITION_EOF) {
        if (m->topic) tool_eof_mark(&b->eof, m->topic, m->partition, 1);
        if (!tool_eof_all(&b->eof, b->assigned)) return NULL;
        snprintf(b->why, sizeof(b->why), "every partition ended after %lld of %lld records",
                 b->records, b->o->count);
        return b->why;
    }
    if (m->err) {
        b->errors++;
        fprintf(stderr, CMD ": %s: %s\n", kc_err_name(m->err),
                m->errstr && *m->errstr ? m->errstr : kc_err_str(m->err));
        if (m->err != KC_ERR__FATAL && m->err != KC_ERR_UNKNOWN_TOPIC_OR_PARTITION &&
            m->err != KC_ERR__UNKNOWN_TOPIC && m->err != KC_ERR__UNKNOWN_PARTITION)
            return NULL;
        snprintf(b->why, sizeof(b->why), "%s", kc_err_name(m->err));
        return b->why;
    }
    b->records++;
    b->bytes += (long long)m->value_len;
    b->last_ns = tool_now_ns();
    if (m->topic) tool_eof_mark(&b->eof, m->topic, m->partition, 0);
    if (b->o->e2e && m->timestamp_type == KC_TIMESTAMP_CREATE_TIME) {
        int64_t age = tool_wall_ms() - m->timestamp_ms;
        tool_hist_add(&b->lat, age > 0 ? (uint64_t)age * 1000000u : 0);
    }
    return NULL;
}

static const char *consume_all(bench_consume_t *b, tool_progress_t *pr)
{
    uint64_t idle_since = tool_now_ns();
    while (b->records < b->o->count) {
        if (tool_stop) return "interrupted";
        kc_message_t *m = kc_consumer_poll(b->c, 100);
        if (!m) {
            if (tool_now_ns() - idle_since > 30000000000ull) return "no records for 30 s";
            tool_progress_tick(pr, b->records, b->bytes, -1);
            continue;
        }
        const char *why = take(b, m);
        kc_message_destroy(m);
        if (why) return why;
        idle_since = b->last_ns ? b->last_ns : idle_since;
        if ((b->records & 1023) == 0) tool_progress_tick(pr, b->records, b->bytes, -1);
    }
    return NULL;
}

static int run(kc_conf_t *conf, const consume_opts_t *o)
{
    static bench_consume_t b; /* the histogram is too large for the stack */
    b.o = o;
    char conf_json[1024], err[512] = "";
    tool_conf_json(conf, consume_conf_names,
                   sizeof(consume_conf_names) / sizeof(consume_conf_names[0]), conf_json,
                   sizeof(conf_json));
    b.assigned = at_beginning(conf, o);
    if (!b.assigned) {
        kc_conf_destroy(conf);
        return 1;
    }
    b.c = kc_consumer_new(conf, err, sizeof(err));
    if (!b.c) {
        fprintf(stderr, CMD ": %s\n", err);
        kc_conf_destroy(conf);
        kc_topic_partition_list_destroy(b.assigned);
        return 1;
    }
    tool_catch_signals();
    tool_progress_t pr;
    tool_progress_start(&pr, CMD, "read", 0, o->quiet);
    double cpu0 = tool_cpu_sec();
    /* The clock starts before the assignment: the first fetch's round trip
     * is part of reading COUNT records. */
    b.t0_ns = tool_now_ns();
    const char *error = NULL;
    kc_err_t e = kc_assign(b.c, b.assigned);
    if (e) {
        snprintf(b.why, sizeof(b.why), "kc_assign: %s", kc_err_name(e));
        error = b.why;
    } else {
        error = consume_all(&b, &pr);
    }
    double secs = (double)((b.last_ns ? b.last_ns : tool_now_ns()) - b.t0_ns) / 1e9;
    double cpu = tool_cpu_sec() - cpu0;
    kc_consumer_close(b.c);
    kc_consumer_destroy(b.c);

    tool_bench_result_t r = {
        .test = "consume",
        .client = "kc",
        .topic = o->topic,
        .record_bytes = b.records ? (size_t)(b.bytes / b.records) : 0,
        .records = b.records,
        .errors = b.errors,
        .bytes = b.bytes,
        .seconds = secs,
        .cpu_s = cpu,
        .rss_kb = tool_peak_rss_kb(),
        .lat = o->e2e ? &b.lat : NULL,
        .lat_what = "record age when handed out: now - CreateTime",
        .error = error,
    };
    tool_bench_print_text(stdout, &r);
    if (o->json) tool_bench_print_json(stdout, &r, conf_json);
    if (error) fprintf(stderr, CMD ": %s\n", error);
    tool_eof_clear(&b.eof);
    kc_topic_partition_list_destroy(b.assigned);
    return error ? 1 : 0;
}

int tool_bench_consume(int argc, char **argv)
{
    consume_opts_t o;
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
