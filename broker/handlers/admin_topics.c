/* CreateTopics, DeleteTopics and CreatePartitions.
 *
 * Every topic of a request gets its own result (error code and message);
 * one bad topic never fails the others. validate_only runs every check and
 * creates nothing. Errors follow Kafka's: INVALID_REPLICATION_FACTOR when
 * more replicas are asked for than there are nodes, INVALID_REPLICA_ASSIGNMENT
 * for assignments naming unknown nodes or skipping partitions, INVALID_CONFIG
 * naming the property and why. kc keeps one replica per partition (the
 * leader); a manual assignment's first node becomes the leader (not
 * persisted: after a restart leadership is spread again, which on kc-broker's
 * single node changes nothing). */
#include <stdio.h>
#include <string.h>

#include "handlers/admin.h"
#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"
#include "util/log.h"
#include "util/uuid.h"

#define PARTITIONS_MAX 100000

typedef proto_create_topics_request_creatable_topic_t ct_topic_t;
typedef proto_create_topics_response_creatable_topic_result_t ct_result_t;
typedef proto_create_topics_response_creatable_topic_configs_t ct_config_t;

const char *admin_cstr(broker_call_t *call, proto_str_t s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *c = broker_call_alloc(call, n + 1);
    if (!c) return "";
    if (n) memcpy(c, s.ptr, n);
    c[n] = '\0';
    return c;
}

static int nodes_up(const broker_t *b)
{
    int n = 0;
    for (int i = 0; i < b->node_count; i++)
        n += b->nodes[i].up != 0;
    return n;
}

static int str_eq(proto_str_t a, proto_str_t b)
{
    return a.len == b.len && (a.len <= 0 || !memcmp(a.ptr, b.ptr, (size_t)a.len));
}

/* One node list of an assignment: non-empty, known nodes, no repeats. */
static int check_replicas(broker_t *b, const int32_t *ids, int32_t n, int32_t partition,
                          char *errstr, size_t errstr_size)
{
    if (n <= 0) {
        snprintf(errstr, errstr_size, "partition %d has no replicas assigned", partition);
        return KC_ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    for (int32_t i = 0; i < n; i++) {
        if (!broker_node_find(b, ids[i])) {
            snprintf(errstr, errstr_size,
                     "partition %d is assigned to node %d, which does not exist", partition,
                     ids[i]);
            return KC_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
        for (int32_t j = 0; j < i; j++)
            if (ids[j] == ids[i]) {
                snprintf(errstr, errstr_size, "partition %d lists node %d twice", partition,
                         ids[i]);
                return KC_ERR_INVALID_REPLICA_ASSIGNMENT;
            }
    }
    return 0;
}

/* Kafka refuses names that differ only by '.' versus '_' (their metric
 * names would collide). */
static broker_topic_t *colliding_topic(broker_t *b, proto_str_t name)
{
    size_t it = 0;
    broker_topic_t *t;
    while (util_hmap_next(&b->topics, &it, NULL, NULL, (void **)&t)) {
        if ((int32_t)strlen(t->name) != name.len) continue;
        int same = 1;
        for (int32_t i = 0; same && i < name.len; i++) {
            char x = t->name[i] == '.' ? '_' : t->name[i];
            char y = name.ptr[i] == '.' ? '_' : (char)name.ptr[i];
            same = x == y;
        }
        if (same) return t;
    }
    return NULL;
}

/* ---- CreateTopics -------------------------------------------------------------- */

/* The validated form of one CreatableTopic. */
typedef struct ct_plan {
    int32_t partitions;
    int16_t rf;
    const char **names; /* canonical config overrides */
    const char **values;
    int nconf;
} ct_plan_t;

static int ct_check_layout(broker_t *b, const ct_topic_t *rt, ct_plan_t *plan, char *errstr,
                           size_t errstr_size)
{
    if (rt->assignments.n > 0) {
        if (rt->num_partitions != -1 || rt->replication_factor != -1) {
            snprintf(errstr, errstr_size,
                     "both numPartitions or replicationFactor and replica assignments were set; "
                     "give one or the other");
            return KC_ERR_INVALID_REQUEST;
        }
        int32_t n = rt->assignments.n;
        if (n > PARTITIONS_MAX) {
            snprintf(errstr, errstr_size, "number of partitions must be at most %d, not %d",
                     PARTITIONS_MAX, n);
            return KC_ERR_INVALID_PARTITIONS;
        }
        for (int32_t i = 0; i < n; i++) {
            const proto_create_topics_request_creatable_replica_assignment_t *a =
                &rt->assignments.v[i];
            int seen = 0;
            for (int32_t j = 0; j < n; j++)
                seen += rt->assignments.v[j].partition_index == a->partition_index;
            if (a->partition_index < 0 || a->partition_index >= n || seen != 1) {
                snprintf(errstr, errstr_size,
                         "assigned partitions must be 0..%d, each once (got partition %d)", n - 1,
                         a->partition_index);
                return KC_ERR_INVALID_REPLICA_ASSIGNMENT;
            }
            int rc = check_replicas(b, a->broker_ids.v, a->broker_ids.n, a->partition_index, errstr,
                                    errstr_size);
            if (rc) return rc;
            if (a->broker_ids.n != rt->assignments.v[0].broker_ids.n) {
                snprintf(errstr, errstr_size,
                         "all partitions must have the same number of replicas");
                return KC_ERR_INVALID_REPLICA_ASSIGNMENT;
            }
        }
        plan->partitions = n;
        plan->rf = (int16_t)rt->assignments.v[0].broker_ids.n;
        return 0;
    }
    plan->partitions = rt->num_partitions == -1 ? b->conf->num_partitions : rt->num_partitions;
    if (plan->partitions < 1 || plan->partitions > PARTITIONS_MAX) {
        snprintf(errstr, errstr_size,
                 "number of partitions must be 1..%d (or -1 for the default), not %d",
                 PARTITIONS_MAX, rt->num_partitions);
        return KC_ERR_INVALID_PARTITIONS;
    }
    int rf =
        rt->replication_factor == -1 ? b->conf->default_replication_factor : rt->replication_factor;
    if (rf < 1) {
        snprintf(errstr, errstr_size,
                 "replication factor must be at least 1 (or -1 for the default), not %d", rf);
        return KC_ERR_INVALID_REPLICATION_FACTOR;
    }
    if (rf > nodes_up(b)) {
        snprintf(errstr, errstr_size,
                 "replication factor %d is larger than the number of brokers (%d)", rf,
                 nodes_up(b));
        return KC_ERR_INVALID_REPLICATION_FACTOR;
    }
    plan->rf = (int16_t)rf;
    return 0;
}

static int ct_check_configs(broker_call_t *call, const ct_topic_t *rt, ct_plan_t *plan,
                            char *errstr, size_t errstr_size)
{
    int32_t n = rt->configs.n > 0 ? rt->configs.n : 0;
    plan->names = broker_call_array(call, n, sizeof(char *));
    plan->values = broker_call_array(call, n, sizeof(char *));
    if (n && (!plan->names || !plan->values)) {
        snprintf(errstr, errstr_size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    for (int32_t i = 0; i < n; i++) {
        const proto_create_topics_request_creatable_topic_config_t *c = &rt->configs.v[i];
        const char *name = admin_cstr(call, c->name);
        for (int32_t j = 0; j < i; j++)
            if (str_eq(rt->configs.v[j].name, c->name)) {
                snprintf(errstr, errstr_size, "topic config %s is given twice", name);
                return KC_ERR_INVALID_REQUEST;
            }
        char canon[1024];
        int rc = broker_topic_conf_check(name, c->value.len < 0 ? NULL : admin_cstr(call, c->value),
                                         canon, sizeof(canon), errstr, errstr_size);
        if (rc) return rc;
        const util_conf_prop_t *p = util_conf_find(&broker_topic_conf_table, name);
        plan->names[plan->nconf] = p->name;
        plan->values[plan->nconf++] = admin_cstr(call, proto_str_of(canon));
    }
    return 0;
}

static int ct_check(broker_call_t *call, const proto_create_topics_request_t *req, int32_t idx,
                    ct_plan_t *plan, char *errstr, size_t errstr_size)
{
    broker_t *b = call->b;
    const ct_topic_t *rt = &req->topics.v[idx];
    int rc = broker_topic_name_check(rt->name, errstr, errstr_size);
    if (rc) return rc;
    for (int32_t j = 0; j < req->topics.n; j++)
        if (j != idx && str_eq(req->topics.v[j].name, rt->name)) {
            snprintf(errstr, errstr_size, "topic '%.*s' appears more than once in the request",
                     (int)rt->name.len, rt->name.ptr);
            return KC_ERR_INVALID_REQUEST;
        }
    if (broker_topic_find(b, rt->name)) {
        snprintf(errstr, errstr_size, "topic '%.*s' already exists", (int)rt->name.len,
                 rt->name.ptr);
        return KC_ERR_TOPIC_ALREADY_EXISTS;
    }
    broker_topic_t *other = colliding_topic(b, rt->name);
    if (other) {
        snprintf(errstr, errstr_size,
                 "topic '%.*s' collides with existing topic '%s' ('.' and '_' are the same in "
                 "metric names)",
                 (int)rt->name.len, rt->name.ptr, other->name);
        return KC_ERR_INVALID_TOPIC_EXCEPTION;
    }
    rc = ct_check_layout(b, rt, plan, errstr, errstr_size);
    if (!rc) rc = ct_check_configs(call, rt, plan, errstr, errstr_size);
    return rc;
}

/* v5+: the topic's resulting configuration. */
static void ct_fill_configs(broker_call_t *call, const broker_topic_t *t, ct_result_t *out)
{
    broker_topic_settings_t s;
    if (broker_topic_settings(call->b, t, &s) != 0) return;
    const util_conf_table_t *tab = &broker_topic_conf_table;
    ct_config_t *cs = broker_call_structs(
        call, (int32_t)tab->count, &proto_create_topics_response_creatable_topic_configs_sdesc);
    int32_t n = 0;
    for (size_t i = 0; cs && i < tab->count; i++) {
        if (tab->props[i].type == UTIL_CONF_ALIAS) continue;
        admin_topic_entry_t e;
        admin_topic_entry(call, t, &s, &tab->props[i], &e);
        cs[n].name = proto_str_of(tab->props[i].name);
        cs[n].value = e.value;
        cs[n].read_only = false;
        cs[n].config_source = e.source;
        cs[n].is_sensitive = false;
        n++;
    }
    util_conf_clear(&s.base);
    out->configs.v = cs;
    out->configs.n = cs ? n : 0;
}

static void ct_one(broker_call_t *call, const proto_create_topics_request_t *req, int32_t idx,
                   ct_result_t *out)
{
    broker_t *b = call->b;
    const ct_topic_t *rt = &req->topics.v[idx];
    char errstr[512];
    ct_plan_t plan = {0};
    out->name = rt->name;
    out->configs.n = 0;
    int rc = ct_check(call, req, idx, &plan, errstr, sizeof(errstr));
    broker_topic_t *t = NULL;
    /* What the topic would look like, for validate_only's answer. */
    broker_topic_t shape = {0};
    if (!rc && req->validate_only) {
        shape.conf.names = (char **)plan.names;
        shape.conf.values = (char **)plan.values;
        shape.conf.count = plan.nconf;
        t = &shape;
    } else if (!rc) {
        rc = broker_topic_create(b, rt->name, plan.partitions, plan.names, plan.values, plan.nconf,
                                 &t, errstr, sizeof(errstr));
        for (int32_t i = 0; !rc && i < rt->assignments.n; i++) {
            const proto_create_topics_request_creatable_replica_assignment_t *a =
                &rt->assignments.v[i];
            t->partitions[a->partition_index]->leader_id = a->broker_ids.v[0];
        }
    }
    if (rc) {
        out->error_code = (int16_t)rc;
        out->error_message = broker_call_str(call, errstr);
        return;
    }
    out->error_code = 0;
    out->error_message = PROTO_NULL_SLICE;
    out->num_partitions = plan.partitions;
    out->replication_factor = plan.rf;
    if (t != &shape) out->topic_id = t->id;
    if (call->hdr.api_version >= 5) ct_fill_configs(call, t, out);
}

void broker_handle_create_topics(broker_call_t *call)
{
    const proto_create_topics_request_t *req = call->request;
    proto_create_topics_response_t resp;
    proto_msg_init(&proto_create_topics_response_desc, &resp);
    int32_t n = req->topics.n > 0 ? req->topics.n : 0;
    ct_result_t *res =
        broker_call_structs(call, n, &proto_create_topics_response_creatable_topic_result_sdesc);
    if (n && !res) {
        broker_call_close(call, "out of memory");
        return;
    }
    for (int32_t i = 0; i < n; i++)
        ct_one(call, req, i, &res[i]);
    resp.topics.v = res;
    resp.topics.n = n;
    broker_call_respond(call, &resp);
}

/* ---- DeleteTopics -------------------------------------------------------------- */

typedef proto_delete_topics_response_deletable_topic_result_t dt_result_t;

/* Finds the topic entry i names (by name, or by id in v6+). */
static int dt_resolve(broker_call_t *call, int32_t i, broker_topic_t **out, dt_result_t *res,
                      char *errstr, size_t errstr_size)
{
    const proto_delete_topics_request_t *req = call->request;
    proto_str_t name;
    *out = NULL;
    if (call->hdr.api_version >= 6) {
        const proto_delete_topics_request_delete_topic_state_t *s = &req->topics.v[i];
        int by_id = !util_uuid_is_zero(&s->topic_id);
        res->topic_id = s->topic_id;
        res->name = s->name;
        if (by_id && s->name.len >= 0) {
            snprintf(errstr, errstr_size, "give a topic name or a topic id, not both");
            return KC_ERR_INVALID_REQUEST;
        }
        if (by_id) {
            *out = broker_topic_find_id(call->b, &s->topic_id);
            if (!*out) {
                snprintf(errstr, errstr_size, "no topic has this id");
                return KC_ERR_UNKNOWN_TOPIC_ID;
            }
            return 0;
        }
        name = s->name;
    } else {
        name = req->topic_names.v[i];
        res->name = name;
    }
    *out = broker_topic_find(call->b, name);
    if (!*out) {
        int rc = broker_topic_name_check(name, errstr, errstr_size);
        if (rc) return rc;
        snprintf(errstr, errstr_size, "topic '%.*s' does not exist", (int)name.len, name.ptr);
        return KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    return 0;
}

void broker_handle_delete_topics(broker_call_t *call)
{
    broker_t *b = call->b;
    const proto_delete_topics_request_t *req = call->request;
    proto_delete_topics_response_t resp;
    proto_msg_init(&proto_delete_topics_response_desc, &resp);
    int32_t n = call->hdr.api_version >= 6 ? req->topics.n : req->topic_names.n;
    if (n < 0) n = 0;
    dt_result_t *res =
        broker_call_structs(call, n, &proto_delete_topics_response_deletable_topic_result_sdesc);
    broker_topic_t **ts = broker_call_array(call, n, sizeof(*ts));
    if (n && (!res || !ts)) {
        broker_call_close(call, "out of memory");
        return;
    }
    char errstr[512];
    for (int32_t i = 0; i < n; i++) {
        int rc = dt_resolve(call, i, &ts[i], &res[i], errstr, sizeof(errstr));
        if (!rc && !b->conf->delete_topic_enable) {
            rc = KC_ERR_TOPIC_DELETION_DISABLED;
            snprintf(errstr, sizeof(errstr),
                     "topic deletion is disabled (delete.topic.enable=false)");
        }
        if (!rc && ts[i]->internal) {
            rc = KC_ERR_INVALID_REQUEST;
            snprintf(errstr, sizeof(errstr), "topic %s is internal to the broker", ts[i]->name);
        }
        if (rc) {
            ts[i] = NULL;
            res[i].error_code = (int16_t)rc;
            res[i].error_message = broker_call_str(call, errstr);
            continue;
        }
        res[i].name = broker_call_str(call, ts[i]->name);
        res[i].topic_id = ts[i]->id;
    }
    /* A topic named twice is not deleted: which answer would be right? */
    uint8_t *twice = broker_call_array(call, n, 1);
    for (int32_t i = 0; twice && i < n; i++)
        for (int32_t j = 0; ts[i] && j < n; j++)
            if (j != i && ts[j] == ts[i]) twice[i] = 1;
    for (int32_t i = 0; twice && i < n; i++)
        if (twice[i]) {
            ts[i] = NULL;
            res[i].error_code = KC_ERR_INVALID_REQUEST;
            res[i].error_message = broker_call_str(call, "the topic is named more than once");
        }
    for (int32_t i = 0; i < n; i++) {
        if (!ts[i]) continue;
        int rc = broker_topic_delete(b, ts[i], errstr, sizeof(errstr));
        if (rc) {
            /* The topic is gone from the registry; its files may linger. */
            log_warn("deleting a topic: %s", errstr);
        }
    }
    resp.responses.v = res;
    resp.responses.n = n;
    broker_call_respond(call, &resp);
}

/* ---- CreatePartitions ---------------------------------------------------------- */

typedef proto_create_partitions_request_create_partitions_topic_t cp_topic_t;
typedef proto_create_partitions_response_create_partitions_topic_result_t cp_result_t;

static int cp_check(broker_call_t *call, const proto_create_partitions_request_t *req, int32_t idx,
                    broker_topic_t **out, char *errstr, size_t errstr_size)
{
    broker_t *b = call->b;
    const cp_topic_t *rt = &req->topics.v[idx];
    for (int32_t j = 0; j < req->topics.n; j++)
        if (j != idx && str_eq(req->topics.v[j].name, rt->name)) {
            snprintf(errstr, errstr_size, "topic '%.*s' appears more than once in the request",
                     (int)rt->name.len, rt->name.ptr);
            return KC_ERR_INVALID_REQUEST;
        }
    broker_topic_t *t = *out = broker_topic_find(b, rt->name);
    if (!t) {
        snprintf(errstr, errstr_size, "topic '%.*s' does not exist", (int)rt->name.len,
                 rt->name.ptr);
        return KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (rt->count <= t->partition_count) {
        if (rt->count == t->partition_count)
            snprintf(errstr, errstr_size, "topic %s already has %d partitions", t->name,
                     t->partition_count);
        else
            snprintf(errstr, errstr_size,
                     "topic %s has %d partitions; partitions can be added, not removed (asked "
                     "for %d)",
                     t->name, t->partition_count, rt->count);
        return KC_ERR_INVALID_PARTITIONS;
    }
    if (rt->count > PARTITIONS_MAX) {
        snprintf(errstr, errstr_size, "number of partitions must be at most %d, not %d",
                 PARTITIONS_MAX, rt->count);
        return KC_ERR_INVALID_PARTITIONS;
    }
    if (rt->assignments.n < 0) return 0;
    int32_t adding = rt->count - t->partition_count;
    if (rt->assignments.n != adding) {
        snprintf(errstr, errstr_size, "%d partitions are added but %d assignments were given",
                 adding, rt->assignments.n);
        return KC_ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    for (int32_t i = 0; i < adding; i++) {
        const proto_create_partitions_request_create_partitions_assignment_t *a =
            &rt->assignments.v[i];
        int rc = check_replicas(b, a->broker_ids.v, a->broker_ids.n, t->partition_count + i, errstr,
                                errstr_size);
        if (rc) return rc;
    }
    return 0;
}

void broker_handle_create_partitions(broker_call_t *call)
{
    const proto_create_partitions_request_t *req = call->request;
    proto_create_partitions_response_t resp;
    proto_msg_init(&proto_create_partitions_response_desc, &resp);
    int32_t n = req->topics.n > 0 ? req->topics.n : 0;
    cp_result_t *res = broker_call_structs(
        call, n, &proto_create_partitions_response_create_partitions_topic_result_sdesc);
    if (n && !res) {
        broker_call_close(call, "out of memory");
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const cp_topic_t *rt = &req->topics.v[i];
        char errstr[512];
        broker_topic_t *t = NULL;
        res[i].name = rt->name;
        int rc = cp_check(call, req, i, &t, errstr, sizeof(errstr));
        int32_t had = t ? t->partition_count : 0;
        if (!rc && !req->validate_only) {
            rc = broker_topic_add_partitions(call->b, t, rt->count, errstr, sizeof(errstr));
            for (int32_t k = 0; !rc && k < rt->assignments.n; k++)
                t->partitions[had + k]->leader_id = rt->assignments.v[k].broker_ids.v[0];
        }
        res[i].error_code = (int16_t)rc;
        res[i].error_message = rc ? broker_call_str(call, errstr) : PROTO_NULL_SLICE;
    }
    resp.results.v = res;
    resp.results.n = n;
    broker_call_respond(call, &resp);
}
