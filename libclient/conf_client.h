/* The client's configuration: librdkafka's property names, meanings and
 * defaults, one row each in client_conf_table (conf_client.c). The producer
 * and consumer read the typed fields below; nothing parses text after
 * kc_conf_set().
 *
 * Lifecycle: client_conf_init() (defaults), client_conf_set() as often as
 * needed, client_conf_finalize() once when a producer or consumer is created
 * from (a copy of) it, client_conf_clear() at the end.
 */
#ifndef KC_CONF_CLIENT_H
#define KC_CONF_CLIENT_H

#include <stdint.h>

#include "util/conf.h"

/* auto.offset.reset */
enum { CLIENT_OFFSET_RESET_EARLIEST, CLIENT_OFFSET_RESET_LATEST, CLIENT_OFFSET_RESET_ERROR };

/* partitioner */
enum {
    CLIENT_PARTITIONER_RANDOM,
    CLIENT_PARTITIONER_CONSISTENT,
    CLIENT_PARTITIONER_CONSISTENT_RANDOM,
    CLIENT_PARTITIONER_MURMUR2,
    CLIENT_PARTITIONER_MURMUR2_RANDOM,
    CLIENT_PARTITIONER_FNV1A,
    CLIENT_PARTITIONER_FNV1A_RANDOM,
};

/* isolation.level: the wire values of Fetch's IsolationLevel. */
enum { CLIENT_READ_UNCOMMITTED = 0, CLIENT_READ_COMMITTED = 1 };

/* security.protocol */
enum {
    CLIENT_SECURITY_PLAINTEXT,
    CLIENT_SECURITY_SSL,
    CLIENT_SECURITY_SASL_PLAINTEXT,
    CLIENT_SECURITY_SASL_SSL
};

/* debug: one bit per context, librdkafka's names. */
enum {
    CLIENT_DEBUG_GENERIC = 1 << 0,
    CLIENT_DEBUG_BROKER = 1 << 1,
    CLIENT_DEBUG_TOPIC = 1 << 2,
    CLIENT_DEBUG_METADATA = 1 << 3,
    CLIENT_DEBUG_FEATURE = 1 << 4,
    CLIENT_DEBUG_QUEUE = 1 << 5,
    CLIENT_DEBUG_MSG = 1 << 6,
    CLIENT_DEBUG_PROTOCOL = 1 << 7,
    CLIENT_DEBUG_CGRP = 1 << 8,
    CLIENT_DEBUG_SECURITY = 1 << 9,
    CLIENT_DEBUG_FETCH = 1 << 10,
    CLIENT_DEBUG_INTERCEPTOR = 1 << 11,
    CLIENT_DEBUG_PLUGIN = 1 << 12,
    CLIENT_DEBUG_CONSUMER = 1 << 13,
    CLIENT_DEBUG_ADMIN = 1 << 14,
    CLIENT_DEBUG_EOS = 1 << 15,
    CLIENT_DEBUG_MOCK = 1 << 16,
    CLIENT_DEBUG_ASSIGNOR = 1 << 17,
    CLIENT_DEBUG_CONF = 1 << 18,
    CLIENT_DEBUG_TELEMETRY = 1 << 19,
    CLIENT_DEBUG_ALL = (1 << 20) - 1,
};

/* At most this many requests in flight per connection with idempotence, as
 * Kafka's brokers track the last five batches per producer and partition. */
#define CLIENT_IDEMPOTENT_MAX_IN_FLIGHT 5

typedef struct client_conf {
    util_conf_base_t base;
    /* Both sides */
    char *bootstrap_servers; /* "host:port,host:port" */
    char *client_id;
    int socket_timeout_ms;
    int socket_connection_setup_timeout_ms;
    int reconnect_backoff_ms;
    int reconnect_backoff_max_ms;
    int metadata_max_age_ms;
    int topic_metadata_refresh_interval_ms;
    int message_max_bytes;
    int receive_message_max_bytes;
    int max_in_flight;
    int api_version_request_timeout_ms;
    int debug; /* CLIENT_DEBUG_* */
    int log_level;
    int statistics_interval_ms;
    int security_protocol;
    int retry_backoff_ms;
    int retry_backoff_max_ms;
    int test_mock_num_brokers;
    int allow_auto_create_topics;
    /* Producer */
    int acks; /* -1, 0, 1 */
    double linger_ms;
    int batch_size;
    int batch_num_messages;
    int queue_buffering_max_messages;
    int queue_buffering_max_kbytes;
    int compression_type; /* proto_codec_t */
    int compression_level;
    int message_timeout_ms;
    int request_timeout_ms;
    int retries;
    int enable_idempotence;
    int partitioner; /* CLIENT_PARTITIONER_* */
    int sticky_partitioning_linger_ms;
    /* Consumer */
    char *group_id;
    char *group_instance_id;
    char *partition_assignment_strategy; /* "range,roundrobin" */
    int session_timeout_ms;
    int heartbeat_interval_ms;
    int max_poll_interval_ms;
    int enable_auto_commit;
    int auto_commit_interval_ms;
    int auto_offset_reset; /* CLIENT_OFFSET_RESET_* */
    int enable_partition_eof;
    int fetch_min_bytes;
    int fetch_wait_max_ms;
    int fetch_max_bytes;
    int max_partition_fetch_bytes;
    int queued_max_messages_kbytes;
    int queued_min_messages;
    int check_crcs;
    int isolation_level; /* CLIENT_READ_* */
} client_conf_t;

extern const util_conf_table_t client_conf_table;

/* See util_conf_init() and friends; these only fix the table. */
kc_err_t client_conf_init(client_conf_t *conf, char *errstr, size_t errstr_size);
kc_err_t client_conf_set(client_conf_t *conf, const char *name, const char *value, char *errstr,
                         size_t errstr_size);
void client_conf_clear(client_conf_t *conf);

typedef enum client_role { CLIENT_ROLE_PRODUCER, CLIENT_ROLE_CONSUMER } client_role_t;

/* Checks the properties against each other and derives the values librdkafka
 * derives when the user did not set them (idempotence implies acks=all,
 * at most 5 in flight and unbounded retries; sticky.partitioning.linger.ms is
 * twice linger.ms; metadata.max.age.ms is three refresh intervals;
 * fetch.max.bytes and receive.message.max.bytes follow message.max.bytes).
 * An explicit setting that contradicts a rule is an error naming both
 * properties. Call once, on the copy a producer or consumer keeps. */
kc_err_t client_conf_finalize(client_conf_t *conf, client_role_t role, char *errstr,
                              size_t errstr_size);

/* The wait before a request is sent again after `failed` failures in a row
 * (1 = the first): retry.backoff.ms, doubled for each failure before the
 * last, at most retry.backoff.max.ms. librdkafka (2.3 and later) backs off
 * the same way, with jitter on top. */
int client_retry_backoff_ms(const client_conf_t *conf, int failed);

#endif
