/* kc_client_t: a connection to a Kafka cluster, for cluster metadata (the
 * producer and consumer build on the same client internally).
 *
 * Lifecycle:
 *   - kc_client_new() starts the client's I/O thread; it does not connect
 *     yet. Connections open when a call needs one, to the bootstrap brokers
 *     and then to the brokers the cluster reports.
 *   - Any thread may call kc_metadata() on a live client, also from several
 *     threads at once.
 *   - kc_client_destroy() stops the I/O thread and closes every connection.
 *     Calls still waiting in other threads must have returned first. When it
 *     returns, no thread of the client runs and nothing of it is left.
 *
 * A kc_metadata_t is a plain read-only snapshot owned by the caller: it
 * stays valid after the client is destroyed, until kc_metadata_destroy().
 */
#ifndef KC_CLIENT_H
#define KC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "kc/kc_conf.h"
#include "kc/kc_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kc_client kc_client_t;

typedef struct kc_metadata_broker {
    int32_t id;
    const char *host;
    int port;
    const char *rack; /* NULL if the broker has none */
} kc_metadata_broker_t;

typedef struct kc_metadata_partition {
    int32_t id;
    kc_err_t err;         /* the broker's error for this partition, 0 if none */
    int32_t leader;       /* broker id, -1 if none */
    int32_t leader_epoch; /* -1 if the broker does not say */
    int replica_cnt;
    const int32_t *replicas;
    int isr_cnt;
    const int32_t *isrs;
} kc_metadata_partition_t;

typedef struct kc_metadata_topic {
    const char *name;
    kc_err_t err; /* e.g. KC_ERR_UNKNOWN_TOPIC_OR_PARTITION */
    int is_internal;
    int partition_cnt;
    const kc_metadata_partition_t *partitions; /* ascending by id */
} kc_metadata_topic_t;

typedef struct kc_metadata {
    int broker_cnt;
    const kc_metadata_broker_t *brokers;
    int topic_cnt;
    const kc_metadata_topic_t *topics;
    int32_t controller_id;        /* -1 if unknown */
    const char *cluster_id;       /* NULL if the broker does not say */
    int32_t orig_broker_id;       /* the broker that answered */
    const char *orig_broker_name; /* "host:port/id" */
} kc_metadata_t;

/* A client for the cluster at conf's bootstrap.servers. Takes ownership of
 * conf on success only; on failure returns NULL with the reason in errstr
 * and conf stays the caller's. */
kc_client_t *kc_client_new(kc_conf_t *conf, char *errstr, size_t errstr_size);

/* Stops the client (see the lifecycle above). NULL is allowed. */
void kc_client_destroy(kc_client_t *client);

/* Asks the cluster for metadata of `topic`, or of all topics when topic is
 * NULL, waiting at most timeout_ms. Brokers are tried in turn until one
 * answers. A topic that does not exist comes back with its error, not as a
 * failure of the call. On success *out is a snapshot for kc_metadata_destroy().
 * On failure returns the error (KC_ERR__TIMED_OUT when no broker answered
 * in time, KC_ERR__UNSUPPORTED when the brokers lack a usable Metadata
 * version, ...) and, when errstr is not NULL, why. */
kc_err_t kc_metadata(kc_client_t *client, const char *topic, int timeout_ms, kc_metadata_t **out,
                     char *errstr, size_t errstr_size);

/* NULL is allowed. */
void kc_metadata_destroy(kc_metadata_t *md);

#ifdef __cplusplus
}
#endif
#endif
