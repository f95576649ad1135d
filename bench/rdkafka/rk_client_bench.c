/* rk_client_bench: `kc bench produce|consume` with librdkafka as the client,
 * for bench/run_client_bench.py's side-by-side runs. Same options, same
 * payload, same clocks and the same summary and JSON line (it builds
 * tools/cmd_bench_stats.c), so the two programs differ only in the client.
 *
 *   rk_client_bench produce -b HOST:PORT -t TOPIC [-n COUNT] [-s SIZE] [-p P]
 *                           [-X prop=value]... [--json] [-q]
 *   rk_client_bench consume -b HOST:PORT -t TOPIC [-n COUNT] [-p P]
 *                           [-X prop=value]... [--json] [-q]
 *
 * Produce hands librdkafka each value in place in the text pool
 * (tool_bench_value) without RD_KAFKA_MSG_F_COPY (librdkafka's cheapest
 * way: no copy, no free; queued records then cost librdkafka no memory for
 * their values), or with it under --copy (librdkafka copies each value, as
 * kc always does), the send time riding in the message opaque. Consume uses the legacy
 * per-partition consumer on one queue (no group, as kc bench consume assigns without one), every
 * partition from the beginning. Only the properties given with -X are set: the runner gives both
 * clients the same ones. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "cmd_bench_stats.h"

typedef struct opts {
    int produce;
    const char *bootstrap, *topic;
    long long count, size, partition;
    int json, quiet;
    int copy; /* --copy: RD_KAFKA_MSG_F_COPY */
    const char *props[64][2];
    int prop_cnt;
    char conf_json[2048];
} opts_t;

static void usage(void)
{
    fprintf(stderr,
            "usage: rk_client_bench produce|consume -b HOST:PORT -t TOPIC [-n COUNT] [-s SIZE]\n"
            "                       [-p PARTITION] [-X prop=value]... [--json] [-q] [--copy]\n");
}

static int parse_opts(opts_t *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->count = 1000000;
    o->size = 100;
    o->partition = -1;
    if (argc < 2 || (strcmp(argv[1], "produce") && strcmp(argv[1], "consume"))) return -1;
    o->produce = !strcmp(argv[1], "produce");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            o->json = 1;
            continue;
        }
        if (!strcmp(a, "-q")) {
            o->quiet = 1;
            continue;
        }
        if (!strcmp(a, "--copy")) {
            o->copy = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "rk_client_bench: unknown or incomplete option '%s'\n", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "-b")) {
            o->bootstrap = v;
        } else if (!strcmp(a, "-t")) {
            o->topic = v;
        } else if (!strcmp(a, "-n")) {
            o->count = strtoll(v, NULL, 10);
        } else if (!strcmp(a, "-s")) {
            o->size = strtoll(v, NULL, 10);
        } else if (!strcmp(a, "-p")) {
            o->partition = strtoll(v, NULL, 10);
        } else if (!strcmp(a, "-X") && strchr(v, '=') && o->prop_cnt < 64) {
            char *eq = strchr(v, '=');
            *eq = '\0';
            o->props[o->prop_cnt][0] = v;
            o->props[o->prop_cnt++][1] = eq + 1;
        } else {
            fprintf(stderr, "rk_client_bench: bad option '%s %s'\n", a, v);
            return -1;
        }
    }
    if (!o->bootstrap || !o->topic || o->count < 1 || o->size < 0 || o->size > 100000000) {
        fprintf(stderr, "rk_client_bench: need -b, -t, -n >= 1, 0 <= -s <= 100000000\n");
        return -1;
    }
    return 0;
}

static rd_kafka_conf_t *make_conf(opts_t *o)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    size_t off = (size_t)snprintf(o->conf_json, sizeof(o->conf_json), ",\"conf\":{");
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, err, sizeof(err))) goto fail;
    for (int i = 0; i < o->prop_cnt; i++) {
        if (rd_kafka_conf_set(conf, o->props[i][0], o->props[i][1], err, sizeof(err))) goto fail;
        if (off < sizeof(o->conf_json))
            off +=
                (size_t)snprintf(o->conf_json + off, sizeof(o->conf_json) - off, "%s\"%s\":\"%s\"",
                                 i ? "," : "", o->props[i][0], o->props[i][1]);
    }
    if (off + 2 < sizeof(o->conf_json))
        strcat(o->conf_json, "}");
    else
        snprintf(o->conf_json, sizeof(o->conf_json), ",\"conf\":{}");
    return conf;
fail:
    fprintf(stderr, "rk_client_bench: %s\n", err);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static char client_name[64];

static int report(const opts_t *o, const char *test, long long records, long long errors,
                  long long bytes, double secs, double cpu, const tool_hist_t *lat,
                  const char *lat_what, const char *error)
{
    tool_bench_result_t r = {
        .test = test,
        .client = client_name,
        .topic = o->topic,
        .record_bytes = records ? (size_t)(bytes / records) : (size_t)o->size,
        .records = records,
        .errors = errors,
        .bytes = bytes,
        .seconds = secs,
        .cpu_s = cpu,
        .rss_kb = tool_peak_rss_kb(),
        .lat = lat,
        .lat_what = lat_what,
        .error = error,
    };
    tool_bench_print_text(stdout, &r);
    if (o->json) tool_bench_print_json(stdout, &r, o->conf_json);
    if (error) fprintf(stderr, "rk_client_bench: %s\n", error);
    return error ? 1 : 0;
}

/* ---- produce ------------------------------------------------------------------- */

typedef struct produce_state {
    int warming; /* the warm-up record's report is not counted */
    tool_reports_t rep;
    char first_err[256];
} produce_state_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    produce_state_t *st = opaque;
    if (st->warming) {
        if (m->err) st->warming = -1;
        return;
    }
    if (tool_reports_add(&st->rep, (uint64_t)(uintptr_t)m->_private, m->err != 0))
        snprintf(st->first_err, sizeof(st->first_err), "%s: %s", rd_kafka_err2name(m->err),
                 rd_kafka_err2str(m->err));
}

static int run_produce(opts_t *o)
{
    static produce_state_t st;
    char err[512];
    rd_kafka_conf_t *conf = make_conf(o);
    if (!conf) return 2;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "rk_client_bench: %s\n", err);
        return 1;
    }
    unsigned char *payload = tool_bench_pool_new((size_t)o->size);
    if (!payload) return 1;
    /* One record first, flushed, off the clock, as kc bench produce does:
     * librdkafka has the topic's metadata before timing starts. */
    st.warming = 1;
    rd_kafka_resp_err_t werr = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(o->topic),
        RD_KAFKA_V_PARTITION(o->partition < 0 ? RD_KAFKA_PARTITION_UA : (int32_t)o->partition),
        RD_KAFKA_V_VALUE(payload, (size_t)o->size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_END);
    if (!werr) werr = rd_kafka_flush(rk, 30000);
    if (werr || st.warming < 0) {
        fprintf(stderr, "rk_client_bench: the warm-up record failed: %s\n",
                werr ? rd_kafka_err2str(werr) : "see the delivery report");
        rd_kafka_destroy(rk);
        return 1;
    }
    st.warming = 0;
    tool_progress_t pr;
    tool_progress_start(&pr, "rk_client_bench produce", "delivered", (size_t)o->size, o->quiet);
    const char *error = NULL;
    static char why[300];
    long long queued = 0;
    double cpu0 = tool_cpu_sec();
    st.rep.expect = o->count;
    st.rep.t0_ns = tool_now_ns();
    for (long long i = 0; i < o->count && !error; i++) {
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(o->topic),
                RD_KAFKA_V_PARTITION(o->partition < 0 ? RD_KAFKA_PARTITION_UA
                                                      : (int32_t)o->partition),
                RD_KAFKA_V_VALUE((void *)tool_bench_value(payload, (size_t)o->size, i),
                                 (size_t)o->size),
                RD_KAFKA_V_MSGFLAGS(o->copy ? RD_KAFKA_MSG_F_COPY : 0),
                RD_KAFKA_V_OPAQUE((void *)(uintptr_t)tool_lat_stamp(i, st.rep.t0_ns)),
                RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                snprintf(why, sizeof(why), "producev: %s", rd_kafka_err2str(e));
                error = why;
                break;
            }
            rd_kafka_poll(rk, 1);
            tool_progress_tick(&pr, st.rep.delivered, -1,
                               queued - st.rep.delivered - st.rep.failed);
        }
        if (error) break;
        queued++;
        if ((i & 1023) == 0) {
            rd_kafka_poll(rk, 0);
            tool_progress_tick(&pr, st.rep.delivered, -1,
                               queued - st.rep.delivered - st.rep.failed);
        }
    }
    st.rep.expect = queued; /* fewer when the loop stopped early */
    while (st.rep.delivered + st.rep.failed < queued) {
        rd_kafka_poll(rk, 100);
        tool_progress_tick(&pr, st.rep.delivered, -1, queued - st.rep.delivered - st.rep.failed);
    }
    double secs =
        (double)(st.rep.last_report_ns ? st.rep.last_report_ns : tool_now_ns() - st.rep.t0_ns) /
        1e9;
    double cpu = tool_cpu_sec() - cpu0;
    if (!error && st.rep.failed) error = st.first_err;
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    free(payload);
    return report(o, "produce", st.rep.delivered, st.rep.failed + (o->count - queued),
                  st.rep.delivered * o->size, secs, cpu, &st.rep.lat,
                  "producev() to delivery report, 1 record in 16", error);
}

/* ---- consume ------------------------------------------------------------------- */

/* The partition ids to read: -p, or every partition of the topic. */
static int partitions_of(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const opts_t *o, int32_t **ids)
{
    if (o->partition >= 0) {
        *ids = malloc(sizeof(**ids));
        **ids = (int32_t)o->partition;
        return 1;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "rk_client_bench: metadata of %s: %s\n", o->topic,
                rd_kafka_err2str(e ? e : md->topics[0].err));
        if (md) rd_kafka_metadata_destroy(md);
        return -1;
    }
    int n = md->topics[0].partition_cnt;
    *ids = malloc(sizeof(**ids) * (size_t)n);
    for (int i = 0; i < n; i++)
        (*ids)[i] = md->topics[0].partitions[i].id;
    rd_kafka_metadata_destroy(md);
    return n;
}

static int run_consume(opts_t *o)
{
    char err[512];
    rd_kafka_conf_t *conf = make_conf(o);
    if (!conf) return 2;
    if (rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err))) {
        fprintf(stderr, "rk_client_bench: %s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "rk_client_bench: %s\n", err);
        return 1;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    int32_t *ids = NULL;
    int n = partitions_of(rk, rkt, o, &ids);
    if (n < 1) {
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        return 1;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    int32_t max_id = 0;
    for (int i = 0; i < n; i++)
        if (ids[i] > max_id) max_id = ids[i];
    char *at_end = calloc((size_t)max_id + 1, 1);
    int ended = 0;

    tool_progress_t pr;
    tool_progress_start(&pr, "rk_client_bench consume", "read", 0, o->quiet);
    const char *error = NULL;
    static char why[300];
    long long records = 0, bytes = 0, errors = 0;
    double cpu0 = tool_cpu_sec();
    uint64_t t0 = tool_now_ns(), last = 0, idle_since = t0;
    for (int i = 0; i < n; i++)
        if (rd_kafka_consume_start_queue(rkt, ids[i], RD_KAFKA_OFFSET_BEGINNING, q)) {
            snprintf(why, sizeof(why), "consume_start: %s",
                     rd_kafka_err2str(rd_kafka_last_error()));
            error = why;
        }
    enum { BATCH = 1000 };
    rd_kafka_message_t *msgs[BATCH];
    while (!error && records < o->count) {
        ssize_t got = rd_kafka_consume_batch_queue(q, 100, msgs, BATCH);
        if (got < 0) {
            snprintf(why, sizeof(why), "consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
            error = why;
            break;
        }
        if (got == 0 && tool_now_ns() - idle_since > 30000000000ull) error = "no records for 30 s";
        for (ssize_t i = 0; i < got; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (m->partition <= max_id && !at_end[m->partition]) {
                    at_end[m->partition] = 1;
                    ended++;
                }
            } else if (m->err) {
                errors++;
                fprintf(stderr, "rk_client_bench: %s\n", rd_kafka_message_errstr(m));
            } else if (records < o->count) {
                records++;
                bytes += (long long)m->len;
                if (m->partition <= max_id && at_end[m->partition]) {
                    at_end[m->partition] = 0;
                    ended--;
                }
                last = idle_since = tool_now_ns();
            }
            rd_kafka_message_destroy(m);
        }
        if (!error && records < o->count && ended == n) {
            snprintf(why, sizeof(why), "every partition ended after %lld of %lld records", records,
                     o->count);
            error = why;
        }
        tool_progress_tick(&pr, records, bytes, -1);
    }
    double secs = (double)((last ? last : tool_now_ns()) - t0) / 1e9;
    double cpu = tool_cpu_sec() - cpu0;
    for (int i = 0; i < n; i++)
        rd_kafka_consume_stop(rkt, ids[i]);
    rd_kafka_queue_destroy(q);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(ids);
    free(at_end);
    return report(o, "consume", records, errors, bytes, secs, cpu, NULL, NULL, error);
}

int main(int argc, char **argv)
{
    opts_t o;
    if (parse_opts(&o, argc, argv) != 0) {
        usage();
        return 2;
    }
    snprintf(client_name, sizeof(client_name), "librdkafka %s", rd_kafka_version_str());
    return o.produce ? run_produce(&o) : run_consume(&o);
}
