/* The topic property table and how a topic's effective settings are
 * resolved: override, else the broker's log.* synonym, else the default.
 * Names, ranges and defaults are Apache Kafka's; meanings are ours. */
#include "core/topic_conf.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/kc_err.h"
#include "util/log.h"

#define B        UTIL_CONF_BROKER
#define F(field) .offset = offsetof(broker_topic_settings_t, field)
#define INT(n, field, lo, hi, d, m) \
    UTIL_CONF_ROW_INT(B, broker_topic_settings_t, n, field, lo, hi, d, m)
#define LONG(n, field, lo, hi, d, m) \
    UTIL_CONF_ROW_INT64(B, broker_topic_settings_t, n, field, lo, hi, d, m)
#define BOOL(n, field, d, m) UTIL_CONF_ROW_BOOL(B, broker_topic_settings_t, n, field, d, m)

/* Said of properties kc-broker keeps and reports but does not act on, so
 * that clients that set them (Kafka Streams, Connect, test suites) work. */
#define KEPT " Accepted and reported; kc-broker does not act on it"

static const util_conf_name_t cleanup_names[] = {
    {"delete", 1, NULL},
    {"compact", 2, NULL},
    {NULL, 0, NULL},
};

#define UNSUPPORTED_CODEC "not supported: kc-broker keeps batches as produced"

static const util_conf_name_t compression_names[] = {
    {"producer", BROKER_TOPIC_COMPRESSION_PRODUCER, NULL},
    {"uncompressed", BROKER_TOPIC_COMPRESSION_UNCOMPRESSED, UNSUPPORTED_CODEC},
    {"gzip", BROKER_TOPIC_COMPRESSION_GZIP, UNSUPPORTED_CODEC},
    {"snappy", BROKER_TOPIC_COMPRESSION_SNAPPY, UNSUPPORTED_CODEC},
    {"lz4", BROKER_TOPIC_COMPRESSION_LZ4, UNSUPPORTED_CODEC},
    {"zstd", BROKER_TOPIC_COMPRESSION_ZSTD, UNSUPPORTED_CODEC},
    {NULL, 0, NULL},
};

static const util_conf_name_t timestamp_names[] = {
    {"CreateTime", BROKER_TS_CREATE_TIME, NULL},
    {"LogAppendTime", BROKER_TS_LOG_APPEND_TIME, NULL},
    {NULL, 0, NULL},
};

static int check_not_empty(const char *value, char *errstr, size_t size)
{
    if (value && *value) return 0;
    snprintf(errstr, size, "give at least one of delete, compact");
    return -1;
}

static const util_conf_prop_t topic_props[] = {
    {.name = "cleanup.policy",
     .type = UTIL_CONF_LIST,
     .scope = B,
     F(cleanup_policy),
     .names = cleanup_names,
     .def = "delete",
     .check = check_not_empty,
     .meaning = "delete: old segments go by retention.ms / retention.bytes. compact is accepted "
                "but kc-broker does not compact: a topic whose policy lacks delete keeps every "
                "record (readers see each key's later values win, as after compaction, and no "
                "key loses its only value)."},
    {.name = "compression.type",
     .type = UTIL_CONF_ENUM,
     .scope = B,
     F(compression_type),
     .names = compression_names,
     .def = "producer",
     .meaning = "Only producer: kc-broker stores batches as produced and does not recompress. "
                "Kafka's other values are recognised and rejected."},
    LONG("delete.retention.ms", delete_retention_ms, 0, INT64_MAX, "86400000",
         "How long delete markers of a compacted topic are kept." KEPT " (no compaction)."),
    LONG("file.delete.delay.ms", file_delete_delay_ms, 0, INT64_MAX, "60000",
         "Delay before a deleted segment's files are removed." KEPT
         ": segments are unlinked at once, and reads in progress keep their open files."),
    INT("index.interval.bytes", index_interval_bytes, 0, INT_MAX, "4096",
        "Bytes of records between two offset index entries. Default: the broker's "
        "`log.index.interval.bytes`."),
    LONG("max.compaction.lag.ms", max_compaction_lag_ms, 1, INT64_MAX, "9223372036854775807",
         "Longest time a record stays uncompacted." KEPT " (no compaction)."),
    INT("max.message.bytes", max_message_bytes, 0, INT_MAX, "1048588",
        "Largest record batch accepted for the topic (after compression). Default: the broker's "
        "`message.max.bytes`."),
    LONG("message.timestamp.after.max.ms", message_timestamp_after_max_ms, 0, INT64_MAX, "3600000",
         "How far in the future a CreateTime timestamp may be." KEPT "."),
    LONG("message.timestamp.before.max.ms", message_timestamp_before_max_ms, 0, INT64_MAX,
         "9223372036854775807", "How far in the past a CreateTime timestamp may be." KEPT "."),
    {.name = "message.timestamp.type",
     .type = UTIL_CONF_ENUM,
     .scope = B,
     F(message_timestamp_type),
     .names = timestamp_names,
     .def = "CreateTime",
     .meaning = "Keep the producer's timestamps, or stamp batches with the append time. Default: "
                "the broker's `log.message.timestamp.type`."},
    {.name = "min.cleanable.dirty.ratio",
     .type = UTIL_CONF_DOUBLE,
     .scope = B,
     F(min_cleanable_dirty_ratio),
     .dmin = 0,
     .dmax = 1,
     .def = "0.5",
     .meaning = "Share of a compacted log that must be uncompacted before it is compacted." KEPT
                " (no compaction)."},
    LONG("min.compaction.lag.ms", min_compaction_lag_ms, 0, INT64_MAX, "0",
         "Shortest time a record stays uncompacted." KEPT " (no compaction)."),
    INT("min.insync.replicas", min_insync_replicas, 1, INT_MAX, "1",
        "Replicas that must hold a write for acks=all to succeed; kc-broker keeps one replica."),
    BOOL("preallocate", preallocate, "false",
         "Preallocate segment files." KEPT ": segment files grow as written."),
    LONG("retention.bytes", retention_bytes, -1, INT64_MAX, "-1",
         "Size a partition may reach before its oldest segments are deleted; -1: no limit. "
         "Default: the broker's `log.retention.bytes`."),
    LONG("retention.ms", retention_ms, -1, INT64_MAX, "604800000",
         "Age after which closed segments are deleted; -1: forever. Default: the broker's "
         "`log.retention.ms` (or its minutes and hours forms)."),
    INT("segment.bytes", segment_bytes, 14, INT_MAX, "1073741824",
        "Size at which the active segment is closed and a new one started. Default: the broker's "
        "`log.segment.bytes`."),
    INT("segment.index.bytes", segment_index_bytes, 4, INT_MAX, "10485760",
        "Largest offset or time index file; a full index closes its segment. Default: the "
        "broker's `log.index.size.max.bytes`."),
    LONG("segment.jitter.ms", segment_jitter_ms, 0, INT64_MAX, "0",
         "Random amount taken off segment.ms per segment." KEPT "."),
    LONG("segment.ms", segment_ms, 1, INT64_MAX, "604800000",
         "Age at which a segment is closed even if not full. Default: the broker's `log.roll.ms` "
         "(or `log.roll.hours`)."),
    BOOL("unclean.leader.election.enable", unclean_leader_election_enable, "false",
         "Let an out-of-sync replica become leader." KEPT ": a partition has one replica."),
};

const util_conf_table_t broker_topic_conf_table = {
    .title = "Topic configuration",
    .intro = "Per-topic properties, set with CreateTopics, AlterConfigs or "
             "IncrementalAlterConfigs and shown by DescribeConfigs (for example with "
             "`kafka-configs.sh` or an admin client). Names, ranges and defaults follow Apache "
             "Kafka. A property a topic does not override takes the broker's corresponding "
             "setting (see broker-configuration.md), else the default shown here. Unknown names "
             "are rejected with INVALID_CONFIG. Changes apply to the open partition logs at "
             "once: a lower segment.bytes rolls at the next append, retention applies at the "
             "next retention check.\n\n"
             "This page is generated from `broker/core/topic_conf.c` by "
             "`kc config --markdown topic`; do not edit it by hand.",
    .props = topic_props,
    .count = sizeof(topic_props) / sizeof(topic_props[0]),
    .settings_size = sizeof(broker_topic_settings_t),
};

/* ---- Broker synonyms ------------------------------------------------------------ */

/* The broker properties a topic property falls back to, most precise first
 * (Kafka's synonym order). */
typedef struct synonym_row {
    const char *topic;
    const char *broker[3];
} synonym_row_t;

static const synonym_row_t synonym_rows[] = {
    {"index.interval.bytes", {"log.index.interval.bytes"}},
    {"max.message.bytes", {"message.max.bytes"}},
    {"message.timestamp.type", {"log.message.timestamp.type"}},
    {"retention.bytes", {"log.retention.bytes"}},
    {"retention.ms", {"log.retention.ms", "log.retention.minutes", "log.retention.hours"}},
    {"segment.bytes", {"log.segment.bytes"}},
    {"segment.index.bytes", {"log.index.size.max.bytes"}},
    {"segment.ms", {"log.roll.ms", "log.roll.hours"}},
};

/* Kafka's broker-level names of topic properties kc-broker has no broker
 * property for: DescribeConfigs names the default after them, as Kafka does
 * (clients key synonyms by name, so the default must not reuse the topic
 * property's own name). */
static const char *const kafka_broker_names[][2] = {
    {"cleanup.policy", "log.cleanup.policy"},
    {"delete.retention.ms", "log.cleaner.delete.retention.ms"},
    {"file.delete.delay.ms", "log.segment.delete.delay.ms"},
    {"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms"},
    {"message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms"},
    {"message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms"},
    {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio"},
    {"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms"},
    {"preallocate", "log.preallocate"},
    {"segment.jitter.ms", "log.roll.jitter.ms"},
};

static const char *default_synonym_name(const char *topic_name)
{
    for (size_t i = 0; i < sizeof(kafka_broker_names) / sizeof(kafka_broker_names[0]); i++)
        if (!strcmp(kafka_broker_names[i][0], topic_name)) return kafka_broker_names[i][1];
    return topic_name; /* compression.type, min.insync.replicas, ...: the same name */
}

static const synonym_row_t *synonym_find(const char *topic_name)
{
    for (size_t i = 0; i < sizeof(synonym_rows) / sizeof(synonym_rows[0]); i++)
        if (!strcmp(synonym_rows[i].topic, topic_name)) return &synonym_rows[i];
    return NULL;
}

/* The broker's effective value for topic property `name`, as text in the
 * topic property's unit; 0 if the broker has no synonym. */
static int broker_value(const broker_conf_t *c, const char *name, char *buf, size_t size)
{
    const synonym_row_t *s = synonym_find(name);
    if (!s) return 0;
    /* The hours and minutes forms become milliseconds: finalize already chose. */
    if (!strcmp(name, "retention.ms")) {
        snprintf(buf, size, "%" PRId64, c->retention_ms);
        return 1;
    }
    if (!strcmp(name, "segment.ms")) {
        snprintf(buf, size, "%" PRId64, c->roll_ms);
        return 1;
    }
    size_t n = size;
    return util_conf_get(&c->base, s->broker[0], buf, &n) == 0 && n <= size;
}

int broker_topic_conf_check(const char *name, const char *value, char *canon, size_t canon_size,
                            char *errstr, size_t errstr_size)
{
    const util_conf_prop_t *p = util_conf_find(&broker_topic_conf_table, name);
    if (!p) {
        snprintf(errstr, errstr_size, "unknown topic config name: %s", name);
        return KC_ERR_INVALID_CONFIG;
    }
    if (!value) {
        snprintf(errstr, errstr_size, "%s: a null value is not supported for topic configs", name);
        return KC_ERR_INVALID_CONFIG;
    }
    broker_topic_settings_t s;
    char why[512];
    if (util_conf_init(&s.base, &broker_topic_conf_table, why, sizeof(why)) != 0) {
        snprintf(errstr, errstr_size, "%s", why);
        return KC_ERR_INVALID_CONFIG;
    }
    int rc = 0;
    if (util_conf_set(&s.base, name, value, why, sizeof(why)) != 0) {
        snprintf(errstr, errstr_size, "invalid value for topic config %s", why);
        rc = KC_ERR_INVALID_CONFIG;
    } else {
        size_t n = canon_size;
        if (util_conf_get(&s.base, name, canon, &n) != 0 || n > canon_size) {
            snprintf(errstr, errstr_size, "%s: the value is too long", name);
            rc = KC_ERR_INVALID_CONFIG;
        }
    }
    util_conf_clear(&s.base);
    return rc;
}

int broker_topic_settings(const broker_t *b, const broker_topic_t *t, broker_topic_settings_t *out)
{
    char err[512];
    if (util_conf_init(&out->base, &broker_topic_conf_table, err, sizeof(err)) != 0) {
        log_error("topic config table: %s", err);
        return KC_ERR__NO_MEMORY;
    }
    for (size_t i = 0; i < broker_topic_conf_table.count; i++) {
        const char *name = topic_props[i].name;
        const char *over = t ? broker_topic_conf_get(t, name) : NULL;
        char buf[256];
        const char *v = over;
        if (!v && broker_value(b->conf, name, buf, sizeof(buf))) v = buf;
        if (v && util_conf_set(&out->base, name, v, err, sizeof(err)) != 0)
            log_warn("topic %s: ignoring %s", t ? t->name : "(default)", err);
    }
    return 0;
}

int broker_topic_conf_synonyms(const broker_t *b, const broker_topic_t *t, const char *name,
                               broker_topic_conf_synonym_t *out, int max)
{
    const util_conf_prop_t *p = util_conf_find(&broker_topic_conf_table, name);
    if (!p || max < 1) return 0;
    int n = 0;
    const char *over = t ? broker_topic_conf_get(t, p->name) : NULL;
    if (over) {
        out[n].name = p->name;
        snprintf(out[n].value, sizeof(out[n].value), "%s", over);
        out[n].has_value = 1;
        out[n++].source = BROKER_CONF_SRC_DYNAMIC_TOPIC;
    }
    const synonym_row_t *s = synonym_find(p->name);
    const broker_conf_t *c = b->conf;
    for (int i = 0; s && i < 3 && s->broker[i] && n < max; i++) {
        const util_conf_prop_t *bp = util_conf_find(c->base.table, s->broker[i]);
        int set = util_conf_is_set(&c->base, s->broker[i]);
        if (!bp || (!set && !bp->def)) continue;
        out[n].name = bp->name;
        size_t len = sizeof(out[n].value);
        out[n].has_value = util_conf_get(&c->base, bp->name, out[n].value, &len) == 0 &&
                           len <= sizeof(out[n].value);
        out[n++].source = set ? BROKER_CONF_SRC_STATIC_BROKER : BROKER_CONF_SRC_DEFAULT;
    }
    if (!s && n < max) {
        out[n].name = default_synonym_name(p->name);
        snprintf(out[n].value, sizeof(out[n].value), "%s", p->def ? p->def : "");
        out[n].has_value = p->def != NULL;
        out[n++].source = BROKER_CONF_SRC_DEFAULT;
    }
    return n;
}

void broker_topic_log_conf(const broker_t *b, const broker_topic_t *t, broker_log_conf_t *lc)
{
    broker_log_conf_defaults(lc);
    broker_topic_settings_t s;
    if (broker_topic_settings(b, t, &s) != 0) return;
    lc->segment_bytes = s.segment_bytes;
    lc->roll_ms = s.segment_ms;
    lc->retention_ms = s.retention_ms;
    lc->retention_bytes = s.retention_bytes;
    lc->index_interval_bytes = s.index_interval_bytes;
    lc->index_max_bytes = s.segment_index_bytes;
    int deletes = 0;
    char item[32];
    for (const char *it = s.cleanup_policy;
         it && (it = util_conf_list_next(it, item, sizeof(item)));)
        deletes |= !strcmp(item, "delete");
    if (!deletes) lc->retention_ms = lc->retention_bytes = -1;
    util_conf_clear(&s.base);
}

int8_t broker_conf_kafka_type(const util_conf_prop_t *p)
{
    switch (p->type) {
    case UTIL_CONF_BOOL: return 1;
    case UTIL_CONF_INT: return 3;
    case UTIL_CONF_INT64: return 5;
    case UTIL_CONF_DOUBLE: return 6;
    case UTIL_CONF_LIST:
    case UTIL_CONF_FLAGS: return 7;
    case UTIL_CONF_STRING:
    case UTIL_CONF_ENUM: return 2;
    case UTIL_CONF_ALIAS: return 0;
    }
    return 0;
}
