/* kc produce: one record per input line (stdin or files), an optional key
 * delimiter and headers, like `kcat -P`. Every record is accounted for: the
 * exit status is 1 when any failed, with the first failures named. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_bench_stats.h"
#include "tool_common.h"
#include "tools.h"

#define CMD "kc produce"
/* Failures printed one by one; after that only counted. */
#define MAX_ERR_LINES 10

static const char produce_usage[] =
    "usage: kc produce -b HOST:PORT -t TOPIC [-p PARTITION] [-K DELIM] [-H "
    "name=value]...\n"
    "                  [-X prop=value]... [-F FILE] [-v] [INPUT...]\n"
    "  -b        bootstrap brokers (bootstrap.servers)\n"
    "  -t        topic to produce to\n"
    "  -p        partition (default: the partitioner chooses, per the key)\n"
    "  -K        key delimiter: a line's text before the first DELIM is the "
    "key, the\n"
    "            rest the value; a line without DELIM has a null key\n"
    "  -H        a header for every record (repeatable); \"name\" alone: null "
    "value\n"
    "  -X        set a client property, e.g. -X acks=all (see kc config "
    "--markdown client)\n"
    "  -F        read client properties from a .properties file\n"
    "  -v        print a summary on stderr\n"
    "  INPUT...  read these files instead of stdin (\"-\" is stdin)\n"
    "One record per line, without its newline; an empty line is an empty "
    "value.\n"
    "Exit status: 0 every record written, 1 some failed (named on stderr), 2 "
    "bad usage.\n";

typedef struct produce_state {
    kc_producer_t *p;
    kc_produce_rec_t tmpl; /* topic, partition, headers: the same for every record */
    const char *key_delim;
    size_t key_delim_len;
    long long lines;     /* input lines read: a record's opaque is its line number */
    long long queued;    /* kc_produce() accepted */
    long long delivered; /* reported written */
    long long failed;    /* refused by kc_produce() or reported failed */
    long long bytes;     /* key + value bytes delivered */
    int err_lines;
} produce_state_t;

static void note_failure(produce_state_t *st, long long line, kc_err_t err, const char *why)
{
    st->failed++;
    if (st->err_lines++ < MAX_ERR_LINES)
        fprintf(stderr, CMD ": record of input line %lld failed: %s: %s\n", line, kc_err_name(err),
                why && *why ? why : kc_err_str(err));
    else if (st->err_lines == MAX_ERR_LINES + 1)
        fprintf(stderr, CMD ": (further failures counted, not shown)\n");
}

static void on_delivery(kc_producer_t *p, const kc_delivery_t *d, void *opaque)
{
    (void)p;
    produce_state_t *st = opaque;
    long long line = (long long)(uintptr_t)d->opaque;
    if (d->err) {
        note_failure(st, line, d->err, d->errstr);
        return;
    }
    st->delivered++;
}

static void produce_line(produce_state_t *st, char *line, size_t len)
{
    kc_produce_rec_t rec = st->tmpl;
    rec.value = line;
    rec.value_len = len;
    if (st->key_delim) {
        char *d = memmem(line, len, st->key_delim, st->key_delim_len);
        if (d) {
            rec.key = line;
            rec.key_len = (size_t)(d - line);
            rec.value = d + st->key_delim_len;
            rec.value_len = len - rec.key_len - st->key_delim_len;
        }
    }
    rec.opaque = (void *)(uintptr_t)st->lines;
    kc_err_t e;
    /* A full queue drains as reports are served: serve them and retry. */
    while ((e = kc_produce(st->p, &rec, 0)) == KC_ERR__QUEUE_FULL)
        kc_poll(st->p, 100);
    if (e) {
        note_failure(st, st->lines, e, NULL);
        return;
    }
    st->queued++;
    st->bytes += (long long)(rec.key_len + rec.value_len);
    if ((st->queued & 255) == 0) kc_poll(st->p, 0);
}

/* Produces every line of f; 0, or 1 after a read error. */
static int produce_stream(produce_state_t *st, FILE *f, const char *name)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    errno = 0;
    while (!tool_stop && (n = getline(&line, &cap, f)) >= 0) {
        st->lines++;
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n') len--;
        produce_line(st, line, len);
        errno = 0;
    }
    int rc = 0;
    if (ferror(f) && !tool_stop) {
        fprintf(stderr, CMD ": reading %s: %s\n", name, strerror(errno ? errno : EIO));
        rc = 1;
    }
    free(line);
    return rc;
}

static int produce_inputs(produce_state_t *st, char **inputs, int n)
{
    if (n == 0) return produce_stream(st, stdin, "stdin");
    for (int i = 0; i < n && !tool_stop; i++) {
        if (!strcmp(inputs[i], "-")) {
            if (produce_stream(st, stdin, "stdin")) return 1;
            continue;
        }
        FILE *f = fopen(inputs[i], "r");
        if (!f) {
            fprintf(stderr, CMD ": %s: %s\n", inputs[i], strerror(errno));
            return 1;
        }
        int rc = produce_stream(st, f, inputs[i]);
        fclose(f);
        if (rc) return rc;
    }
    return 0;
}

/* -H name=value into h; the string is argv's, split in place. */
static int parse_header(char *arg, kc_header_t *h)
{
    char *eq = strchr(arg, '=');
    if (eq == arg || *arg == '\0') {
        fprintf(stderr, CMD ": -H %s: want name=value\n", arg);
        return 2;
    }
    h->name = arg;
    h->value = NULL;
    h->value_len = 0;
    if (eq) {
        *eq = '\0';
        h->value = eq + 1;
        h->value_len = strlen(eq + 1);
    }
    return 0;
}

typedef struct produce_opts {
    const char *topic;
    long long partition;
    const char *key_delim;
    kc_header_t *headers;
    size_t header_cnt;
    int verbose;
    char **inputs;
    int input_cnt;
} produce_opts_t;

static int parse_args(int argc, char **argv, kc_conf_t *conf, produce_opts_t *o)
{
    o->partition = KC_PARTITION_ANY;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s", produce_usage);
            return 0x100;
        }
        if (!strcmp(a, "-v")) {
            o->verbose = 1;
            continue;
        }
        if (a[0] != '-' || !strcmp(a, "-")) {
            o->inputs[o->input_cnt++] = argv[i];
            continue;
        }
        if (strcmp(a, "-b") && strcmp(a, "-X") && strcmp(a, "-F") && strcmp(a, "-t") &&
            strcmp(a, "-p") && strcmp(a, "-K") && strcmp(a, "-H")) {
            fprintf(stderr, CMD ": unknown option '%s'\n%s", a, produce_usage);
            return 2;
        }
        const char *v = tool_opt_value(argc, argv, &i, CMD, produce_usage);
        if (!v) return 2;
        int rc = tool_conf_option(conf, CMD, a, v);
        if (rc >= 0) {
            if (rc) return rc;
        } else if (!strcmp(a, "-t")) {
            o->topic = v;
        } else if (!strcmp(a, "-p")) {
            if (tool_parse_ll(CMD, "-p", v, 0, INT32_MAX, &o->partition)) return 2;
        } else if (!strcmp(a, "-K")) {
            if (!*v) {
                fprintf(stderr, CMD ": -K: the key delimiter is empty\n");
                return 2;
            }
            o->key_delim = v;
        } else if (parse_header(argv[i], &o->headers[o->header_cnt++])) {
            return 2;
        }
    }
    if (!o->topic) {
        fprintf(stderr, CMD ": no topic: use -t TOPIC\n%s", produce_usage);
        return 2;
    }
    return tool_conf_require_brokers(conf, CMD, produce_usage);
}

static int run(kc_conf_t *conf, const produce_opts_t *o)
{
    produce_state_t st;
    memset(&st, 0, sizeof(st));
    st.tmpl.topic = o->topic;
    st.tmpl.partition = (int32_t)o->partition;
    st.tmpl.headers = o->header_cnt ? o->headers : NULL;
    st.tmpl.header_cnt = o->header_cnt;
    st.key_delim = o->key_delim;
    st.key_delim_len = o->key_delim ? strlen(o->key_delim) : 0;
    kc_conf_set_delivery_cb(conf, on_delivery, &st);

    char err[512] = "";
    st.p = kc_producer_new(conf, err, sizeof(err));
    if (!st.p) {
        fprintf(stderr, CMD ": %s\n", err);
        kc_conf_destroy(conf);
        return 1;
    }
    tool_catch_signals();
    double t0 = tool_now_sec();
    int rc = produce_inputs(&st, o->inputs, o->input_cnt);
    /* Wait for every report: message.timeout.ms bounds each record. */
    kc_flush(st.p, -1);
    double secs = tool_now_sec() - t0;
    kc_producer_destroy(st.p, 5000);

    if (o->verbose)
        fprintf(stderr,
                CMD ": %lld records written to %s, %lld failed, in %.3f s (%lld lines, %lld "
                    "bytes of keys and values read)\n",
                st.delivered, o->topic, st.failed, secs, st.lines, st.bytes);
    if (st.failed) {
        fprintf(stderr, CMD ": %lld of %lld records failed\n", st.failed, st.lines);
        rc = 1;
    } else if (st.delivered != st.queued) {
        fprintf(stderr, CMD ": %lld records got no delivery report\n", st.queued - st.delivered);
        rc = 1;
    }
    if (tool_stop) {
        fprintf(stderr, CMD ": interrupted after %lld lines\n", st.lines);
        rc = 1;
    }
    return rc;
}

int tool_produce(int argc, char **argv)
{
    produce_opts_t o;
    memset(&o, 0, sizeof(o));
    /* At most one header or input per argument: no reallocation needed. */
    o.headers = calloc((size_t)argc, sizeof(*o.headers));
    o.inputs = calloc((size_t)argc, sizeof(*o.inputs));
    kc_conf_t *conf = tool_conf_new();
    if (!o.headers || !o.inputs || !conf) {
        fprintf(stderr, CMD ": out of memory\n");
        free(o.headers);
        free(o.inputs);
        kc_conf_destroy(conf);
        return 1;
    }
    int rc = parse_args(argc, argv, conf, &o);
    if (rc == 0x100) {
        rc = 0;
        kc_conf_destroy(conf);
    } else if (rc) {
        kc_conf_destroy(conf);
    } else {
        rc = run(conf, &o);
    }
    free(o.headers);
    free(o.inputs);
    return rc;
}
