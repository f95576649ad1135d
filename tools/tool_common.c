/* Options and helpers shared by kc produce, kc consume and kc bench. */
#include "tool_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t tool_stop;

kc_conf_t *tool_conf_new(void)
{
    kc_conf_t *conf = kc_conf_new();
    if (conf && kc_conf_set(conf, "log_level", "4", NULL, 0) != 0) {
        kc_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

static int set_prop(kc_conf_t *conf, const char *cmd, const char *arg)
{
    char name[256];
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name)) {
        fprintf(stderr, "%s: -X %s: want property=value\n", cmd, arg);
        return 2;
    }
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    char err[512];
    if (kc_conf_set(conf, name, eq + 1, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: -X %s: %s\n", cmd, name, err);
        return 2;
    }
    return 0;
}

int tool_conf_option(kc_conf_t *conf, const char *cmd, const char *opt, const char *value)
{
    char err[512];
    if (!strcmp(opt, "-X")) return set_prop(conf, cmd, value);
    if (!strcmp(opt, "-b")) {
        if (kc_conf_set(conf, "bootstrap.servers", value, err, sizeof(err)) == 0) return 0;
        fprintf(stderr, "%s: -b: %s\n", cmd, err);
        return 2;
    }
    if (!strcmp(opt, "-F")) {
        if (kc_conf_load_file(conf, value, err, sizeof(err)) == 0) return 0;
        fprintf(stderr, "%s: -F: %s\n", cmd, err);
        return 2;
    }
    return -1;
}

int tool_conf_require_brokers(const kc_conf_t *conf, const char *cmd, const char *usage)
{
    char val[8];
    size_t sz = sizeof(val);
    if (kc_conf_get(conf, "bootstrap.servers", val, &sz) == 0 && sz > 1) return 0;
    fprintf(stderr, "%s: no brokers: use -b HOST:PORT\n%s", cmd, usage);
    return 2;
}

const char *tool_opt_value(int argc, char **argv, int *i, const char *cmd, const char *usage)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n%s", cmd, argv[*i], usage);
        return NULL;
    }
    return argv[++*i];
}

int tool_parse_ll(const char *cmd, const char *opt, const char *s, long long min, long long max,
                  long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "%s: %s: want %lld..%lld, got \"%s\"\n", cmd, opt, min, max, s);
        return 2;
    }
    *out = v;
    return 0;
}

int tool_topic_partitions(const kc_conf_t *conf, const char *cmd, const char *topic, int timeout_ms,
                          int32_t **ids, int *cnt)
{
    char err[512] = "";
    kc_conf_t *copy = kc_conf_dup(conf);
    if (!copy) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return 1;
    }
    kc_client_t *client = kc_client_new(copy, err, sizeof(err));
    if (!client) {
        fprintf(stderr, "%s: %s\n", cmd, err);
        kc_conf_destroy(copy);
        return 1;
    }
    kc_metadata_t *md = NULL;
    int rc = 1;
    kc_err_t e = kc_metadata(client, topic, timeout_ms, &md, err, sizeof(err));
    if (e) {
        fprintf(stderr, "%s: cannot get metadata of topic %s (%s): %s\n", cmd, topic,
                kc_err_name(e), err);
    } else if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1) {
        kc_err_t te = md->topic_cnt == 1 ? md->topics[0].err : KC_ERR__UNKNOWN_TOPIC;
        fprintf(stderr, "%s: topic %s: %s (%s)\n", cmd, topic,
                te ? kc_err_str(te) : "no partitions", te ? kc_err_name(te) : "EMPTY");
    } else {
        const kc_metadata_topic_t *t = &md->topics[0];
        *ids = malloc(sizeof(**ids) * (size_t)t->partition_cnt);
        if (!*ids) {
            fprintf(stderr, "%s: out of memory\n", cmd);
        } else {
            for (int i = 0; i < t->partition_cnt; i++)
                (*ids)[i] = t->partitions[i].id;
            *cnt = t->partition_cnt;
            rc = 0;
        }
    }
    kc_metadata_destroy(md);
    kc_client_destroy(client);
    return rc;
}

static void on_stop_signal(int sig)
{
    tool_stop = 1;
    /* The next one ends the process the default way, should kc hang. */
    signal(sig, SIG_DFL);
}

void tool_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void tool_conf_json(const kc_conf_t *conf, const char *const *names, size_t n, char *buf,
                    size_t size)
{
    size_t off = 0;
    int w = snprintf(buf, size, ",\"conf\":{");
    off = w > 0 ? (size_t)w : 0;
    int first = 1;
    for (size_t i = 0; i < n && off < size; i++) {
        char val[256];
        size_t sz = sizeof(val);
        if (kc_conf_get(conf, names[i], val, &sz) != 0) continue;
        /* Property values are plain text; drop what JSON would need escaped. */
        for (char *c = val; *c; c++)
            if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) *c = '?';
        w = snprintf(buf + off, size - off, "%s\"%s\":\"%s\"", first ? "" : ",", names[i], val);
        if (w < 0) break;
        off += (size_t)w;
        first = 0;
    }
    if (off < size) snprintf(buf + off, size - off, "}");
    if (off + 1 >= size && size >= 2) {
        /* Truncated: keep the JSON valid by ending the object. */
        snprintf(buf, size, ",\"conf\":{}");
    }
}

static tool_eof_elem_t *eof_find(const tool_eof_t *s, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < s->cnt; i++)
        if (s->elems[i].partition == partition && !strcmp(s->elems[i].topic, topic))
            return &s->elems[i];
    return NULL;
}

int tool_eof_mark(tool_eof_t *s, const char *topic, int32_t partition, int at_eof)
{
    if (!at_eof && s->at_eof_cnt == 0) return 0;
    tool_eof_elem_t *e = eof_find(s, topic, partition);
    if (!e) {
        if (!at_eof) return 0;
        if (s->cnt == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 16;
            tool_eof_elem_t *n = realloc(s->elems, cap * sizeof(*n));
            if (!n) return -1;
            s->elems = n;
            s->cap = cap;
        }
        char *t = strdup(topic);
        if (!t) return -1;
        e = &s->elems[s->cnt++];
        *e = (tool_eof_elem_t){.topic = t, .partition = partition, .at_eof = 0};
    }
    if (e->at_eof && !at_eof) s->at_eof_cnt--;
    if (!e->at_eof && at_eof) s->at_eof_cnt++;
    e->at_eof = at_eof;
    return 0;
}

int tool_eof_all(const tool_eof_t *s, const kc_topic_partition_list_t *list)
{
    if (!list || list->cnt == 0) return 0;
    for (int i = 0; i < list->cnt; i++) {
        const tool_eof_elem_t *e = eof_find(s, list->elems[i].topic, list->elems[i].partition);
        if (!e || !e->at_eof) return 0;
    }
    return 1;
}

void tool_eof_clear(tool_eof_t *s)
{
    for (size_t i = 0; i < s->cnt; i++)
        free(s->elems[i].topic);
    free(s->elems);
    memset(s, 0, sizeof(*s));
}
