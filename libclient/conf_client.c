/* The client's property table: librdkafka's names, ranges and defaults (so a
 * librdkafka configuration works unchanged), in our own words. */
#include "conf_client.h"

#include <stddef.h>
#include <stdio.h>

#include "kc/kc_mock.h"
#include "proto/proto_compress.h"

#define P  UTIL_CONF_PRODUCER
#define C  UTIL_CONF_CONSUMER
#define PC UTIL_CONF_CLIENT

#define F(field) .offset = offsetof(client_conf_t, field)
#define INT(n, s, field, lo, hi, d, m)                                                          \
    {                                                                                           \
        .name = n, .type = UTIL_CONF_INT, .scope = s, F(field), .min = lo, .max = hi, .def = d, \
        .meaning = m                                                                            \
    }
#define BOOL(n, s, field, d, m)                                                         \
    {                                                                                   \
        .name = n, .type = UTIL_CONF_BOOL, .scope = s, F(field), .def = d, .meaning = m \
    }
#define STR(n, s, field, d, m)                                                            \
    {                                                                                     \
        .name = n, .type = UTIL_CONF_STRING, .scope = s, F(field), .def = d, .meaning = m \
    }
#define ENUM(n, s, field, names_, d, m)                                                     \
    {                                                                                       \
        .name = n, .type = UTIL_CONF_ENUM, .scope = s, F(field), .names = names_, .def = d, \
        .meaning = m                                                                        \
    }
#define ALIAS(n, s, to)                                                \
    {                                                                  \
        .name = n, .type = UTIL_CONF_ALIAS, .scope = s, .alias_of = to \
    }

#define MAX_INT 2147483647

static const util_conf_name_t debug_names[] = {
    {"all", CLIENT_DEBUG_ALL, NULL},
    {"generic", CLIENT_DEBUG_GENERIC, NULL},
    {"broker", CLIENT_DEBUG_BROKER, NULL},
    {"topic", CLIENT_DEBUG_TOPIC, NULL},
    {"metadata", CLIENT_DEBUG_METADATA, NULL},
    {"feature", CLIENT_DEBUG_FEATURE, NULL},
    {"queue", CLIENT_DEBUG_QUEUE, NULL},
    {"msg", CLIENT_DEBUG_MSG, NULL},
    {"protocol", CLIENT_DEBUG_PROTOCOL, NULL},
    {"cgrp", CLIENT_DEBUG_CGRP, NULL},
    {"security", CLIENT_DEBUG_SECURITY, NULL},
    {"fetch", CLIENT_DEBUG_FETCH, NULL},
    {"interceptor", CLIENT_DEBUG_INTERCEPTOR, NULL},
    {"plugin", CLIENT_DEBUG_PLUGIN, NULL},
    {"consumer", CLIENT_DEBUG_CONSUMER, NULL},
    {"admin", CLIENT_DEBUG_ADMIN, NULL},
    {"eos", CLIENT_DEBUG_EOS, NULL},
    {"mock", CLIENT_DEBUG_MOCK, NULL},
    {"assignor", CLIENT_DEBUG_ASSIGNOR, NULL},
    {"conf", CLIENT_DEBUG_CONF, NULL},
    {"telemetry", CLIENT_DEBUG_TELEMETRY, NULL},
    {NULL, 0, NULL},
};

static const util_conf_name_t security_names[] = {
    {"plaintext", CLIENT_SECURITY_PLAINTEXT, NULL},
    {"ssl", CLIENT_SECURITY_SSL, "not supported yet"},
    {"sasl_plaintext", CLIENT_SECURITY_SASL_PLAINTEXT, "not supported yet"},
    {"sasl_ssl", CLIENT_SECURITY_SASL_SSL, "not supported yet"},
    {NULL, 0, NULL},
};

/* Kafka brokers accept only these; librdkafka's 2..1000 are a legacy of
 * replica counts that no broker since 0.9 honours. */
static const util_conf_name_t acks_names[] = {
    {"-1", -1, NULL}, {"0", 0, NULL}, {"1", 1, NULL}, {"all", -1, NULL}, {NULL, 0, NULL}};

static const util_conf_name_t codec_names[] = {
    {"none", PROTO_CODEC_NONE, NULL},     {"gzip", PROTO_CODEC_GZIP, NULL},
    {"snappy", PROTO_CODEC_SNAPPY, NULL}, {"lz4", PROTO_CODEC_LZ4, NULL},
    {"zstd", PROTO_CODEC_ZSTD, NULL},     {NULL, 0, NULL}};

static const util_conf_name_t partitioner_names[] = {
    {"random", CLIENT_PARTITIONER_RANDOM, NULL},
    {"consistent", CLIENT_PARTITIONER_CONSISTENT, NULL},
    {"consistent_random", CLIENT_PARTITIONER_CONSISTENT_RANDOM, NULL},
    {"murmur2", CLIENT_PARTITIONER_MURMUR2, NULL},
    {"murmur2_random", CLIENT_PARTITIONER_MURMUR2_RANDOM, NULL},
    {"fnv1a", CLIENT_PARTITIONER_FNV1A, NULL},
    {"fnv1a_random", CLIENT_PARTITIONER_FNV1A_RANDOM, NULL},
    {NULL, 0, NULL},
};

static const util_conf_name_t assignor_names[] = {
    {"range", 0, NULL}, {"roundrobin", 0, NULL}, {"cooperative-sticky", 0, NULL}, {NULL, 0, NULL}};

static const util_conf_name_t offset_reset_names[] = {
    {"smallest", CLIENT_OFFSET_RESET_EARLIEST, NULL},
    {"earliest", CLIENT_OFFSET_RESET_EARLIEST, NULL},
    {"beginning", CLIENT_OFFSET_RESET_EARLIEST, NULL},
    {"largest", CLIENT_OFFSET_RESET_LATEST, NULL},
    {"latest", CLIENT_OFFSET_RESET_LATEST, NULL},
    {"end", CLIENT_OFFSET_RESET_LATEST, NULL},
    {"error", CLIENT_OFFSET_RESET_ERROR, NULL},
    {NULL, 0, NULL},
};

static const util_conf_name_t isolation_names[] = {
    {"read_committed", CLIENT_READ_COMMITTED, NULL},
    {"read_uncommitted", CLIENT_READ_UNCOMMITTED, NULL},
    {NULL, 0, NULL}};

static const util_conf_prop_t client_props[] = {
    /* Connection and metadata */
    {.name = "bootstrap.servers",
     .type = UTIL_CONF_LIST,
     .scope = PC,
     F(bootstrap_servers),
     .meaning = "Brokers to contact first, as host:port (or host, port 9092) separated by "
                "commas; the rest of the cluster is learnt from their metadata."},
    ALIAS("metadata.broker.list", PC, "bootstrap.servers"),
    STR("client.id", PC, client_id, "kc",
        "Name this client gives brokers in every request, for their logs and quotas."),
    ENUM("security.protocol", PC, security_protocol, security_names, "plaintext",
         "How to talk to brokers: only plain TCP for now."),
    INT("socket.timeout.ms", PC, socket_timeout_ms, 10, 300000, "60000",
        "Default time a request may wait for its response before it fails."),
    INT("socket.connection.setup.timeout.ms", PC, socket_connection_setup_timeout_ms, 1000, MAX_INT,
        "30000",
        "Time a new connection may take to become usable before it is closed and retried."),
    INT("reconnect.backoff.ms", PC, reconnect_backoff_ms, 0, 3600000, "100",
        "First wait before reconnecting to a broker; doubles on each failure, with jitter."),
    INT("reconnect.backoff.max.ms", PC, reconnect_backoff_max_ms, 0, 3600000, "10000",
        "Longest wait before reconnecting to a broker."),
    INT("topic.metadata.refresh.interval.ms", PC, topic_metadata_refresh_interval_ms, -1, 3600000,
        "300000", "How often to refresh cluster and topic metadata; -1 turns the refresh off."),
    INT("metadata.max.age.ms", PC, metadata_max_age_ms, 1, 86400000, "900000",
        "Age after which cached metadata is no longer trusted; three refresh intervals unless "
        "set."),
    INT("message.max.bytes", PC, message_max_bytes, 1000, 1000000000, "1000000",
        "Largest request the client sends (a produce request, in practice)."),
    INT("receive.message.max.bytes", PC, receive_message_max_bytes, 1000, MAX_INT, "100000000",
        "Largest response the client accepts; raised to fetch.max.bytes + 512 unless set."),
    INT("max.in.flight.requests.per.connection", PC, max_in_flight, 1, 1000000, "1000000",
        "Requests sent to one broker and not yet answered, at most."),
    ALIAS("max.in.flight", PC, "max.in.flight.requests.per.connection"),
    INT("api.version.request.timeout.ms", PC, api_version_request_timeout_ms, 1, 300000, "10000",
        "Time a broker may take to answer ApiVersions on a new connection."),
    INT("retry.backoff.ms", PC, retry_backoff_ms, 1, 300000, "100",
        "First wait before retrying a failed request; doubles on each retry."),
    INT("retry.backoff.max.ms", PC, retry_backoff_max_ms, 1, 300000, "1000",
        "Longest wait before retrying a failed request; raised to retry.backoff.ms unless set."),
    /* Diagnostics */
    {.name = "debug",
     .type = UTIL_CONF_FLAGS,
     .scope = PC,
     F(debug),
     .names = debug_names,
     .meaning = "Debug log contexts to turn on, separated by commas."},
    INT("log_level", PC, log_level, 0, 7, "6",
        "Most verbose log level emitted (syslog numbering)."),
    INT("statistics.interval.ms", PC, statistics_interval_ms, 0, 86400000, "0",
        "Accepted so librdkafka configurations load, but kc emits no statistics yet (a "
        "warning is logged when it is set)."),
    /* The mock's own bound, so that a bad count fails at kc_conf_set(). */
    INT("test.mock.num.brokers", PC | UTIL_CONF_MOCK, test_mock_num_brokers, 0, KC_MOCK_MAX_BROKERS,
        "0",
        "Start a mock cluster of this many brokers inside the client and use it instead of "
        "bootstrap.servers (tests only; 0: none). Each client starts its own cluster."),
    /* Producer */
    ENUM("acks", P, acks, acks_names, "-1",
         "Acknowledgements a produce request waits for: 0 none, 1 the leader, -1 or all every "
         "in-sync replica."),
    ALIAS("request.required.acks", P, "acks"),
    {.name = "linger.ms",
     .type = UTIL_CONF_DOUBLE,
     .scope = P,
     F(linger_ms),
     .dmin = 0,
     .dmax = 900000,
     .def = "5",
     .meaning = "Time a batch stays open for more records before it is sent (fractions allowed)."},
    ALIAS("queue.buffering.max.ms", P, "linger.ms"),
    INT("batch.size", P, batch_size, 1, MAX_INT, "1000000",
        "Largest batch of records for one partition, in bytes including framing."),
    INT("batch.num.messages", P, batch_num_messages, 1, 1000000, "10000",
        "Most records in one batch."),
    INT("queue.buffering.max.messages", P, queue_buffering_max_messages, 0, MAX_INT, "100000",
        "Most records waiting in the producer at once; 0 means no limit."),
    INT("queue.buffering.max.kbytes", P, queue_buffering_max_kbytes, 1, MAX_INT, "1048576",
        "Most record bytes (in KiB) waiting in the producer at once; checked before the message "
        "count."),
    ENUM("compression.type", P, compression_type, codec_names, "none",
         "Codec that compresses each batch."),
    ALIAS("compression.codec", P, "compression.type"),
    INT("compression.level", P, compression_level, -1, 22, "-1",
        "Codec level: gzip 0-9, lz4 0-12, zstd 1-22, snappy 0; -1 is the codec's default. A level "
        "the codec does not have is refused when the producer is created."),
    INT("message.timeout.ms", P, message_timeout_ms, 0, MAX_INT, "300000",
        "Time a record may take to be delivered, retries included, before it fails; 0 is "
        "forever."),
    ALIAS("delivery.timeout.ms", P, "message.timeout.ms"),
    INT("request.timeout.ms", P, request_timeout_ms, 1, 900000, "30000",
        "Time the broker may wait for replicas before it answers a produce request (acks != 0)."),
    INT("retries", P, retries, 0, MAX_INT, "2147483647",
        "Times a failed batch is sent again before its records fail."),
    ALIAS("message.send.max.retries", P, "retries"),
    BOOL("allow.auto.create.topics", PC, allow_auto_create_topics, "false",
         "Ask the broker to create a topic that does not exist when it is first used (the "
         "broker's auto.create.topics.enable must allow it); the producer's default is true."),
    BOOL("enable.idempotence", P, enable_idempotence, "false",
         "Deliver each record exactly once and in order per partition, using producer ids and "
         "sequence numbers."),
    ENUM("partitioner", P, partitioner, partitioner_names, "consistent_random",
         "How a key picks a partition: *_random spread keyless records, murmur2_random is the "
         "Java producer's."),
    INT("sticky.partitioning.linger.ms", P, sticky_partitioning_linger_ms, 0, 900000, "10",
        "Time keyless records stick to one partition before moving on; twice linger.ms unless "
        "set; 0 turns it off."),
    /* Consumer */
    STR("group.id", C, group_id, NULL,
        "Consumer group to join; needed for subscribe() and committed offsets."),
    STR("group.instance.id", C, group_instance_id, NULL,
        "Static member name: a restart within session.timeout.ms keeps the assignment."),
    {.name = "partition.assignment.strategy",
     .type = UTIL_CONF_LIST,
     .scope = C,
     F(partition_assignment_strategy),
     .names = assignor_names,
     .def = "range,roundrobin",
     .meaning = "Assignors this member supports, preferred first."},
    INT("session.timeout.ms", C, session_timeout_ms, 1, 3600000, "45000",
        "Time without heartbeats after which the group coordinator drops the member."),
    INT("heartbeat.interval.ms", C, heartbeat_interval_ms, 1, 3600000, "3000",
        "How often the member tells the group coordinator it is alive."),
    INT("max.poll.interval.ms", C, max_poll_interval_ms, 1, 86400000, "300000",
        "Longest time between two polls before the member leaves the group."),
    BOOL("enable.auto.commit", C, enable_auto_commit, "true",
         "Commit consumed offsets in the background."),
    INT("auto.commit.interval.ms", C, auto_commit_interval_ms, 0, 86400000, "5000",
        "How often offsets are committed automatically; 0 turns it off."),
    ENUM("auto.offset.reset", C, auto_offset_reset, offset_reset_names, "largest",
         "Where to start without a committed or valid offset: earliest, latest, or fail with "
         "an error."),
    BOOL("enable.partition.eof", C, enable_partition_eof, "false",
         "Report an event each time the end of a partition is reached."),
    INT("fetch.min.bytes", C, fetch_min_bytes, 1, 100000000, "1",
        "Bytes a fetch response should hold before the broker sends it."),
    INT("fetch.wait.max.ms", C, fetch_wait_max_ms, 0, 300000, "500",
        "Time the broker may hold a fetch waiting for fetch.min.bytes."),
    INT("fetch.max.bytes", C, fetch_max_bytes, 0, 2147483135, "52428800",
        "Most bytes one fetch response may hold (at least one batch is always returned)."),
    INT("max.partition.fetch.bytes", C, max_partition_fetch_bytes, 1, 1000000000, "1048576",
        "Most bytes asked for per partition in one fetch."),
    ALIAS("fetch.message.max.bytes", C, "max.partition.fetch.bytes"),
    INT("queued.max.messages.kbytes", C, queued_max_messages_kbytes, 1, 2097151, "65536",
        "Most fetched bytes (in KiB) buffered in the consumer, all partitions together, before "
        "fetching pauses (responses already requested still arrive: one per leader at most)."),
    INT("queued.min.messages", C, queued_min_messages, 1, 10000000, "100000",
        "Fetched records buffered per partition before fetching it pauses (with "
        "queued.max.messages.kbytes and four max.partition.fetch.bytes per partition, whichever "
        "is reached first)."),
    BOOL("check.crcs", C, check_crcs, "false", "Verify the CRC of every fetched batch."),
    ENUM("isolation.level", C, isolation_level, isolation_names, "read_committed",
         "Whether to return records of aborted and still open transactions (read_uncommitted) "
         "or not."),
};

const util_conf_table_t client_conf_table = {
    .title = "Client configuration",
    .intro = "Properties of `kc_conf_set()` for producers and consumers. Names, meanings and "
             "defaults follow librdkafka, so an existing librdkafka configuration works "
             "unchanged; values are matched without regard to case.\n\n"
             "This page is generated from `libclient/conf_client.c` by "
             "`kc config --markdown client`; do not edit it by hand.",
    .props = client_props,
    .count = sizeof(client_props) / sizeof(client_props[0]),
    .settings_size = sizeof(client_conf_t),
};

kc_err_t client_conf_init(client_conf_t *conf, char *errstr, size_t errstr_size)
{
    return util_conf_init(&conf->base, &client_conf_table, errstr, errstr_size);
}

kc_err_t client_conf_set(client_conf_t *conf, const char *name, const char *value, char *errstr,
                         size_t errstr_size)
{
    return util_conf_set(&conf->base, name, value, errstr, errstr_size);
}

void client_conf_clear(client_conf_t *conf)
{
    util_conf_clear(&conf->base);
}

static int is_set(const client_conf_t *conf, const char *name)
{
    return util_conf_is_set(&conf->base, name);
}

static kc_err_t finalize_producer(client_conf_t *c, char *errstr, size_t size)
{
    if (c->enable_idempotence) {
        if (!is_set(c, "acks"))
            c->acks = -1;
        else if (c->acks != -1) {
            snprintf(errstr, size, "acks: must be all (-1) when enable.idempotence is true");
            return KC_ERR__CONF;
        }
        if (!is_set(c, "max.in.flight.requests.per.connection")) {
            if (c->max_in_flight > CLIENT_IDEMPOTENT_MAX_IN_FLIGHT)
                c->max_in_flight = CLIENT_IDEMPOTENT_MAX_IN_FLIGHT;
        } else if (c->max_in_flight > CLIENT_IDEMPOTENT_MAX_IN_FLIGHT) {
            snprintf(errstr, size,
                     "max.in.flight.requests.per.connection: must be at most %d when "
                     "enable.idempotence is true",
                     CLIENT_IDEMPOTENT_MAX_IN_FLIGHT);
            return KC_ERR__CONF;
        }
        if (!is_set(c, "retries"))
            c->retries = MAX_INT;
        else if (c->retries < 1) {
            snprintf(errstr, size, "retries: must be at least 1 when enable.idempotence is true");
            return KC_ERR__CONF;
        }
    }
    int lo, hi;
    if (c->compression_level != -1 && proto_codec_level_range(c->compression_type, &lo, &hi) == 0 &&
        (c->compression_level < lo || c->compression_level > hi)) {
        snprintf(errstr, size,
                 "compression.level: %s has levels %d-%d (or -1, its default), not %d",
                 proto_codec_name(c->compression_type), lo, hi, c->compression_level);
        return KC_ERR__CONF;
    }
    /* librdkafka's producer asks for missing topics to be created unless told not to. */
    if (!is_set(c, "allow.auto.create.topics")) c->allow_auto_create_topics = 1;
    if (!is_set(c, "sticky.partitioning.linger.ms"))
        c->sticky_partitioning_linger_ms =
            c->linger_ms * 2 > 900000 ? 900000 : (int)(c->linger_ms * 2);
    if (c->message_timeout_ms != 0 && c->message_timeout_ms <= c->linger_ms) {
        if (is_set(c, "linger.ms")) {
            snprintf(errstr, size, "message.timeout.ms: must be greater than linger.ms");
            return KC_ERR__CONF;
        }
        /* A batch must be able to close before its records time out. */
        c->linger_ms = c->message_timeout_ms - 0.1;
    }
    return KC_ERR_NO_ERROR;
}

static kc_err_t finalize_consumer(client_conf_t *c, char *errstr, size_t size)
{
    if (is_set(c, "fetch.max.bytes")) {
        if (c->fetch_max_bytes < c->message_max_bytes) {
            snprintf(errstr, size, "fetch.max.bytes: must be at least message.max.bytes (%d)",
                     c->message_max_bytes);
            return KC_ERR__CONF;
        }
    } else {
        int64_t queued = (int64_t)c->queued_max_messages_kbytes * 1024;
        if (c->fetch_max_bytes > queued) c->fetch_max_bytes = (int)queued;
        if (c->fetch_max_bytes < c->message_max_bytes) c->fetch_max_bytes = c->message_max_bytes;
    }
    /* Room for the response framing around fetch.max.bytes of records. */
    int64_t need = (int64_t)c->fetch_max_bytes + 512;
    if (is_set(c, "receive.message.max.bytes")) {
        if (c->receive_message_max_bytes < need) {
            snprintf(errstr, size,
                     "receive.message.max.bytes: must be at least fetch.max.bytes + 512 (%lld)",
                     (long long)need);
            return KC_ERR__CONF;
        }
    } else if (c->receive_message_max_bytes < need) {
        c->receive_message_max_bytes = need > MAX_INT ? MAX_INT : (int)need;
    }
    /* Idempotence is a producer matter; a shared conf must not confuse a consumer. */
    c->enable_idempotence = 0;
    return KC_ERR_NO_ERROR;
}

kc_err_t client_conf_finalize(client_conf_t *c, client_role_t role, char *errstr, size_t size)
{
    if (c->reconnect_backoff_max_ms < c->reconnect_backoff_ms) {
        snprintf(errstr, size, "reconnect.backoff.max.ms: must be at least reconnect.backoff.ms");
        return KC_ERR__CONF;
    }
    if (c->retry_backoff_max_ms < c->retry_backoff_ms) {
        /* A long first wait alone raises the default maximum with it. */
        if (is_set(c, "retry.backoff.max.ms")) {
            snprintf(errstr, size, "retry.backoff.max.ms: must be at least retry.backoff.ms");
            return KC_ERR__CONF;
        }
        c->retry_backoff_max_ms = c->retry_backoff_ms;
    }
    if (!is_set(c, "metadata.max.age.ms") && c->topic_metadata_refresh_interval_ms > 0) {
        int64_t age = (int64_t)c->topic_metadata_refresh_interval_ms * 3;
        c->metadata_max_age_ms = age > 86400000 ? 86400000 : (int)age;
    }
    return role == CLIENT_ROLE_PRODUCER ? finalize_producer(c, errstr, size)
                                        : finalize_consumer(c, errstr, size);
}

int client_retry_backoff_ms(const client_conf_t *c, int failed)
{
    int64_t ms = c->retry_backoff_ms;
    for (int i = 1; i < failed && ms < c->retry_backoff_max_ms; i++)
        ms *= 2;
    return ms > c->retry_backoff_max_ms ? c->retry_backoff_max_ms : (int)ms;
}
