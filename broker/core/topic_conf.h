/* Topic-level configuration: Apache Kafka's topic property names, types,
 * ranges and defaults, one row each in broker_topic_conf_table
 * (topic_conf.c). CreateTopics, AlterConfigs, IncrementalAlterConfigs and
 * DescribeConfigs all go through this table, and docs/topic-configuration.md
 * is generated from it (`kc config --markdown topic`).
 *
 * A topic keeps only its overrides, as canonical text (broker_topic_conf_t in
 * broker.h). A property that is not overridden takes the broker's
 * corresponding log.* setting (retention.ms <- log.retention.ms, ...), or the
 * table's default when the broker has none. broker_topic_settings() resolves
 * all of that into a typed struct.
 */
#ifndef BROKER_CORE_TOPIC_CONF_H
#define BROKER_CORE_TOPIC_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "core/broker.h"
#include "storage/log_file.h"
#include "util/conf.h"

/* compression.type */
enum {
    BROKER_TOPIC_COMPRESSION_PRODUCER,
    BROKER_TOPIC_COMPRESSION_UNCOMPRESSED,
    BROKER_TOPIC_COMPRESSION_GZIP,
    BROKER_TOPIC_COMPRESSION_SNAPPY,
    BROKER_TOPIC_COMPRESSION_LZ4,
    BROKER_TOPIC_COMPRESSION_ZSTD,
};

/* A topic's effective settings. */
typedef struct broker_topic_settings {
    util_conf_base_t base;
    char *cleanup_policy; /* "delete", "compact" or "compact,delete" */
    int compression_type; /* BROKER_TOPIC_COMPRESSION_* (only PRODUCER is accepted) */
    int64_t delete_retention_ms;
    int64_t file_delete_delay_ms;
    int index_interval_bytes;
    int64_t max_compaction_lag_ms;
    int max_message_bytes;
    int64_t message_timestamp_after_max_ms;
    int64_t message_timestamp_before_max_ms;
    int message_timestamp_type; /* BROKER_TS_* */
    double min_cleanable_dirty_ratio;
    int64_t min_compaction_lag_ms;
    int min_insync_replicas;
    int preallocate;
    int64_t retention_bytes;
    int64_t retention_ms;
    int segment_bytes;
    int segment_index_bytes;
    int64_t segment_jitter_ms;
    int64_t segment_ms;
    int unclean_leader_election_enable;
} broker_topic_settings_t;

extern const util_conf_table_t broker_topic_conf_table;

/* DescribeConfigs ConfigSource values. */
enum {
    BROKER_CONF_SRC_DYNAMIC_TOPIC = 1,
    BROKER_CONF_SRC_STATIC_BROKER = 4,
    BROKER_CONF_SRC_DEFAULT = 5,
};

/* Checks name=value as a topic override. On success writes the canonical
 * text (what is stored and shown) to canon. Returns 0, or
 * KC_ERR_INVALID_CONFIG with errstr naming the property and the reason
 * (unknown name, bad value, not supported by kc-broker). value NULL is
 * rejected (Kafka: "null value not supported"). */
int broker_topic_conf_check(const char *name, const char *value, char *canon, size_t canon_size,
                            char *errstr, size_t errstr_size);

/* Resolves t's effective settings (t may be NULL: a topic without
 * overrides) into *out, which the caller clears with util_conf_clear(). An
 * override that no longer validates is skipped with a warning. */
int broker_topic_settings(const broker_t *b, const broker_topic_t *t, broker_topic_settings_t *out);

/* One value a property takes, in precedence order (DescribeConfigs synonyms). */
typedef struct broker_topic_conf_synonym {
    const char *name;
    char value[256];
    int has_value; /* 0: null */
    int source;    /* BROKER_CONF_SRC_* */
} broker_topic_conf_synonym_t;

#define BROKER_TOPIC_SYNONYMS_MAX 5

/* The synonyms of topic property `name` for t (t may be NULL), highest
 * precedence first, as Kafka lists them: the topic override, each broker
 * property that was set or has a default (log.retention.ms,
 * log.retention.minutes, log.retention.hours), or the property's own default
 * when the broker has none. The first one's source is the value's source
 * (the value itself, in the topic's unit, comes from broker_topic_settings).
 * Returns the count (0 for an unknown name). */
int broker_topic_conf_synonyms(const broker_t *b, const broker_topic_t *t, const char *name,
                               broker_topic_conf_synonym_t *out, int max);

/* The partition log settings t's logs run with. cleanup.policy without
 * "delete" (a compacted topic) keeps everything: kc-broker does not compact,
 * and keeping every record is what a reader of a compacted topic can
 * tolerate (later values of a key win), while deleting by age could lose a
 * key's only value. */
void broker_topic_log_conf(const broker_t *b, const broker_topic_t *t, broker_log_conf_t *lc);

/* Kafka's ConfigType (DescribeConfigs v3+) of a row. */
int8_t broker_conf_kafka_type(const util_conf_prop_t *p);

#endif
