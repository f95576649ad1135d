/* The mock cluster's insides, shared by the files of mock-broker/.
 *
 * Threads: kc_mock_cluster_t is built on the caller's thread, then owned by
 * the mock's loop thread. Control calls reach that thread through
 * mock_run(); everything below marked "loop thread" may only run there. */
#ifndef MOCK_INT_H
#define MOCK_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "broker_conf.h"
#include "core/broker.h"
#include "kc/kc_mock.h"

struct event_base;
struct event;

/* One queued error: what to answer and after how long. */
typedef struct mock_fault {
    int16_t err;
    int rtt_ms;
} mock_fault_t;

/* A FIFO of faults for one API key. */
typedef struct mock_fault_queue {
    int16_t api_key;
    mock_fault_t *v;
    size_t head, len, cap;
} mock_fault_queue_t;

typedef struct mock_faults {
    mock_fault_queue_t *queues;
    size_t count, cap;
} mock_faults_t;

struct kc_mock_request {
    int32_t broker_id;
    int16_t api_key, api_version;
    int16_t injected;
    char *client_id;          /* owned; NULL if none */
    int64_t received_us;      /* wall clock, for the API */
    int64_t received_mono_us; /* monotonic: durations survive wall-clock steps */
    int64_t response_us;      /* -1 until answered */
    uint64_t seq;             /* arrival order over the whole cluster */
};

/* A broker's request log: entries [0, len) carry sequence numbers
 * base_seq.. so a call that ends after a clear finds nothing to update. */
typedef struct mock_reqlog {
    struct kc_mock_request *v;
    size_t len, cap;
} mock_reqlog_t;

typedef struct mock_node {
    int rtt_ms;
    mock_faults_t faults;
    mock_reqlog_t log;
} mock_node_t;

typedef struct mock_pin {
    int8_t key_type;
    char *key;
    int32_t node_id;
} mock_pin_t;

struct kc_mock_cluster {
    broker_conf_t conf;
    struct event_base *base;
    broker_t *broker;
    broker_hooks_t hooks;
    pthread_t thread;
    int thread_started;
    char *bootstrap;
    int node_count;
    mock_node_t *nodes;   /* by index: node id - 1 */
    mock_faults_t faults; /* the cluster-wide queue */
    mock_pin_t *pins;
    size_t pin_count;
    uint64_t next_seq;
};

/* ---- mock_cluster.c ---- */

/* Any thread but the loop thread: runs fn(mc, arg) on the loop thread and
 * returns its result (KC_ERR__NO_MEMORY if it could not be queued). */
int mock_run(kc_mock_cluster_t *mc, int (*fn)(kc_mock_cluster_t *mc, void *arg), void *arg);

/* Loop thread: node of id, or NULL. */
broker_node_t *mock_node(kc_mock_cluster_t *mc, int32_t node_id);

/* ---- mock_faults.c (loop thread) ---- */

void mock_hooks_init(kc_mock_cluster_t *mc);
int mock_faults_push(mock_faults_t *f, int16_t api_key, const mock_fault_t *faults, size_t n);
/* Takes the next fault for api_key; 0 and *out, or -1 if none is queued. */
int mock_faults_pop(mock_faults_t *f, int16_t api_key, mock_fault_t *out);
void mock_faults_clear(mock_faults_t *f, int16_t api_key);
void mock_faults_free(mock_faults_t *f);
/* Closes every connection of node (destroying its server) and, if up,
 * listens again on the same port. Returns 0 or a kc_err_t. */
int mock_node_restart_server(kc_mock_cluster_t *mc, broker_node_t *node, int listen_again,
                             char *errstr, size_t errstr_size);

/* ---- mock_errresp.c (loop thread) ---- */

/* Answers call with a response of its API's shape, mirroring the request's
 * topics/partitions/keys, with every error code set to err. */
void mock_respond_error(broker_call_t *call, int16_t err);

/* ---- mock_requests.c (loop thread) ---- */

/* Logs call's arrival; returns the entry's sequence number. */
uint64_t mock_reqlog_add(kc_mock_cluster_t *mc, broker_call_t *call, int16_t injected);
void mock_reqlog_ended(kc_mock_cluster_t *mc, broker_call_t *call, uint64_t seq, int answered);
void mock_reqlog_free(mock_reqlog_t *log);

#endif
