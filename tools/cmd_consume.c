/* kc consume: records of one or more topics to stdout in a kcat-style
 * format, as a group member (-g) or by assigning every partition. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_consume_fmt.h"
#include "tool_common.h"
#include "tools.h"

#define CMD "kc consume"

static const char consume_usage[] =
    "usage: kc consume -b HOST:PORT -t TOPIC [-t TOPIC]... [-p PARTITION] [-g "
    "GROUP]\n"
    "                  [-o beginning|end|stored|OFFSET|-N] [-c COUNT] [-e] [-f "
    "FORMAT]\n"
    "                  [-X prop=value]... [-F FILE] [-v]\n"
    "  -b  bootstrap brokers (bootstrap.servers)\n"
    "  -t  topic (repeatable; with -g a name starting with ^ is a regular "
    "expression)\n"
    "  -p  only this partition (not with -g)\n"
    "  -g  consume as a member of this group (subscribe); without it every "
    "partition\n"
    "      is assigned\n"
    "  -o  where to start: beginning (default), end, stored (the group's "
    "committed\n"
    "      offset), an absolute OFFSET, or -N: N records before the end of "
    "each\n"
    "      partition. With -g only beginning and end (auto.offset.reset for\n"
    "      partitions without a committed offset)\n"
    "  -c  exit after COUNT records\n"
    "  -e  exit once every assigned partition is read to its end\n"
    "  -f  output format (default \"%s\\n\"): %k key, %s value, %h headers\n"
    "      (name=value,...), %p partition, %o offset, %t topic, %T timestamp "
    "(ms),\n"
    "      %K / %S key / value length (-1: null), %% percent; \\n \\t \\r \\\\ "
    "\\0\n"
    "  -X  set a client property (see kc config --markdown client)\n"
    "  -F  read client properties from a .properties file\n"
    "  -v  print a summary on stderr\n"
    "Exit status: 0 done (or interrupted), 1 a failure, 2 bad usage.\n";

typedef struct consume_opts {
    const char **topics;
    int topic_cnt;
    long long partition; /* -1: all */
    const char *group;
    const char *offset_arg;
    int64_t offset;     /* absolute, or KC_OFFSET_* */
    long long from_end; /* -N: N > 0 */
    long long count;    /* 0: no limit */
    int exit_at_end;
    const char *format;
    int verbose;
} consume_opts_t;

/* -o's forms; 0 or 2. */
static int parse_offset(consume_opts_t *o, const char *v)
{
    o->offset_arg = v;
    o->from_end = 0;
    if (!strcmp(v, "beginning"))
        o->offset = KC_OFFSET_BEGINNING;
    else if (!strcmp(v, "end"))
        o->offset = KC_OFFSET_END;
    else if (!strcmp(v, "stored"))
        o->offset = KC_OFFSET_STORED;
    else if (v[0] == '-')
        return tool_parse_ll(CMD, "-o -N", v + 1, 1, INT64_MAX / 2, &o->from_end);
    else {
        long long off;
        if (tool_parse_ll(CMD, "-o", v, 0, INT64_MAX / 2, &off)) {
            fprintf(stderr, CMD ": -o: want beginning, end, stored, OFFSET or -N\n");
            return 2;
        }
        o->offset = off;
    }
    return 0;
}

static int check_args(kc_conf_t *conf, consume_opts_t *o)
{
    char err[512];
    if (o->topic_cnt == 0) {
        fprintf(stderr, CMD ": no topic: use -t TOPIC\n%s", consume_usage);
        return 2;
    }
    if (o->group) {
        if (o->partition >= 0) {
            fprintf(stderr, CMD ": -p and -g do not go together (the group assigns partitions)\n");
            return 2;
        }
        if (o->offset_arg && o->offset != KC_OFFSET_BEGINNING && o->offset != KC_OFFSET_END) {
            fprintf(stderr,
                    CMD ": -o %s: with -g only beginning or end (where partitions "
                        "without a committed offset start)\n",
                    o->offset_arg);
            return 2;
        }
        if (kc_conf_set(conf, "group.id", o->group, err, sizeof(err)) ||
            (o->offset_arg &&
             kc_conf_set(conf, "auto.offset.reset",
                         o->offset == KC_OFFSET_END ? "latest" : "earliest", err, sizeof(err)))) {
            fprintf(stderr, CMD ": -g: %s\n", err);
            return 2;
        }
    } else {
        if (o->offset == KC_OFFSET_STORED) {
            size_t sz = 0;
            if (kc_conf_get(conf, "group.id", NULL, &sz) != 0 || sz <= 1) {
                fprintf(stderr, CMD ": -o stored: needs a group (-X group.id=GROUP)\n");
                return 2;
            }
        }
        for (int i = 0; i < o->topic_cnt; i++)
            if (o->topics[i][0] == '^') {
                fprintf(stderr, CMD ": -t %s: a pattern needs -g\n", o->topics[i]);
                return 2;
            }
    }
    if (o->exit_at_end && kc_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err))) {
        fprintf(stderr, CMD ": -e: %s\n", err);
        return 2;
    }
    return tool_conf_require_brokers(conf, CMD, consume_usage);
}

static int parse_args(int argc, char **argv, kc_conf_t *conf, consume_opts_t *o)
{
    o->partition = -1;
    o->offset = KC_OFFSET_BEGINNING;
    o->format = "%s\\n";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s", consume_usage);
            return 0x100;
        }
        if (!strcmp(a, "-e") || !strcmp(a, "-v")) {
            *(a[1] == 'e' ? &o->exit_at_end : &o->verbose) = 1;
            continue;
        }
        if (strlen(a) != 2 || a[0] != '-' || !strchr("bXFtpgocf", a[1])) {
            fprintf(stderr, CMD ": unknown option '%s'\n%s", a, consume_usage);
            return 2;
        }
        const char *v = tool_opt_value(argc, argv, &i, CMD, consume_usage);
        if (!v) return 2;
        int rc = tool_conf_option(conf, CMD, a, v);
        if (rc > 0) return rc;
        if (rc == 0) continue;
        rc = 0;
        switch (a[1]) {
        case 't': o->topics[o->topic_cnt++] = v; break;
        case 'p': rc = tool_parse_ll(CMD, a, v, 0, INT32_MAX, &o->partition); break;
        case 'g': o->group = v; break;
        case 'o': rc = parse_offset(o, v); break;
        case 'c': rc = tool_parse_ll(CMD, a, v, 1, INT64_MAX, &o->count); break;
        case 'f': o->format = v; break;
        default: break;
        }
        if (rc) return rc;
    }
    return check_args(conf, o);
}

/* Where partition p of topic starts, for -o -N: N before the high watermark,
 * not before the log start. */
static int offset_from_end(kc_consumer_t *c, const char *topic, int32_t p, long long n,
                           int64_t *off)
{
    int64_t low, high;
    kc_err_t e = kc_query_watermark_offsets(c, topic, p, &low, &high, 10000);
    if (e) {
        fprintf(stderr, CMD ": %s [%" PRId32 "]: cannot read the end offset: %s\n", topic, p,
                kc_err_name(e));
        return 1;
    }
    *off = high - n < low ? low : high - n;
    return 0;
}

/* Every partition of every topic (or the -p one), at the -o offset. */
static int build_assignment(kc_consumer_t *c, const kc_conf_t *conf, const consume_opts_t *o,
                            kc_topic_partition_list_t **out)
{
    kc_topic_partition_list_t *list = kc_topic_partition_list_new(8);
    if (!list) return 1;
    int rc = 0;
    for (int i = 0; i < o->topic_cnt && rc == 0; i++) {
        int32_t *ids = NULL, one = (int32_t)o->partition;
        int cnt = 1;
        if (o->partition < 0)
            rc = tool_topic_partitions(conf, CMD, o->topics[i], 10000, &ids, &cnt);
        for (int j = 0; rc == 0 && j < cnt; j++) {
            int32_t p = ids ? ids[j] : one;
            kc_topic_partition_t *tp = kc_topic_partition_list_add(list, o->topics[i], p);
            if (!tp) {
                fprintf(stderr, CMD ": out of memory\n");
                rc = 1;
                break;
            }
            tp->offset = o->offset;
            if (o->from_end) rc = offset_from_end(c, o->topics[i], p, o->from_end, &tp->offset);
        }
        free(ids);
    }
    if (rc) {
        kc_topic_partition_list_destroy(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* Errors after which consuming cannot go on. */
static int is_fatal(kc_err_t e)
{
    return e == KC_ERR__FATAL || e == KC_ERR__UNKNOWN_TOPIC || e == KC_ERR__UNKNOWN_PARTITION ||
           e == KC_ERR_UNKNOWN_TOPIC_OR_PARTITION || e == KC_ERR_TOPIC_AUTHORIZATION_FAILED ||
           e == KC_ERR_GROUP_AUTHORIZATION_FAILED;
}

typedef struct consume_state {
    kc_consumer_t *c;
    const consume_opts_t *o;
    tool_fmt_t *fmt;
    tool_eof_t eof;
    long long records;
    int rc;
    int done;
} consume_state_t;

/* -e: whether every partition we hold is at its end. */
static int all_at_end(consume_state_t *st)
{
    kc_topic_partition_list_t *list = NULL;
    if (kc_assignment(st->c, &list) != 0) return 0;
    int all = tool_eof_all(&st->eof, list);
    kc_topic_partition_list_destroy(list);
    return all;
}

static void handle(consume_state_t *st, const kc_message_t *m)
{
    if (m->err == KC_ERR__PARTITION_EOF) {
        if (m->topic && tool_eof_mark(&st->eof, m->topic, m->partition, 1)) st->done = 1;
        if (st->o->exit_at_end && all_at_end(st)) st->done = 1;
        return;
    }
    if (m->err) {
        fprintf(stderr, CMD ": %s%s%s: %s\n", m->topic ? m->topic : "", m->topic ? " " : "",
                kc_err_name(m->err), m->errstr && *m->errstr ? m->errstr : kc_err_str(m->err));
        if (is_fatal(m->err)) {
            st->rc = 1;
            st->done = 1;
        }
        return;
    }
    tool_fmt_write(st->fmt, m, stdout);
    if (m->topic) tool_eof_mark(&st->eof, m->topic, m->partition, 0);
    if (++st->records == st->o->count) st->done = 1;
}

static int start(consume_state_t *st, const kc_conf_t *conf_copy)
{
    const consume_opts_t *o = st->o;
    kc_err_t e;
    if (o->group) {
        e = kc_subscribe(st->c, o->topics, o->topic_cnt);
    } else {
        kc_topic_partition_list_t *list = NULL;
        int rc = build_assignment(st->c, conf_copy, o, &list);
        if (rc) return rc;
        e = kc_assign(st->c, list);
        kc_topic_partition_list_destroy(list);
    }
    if (e) {
        fprintf(stderr, CMD ": cannot %s: %s: %s\n", o->group ? "subscribe" : "assign",
                kc_err_name(e), kc_err_str(e));
        return 1;
    }
    return 0;
}

static int run(kc_conf_t *conf, const consume_opts_t *o)
{
    consume_state_t st;
    memset(&st, 0, sizeof(st));
    st.o = o;
    char err[512] = "";
    st.fmt = tool_fmt_new(o->format, err, sizeof(err));
    if (!st.fmt) {
        fprintf(stderr, CMD ": -f: %s\n", err);
        kc_conf_destroy(conf);
        return 2;
    }
    /* The metadata look-up for the assignment needs the settings after the
     * consumer took conf. */
    kc_conf_t *copy = kc_conf_dup(conf);
    st.c = copy ? kc_consumer_new(conf, err, sizeof(err)) : NULL;
    if (!st.c) {
        fprintf(stderr, CMD ": %s\n", copy ? err : "out of memory");
        kc_conf_destroy(conf);
        kc_conf_destroy(copy);
        tool_fmt_destroy(st.fmt);
        return 1;
    }
    tool_catch_signals();
    st.rc = start(&st, copy);
    kc_conf_destroy(copy);
    while (st.rc == 0 && !st.done && !tool_stop) {
        kc_message_t *m = kc_consumer_poll(st.c, 200);
        if (!m) {
            /* Idle: show what was read so far (a pipe's buffer would hold it). */
            fflush(stdout);
            continue;
        }
        handle(&st, m);
        kc_message_destroy(m);
    }
    if (fflush(stdout) != 0) {
        perror(CMD ": stdout");
        st.rc = 1;
    }
    kc_consumer_close(st.c);
    kc_consumer_destroy(st.c);
    if (o->verbose) fprintf(stderr, CMD ": %lld records\n", st.records);
    tool_eof_clear(&st.eof);
    tool_fmt_destroy(st.fmt);
    return st.rc;
}

int tool_consume(int argc, char **argv)
{
    consume_opts_t o;
    memset(&o, 0, sizeof(o));
    o.topics = calloc((size_t)argc, sizeof(*o.topics));
    kc_conf_t *conf = tool_conf_new();
    if (!o.topics || !conf) {
        fprintf(stderr, CMD ": out of memory\n");
        free(o.topics);
        kc_conf_destroy(conf);
        return 1;
    }
    int rc = parse_args(argc, argv, conf, &o);
    if (rc)
        kc_conf_destroy(conf);
    else
        rc = run(conf, &o);
    free(o.topics);
    return rc == 0x100 ? 0 : rc;
}
