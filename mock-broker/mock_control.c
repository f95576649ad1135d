/* The control API: each public call checks its arguments, then does its
 * work on the loop thread through mock_run(). */
#include <stdlib.h>
#include <string.h>

#include "mock_int.h"
#include "util/log.h"

static int valid_broker(const kc_mock_cluster_t *mc, int32_t id, int allow_any)
{
    return (allow_any && id == -1) || (id >= 1 && id <= mc->node_count);
}

/* ---- Topics -------------------------------------------------------------------------- */

typedef struct topic_args {
    const char *topic;
    int32_t partition;
    int count;          /* partitions, or replicas */
    int rf;             /* replication factor */
    const int32_t *ids; /* replicas */
    int32_t leader;
} topic_args_t;

static int replicas_set(broker_partition_t *p, const int32_t *ids, int n)
{
    int32_t *v = malloc((size_t)n * sizeof(*v));
    if (!v) return KC_ERR__NO_MEMORY;
    memcpy(v, ids, (size_t)n * sizeof(*v));
    free(p->replicas);
    p->replicas = v;
    p->replica_count = n;
    return 0;
}

static int topic_create_cb(kc_mock_cluster_t *mc, void *arg)
{
    topic_args_t *a = arg;
    char err[256];
    broker_topic_t *t = NULL;
    int rc = broker_topic_create(mc->broker, proto_str_of(a->topic), a->count, NULL, NULL, 0, &t,
                                 err, sizeof(err));
    if (rc) {
        log_warn("mock: create topic %s: %s", a->topic, err);
        return rc;
    }
    for (int32_t i = 0; i < t->partition_count; i++) {
        broker_partition_t *p = t->partitions[i];
        int32_t ids[64];
        int first = p->leader_id - 1; /* the core spread leaders already */
        for (int r = 0; r < a->rf; r++)
            ids[r] = (int32_t)((first + r) % mc->node_count) + 1;
        if (replicas_set(p, ids, a->rf)) return KC_ERR__NO_MEMORY;
    }
    return 0;
}

kc_err_t kc_mock_topic_create(kc_mock_cluster_t *mc, const char *topic, int partitions,
                              int replication_factor)
{
    if (!mc || !topic || partitions < 1 || replication_factor < 1 ||
        replication_factor > mc->node_count)
        return KC_ERR__INVALID_ARG;
    topic_args_t a = {.topic = topic, .count = partitions, .rf = replication_factor};
    return (kc_err_t)mock_run(mc, topic_create_cb, &a);
}

static broker_partition_t *partition_of(kc_mock_cluster_t *mc, const topic_args_t *a)
{
    return broker_partition_find(mc->broker, proto_str_of(a->topic), a->partition);
}

static void leader_move(broker_partition_t *p, int32_t leader)
{
    if (p->leader_id == leader) return;
    p->leader_id = leader;
    p->leader_epoch++;
    log_info("mock: %s-%d is led by broker %d (epoch %d)", p->topic->name, p->index, leader,
             p->leader_epoch);
}

static int set_leader_cb(kc_mock_cluster_t *mc, void *arg)
{
    topic_args_t *a = arg;
    broker_partition_t *p = partition_of(mc, a);
    if (!p) return KC_ERR__INVALID_ARG;
    if (p->replicas) {
        int found = 0;
        for (int32_t i = 0; i < p->replica_count; i++)
            found |= p->replicas[i] == a->leader;
        if (!found) {
            int32_t ids[65];
            ids[0] = a->leader;
            memcpy(ids + 1, p->replicas, (size_t)p->replica_count * sizeof(int32_t));
            if (replicas_set(p, ids, p->replica_count + 1)) return KC_ERR__NO_MEMORY;
        }
    }
    leader_move(p, a->leader);
    return 0;
}

kc_err_t kc_mock_partition_set_leader(kc_mock_cluster_t *mc, const char *topic, int partition,
                                      int32_t broker_id)
{
    if (!mc || !topic || !valid_broker(mc, broker_id, 0)) return KC_ERR__INVALID_ARG;
    topic_args_t a = {.topic = topic, .partition = partition, .leader = broker_id};
    return (kc_err_t)mock_run(mc, set_leader_cb, &a);
}

static int set_replicas_cb(kc_mock_cluster_t *mc, void *arg)
{
    topic_args_t *a = arg;
    broker_partition_t *p = partition_of(mc, a);
    if (!p) return KC_ERR__INVALID_ARG;
    int keep = 0;
    for (int i = 0; i < a->count; i++)
        keep |= a->ids[i] == p->leader_id;
    if (replicas_set(p, a->ids, a->count)) return KC_ERR__NO_MEMORY;
    if (!keep) leader_move(p, a->ids[0]);
    return 0;
}

kc_err_t kc_mock_partition_set_replicas(kc_mock_cluster_t *mc, const char *topic, int partition,
                                        const int32_t *broker_ids, int count)
{
    if (!mc || !topic || !broker_ids || count < 1 || count > mc->node_count)
        return KC_ERR__INVALID_ARG;
    for (int i = 0; i < count; i++) {
        if (!valid_broker(mc, broker_ids[i], 0)) return KC_ERR__INVALID_ARG;
        for (int j = 0; j < i; j++)
            if (broker_ids[j] == broker_ids[i]) return KC_ERR__INVALID_ARG;
    }
    topic_args_t a = {.topic = topic, .partition = partition, .ids = broker_ids, .count = count};
    return (kc_err_t)mock_run(mc, set_replicas_cb, &a);
}

/* ---- Coordinators ------------------------------------------------------------------- */

typedef struct pin_args {
    int8_t key_type;
    const char *key;
    int32_t node_id;
} pin_args_t;

static int pin_cb(kc_mock_cluster_t *mc, void *arg)
{
    pin_args_t *a = arg;
    for (size_t i = 0; i < mc->pin_count; i++) {
        mock_pin_t *p = &mc->pins[i];
        if (p->key_type != a->key_type || strcmp(p->key, a->key) != 0) continue;
        if (a->node_id >= 0) {
            p->node_id = a->node_id;
        } else {
            free(p->key);
            mc->pins[i] = mc->pins[--mc->pin_count];
        }
        return 0;
    }
    if (a->node_id < 0) return 0;
    mock_pin_t *v = realloc(mc->pins, (mc->pin_count + 1) * sizeof(*v));
    if (!v) return KC_ERR__NO_MEMORY;
    mc->pins = v;
    char *key = strdup(a->key);
    if (!key) return KC_ERR__NO_MEMORY;
    mc->pins[mc->pin_count++] = (mock_pin_t){a->key_type, key, a->node_id};
    return 0;
}

kc_err_t kc_mock_coordinator_set(kc_mock_cluster_t *mc, int key_type, const char *key,
                                 int32_t broker_id)
{
    if (!mc || !key || (key_type != KC_MOCK_COORD_GROUP && key_type != KC_MOCK_COORD_TRANSACTION) ||
        !valid_broker(mc, broker_id, 1))
        return KC_ERR__INVALID_ARG;
    pin_args_t a = {(int8_t)key_type, key, broker_id};
    return (kc_err_t)mock_run(mc, pin_cb, &a);
}

/* ---- Faults ------------------------------------------------------------------------------ */

typedef struct fault_args {
    int32_t broker_id;
    int16_t api_key;
    const mock_fault_t *faults;
    size_t count;
    int value;
} fault_args_t;

static int push_cb(kc_mock_cluster_t *mc, void *arg)
{
    fault_args_t *a = arg;
    mock_faults_t *f = a->broker_id < 0 ? &mc->faults : &mc->nodes[a->broker_id - 1].faults;
    return mock_faults_push(f, a->api_key, a->faults, a->count) ? KC_ERR__NO_MEMORY : 0;
}

kc_err_t kc_mock_push_request_errors(kc_mock_cluster_t *mc, int32_t broker_id, int16_t api_key,
                                     size_t count, const kc_err_t *errors, const int *rtt_ms)
{
    if (!mc || !valid_broker(mc, broker_id, 1) || api_key < 0 || !proto_api_find(api_key) ||
        (count && !errors) || count > 1000000)
        return KC_ERR__INVALID_ARG;
    if (!count) return KC_ERR_NO_ERROR;
    mock_fault_t *v = calloc(count, sizeof(*v));
    if (!v) return KC_ERR__NO_MEMORY;
    for (size_t i = 0; i < count; i++) {
        /* Only Kafka's codes go on the wire; kc's local ones (< -1) do not. */
        if (errors[i] < -1 || errors[i] > INT16_MAX || (rtt_ms && rtt_ms[i] < 0)) {
            free(v);
            return KC_ERR__INVALID_ARG;
        }
        v[i].err = (int16_t)errors[i];
        v[i].rtt_ms = rtt_ms ? rtt_ms[i] : 0;
    }
    fault_args_t a = {.broker_id = broker_id, .api_key = api_key, .faults = v, .count = count};
    kc_err_t rc = (kc_err_t)mock_run(mc, push_cb, &a);
    free(v);
    return rc;
}

static int clear_cb(kc_mock_cluster_t *mc, void *arg)
{
    fault_args_t *a = arg;
    if (a->broker_id < 0) mock_faults_clear(&mc->faults, a->api_key);
    for (int i = 0; i < mc->node_count; i++)
        if (a->broker_id < 0 || a->broker_id == i + 1)
            mock_faults_clear(&mc->nodes[i].faults, a->api_key);
    return 0;
}

kc_err_t kc_mock_clear_request_errors(kc_mock_cluster_t *mc, int32_t broker_id, int16_t api_key)
{
    if (!mc || !valid_broker(mc, broker_id, 1) || api_key < -1) return KC_ERR__INVALID_ARG;
    fault_args_t a = {.broker_id = broker_id, .api_key = api_key};
    return (kc_err_t)mock_run(mc, clear_cb, &a);
}

static int rtt_cb(kc_mock_cluster_t *mc, void *arg)
{
    fault_args_t *a = arg;
    mc->nodes[a->broker_id - 1].rtt_ms = a->value;
    return 0;
}

kc_err_t kc_mock_broker_set_rtt(kc_mock_cluster_t *mc, int32_t broker_id, int rtt_ms)
{
    if (!mc || !valid_broker(mc, broker_id, 0) || rtt_ms < 0 || rtt_ms > 3600 * 1000)
        return KC_ERR__INVALID_ARG;
    fault_args_t a = {.broker_id = broker_id, .value = rtt_ms};
    return (kc_err_t)mock_run(mc, rtt_cb, &a);
}

/* ---- Brokers and connections -------------------------------------------------------- */

static int down_cb(kc_mock_cluster_t *mc, void *arg)
{
    fault_args_t *a = arg;
    broker_node_t *n = mock_node(mc, a->broker_id);
    if (!n->up) return 0;
    n->up = 0;
    mock_node_restart_server(mc, n, 0, NULL, 0);
    log_info("mock: broker %d is down", n->id);
    return 0;
}

static int up_cb(kc_mock_cluster_t *mc, void *arg)
{
    fault_args_t *a = arg;
    broker_node_t *n = mock_node(mc, a->broker_id);
    if (n->up) return 0;
    char err[256];
    int rc = mock_node_restart_server(mc, n, 1, err, sizeof(err));
    if (rc) {
        log_warn("mock: broker %d cannot listen again: %s", n->id, err);
        return rc;
    }
    n->up = 1;
    log_info("mock: broker %d is up", n->id);
    return 0;
}

static int close_cb(kc_mock_cluster_t *mc, void *arg)
{
    fault_args_t *a = arg;
    for (int i = 0; i < mc->broker->node_count; i++) {
        broker_node_t *n = &mc->broker->nodes[i];
        if (n->server && (a->broker_id < 0 || a->broker_id == n->id))
            broker_server_close_connections(n->server);
    }
    return 0;
}

kc_err_t kc_mock_broker_down(kc_mock_cluster_t *mc, int32_t broker_id)
{
    if (!mc || !valid_broker(mc, broker_id, 0)) return KC_ERR__INVALID_ARG;
    fault_args_t a = {.broker_id = broker_id};
    return (kc_err_t)mock_run(mc, down_cb, &a);
}

kc_err_t kc_mock_broker_up(kc_mock_cluster_t *mc, int32_t broker_id)
{
    if (!mc || !valid_broker(mc, broker_id, 0)) return KC_ERR__INVALID_ARG;
    fault_args_t a = {.broker_id = broker_id};
    return (kc_err_t)mock_run(mc, up_cb, &a);
}

kc_err_t kc_mock_close_connections(kc_mock_cluster_t *mc, int32_t broker_id)
{
    if (!mc || !valid_broker(mc, broker_id, 1)) return KC_ERR__INVALID_ARG;
    fault_args_t a = {.broker_id = broker_id};
    return (kc_err_t)mock_run(mc, close_cb, &a);
}
