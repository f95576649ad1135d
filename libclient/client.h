/* The client core: one I/O thread running one libevent loop, the brokers
 * (bootstrap and learned), their connections, the metadata cache, and the
 * queue of operations through which application threads talk to the I/O
 * thread. The producer and consumer are built on it.
 *
 * Threads. Application threads never touch the loop, the brokers or the
 * cache: they enqueue a client_op_t (under c->lock, then wake the loop) and
 * wait for it to be marked done. Everything else runs on the I/O thread.
 * Each function below says which thread may call it.
 *
 * Lifecycle:
 *   - client_new() (any thread) starts the I/O thread; no connection opens
 *     until an operation needs one.
 *   - client_* calls marked "any thread" may run concurrently.
 *   - client_destroy() (an application thread, never the I/O thread): asks
 *     the I/O thread to stop; it fails every queued or running operation with
 *     KC_ERR__DESTROY, destroys the connections (whose request callbacks fire
 *     then, with KC_ERR__DESTROY), and leaves its loop. The thread is joined;
 *     when client_destroy() returns no callback can fire and all memory is
 *     released. Operations still waited on by other threads must have
 *     returned before (they would return KC_ERR__DESTROY).
 */
#ifndef KC_CLIENT_INT_H
#define KC_CLIENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kc/kc_client.h"
#include "conf_client.h"
#include "kc/kc_conf.h"
#include "net/net_conn.h"

struct event_base;

typedef struct client client_t;

/* The client inside a public handle. */
client_t *client_of(kc_client_t *k);

/* Any thread. Takes ownership of conf on success only. */
client_t *client_new(kc_conf_t *conf, char *errstr, size_t errstr_size);
/* An application thread (see the lifecycle). NULL is allowed. */
void client_destroy(client_t *c);

/* Any thread: metadata for topic (NULL: all topics), fetched from the cluster
 * now (also refreshing the cache). See kc_metadata(). */
kc_err_t client_metadata_get(client_t *c, const char *topic, int timeout_ms, kc_metadata_t **out,
                             char *errstr, size_t errstr_size);

/* Any thread except the I/O thread: runs fn(c, arg) on the I/O thread and
 * waits until it returned. KC_ERR__DESTROY (fn not run) if the client is
 * stopping. How producer/consumer calls and tests reach the I/O thread. */
kc_err_t client_call(client_t *c, void (*fn)(client_t *c, void *arg), void *arg);

/* ---- I/O thread only ---- */

struct event_base *client_base(client_t *c);
const client_conf_t *client_conf(const client_t *c);

/* Sends a request to broker node_id (a learned broker), or to any broker
 * when node_id is -1 (one with a connection up first). Same contract as
 * net_request_send(); KC_ERR__NOENT for an unknown node id. */
kc_err_t client_broker_request(client_t *c, int32_t node_id, int16_t api_key, const void *req,
                               int timeout_ms, int flags, net_resp_cb cb, void *opaque);
/* The connection of broker node_id, NULL if unknown. Borrowed: valid until
 * client_destroy(). */
net_conn_t *client_broker_conn(client_t *c, int32_t node_id);

/* The cached leader of topic/partition. 0 and *leader; KC_ERR__UNKNOWN_TOPIC
 * or KC_ERR__UNKNOWN_PARTITION if the cache does not know it (a refresh is
 * started), KC_ERR_LEADER_NOT_AVAILABLE while it has no leader. An entry
 * older than metadata.max.age.ms is still answered but refreshed. */
kc_err_t client_topic_leader(client_t *c, const char *topic, int32_t partition, int32_t *leader);
/* Asks for a metadata refresh of topic (and every cached topic), e.g. after
 * NOT_LEADER_OR_FOLLOWER. Requests coalesce: at most one refresh is in
 * flight, and one more runs after it if asked for meanwhile. */
void client_metadata_refresh(client_t *c, const char *topic);
/* fn (NULL: none) runs on the I/O thread each time a metadata response has
 * updated the cache, so a producer or consumer waiting for a topic's
 * partitions or leaders goes on at once instead of at its next timer. Set
 * it on the I/O thread (from client_call). */
void client_set_metadata_cb(client_t *c, void (*fn)(client_t *c, void *opaque), void *opaque);
/* Number of completed metadata refreshes (for tests and statistics). */
uint64_t client_metadata_refreshes(const client_t *c);

#endif
