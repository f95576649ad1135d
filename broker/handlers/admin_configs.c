/* DescribeConfigs, AlterConfigs and IncrementalAlterConfigs.
 *
 * Topics (resource type 2) are described and altered through the topic
 * property table (core/topic_conf.h); changes are persisted with the topic
 * and applied to its open partition logs at once. The broker (type 4) is
 * described from broker_conf_table with the values it runs with; its
 * properties are read-only at run time (kc-broker has no dynamic broker
 * configuration), so altering one fails with INVALID_REQUEST and a message
 * that says to use server.properties. Other resource types: INVALID_REQUEST. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/admin.h"
#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"
#include "util/log.h"

typedef proto_describe_configs_response_describe_configs_result_t dc_result_t;
typedef proto_describe_configs_response_describe_configs_resource_result_t dc_config_t;
typedef proto_describe_configs_response_describe_configs_synonym_t dc_synonym_t;

void admin_topic_entry(broker_call_t *call, const broker_topic_t *t,
                       const broker_topic_settings_t *s, const util_conf_prop_t *p,
                       admin_topic_entry_t *e)
{
    e->prop = p;
    char buf[1024];
    size_t n = sizeof(buf);
    if (util_conf_get(&s->base, p->name, buf, &n) == 0 && n <= sizeof(buf))
        e->value = broker_call_str(call, buf);
    else
        e->value = PROTO_NULL_SLICE;
    e->nsyn = broker_topic_conf_synonyms(call->b, t, p->name, e->syn, BROKER_TOPIC_SYNONYMS_MAX);
    e->source = e->nsyn ? (int8_t)e->syn[0].source : BROKER_CONF_SRC_DEFAULT;
}

/* The broker resource's name: "" (cluster-wide defaults) or a node id. */
static int broker_resource_check(broker_call_t *call, proto_str_t name, int *is_default,
                                 char *errstr, size_t errstr_size)
{
    *is_default = name.len <= 0;
    if (*is_default) return 0;
    const char *s = admin_cstr(call, name);
    char *end;
    long id = strtol(s, &end, 10);
    if (*end || end == s || !broker_node_find(call->b, (int32_t)id)) {
        snprintf(errstr, errstr_size, "broker '%s' is not a node of this cluster", s);
        return KC_ERR_INVALID_REQUEST;
    }
    return 0;
}

/* configuration_keys: null or empty means every property. */
static int key_wanted(const proto_describe_configs_request_describe_configs_resource_t *r,
                      const char *name)
{
    if (r->configuration_keys.n <= 0) return 1;
    for (int32_t i = 0; i < r->configuration_keys.n; i++)
        if (proto_str_eq(r->configuration_keys.v[i], name)) return 1;
    return 0;
}

static void dc_synonyms(broker_call_t *call, dc_config_t *c, const broker_topic_conf_synonym_t *syn,
                        int n)
{
    dc_synonym_t *out = broker_call_structs(
        call, n, &proto_describe_configs_response_describe_configs_synonym_sdesc);
    for (int i = 0; out && i < n; i++) {
        out[i].name = proto_str_of(syn[i].name);
        out[i].value = syn[i].has_value ? broker_call_str(call, syn[i].value) : PROTO_NULL_SLICE;
        out[i].source = (int8_t)syn[i].source;
    }
    c->synonyms.v = out;
    c->synonyms.n = out ? n : 0;
}

static void dc_topic(broker_call_t *call, const proto_describe_configs_request_t *req,
                     const proto_describe_configs_request_describe_configs_resource_t *r,
                     dc_result_t *out)
{
    broker_t *b = call->b;
    char errstr[512];
    broker_topic_t *t = broker_topic_find(b, r->resource_name);
    if (!t) {
        int rc = broker_topic_name_check(r->resource_name, errstr, sizeof(errstr));
        if (!rc) {
            snprintf(errstr, sizeof(errstr), "topic '%.*s' does not exist",
                     (int)r->resource_name.len, r->resource_name.ptr);
            rc = KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
        out->error_code = (int16_t)rc;
        out->error_message = broker_call_str(call, errstr);
        return;
    }
    broker_topic_settings_t s;
    if (broker_topic_settings(b, t, &s) != 0) {
        out->error_code = KC_ERR_UNKNOWN_SERVER_ERROR;
        out->error_message = broker_call_str(call, "out of memory");
        return;
    }
    const util_conf_table_t *tab = &broker_topic_conf_table;
    dc_config_t *cs = broker_call_structs(
        call, (int32_t)tab->count,
        &proto_describe_configs_response_describe_configs_resource_result_sdesc);
    int32_t n = 0;
    for (size_t i = 0; cs && i < tab->count; i++) {
        const util_conf_prop_t *p = &tab->props[i];
        if (p->type == UTIL_CONF_ALIAS || !key_wanted(r, p->name)) continue;
        admin_topic_entry_t e;
        admin_topic_entry(call, t, &s, p, &e);
        dc_config_t *c = &cs[n++];
        c->name = proto_str_of(p->name);
        c->value = e.value;
        c->read_only = false;
        c->config_source = e.source;
        c->is_sensitive = false;
        c->config_type = broker_conf_kafka_type(p);
        if (req->include_documentation) c->documentation = proto_str_of(p->meaning);
        if (req->include_synonyms) dc_synonyms(call, c, e.syn, e.nsyn);
    }
    util_conf_clear(&s.base);
    out->configs.v = cs;
    out->configs.n = n;
}

static void dc_broker(broker_call_t *call, const proto_describe_configs_request_t *req,
                      const proto_describe_configs_request_describe_configs_resource_t *r,
                      dc_result_t *out)
{
    char errstr[512];
    int is_default;
    int rc = broker_resource_check(call, r->resource_name, &is_default, errstr, sizeof(errstr));
    if (rc) {
        out->error_code = (int16_t)rc;
        out->error_message = broker_call_str(call, errstr);
        return;
    }
    out->configs.n = 0;
    if (is_default) return; /* no dynamic cluster-wide defaults exist */
    const broker_conf_t *conf = call->b->conf;
    const util_conf_table_t *tab = conf->base.table;
    dc_config_t *cs = broker_call_structs(
        call, (int32_t)tab->count,
        &proto_describe_configs_response_describe_configs_resource_result_sdesc);
    int32_t n = 0;
    for (size_t i = 0; cs && i < tab->count; i++) {
        const util_conf_prop_t *row = &tab->props[i];
        if (!key_wanted(r, row->name)) continue;
        const util_conf_prop_t *p = util_conf_find(tab, row->name); /* follows an alias */
        if (!p) continue;
        dc_config_t *c = &cs[n++];
        char buf[2048];
        size_t len = sizeof(buf);
        int has = util_conf_get(&conf->base, row->name, buf, &len) == 0 && len <= sizeof(buf);
        int set = util_conf_is_set(&conf->base, row->name);
        /* An unset property without a default has no value (Kafka: null). */
        if (!set && !p->def) has = 0;
        c->name = proto_str_of(row->name);
        c->value = has ? broker_call_str(call, buf) : PROTO_NULL_SLICE;
        c->read_only = true;
        c->config_source = set ? BROKER_CONF_SRC_STATIC_BROKER : BROKER_CONF_SRC_DEFAULT;
        c->is_sensitive = false;
        c->config_type = broker_conf_kafka_type(p);
        if (req->include_documentation)
            c->documentation = proto_str_of(row->meaning ? row->meaning : p->meaning);
        dc_synonym_t *syn =
            req->include_synonyms
                ? broker_call_structs(
                      call, 1, &proto_describe_configs_response_describe_configs_synonym_sdesc)
                : NULL;
        if (syn) {
            syn->name = c->name;
            syn->value = c->value;
            syn->source = c->config_source;
            c->synonyms.v = syn;
            c->synonyms.n = 1;
        }
    }
    out->configs.v = cs;
    out->configs.n = n;
}

void broker_handle_describe_configs(broker_call_t *call)
{
    const proto_describe_configs_request_t *req = call->request;
    proto_describe_configs_response_t resp;
    proto_msg_init(&proto_describe_configs_response_desc, &resp);
    int32_t n = req->resources.n > 0 ? req->resources.n : 0;
    dc_result_t *res = broker_call_structs(
        call, n, &proto_describe_configs_response_describe_configs_result_sdesc);
    if (n && !res) {
        broker_call_close(call, "out of memory");
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const proto_describe_configs_request_describe_configs_resource_t *r = &req->resources.v[i];
        res[i].resource_type = r->resource_type;
        res[i].resource_name = r->resource_name;
        res[i].error_message = PROTO_NULL_SLICE;
        res[i].configs.n = 0;
        if (r->resource_type == ADMIN_RES_TOPIC) {
            dc_topic(call, req, r, &res[i]);
        } else if (r->resource_type == ADMIN_RES_BROKER) {
            dc_broker(call, req, r, &res[i]);
        } else {
            char msg[128];
            snprintf(msg, sizeof(msg), "resource type %d is not supported (topic 2, broker 4)",
                     r->resource_type);
            res[i].error_code = KC_ERR_INVALID_REQUEST;
            res[i].error_message = broker_call_str(call, msg);
        }
    }
    resp.results.v = res;
    resp.results.n = n;
    broker_call_respond(call, &resp);
}

/* ---- Altering ------------------------------------------------------------------ */

/* A topic's overrides being edited: canonical names and values. */
typedef struct conf_edit {
    const char **names;
    const char **values;
    int n, cap;
} conf_edit_t;

static int edit_init(broker_call_t *call, conf_edit_t *e, const broker_topic_t *t, int extra,
                     int keep)
{
    e->cap = (keep ? t->conf.count : 0) + extra;
    e->n = 0;
    e->names = broker_call_array(call, e->cap, sizeof(char *));
    e->values = broker_call_array(call, e->cap, sizeof(char *));
    if (e->cap && (!e->names || !e->values)) return KC_ERR__NO_MEMORY;
    for (int i = 0; keep && i < t->conf.count; i++) {
        /* Copies: committing frees and moves the topic's own strings. */
        e->names[e->n] = admin_cstr(call, proto_str_of(t->conf.names[i]));
        e->values[e->n++] = admin_cstr(call, proto_str_of(t->conf.values[i]));
    }
    return 0;
}

static int edit_find(const conf_edit_t *e, const char *name)
{
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->names[i], name)) return i;
    return -1;
}

static void edit_put(conf_edit_t *e, const char *name, const char *value)
{
    int i = edit_find(e, name);
    if (i < 0 && !value) return;
    if (!value) {
        e->names[i] = e->names[e->n - 1];
        e->values[i] = e->values[e->n - 1];
        e->n--;
        return;
    }
    if (i < 0) {
        if (e->n >= e->cap) return; /* cannot happen: cap counts every op */
        i = e->n++;
        e->names[i] = name;
    }
    e->values[i] = value;
}

/* Makes t's overrides equal to e's, persisting each change, then applies
 * them to the open logs. */
static int edit_commit(broker_call_t *call, broker_topic_t *t, const conf_edit_t *e, char *errstr,
                       size_t errstr_size)
{
    int rc = 0;
    /* Downwards: removal moves the last override into the freed slot. */
    for (int i = t->conf.count - 1; !rc && i >= 0; i--)
        if (edit_find(e, t->conf.names[i]) < 0)
            rc = broker_topic_conf_set(call->b, t, t->conf.names[i], NULL, errstr, errstr_size);
    for (int i = 0; !rc && i < e->n; i++) {
        const char *cur = broker_topic_conf_get(t, e->names[i]);
        if (!cur || strcmp(cur, e->values[i]))
            rc = broker_topic_conf_set(call->b, t, e->names[i], e->values[i], errstr, errstr_size);
    }
    broker_topic_conf_apply(call->b, t);
    return rc;
}

/* Resolves an Alter* resource to a topic, or answers for the broker. */
static int alter_target(broker_call_t *call, int8_t type, proto_str_t name, int nconfigs,
                        broker_topic_t **t, char *errstr, size_t errstr_size)
{
    *t = NULL;
    if (type == ADMIN_RES_BROKER) {
        int is_default;
        int rc = broker_resource_check(call, name, &is_default, errstr, errstr_size);
        if (rc || !nconfigs) return rc;
        snprintf(errstr, errstr_size,
                 "kc-broker's broker properties cannot be changed at run time; set them in "
                 "server.properties (or --override) and restart");
        return KC_ERR_INVALID_REQUEST;
    }
    if (type != ADMIN_RES_TOPIC) {
        snprintf(errstr, errstr_size, "resource type %d is not supported (topic 2, broker 4)",
                 type);
        return KC_ERR_INVALID_REQUEST;
    }
    *t = broker_topic_find(call->b, name);
    if (*t) return 0;
    int rc = broker_topic_name_check(name, errstr, errstr_size);
    if (rc) return rc;
    snprintf(errstr, errstr_size, "topic '%.*s' does not exist", (int)name.len, name.ptr);
    return KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

static const char *canonical(broker_call_t *call, const char *name, proto_str_t value, int *rc,
                             char *errstr, size_t errstr_size)
{
    char canon[1024];
    *rc = broker_topic_conf_check(name, value.len < 0 ? NULL : admin_cstr(call, value), canon,
                                  sizeof(canon), errstr, errstr_size);
    return *rc ? NULL : admin_cstr(call, proto_str_of(canon));
}

/* AlterConfigs: the given set replaces every override of the topic. */
static int alter_topic(broker_call_t *call, broker_topic_t *t,
                       const proto_alter_configs_request_alter_configs_resource_t *r,
                       int validate_only, char *errstr, size_t errstr_size)
{
    conf_edit_t e;
    if (edit_init(call, &e, t, r->configs.n, 0)) return KC_ERR__NO_MEMORY;
    for (int32_t i = 0; i < r->configs.n; i++) {
        const char *name = admin_cstr(call, r->configs.v[i].name);
        const util_conf_prop_t *p = util_conf_find(&broker_topic_conf_table, name);
        int rc;
        const char *v = canonical(call, name, r->configs.v[i].value, &rc, errstr, errstr_size);
        if (rc) return rc;
        if (edit_find(&e, p->name) >= 0) {
            snprintf(errstr, errstr_size, "topic config %s is given twice", p->name);
            return KC_ERR_INVALID_REQUEST;
        }
        edit_put(&e, p->name, v);
    }
    return validate_only ? 0 : edit_commit(call, t, &e, errstr, errstr_size);
}

void broker_handle_alter_configs(broker_call_t *call)
{
    const proto_alter_configs_request_t *req = call->request;
    proto_alter_configs_response_t resp;
    proto_msg_init(&proto_alter_configs_response_desc, &resp);
    int32_t n = req->resources.n > 0 ? req->resources.n : 0;
    proto_alter_configs_response_alter_configs_resource_response_t *res = broker_call_structs(
        call, n, &proto_alter_configs_response_alter_configs_resource_response_sdesc);
    if (n && !res) {
        broker_call_close(call, "out of memory");
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const proto_alter_configs_request_alter_configs_resource_t *r = &req->resources.v[i];
        char errstr[512];
        broker_topic_t *t;
        int rc = alter_target(call, r->resource_type, r->resource_name, r->configs.n, &t, errstr,
                              sizeof(errstr));
        if (!rc && t) rc = alter_topic(call, t, r, req->validate_only, errstr, sizeof(errstr));
        res[i].resource_type = r->resource_type;
        res[i].resource_name = r->resource_name;
        res[i].error_code = (int16_t)rc;
        res[i].error_message = rc ? broker_call_str(call, errstr) : PROTO_NULL_SLICE;
    }
    resp.responses.v = res;
    resp.responses.n = n;
    broker_call_respond(call, &resp);
}

/* ---- IncrementalAlterConfigs --------------------------------------------------- */

enum { OP_SET = 0, OP_DELETE = 1, OP_APPEND = 2, OP_SUBTRACT = 3 };

static int list_has(const char *list, const char *item)
{
    char it[256];
    for (const char *p = list; (p = util_conf_list_next(p, it, sizeof(it)));)
        if (!strcmp(it, item)) return 1;
    return 0;
}

/* APPEND / SUBTRACT on a list property: the new list as text. */
static const char *list_edit(broker_call_t *call, const broker_topic_t *t, const conf_edit_t *e,
                             const util_conf_prop_t *p, int op, const char *arg)
{
    const char *cur = NULL;
    int i = edit_find(e, p->name);
    broker_topic_settings_t s;
    char effective[1024] = "";
    if (i >= 0) {
        cur = e->values[i];
    } else if (broker_topic_settings(call->b, t, &s) == 0) {
        size_t n = sizeof(effective);
        if (util_conf_get(&s.base, p->name, effective, &n) != 0 || n > sizeof(effective))
            effective[0] = '\0';
        util_conf_clear(&s.base);
        cur = effective;
    }
    size_t cap = strlen(cur ? cur : "") + strlen(arg) + 2;
    char *out = broker_call_alloc(call, cap);
    if (!out) return NULL;
    out[0] = '\0';
    char it[256];
    for (const char *q = cur; q && (q = util_conf_list_next(q, it, sizeof(it)));) {
        if (op == OP_SUBTRACT && list_has(arg, it)) continue;
        if (out[0]) strcat(out, ",");
        strcat(out, it);
    }
    for (const char *q = arg; op == OP_APPEND && (q = util_conf_list_next(q, it, sizeof(it)));) {
        if (!it[0] || list_has(out, it)) continue;
        if (out[0]) strcat(out, ",");
        strcat(out, it);
    }
    return out;
}

static int incremental_one(broker_call_t *call, broker_topic_t *t, conf_edit_t *e,
                           const proto_incremental_alter_configs_request_alterable_config_t *c,
                           char *errstr, size_t errstr_size)
{
    const char *name = admin_cstr(call, c->name);
    const util_conf_prop_t *p = util_conf_find(&broker_topic_conf_table, name);
    if (!p) {
        snprintf(errstr, errstr_size, "unknown topic config name: %s", name);
        return KC_ERR_INVALID_CONFIG;
    }
    int rc = 0;
    const char *v = NULL;
    switch (c->config_operation) {
    case OP_SET: v = canonical(call, p->name, c->value, &rc, errstr, errstr_size); break;
    case OP_DELETE: break;
    case OP_APPEND:
    case OP_SUBTRACT:
        if (p->type != UTIL_CONF_LIST) {
            snprintf(errstr, errstr_size, "%s is not a list: APPEND and SUBTRACT apply to lists",
                     p->name);
            return KC_ERR_INVALID_CONFIG;
        }
        if (c->value.len < 0) {
            snprintf(errstr, errstr_size, "%s: APPEND and SUBTRACT need a value", p->name);
            return KC_ERR_INVALID_REQUEST;
        }
        v = list_edit(call, t, e, p, c->config_operation, admin_cstr(call, c->value));
        if (v) v = canonical(call, p->name, proto_str_of(v), &rc, errstr, errstr_size);
        break;
    default:
        snprintf(errstr, errstr_size, "%s: unknown config operation %d", p->name,
                 c->config_operation);
        return KC_ERR_INVALID_REQUEST;
    }
    if (rc) return rc;
    edit_put(e, p->name, v);
    return 0;
}

static int
incremental_topic(broker_call_t *call, broker_topic_t *t,
                  const proto_incremental_alter_configs_request_alter_configs_resource_t *r,
                  int validate_only, char *errstr, size_t errstr_size)
{
    conf_edit_t e;
    if (edit_init(call, &e, t, r->configs.n, 1)) return KC_ERR__NO_MEMORY;
    for (int32_t i = 0; i < r->configs.n; i++) {
        for (int32_t j = 0; j < i; j++)
            if (r->configs.v[j].name.len == r->configs.v[i].name.len &&
                !memcmp(r->configs.v[j].name.ptr, r->configs.v[i].name.ptr,
                        (size_t)r->configs.v[i].name.len)) {
                snprintf(errstr, errstr_size, "topic config %s is given twice",
                         admin_cstr(call, r->configs.v[i].name));
                return KC_ERR_INVALID_REQUEST;
            }
        int rc = incremental_one(call, t, &e, &r->configs.v[i], errstr, errstr_size);
        if (rc) return rc;
    }
    return validate_only ? 0 : edit_commit(call, t, &e, errstr, errstr_size);
}

void broker_handle_incremental_alter_configs(broker_call_t *call)
{
    const proto_incremental_alter_configs_request_t *req = call->request;
    proto_incremental_alter_configs_response_t resp;
    proto_msg_init(&proto_incremental_alter_configs_response_desc, &resp);
    int32_t n = req->resources.n > 0 ? req->resources.n : 0;
    proto_incremental_alter_configs_response_alter_configs_resource_response_t *res =
        broker_call_structs(
            call, n,
            &proto_incremental_alter_configs_response_alter_configs_resource_response_sdesc);
    if (n && !res) {
        broker_call_close(call, "out of memory");
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const proto_incremental_alter_configs_request_alter_configs_resource_t *r =
            &req->resources.v[i];
        char errstr[512];
        broker_topic_t *t;
        int rc = alter_target(call, r->resource_type, r->resource_name, r->configs.n, &t, errstr,
                              sizeof(errstr));
        if (!rc && t)
            rc = incremental_topic(call, t, r, req->validate_only, errstr, sizeof(errstr));
        res[i].resource_type = r->resource_type;
        res[i].resource_name = r->resource_name;
        res[i].error_code = (int16_t)rc;
        res[i].error_message = rc ? broker_call_str(call, errstr) : PROTO_NULL_SLICE;
    }
    resp.responses.v = res;
    resp.responses.n = n;
    broker_call_respond(call, &resp);
}
