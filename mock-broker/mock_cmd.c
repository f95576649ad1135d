/* kc-mock's commands (see mock_cmd.h). Each handler reads its members,
 * calls the C API and writes the rest of the answer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/kc_err.h"
#include "mock_cmd.h"
#include "proto/proto_msg.h"

typedef struct cmd {
    kc_mock_cluster_t *mc;
    const mock_json_t *args;
    mock_jbuf_t *out; /* after {"ok":true */
    char err[256];    /* set: the command failed */
} cmd_t;

/* ---- Names ----------------------------------------------------------------------- */

typedef struct err_name {
    const char *name;
    int code;
} err_name_t;

static const err_name_t err_names[] = {
#define MOCK_ERR_ROW_(name, code, retriable, msg) {#name, code},
    KC_ERRORS(MOCK_ERR_ROW_)
#undef MOCK_ERR_ROW_
};

static int parse_int(const char *s, int64_t lo, int64_t hi, int *out)
{
    if (!*s) return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int mock_cmd_error_code(const char *name, int *code)
{
    for (size_t i = 0; i < sizeof(err_names) / sizeof(err_names[0]); i++)
        if (err_names[i].code >= -1 && !strcmp(err_names[i].name, name)) {
            *code = err_names[i].code;
            return 0;
        }
    return parse_int(name, -1, 32767, code);
}

/* NULL for a code kc's table does not know (push_errors takes any code). */
static const char *error_name(int code)
{
    for (size_t i = 0; i < sizeof(err_names) / sizeof(err_names[0]); i++)
        if (err_names[i].code == code) return err_names[i].name;
    return NULL;
}

int mock_cmd_api_key(const char *name, int *key)
{
    for (size_t i = 0; i < proto_api_count(); i++) {
        const proto_api_t *api = proto_api_at(i);
        if (!strcmp(api->name, name)) {
            *key = api->key;
            return 0;
        }
    }
    if (parse_int(name, 0, 32767, key) != 0) return -1;
    return proto_api_find((int16_t)*key) ? 0 : -1;
}

/* ---- Arguments ------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static int fail(cmd_t *c, const char *fmt, ...)
{
    if (c->err[0]) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return -1;
}

static const char *arg_str(cmd_t *c, const char *key, int required)
{
    const mock_json_value_t *v = mock_json_get(c->args, key);
    if (!v || v->type == MOCK_JSON_NULL) {
        if (required) fail(c, "\"%s\" is required", key);
        return NULL;
    }
    if (v->type != MOCK_JSON_STRING) {
        fail(c, "\"%s\" must be a string", key);
        return NULL;
    }
    return v->str;
}

/* An integer member in [lo, hi]; def when absent. -1 (and c->err) when bad. */
static int arg_int(cmd_t *c, const char *key, int64_t lo, int64_t hi, int required, int def,
                   int *out)
{
    const mock_json_value_t *v = mock_json_get(c->args, key);
    *out = def;
    if (!v || v->type == MOCK_JSON_NULL) return required ? fail(c, "\"%s\" is required", key) : 0;
    if (v->type != MOCK_JSON_NUMBER) return fail(c, "\"%s\" must be an integer", key);
    if (v->num < lo || v->num > hi) return fail(c, "\"%s\" is out of range", key);
    *out = (int)v->num;
    return 0;
}

/* A broker id member: 1..N, or -1 ("every broker") where allow_any. One
 * check for every op, so a bad id always gets the same answer naming it. */
static int arg_broker_id(cmd_t *c, const char *key, int allow_any, int required, int *out)
{
    const mock_json_value_t *v = mock_json_get(c->args, key);
    int n = kc_mock_cluster_broker_count(c->mc);
    *out = -1;
    if (!v || v->type == MOCK_JSON_NULL) return required ? fail(c, "\"%s\" is required", key) : 0;
    if (v->type != MOCK_JSON_NUMBER) return fail(c, "\"%s\" must be an integer", key);
    if ((v->num < 1 || v->num > n) && !(allow_any && v->num == -1))
        return fail(c, "\"%s\": no broker %lld: brokers are 1..%d%s", key, (long long)v->num, n,
                    allow_any ? " (or -1)" : "");
    *out = (int)v->num;
    return 0;
}

/* "broker": required and 1..N, or optional and absent/-1 for every broker. */
static int arg_broker(cmd_t *c, int required, int *out)
{
    return arg_broker_id(c, "broker", !required, required, out);
}

static int arg_api(cmd_t *c, int required, int *key)
{
    const mock_json_value_t *v = mock_json_get(c->args, "api");
    *key = -1;
    if (!v || v->type == MOCK_JSON_NULL) return required ? fail(c, "\"%s\" is required", "api") : 0;
    if (v->type == MOCK_JSON_NUMBER) {
        if (v->num < 0 || v->num > 32767 || !proto_api_find((int16_t)v->num))
            return fail(c, "%s: unknown API key", "api");
        *key = (int)v->num;
        return 0;
    }
    if (v->type != MOCK_JSON_STRING || mock_cmd_api_key(v->str, key) != 0)
        return fail(c, "\"api\": unknown API \"%.60s\"", v->type == MOCK_JSON_STRING ? v->str : "");
    return 0;
}

static int check(cmd_t *c, kc_err_t err)
{
    if (err == KC_ERR__INVALID_ARG)
        return fail(c, "%s", "invalid argument: no such topic or partition, or a bad value");
    if (err) return fail(c, "%s (%s)", kc_err_name(err), kc_err_str(err));
    return 0;
}

/* ---- Commands --------------------------------------------------------------------- */

static void cmd_bootstrap(cmd_t *c)
{
    mock_jbuf_raw(c->out, ",\"bootstrap\":");
    mock_jbuf_str(c->out, kc_mock_cluster_bootstrap(c->mc));
    mock_jbuf_printf(c->out, ",\"brokers\":%d", kc_mock_cluster_broker_count(c->mc));
}

static void cmd_create_topic(cmd_t *c)
{
    int partitions, replicas;
    const char *topic = arg_str(c, "topic", 1);
    if (!topic || arg_int(c, "partitions", 1, 100000, 0, 1, &partitions) ||
        arg_int(c, "replicas", 1, kc_mock_cluster_broker_count(c->mc), 0, 1, &replicas))
        return;
    check(c, kc_mock_topic_create(c->mc, topic, partitions, replicas));
}

static void cmd_set_leader(cmd_t *c)
{
    int partition, leader;
    const char *topic = arg_str(c, "topic", 1);
    if (!topic || arg_int(c, "partition", 0, 100000, 1, 0, &partition) ||
        arg_broker_id(c, "leader", 0, 1, &leader))
        return;
    check(c, kc_mock_partition_set_leader(c->mc, topic, partition, leader));
}

/* An array of integers member, copied to ids (at most cap). */
static int arg_ids(cmd_t *c, const char *key, int32_t *ids, int cap, int *n)
{
    const mock_json_value_t *v = mock_json_get(c->args, key);
    if (!v || v->type != MOCK_JSON_ARRAY || v->nitems < 1 || v->nitems > cap)
        return fail(c, "\"%s\" must be a non-empty array of broker ids", key);
    int brokers = kc_mock_cluster_broker_count(c->mc);
    for (int i = 0; i < v->nitems; i++) {
        if (v->items[i].type != MOCK_JSON_NUMBER)
            return fail(c, "\"%s\" must hold broker ids", key);
        if (v->items[i].num < 1 || v->items[i].num > brokers)
            return fail(c, "\"%s\": no broker %lld: brokers are 1..%d", key,
                        (long long)v->items[i].num, brokers);
        ids[i] = (int32_t)v->items[i].num;
    }
    *n = v->nitems;
    return 0;
}

static void cmd_set_replicas(cmd_t *c)
{
    int partition, n = 0;
    int32_t ids[64];
    const char *topic = arg_str(c, "topic", 1);
    if (!topic || arg_int(c, "partition", 0, 100000, 1, 0, &partition) ||
        arg_ids(c, "replicas", ids, 64, &n))
        return;
    check(c, kc_mock_partition_set_replicas(c->mc, topic, partition, ids, n));
}

static void cmd_set_coordinator(cmd_t *c)
{
    int broker;
    const char *type = arg_str(c, "type", 0);
    const char *key = arg_str(c, "key", 1);
    if (c->err[0] || !key || arg_broker_id(c, "broker", 1, 1, &broker)) return;
    int kt;
    if (!type || !strcmp(type, "group"))
        kt = KC_MOCK_COORD_GROUP;
    else if (!strcmp(type, "transaction"))
        kt = KC_MOCK_COORD_TRANSACTION;
    else {
        fail(c, "\"type\" must be \"group\" or \"transaction\", not \"%.40s\"", type);
        return;
    }
    check(c, kc_mock_coordinator_set(c->mc, kt, key, broker));
}

static int error_of(cmd_t *c, const mock_json_value_t *item, kc_err_t *out)
{
    int code;
    if (item->type == MOCK_JSON_NUMBER) {
        if (item->num < -1 || item->num > 32767) return fail(c, "%s", "error code out of range");
        *out = (kc_err_t)item->num;
        return 0;
    }
    if (mock_cmd_error_code(item->str, &code) != 0)
        return fail(c, "unknown error \"%.60s\"", item->str);
    *out = (kc_err_t)code;
    return 0;
}

static void cmd_push_errors(cmd_t *c)
{
    int api, broker;
    if (arg_api(c, 1, &api) || arg_broker(c, 0, &broker)) return;
    const mock_json_value_t *errs = mock_json_get(c->args, "errors");
    if (!errs || errs->type != MOCK_JSON_ARRAY) {
        fail(c, "%s", "\"errors\" must be an array of error names or codes");
        return;
    }
    const mock_json_value_t *rtt = mock_json_get(c->args, "rtt_ms");
    if (rtt && rtt->type == MOCK_JSON_ARRAY && rtt->nitems != errs->nitems) {
        fail(c, "%s", "\"rtt_ms\" must have one value per error");
        return;
    }
    if (rtt && rtt->type != MOCK_JSON_ARRAY && rtt->type != MOCK_JSON_NUMBER &&
        rtt->type != MOCK_JSON_NULL) {
        fail(c, "%s", "\"rtt_ms\" must be an integer or an array of integers");
        return;
    }
    size_t n = (size_t)errs->nitems;
    kc_err_t *codes = calloc(n ? n : 1, sizeof(*codes));
    int *delays = calloc(n ? n : 1, sizeof(*delays));
    if (!codes || !delays) {
        fail(c, "%s", "out of memory");
    } else {
        for (size_t i = 0; i < n && !c->err[0]; i++) {
            error_of(c, &errs->items[i], &codes[i]);
            const mock_json_value_t *d = rtt && rtt->type == MOCK_JSON_ARRAY    ? &rtt->items[i]
                                         : rtt && rtt->type == MOCK_JSON_NUMBER ? rtt
                                                                                : NULL;
            if (d && (d->type != MOCK_JSON_NUMBER || d->num < 0 || d->num > 3600000))
                fail(c, "%s", "\"rtt_ms\" values must be 0..3600000");
            delays[i] = d && d->type == MOCK_JSON_NUMBER ? (int)d->num : 0;
        }
        if (!c->err[0])
            check(c, kc_mock_push_request_errors(c->mc, broker, (int16_t)api, n, codes, delays));
    }
    free(codes);
    free(delays);
    if (!c->err[0]) mock_jbuf_printf(c->out, ",\"queued\":%zu", n);
}

static void cmd_clear_errors(cmd_t *c)
{
    int api, broker;
    if (arg_api(c, 0, &api) || arg_broker(c, 0, &broker)) return;
    check(c, kc_mock_clear_request_errors(c->mc, broker, (int16_t)api));
}

static void cmd_set_rtt(cmd_t *c)
{
    int broker, rtt;
    if (arg_broker(c, 1, &broker) || arg_int(c, "rtt_ms", 0, 3600000, 1, 0, &rtt)) return;
    check(c, kc_mock_broker_set_rtt(c->mc, broker, rtt));
}

static void cmd_broker_down(cmd_t *c)
{
    int broker;
    if (arg_broker(c, 1, &broker)) return;
    check(c, kc_mock_broker_down(c->mc, broker));
}

static void cmd_broker_up(cmd_t *c)
{
    int broker;
    if (arg_broker(c, 1, &broker)) return;
    check(c, kc_mock_broker_up(c->mc, broker));
}

static void cmd_close_connections(cmd_t *c)
{
    int broker;
    if (arg_broker(c, 0, &broker)) return;
    check(c, kc_mock_close_connections(c->mc, broker));
}

static void cmd_requests(cmd_t *c)
{
    int broker;
    if (arg_broker(c, 0, &broker)) return;
    kc_mock_requests_t *list = kc_mock_requests_get(c->mc, broker);
    if (!list) {
        fail(c, "%s", "out of memory");
        return;
    }
    mock_jbuf_raw(c->out, ",\"requests\":[");
    for (size_t i = 0; i < kc_mock_requests_count(list); i++) {
        const kc_mock_request_t *r = kc_mock_requests_at(list, i);
        const proto_api_t *api = proto_api_find(kc_mock_request_api_key(r));
        mock_jbuf_printf(c->out, "%s{\"broker\":%d,\"api\":", i ? "," : "",
                         kc_mock_request_broker_id(r));
        mock_jbuf_str(c->out, api ? api->name : NULL);
        mock_jbuf_printf(c->out, ",\"api_key\":%d,\"version\":%d,\"client_id\":",
                         kc_mock_request_api_key(r), kc_mock_request_api_version(r));
        mock_jbuf_str(c->out, kc_mock_request_client_id(r));
        /* The code always: push_errors takes codes kc's table has no name
         * for, which then come back with "injected_error": null. */
        int code = kc_mock_request_injected_error(r);
        mock_jbuf_printf(c->out,
                         ",\"received_us\":%lld,\"response_us\":%lld,\"injected_error_code\":%d,"
                         "\"injected_error\":",
                         (long long)kc_mock_request_received_us(r),
                         (long long)kc_mock_request_response_us(r), code);
        mock_jbuf_str(c->out, error_name(code));
        mock_jbuf_raw(c->out, "}");
    }
    mock_jbuf_raw(c->out, "]");
    kc_mock_requests_destroy(list);
}

static void cmd_clear_requests(cmd_t *c)
{
    int broker;
    if (arg_broker(c, 0, &broker)) return;
    check(c, kc_mock_requests_clear(c->mc, broker));
}

typedef struct cmd_row {
    const char *op;
    void (*run)(cmd_t *c);
} cmd_row_t;

static const cmd_row_t cmds[] = {
    {"bootstrap", cmd_bootstrap},
    {"create_topic", cmd_create_topic},
    {"set_leader", cmd_set_leader},
    {"set_replicas", cmd_set_replicas},
    {"set_coordinator", cmd_set_coordinator},
    {"push_errors", cmd_push_errors},
    {"clear_errors", cmd_clear_errors},
    {"set_rtt", cmd_set_rtt},
    {"broker_down", cmd_broker_down},
    {"broker_up", cmd_broker_up},
    {"close_connections", cmd_close_connections},
    {"requests", cmd_requests},
    {"clear_requests", cmd_clear_requests},
};

void mock_cmd_exec(kc_mock_cluster_t *mc, const char *line, size_t len, mock_jbuf_t *out)
{
    mock_json_t args;
    char err[256];
    if (mock_json_parse(line, len, &args, err, sizeof(err)) != 0) {
        mock_jbuf_raw(out, "{\"ok\":false,\"error\":");
        mock_jbuf_str(out, err);
        mock_jbuf_raw(out, "}");
        return;
    }
    cmd_t c = {.mc = mc, .args = &args};
    mock_jbuf_t body = {0};
    c.out = &body;
    const char *op = arg_str(&c, "op", 1);
    const cmd_row_t *row = NULL;
    for (size_t i = 0; op && i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(cmds[i].op, op)) row = &cmds[i];
    if (op && !row) fail(&c, "unknown op \"%.60s\"", op);
    if (row) row->run(&c);
    if (!c.err[0] && body.oom) fail(&c, "%s", "out of memory");
    if (c.err[0]) {
        mock_jbuf_raw(out, "{\"ok\":false,\"error\":");
        mock_jbuf_str(out, c.err);
    } else {
        mock_jbuf_raw(out, "{\"ok\":true");
        if (body.len) mock_jbuf_raw(out, body.p);
    }
    mock_jbuf_raw(out, "}");
    mock_jbuf_free(&body);
    mock_json_free(&args);
}
