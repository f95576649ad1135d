/* The broker core: cluster state and request dispatch, shared by kc-broker
 * (one node, file-backed logs) and the mock cluster (several nodes in one
 * process, in-memory logs).
 *
 * A broker_t is a cluster: nodes (each with its own listener and node id),
 * topics with partitions (each with a leader node and a log), and the group
 * coordinator and producer-id state. Everything runs on one libevent loop;
 * nothing here is thread-safe, and nothing here blocks except fsync, which
 * the flush policy batches (see broker_partition_note_append).
 *
 * The event base must have been created after evthread_use_pthreads(): the
 * flusher thread wakes the loop when its fsyncs are done.
 *
 * Lifecycle: broker_new() loads what log.dirs holds (topics, offsets,
 * producer state) and binds every node's listeners; the caller runs the
 * event loop; broker_destroy() closes connections and logs cleanly.
 */
#ifndef BROKER_CORE_BROKER_H
#define BROKER_CORE_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "broker_conf.h"
#include "proto/proto_arena.h"
#include "proto/proto_buf.h"
#include "proto/proto_header.h"
#include "proto/proto_msg.h"
#include "server/broker_server.h"
#include "storage/log.h"
#include "util/hmap.h"

struct event_base;
struct event;
struct broker_hooks;

typedef struct broker broker_t;
typedef struct broker_node broker_node_t;
typedef struct broker_topic broker_topic_t;
typedef struct broker_partition broker_partition_t;
typedef struct broker_call broker_call_t;

struct broker_partition {
    broker_topic_t *topic;
    int32_t index;
    int32_t leader_id; /* node id */
    int32_t leader_epoch;
    broker_log_t *log;
    int64_t unflushed_msgs; /* records appended since the last flush */
    int64_t last_flush_ms;
    void *waiters;   /* produce/fetch waiters, owned by the handlers (see produce/fetch) */
    void *producers; /* idempotent producer state of this partition (handlers own it) */
    /* Replica node ids as Metadata lists them (leader first); NULL: the leader
     * alone. Only the mock sets more (it has no replication). Owned. */
    int32_t *replicas;
    int32_t replica_count;
};

/* Topic-level configuration overrides, as Kafka's topic property names. */
typedef struct broker_topic_conf {
    char **names; /* property names set on the topic */
    char **values;
    int count;
} broker_topic_conf_t;

struct broker_topic {
    char *name;
    proto_uuid_t id;
    int32_t partition_count;
    broker_partition_t **partitions;
    broker_topic_conf_t conf;
    int internal; /* e.g. __consumer_offsets: never listed to normal clients */
};

struct broker_node {
    broker_t *broker;
    int32_t id;
    broker_server_t *server;
    char host[256]; /* advertised */
    int port;       /* advertised */
    char *rack;
    int up;
};

/* How a partition's log is opened: file-backed for kc-broker, in-memory for
 * the mock. Returns 0 or a kc_err_t with errstr. */
typedef int (*broker_log_open_fn)(broker_t *b, broker_topic_t *t, int32_t partition,
                                  broker_log_t **out, char *errstr, size_t errstr_size);

struct broker {
    struct event_base *base;
    const broker_conf_t *conf; /* borrowed; outlives the broker */
    char cluster_id[32];
    broker_node_t *nodes;
    int node_count;
    int32_t controller_id;
    util_hmap_t topics;       /* name -> broker_topic_t */
    util_hmap_t topics_by_id; /* 16-byte uuid -> broker_topic_t */
    broker_log_open_fn open_log;
    int persistent;             /* writes topic metadata to log.dirs */
    struct event *flush_ev;     /* the batched flush; see broker_partition_note_append */
    void *flush_state;          /* dirty partitions and waiters (broker.c) */
    struct event *housekeeping; /* retention and time-based flush */
    int64_t last_retention_ms;  /* when housekeeping last applied retention */
    void *groups;               /* group coordinator state (groups/) */
    void *pids;                 /* producer-id allocation (producers/) */
    void *fetch;                /* fetch sessions (handlers/fetch_session.c) */
    int64_t (*now_ms)(void);
    const struct broker_hooks *hooks; /* fault injection (the mock); NULL in kc-broker */
};

/* ---- Lifecycle --------------------------------------------------------------- */

typedef struct broker_opts {
    int node_count;              /* 1 for kc-broker */
    int32_t first_node_id;       /* node.id of the first node */
    broker_log_open_fn open_log; /* NULL: file-backed under conf->dirs */
    int persistent;              /* topic metadata, offsets and producer state go to log.dirs */
} broker_opts_t;

/* Builds the broker, loads persisted state and binds the listeners. On
 * failure returns NULL with errstr saying what and why. */
broker_t *broker_new(struct event_base *base, const broker_conf_t *conf, const broker_opts_t *opts,
                     char *errstr, size_t errstr_size);
/* Closes every connection and log (flushing them) and frees the broker. */
void broker_destroy(broker_t *b);

broker_node_t *broker_node_find(broker_t *b, int32_t node_id);
int64_t broker_now_ms(void);

/* ---- Topics -------------------------------------------------------------------- */

broker_topic_t *broker_topic_find(broker_t *b, proto_str_t name);
broker_topic_t *broker_topic_find_id(broker_t *b, const proto_uuid_t *id);
broker_partition_t *broker_partition_find(broker_t *b, proto_str_t topic, int32_t partition);

/* Kafka's topic-name rule: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
 * Returns 0 or KC_ERR_INVALID_TOPIC_EXCEPTION with the reason. */
int broker_topic_name_check(proto_str_t name, char *errstr, size_t errstr_size);

/* Creates a topic (partitions spread over the nodes' leadership round-robin)
 * and persists it. `conf_names`/`conf_values` are topic config overrides
 * (validated by the caller). Returns 0, KC_ERR_TOPIC_ALREADY_EXISTS,
 * KC_ERR_INVALID_TOPIC_EXCEPTION, KC_ERR_INVALID_PARTITIONS or
 * KC_ERR_KAFKA_STORAGE_ERROR with errstr. */
int broker_topic_create(broker_t *b, proto_str_t name, int32_t partitions,
                        const char *const *conf_names, const char *const *conf_values,
                        int conf_count, broker_topic_t **out, char *errstr, size_t errstr_size);
/* Adds partitions up to `total`. */
int broker_topic_add_partitions(broker_t *b, broker_topic_t *t, int32_t total, char *errstr,
                                size_t errstr_size);
/* Deletes a topic with its data. */
int broker_topic_delete(broker_t *b, broker_topic_t *t, char *errstr, size_t errstr_size);
/* Sets (value != NULL) or removes a topic config override and persists it. */
int broker_topic_conf_set(broker_t *b, broker_topic_t *t, const char *name, const char *value,
                          char *errstr, size_t errstr_size);
/* The override's value, or NULL. */
const char *broker_topic_conf_get(const broker_topic_t *t, const char *name);
/* Re-applies a topic's overrides to its open logs (segment size, retention). */
void broker_topic_conf_apply(broker_t *b, broker_topic_t *t);

/* Auto-creation on Metadata/Produce when auto.create.topics.enable allows. */
broker_topic_t *broker_topic_auto_create(broker_t *b, proto_str_t name, int *err);

/* Called after records were appended to p. Applies log.flush.interval.messages:
 * when due, the partition is flushed before the loop sleeps (one fsync for all
 * appends of that loop turn). Returns non-zero if the caller must wait for the
 * flush before acknowledging (see broker_flush_wait). */
int broker_partition_note_append(broker_t *b, broker_partition_t *p, int64_t records);
/* Runs fn(arg, err) after the next batched flush (err != 0 if a flush failed,
 * so the ack must not claim durability). Returns 0, or -1 when out of memory. */
int broker_flush_wait(broker_t *b, void (*fn)(void *arg, int err), void *arg);
/* Forgets every waiter registered with this arg (its call was abandoned). */
void broker_flush_cancel(broker_t *b, void *arg);
/* Flushes every dirty partition now and releases the waiters. */
void broker_flush_run(broker_t *b);

/* Tells parked Fetch requests that p has new data (handlers/fetch.c). Every
 * append path calls it after a successful append. */
void broker_notify_append(broker_t *b, broker_partition_t *p);
/* Wakes parked Fetch requests on p and forgets them there: p is about to be
 * freed (its topic is being deleted or the broker shut down). */
void broker_fetch_partition_closing(broker_partition_t *p);
/* Frees the fetch sessions (broker_destroy, after the connections). */
void broker_fetch_destroy(broker_t *b);

/* ---- Requests ------------------------------------------------------------------ */

/* One request being served. The handler owns it from dispatch until it calls
 * broker_call_respond() or broker_call_close(); either frees it. If the
 * connection goes away first, on_abandon (if set) runs and the call is freed:
 * a handler that parks a call (long-poll, waiting for fsync) sets on_abandon
 * to unpark it. */
struct broker_call {
    broker_t *b;
    broker_node_t *node;
    broker_req_t *req;
    proto_req_header_t hdr;
    const proto_api_t *api;
    void *request; /* the decoded request body, of api->request's type */
    proto_arena_t arena;
    void (*on_abandon)(broker_call_t *call);
    void *handler_data;
    void *hook_data; /* the hooks' (see broker_hooks_t) */
};

typedef void (*broker_handler_fn)(broker_call_t *call);

/* Fault injection for the mock cluster (mock-broker/): kc-broker sets none. Every
 * hook runs on the loop thread; any pointer may be NULL. */
typedef struct broker_hooks {
    void *opaque;
    /* A decoded, served request, before its handler. Returns 0 to serve it
     * now, or 1 if the hook took the call: it then calls handle(call) later
     * or answers the call itself, and sets call->on_abandon meanwhile. */
    int (*on_call)(void *opaque, broker_call_t *call, broker_handler_fn handle);
    /* The call is about to be freed: answered, finished or abandoned. */
    void (*on_call_end)(void *opaque, broker_call_t *call);
    /* The coordinator of key (key_type 0: group, 1: transaction), or NULL
     * for the core's own choice (which has no transaction coordinator). A
     * returned node that is down makes the key's coordinator unavailable. */
    broker_node_t *(*coordinator)(void *opaque, int8_t key_type, proto_str_t key);
} broker_hooks_t;

/* Encodes resp (a struct of the call's response type, at the request's
 * version), sends it in order and frees the call. An encoding failure is a
 * bug in the handler: it is logged and the connection closed. */
void broker_call_respond(broker_call_t *call, const void *resp);
/* Sends the body the handler appended to call->req->out itself (Fetch, which
 * splices file segments in) and frees the call. */
void broker_call_respond_out(broker_call_t *call);
/* Finishes a call that gets no response (Produce with acks=0). */
void broker_call_finish_silent(broker_call_t *call);
/* Logs why and closes the connection (Kafka's answer to requests it cannot
 * serve); frees the call. */
void broker_call_close(broker_call_t *call, const char *why);
/* Zeroed memory that lives as long as the call (for building responses). */
void *broker_call_alloc(broker_call_t *call, size_t n);
/* Response arrays of scalars: n zeroed elements of `size` bytes. */
void *broker_call_array(broker_call_t *call, int32_t n, size_t size);
/* Response arrays of structs: n elements set to their defaults (use the
 * generated proto_<struct>_sdesc), so fields a version lacks stay at the
 * default the encoder expects. */
void *broker_call_structs(broker_call_t *call, int32_t n, const proto_struct_desc_t *s);
/* A copy of s in the call's arena, for response strings built on the fly. */
proto_str_t broker_call_str(broker_call_t *call, const char *s);

/* The request callback of every node's server. */
int broker_dispatch(void *node, broker_req_t *req);

/* Advertised ApiVersions range of api_key (min/max), or -1 if not served. */
int broker_api_range(int16_t api_key, int16_t *min, int16_t *max);

#endif
