/* kc-broker's configuration: Apache Kafka's broker property names and
 * defaults (a server.properties written for Kafka mostly works), one row each
 * in broker_conf_table (broker_conf.c); kc's own properties start with `kc.`.
 *
 * Lifecycle: broker_conf_from_argv() builds a finished configuration from the
 * command line (or: broker_conf_init(), broker_conf_set() / util_conf_load_file(),
 * broker_conf_finalize()); broker_conf_clear() frees it. The broker reads the
 * typed fields; the "effective" fields at the end are filled by
 * broker_conf_finalize() from Kafka's precedence rules.
 */
#ifndef BROKER_CONF_H
#define BROKER_CONF_H

#include <stdint.h>

#include "util/conf.h"

/* log.message.timestamp.type */
enum { BROKER_TS_CREATE_TIME, BROKER_TS_LOG_APPEND_TIME };

typedef struct broker_listener {
    char name[32];  /* "PLAINTEXT" */
    char host[256]; /* "" binds every interface */
    int port;       /* 0: any free port */
    char addr[264]; /* "host:port" ("[::1]:9092" for IPv6), for broker_server_conf_t */
} broker_listener_t;

typedef struct broker_conf {
    util_conf_base_t base;
    char *listeners;
    char *advertised_listeners;
    char *log_dirs;
    char *log_dir;
    char *cluster_id;
    int node_id;
    int num_partitions;
    int default_replication_factor;
    int auto_create_topics_enable;
    int delete_topic_enable;
    int log_segment_bytes;
    int64_t log_roll_ms;
    int log_roll_hours;
    int64_t log_retention_ms;
    int log_retention_minutes;
    int log_retention_hours;
    int64_t log_retention_bytes;
    int64_t log_retention_check_interval_ms;
    int64_t log_flush_interval_messages;
    int64_t log_flush_interval_ms;
    int log_index_interval_bytes;
    int log_index_size_max_bytes;
    int log_message_timestamp_type; /* BROKER_TS_* */
    int message_max_bytes;
    int socket_request_max_bytes;
    int max_connections;
    int group_initial_rebalance_delay_ms;
    int group_min_session_timeout_ms;
    int group_max_session_timeout_ms;
    int offsets_retention_minutes;
    int transactional_id_expiration_ms;
    int producer_id_expiration_ms;

    /* Effective values, set by broker_conf_finalize(). */
    int64_t retention_ms;      /* log.retention.ms, else .minutes, else .hours; -1: forever */
    int64_t roll_ms;           /* log.roll.ms, else log.roll.hours */
    int64_t flush_ms;          /* log.flush.interval.ms; INT64_MAX when unset (never by time) */
    broker_listener_t *listen; /* parsed `listeners` */
    int listen_count;
    /* Parsed `advertised.listeners`, else a copy of `listeners`, whose port 0
     * and empty host the broker replaces with what it bound. */
    broker_listener_t *advertise;
    int advertise_count;
    char **dirs; /* log.dirs, else log.dir, split */
    int dir_count;
} broker_conf_t;

extern const util_conf_table_t broker_conf_table;

#define BROKER_CONF_USAGE "usage: kc-broker [server.properties] [--override key=value]..."

kc_err_t broker_conf_init(broker_conf_t *conf, char *errstr, size_t errstr_size);
kc_err_t broker_conf_set(broker_conf_t *conf, const char *name, const char *value, char *errstr,
                         size_t errstr_size);
/* Applies the precedence rules and parses listeners and directories into the
 * effective fields; checks properties against each other. */
kc_err_t broker_conf_finalize(broker_conf_t *conf, char *errstr, size_t errstr_size);
/* Frees everything; the struct may be init'ed again. */
void broker_conf_clear(broker_conf_t *conf);

/* `kc-broker [server.properties] [--override key=value]...`: defaults, then
 * the file, then the overrides in order (later wins), then finalize. argv[0]
 * is the program name. On failure errstr names the property (and file:line)
 * and the reason, and conf holds nothing to free. */
kc_err_t broker_conf_from_argv(broker_conf_t *conf, int argc, char **argv, char *errstr,
                               size_t errstr_size);

/* Parses a `listeners` value ("PLAINTEXT://host:port,..."; host empty, a
 * name, an IPv4 address or a bracketed IPv6 address; port 0..65535) into a
 * malloc'ed array the caller frees. Only PLAINTEXT is supported. */
kc_err_t broker_conf_parse_listeners(const char *text, broker_listener_t **out, int *count,
                                     char *errstr, size_t errstr_size);

#endif
