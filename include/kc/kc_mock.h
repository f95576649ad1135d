/* libkc-mock: a Kafka cluster inside your process, with faults on demand.
 *
 * A mock cluster is N brokers (node ids 1..N) on ephemeral loopback ports,
 * served by kc's broker core over in-memory logs, on a thread of its own.
 * It speaks every API kc-broker serves (produce, fetch, consumer groups,
 * idempotent producers, admin), so any Kafka client can use it: point its
 * bootstrap.servers at kc_mock_cluster_bootstrap().
 *
 * Lifecycle: kc_mock_cluster_new() binds the listeners and starts the
 * thread; the cluster serves until kc_mock_cluster_destroy(), which closes
 * every connection and frees everything (data included: nothing is written
 * to disk).
 *
 * Threads: every function here may be called from any thread, except from
 * inside the mock's own thread. A control call is carried out on the mock's
 * thread between two requests, and has taken effect when it returns.
 *
 * Errors: functions that can fail return a kc_err_t: KC_ERR__INVALID_ARG
 * for an argument that names no broker, topic or partition, or is out of
 * range; KC_ERR__NO_MEMORY; or the broker's own error (e.g.
 * KC_ERR_TOPIC_ALREADY_EXISTS). Link with -lkc-mock (pkg-config kc-mock).
 */
#ifndef KC_MOCK_H
#define KC_MOCK_H

#include <stddef.h>
#include <stdint.h>

#include "kc_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kc_mock_cluster kc_mock_cluster_t;

/* ---- Lifecycle ------------------------------------------------------------------ */

/* The most brokers a cluster may have; also the upper bound of a kc
 * client's test.mock.num.brokers. */
#define KC_MOCK_MAX_BROKERS 64

/* Starts a cluster of broker_count brokers (1..KC_MOCK_MAX_BROKERS). Returns
 * NULL on failure with the reason in errstr (may be NULL). */
kc_mock_cluster_t *kc_mock_cluster_new(int broker_count, char *errstr, size_t errstr_size);

/* The same with broker properties (Kafka's names, "key=value", NULL
 * terminated, e.g. "auto.create.topics.enable=false"), applied over the
 * mock's defaults. listeners and log.dirs are the mock's own. */
kc_mock_cluster_t *kc_mock_cluster_new_with(int broker_count, const char *const *properties,
                                            char *errstr, size_t errstr_size);

/* "127.0.0.1:port,127.0.0.1:port,...": every broker, for bootstrap.servers.
 * Borrowed: valid until kc_mock_cluster_destroy(). */
const char *kc_mock_cluster_bootstrap(const kc_mock_cluster_t *mc);

/* Number of brokers; their node ids are 1..count. */
int kc_mock_cluster_broker_count(const kc_mock_cluster_t *mc);

/* Stops the thread, closes every connection, frees the cluster. NULL is
 * allowed. */
void kc_mock_cluster_destroy(kc_mock_cluster_t *mc);

/* ---- Topics and partitions ------------------------------------------------------- */

/* Creates a topic of `partitions` partitions whose replicas are
 * `replication_factor` brokers each (1..broker count), leaders spread
 * round-robin and the other replicas on the following brokers. */
kc_err_t kc_mock_topic_create(kc_mock_cluster_t *mc, const char *topic, int partitions,
                              int replication_factor);

/* Makes broker_id the partition's leader (bumping the leader epoch). The
 * leader joins the replica list if it was not in it. The old leader answers
 * NOT_LEADER_OR_FOLLOWER from now on, as a real cluster does. */
kc_err_t kc_mock_partition_set_leader(kc_mock_cluster_t *mc, const char *topic, int partition,
                                      int32_t broker_id);

/* Sets the partition's replicas (leader and followers) as Metadata reports
 * them: count node ids, each a broker of the cluster, no repeats. The
 * leader stays; if it is not among them the first becomes the leader. */
kc_err_t kc_mock_partition_set_replicas(kc_mock_cluster_t *mc, const char *topic, int partition,
                                        const int32_t *broker_ids, int count);

/* ---- Coordinators ---------------------------------------------------------------- */

#define KC_MOCK_COORD_GROUP       0 /* FindCoordinator key type 0: consumer groups */
#define KC_MOCK_COORD_TRANSACTION 1 /* key type 1: transactional ids */

/* Pins the coordinator of `key` (a group id or a transactional id) to
 * broker_id; -1 removes the pin (groups fall back to a hash of the id over
 * the brokers that are up; transactions to COORDINATOR_NOT_AVAILABLE). The
 * group's state stays: members are told NOT_COORDINATOR by the old one and
 * find the new one, as after a coordinator failover. While a pinned broker
 * is down the key has no coordinator, as in Kafka while the coordinator's
 * partition has no leader: FindCoordinator and the group APIs answer
 * COORDINATOR_NOT_AVAILABLE until the broker is up again or the pin moves
 * (the mock elects no other coordinator by itself). */
kc_err_t kc_mock_coordinator_set(kc_mock_cluster_t *mc, int key_type, const char *key,
                                 int32_t broker_id);

/* ---- Faults ------------------------------------------------------------------------ */

/* Queues errors for the next `count` requests of api_key (Kafka's API key:
 * 0 Produce, 1 Fetch, 3 Metadata, ...) that reach broker_id, or any broker
 * for broker_id -1 (a broker's own queue is used before the cluster's).
 * Such a request is not served: it gets a response of its own shape where
 * every error code is the queued error (a Produce with acks=0 gets none).
 * rtt_ms (NULL, or count values) delays each of those responses. Errors may
 * be KC_ERR_NO_ERROR, which serves the request normally (after its delay). */
kc_err_t kc_mock_push_request_errors(kc_mock_cluster_t *mc, int32_t broker_id, int16_t api_key,
                                     size_t count, const kc_err_t *errors, const int *rtt_ms);

/* Drops the queued errors of api_key (-1: every API) for broker_id (-1: the
 * cluster's queue and every broker's). */
kc_err_t kc_mock_clear_request_errors(kc_mock_cluster_t *mc, int32_t broker_id, int16_t api_key);

/* Delays every request broker_id serves by rtt_ms (0 removes the delay):
 * the request is handled rtt_ms after it arrived, so its response leaves
 * that much later. */
kc_err_t kc_mock_broker_set_rtt(kc_mock_cluster_t *mc, int32_t broker_id, int rtt_ms);

/* Takes broker_id down: its connections are closed, new ones are refused,
 * and Metadata stops listing it (its partitions have no leader). */
kc_err_t kc_mock_broker_down(kc_mock_cluster_t *mc, int32_t broker_id);

/* Brings broker_id up again on the same port. */
kc_err_t kc_mock_broker_up(kc_mock_cluster_t *mc, int32_t broker_id);

/* Closes every connection of broker_id (-1: of every broker) now; the
 * brokers stay up and accept new connections. */
kc_err_t kc_mock_close_connections(kc_mock_cluster_t *mc, int32_t broker_id);

/* ---- Request log ------------------------------------------------------------------- */

/* Each broker records the requests it served (or answered with an injected
 * error), in arrival order, so a test can check what its client sent. */
typedef struct kc_mock_requests kc_mock_requests_t;
typedef struct kc_mock_request kc_mock_request_t;

/* A copy of broker_id's log (-1: every broker's, by arrival time). Returns
 * NULL when out of memory or for an unknown broker. Free with
 * kc_mock_requests_destroy(). */
kc_mock_requests_t *kc_mock_requests_get(kc_mock_cluster_t *mc, int32_t broker_id);
size_t kc_mock_requests_count(const kc_mock_requests_t *list);
/* The i-th request (borrowed from the list), or NULL past the end. */
const kc_mock_request_t *kc_mock_requests_at(const kc_mock_requests_t *list, size_t i);
void kc_mock_requests_destroy(kc_mock_requests_t *list);

int32_t kc_mock_request_broker_id(const kc_mock_request_t *r);
int16_t kc_mock_request_api_key(const kc_mock_request_t *r);
int16_t kc_mock_request_api_version(const kc_mock_request_t *r);
/* The request header's client id; NULL if the client sent none. */
const char *kc_mock_request_client_id(const kc_mock_request_t *r);
/* When the request arrived (microseconds since the Unix epoch, by the wall
 * clock). */
int64_t kc_mock_request_received_us(const kc_mock_request_t *r);
/* Microseconds from arrival until the response was ready, measured on a
 * monotonic clock (wall-clock steps do not change it; an injected delay is
 * a lower bound of it), or -1 while there is none: a parked long-poll, or a
 * call dropped unanswered (its connection closed, its broker taken down). */
int64_t kc_mock_request_response_us(const kc_mock_request_t *r);
/* The injected error it was answered with, or KC_ERR_NO_ERROR. */
kc_err_t kc_mock_request_injected_error(const kc_mock_request_t *r);

/* Empties broker_id's log (-1: every broker's). */
kc_err_t kc_mock_requests_clear(kc_mock_cluster_t *mc, int32_t broker_id);

#ifdef __cplusplus
}
#endif
#endif
