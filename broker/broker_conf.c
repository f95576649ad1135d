/* kc-broker's property table and command line. Names, defaults and
 * precedence rules are Apache Kafka's; the one-line meanings are ours. */
#include "broker_conf.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define B                            UTIL_CONF_BROKER
#define F(field)                     .offset = offsetof(broker_conf_t, field)
#define INT(n, field, lo, hi, d, m)  UTIL_CONF_ROW_INT(B, broker_conf_t, n, field, lo, hi, d, m)
#define LONG(n, field, lo, hi, d, m) UTIL_CONF_ROW_INT64(B, broker_conf_t, n, field, lo, hi, d, m)
#define BOOL(n, field, d, m)         UTIL_CONF_ROW_BOOL(B, broker_conf_t, n, field, d, m)
#define ALIAS(n, to, m)              UTIL_CONF_ROW_ALIAS(B, n, to, m)

static int check_listeners(const char *value, char *errstr, size_t size);
static int check_advertised(const char *value, char *errstr, size_t size);

static const util_conf_name_t timestamp_names[] = {
    {"CreateTime", BROKER_TS_CREATE_TIME, NULL},
    {"LogAppendTime", BROKER_TS_LOG_APPEND_TIME, NULL},
    {NULL, 0, NULL},
};

static const util_conf_prop_t broker_props[] = {
    /* Identity and network */
    INT("node.id", node_id, 0, INT_MAX, "0",
        "This broker's id in metadata (Kafka requires it in KRaft mode; kc defaults to 0)."),
    ALIAS("broker.id", "node.id", "The pre-KRaft name."),
    {.name = "kc.cluster.id",
     .type = UTIL_CONF_STRING,
     .scope = B,
     F(cluster_id),
     .meaning = "Cluster id reported in metadata; empty: generated once and kept with the data "
                "(Kafka keeps it in meta.properties)."},
    {.name = "listeners",
     .type = UTIL_CONF_LIST,
     .scope = B,
     F(listeners),
     .def = "PLAINTEXT://:9092",
     .check = check_listeners,
     .meaning = "Addresses to accept clients on, as PLAINTEXT://host:port separated by commas; "
                "an empty host binds every interface, port 0 picks a free port."},
    {.name = "advertised.listeners",
     .type = UTIL_CONF_LIST,
     .scope = B,
     F(advertised_listeners),
     .check = check_advertised,
     .meaning = "Addresses given to clients in metadata, when they differ from `listeners`."},
    INT("max.connections", max_connections, 0, INT_MAX, "2147483647",
        "Client connections open at once, at most; more are closed on accept."),
    INT("socket.request.max.bytes", socket_request_max_bytes, 1, INT_MAX, "104857600",
        "Largest request frame accepted; a bigger one closes the connection."),
    INT("message.max.bytes", message_max_bytes, 0, INT_MAX, "1048588",
        "Largest record batch accepted in a produce request (after compression)."),
    /* Topics */
    INT("num.partitions", num_partitions, 1, INT_MAX, "1",
        "Partitions of a topic created without a count (auto-created ones included)."),
    INT("default.replication.factor", default_replication_factor, 1, 32767, "1",
        "Replicas of a topic created without a replication factor."),
    BOOL("auto.create.topics.enable", auto_create_topics_enable, "true",
         "Create a topic when a client asks for metadata or produces to one that does not exist."),
    BOOL("delete.topic.enable", delete_topic_enable, "true",
         "Allow DeleteTopics; when false such requests fail."),
    /* Storage */
    {.name = "log.dirs",
     .type = UTIL_CONF_LIST,
     .scope = B,
     F(log_dirs),
     .meaning = "Directories that hold partition data, separated by commas; overrides `log.dir`."},
    {.name = "log.dir",
     .type = UTIL_CONF_STRING,
     .scope = B,
     F(log_dir),
     .def = "/tmp/kc-logs",
     .meaning = "Directory that holds partition data when `log.dirs` is not set (Kafka's "
                "default is /tmp/kafka-logs)."},
    INT("log.segment.bytes", log_segment_bytes, 14, INT_MAX, "1073741824",
        "Size at which a partition's active segment file is closed and a new one started."),
    LONG("log.roll.ms", log_roll_ms, 1, INT64_MAX, NULL,
         "Age at which a segment is closed even if not full; overrides `log.roll.hours`."),
    INT("log.roll.hours", log_roll_hours, 1, INT_MAX, "168",
        "Age in hours at which a segment is closed even if not full."),
    LONG("log.retention.ms", log_retention_ms, -1, INT64_MAX, NULL,
         "Age after which closed segments are deleted; -1 keeps them forever. Overrides the "
         "minutes and hours forms."),
    INT("log.retention.minutes", log_retention_minutes, -1, INT_MAX, NULL,
        "Retention in minutes, used when `log.retention.ms` is not set."),
    INT("log.retention.hours", log_retention_hours, -1, INT_MAX, "168",
        "Retention in hours, used when neither `log.retention.ms` nor `log.retention.minutes` "
        "is set."),
    LONG("log.retention.bytes", log_retention_bytes, -1, INT64_MAX, "-1",
         "Size a partition may reach before its oldest segments are deleted; -1 means no "
         "limit."),
    LONG("log.retention.check.interval.ms", log_retention_check_interval_ms, 1, INT64_MAX, "300000",
         "How often segments are checked against the retention limits."),
    LONG("log.flush.interval.messages", log_flush_interval_messages, 1, INT64_MAX,
         "9223372036854775807", "Records appended to a partition before it is fsynced."),
    LONG("log.flush.interval.ms", log_flush_interval_ms, 0, INT64_MAX, NULL,
         "Time appended data may stay unsynced; unset: no time-based fsync."),
    INT("log.index.interval.bytes", log_index_interval_bytes, 0, INT_MAX, "4096",
        "Bytes of records between two entries of the offset index."),
    INT("log.index.size.max.bytes", log_index_size_max_bytes, 4, INT_MAX, "10485760",
        "Largest offset or time index file; a full index closes its segment."),
    {.name = "log.message.timestamp.type",
     .type = UTIL_CONF_ENUM,
     .scope = B,
     F(log_message_timestamp_type),
     .names = timestamp_names,
     .def = "CreateTime",
     .meaning = "Keep the producer's record timestamps, or stamp batches with the append time."},
    /* Groups and producers */
    INT("group.initial.rebalance.delay.ms", group_initial_rebalance_delay_ms, 0, INT_MAX, "3000",
        "Time the first rebalance of an empty group waits for more members to join."),
    INT("group.min.session.timeout.ms", group_min_session_timeout_ms, 0, INT_MAX, "6000",
        "Smallest session timeout a group member may ask for."),
    INT("group.max.session.timeout.ms", group_max_session_timeout_ms, 0, INT_MAX, "1800000",
        "Largest session timeout a group member may ask for."),
    INT("offsets.retention.minutes", offsets_retention_minutes, 1, INT_MAX, "10080",
        "Time committed offsets of an empty group are kept."),
    INT("transactional.id.expiration.ms", transactional_id_expiration_ms, 1, INT_MAX, "604800000",
        "Time an idle transactional id is kept."),
    INT("producer.id.expiration.ms", producer_id_expiration_ms, 1, INT_MAX, "86400000",
        "Time a producer id's sequence state is kept after its last write."),
};

const util_conf_table_t broker_conf_table = {
    .title = "Broker configuration",
    .intro = "Properties of `kc-broker [server.properties] [--override key=value]...`. Names, "
             "meanings and defaults follow Apache Kafka's broker, so an existing "
             "server.properties mostly works; properties Kafka has and kc does not are "
             "rejected by name. kc's own properties start with `kc.`.\n\n"
             "This page is generated from `broker/broker_conf.c` by "
             "`kc config --markdown broker`; do not edit it by hand.",
    .props = broker_props,
    .count = sizeof(broker_props) / sizeof(broker_props[0]),
    .settings_size = sizeof(broker_conf_t),
};

/* --- listeners --- */

static int fail(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *errstr, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, size, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_one(const char *item, broker_listener_t *l, char *errstr, size_t size)
{
    memset(l, 0, sizeof(*l));
    const char *sep = strstr(item, "://");
    size_t name_len = sep ? (size_t)(sep - item) : 0;
    if (!sep || !name_len || name_len >= sizeof(l->name))
        return fail(errstr, size, "\"%s\" is not NAME://host:port", item);
    for (size_t i = 0; i < name_len; i++)
        l->name[i] = (char)toupper((unsigned char)item[i]);
    if (!strcmp(l->name, "SSL") || !strcmp(l->name, "SASL_PLAINTEXT") ||
        !strcmp(l->name, "SASL_SSL"))
        return fail(errstr, size, "%s listeners are not supported yet", l->name);
    if (strcmp(l->name, "PLAINTEXT"))
        return fail(errstr, size,
                    "listener name %.*s is not a security protocol (kc has no "
                    "listener.security.protocol.map yet); use PLAINTEXT://",
                    (int)name_len, item);

    const char *rest = sep + 3, *colon;
    size_t host_len;
    bool v6 = rest[0] == '[';
    if (v6) {
        const char *close = strchr(rest, ']');
        if (!close || close[1] != ':')
            return fail(errstr, size, "\"%s\": an IPv6 address is written [addr]:port", item);
        host_len = (size_t)(close - rest - 1);
        memcpy(l->host, rest + 1, host_len < sizeof(l->host) ? host_len : 0);
        colon = close + 1;
    } else {
        colon = strrchr(rest, ':');
        if (!colon) return fail(errstr, size, "\"%s\" has no port", item);
        host_len = (size_t)(colon - rest);
        if (memchr(rest, ':', host_len))
            return fail(errstr, size, "\"%s\": an IPv6 address is written [addr]:port", item);
        memcpy(l->host, rest, host_len < sizeof(l->host) ? host_len : 0);
    }
    if (host_len >= sizeof(l->host)) return fail(errstr, size, "\"%s\": host name too long", item);
    l->host[host_len] = '\0';

    const char *port = colon + 1;
    size_t digits = strspn(port, "0123456789");
    if (!digits || port[digits] || digits > 5 || atoi(port) > 65535)
        return fail(errstr, size, "\"%s\": port \"%s\" is not a number in 0..65535", item, port);
    l->port = atoi(port);
    snprintf(l->addr, sizeof(l->addr), v6 ? "[%s]:%d" : "%s:%d", l->host, l->port);
    return 0;
}

kc_err_t broker_conf_parse_listeners(const char *text, broker_listener_t **out, int *count,
                                     char *errstr, size_t size)
{
    *out = NULL;
    *count = 0;
    size_t n = text && *text ? 1 : 0;
    for (const char *p = text; p && *p; p++)
        n += *p == ',';
    if (!n) {
        fail(errstr, size, "no listener given");
        return KC_ERR__CONF;
    }
    broker_listener_t *ls = calloc(n, sizeof(*ls));
    if (!ls) {
        fail(errstr, size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    char item[600];
    const char *p = text;
    int i = 0;
    while ((p = util_conf_list_next(p, item, sizeof(item)))) {
        char *it = item;
        while (isspace((unsigned char)*it))
            it++;
        size_t len = strlen(it);
        while (len && isspace((unsigned char)it[len - 1]))
            it[--len] = '\0';
        if (parse_one(it, &ls[i], errstr, size)) goto bad;
        for (int j = 0; j < i; j++) {
            if (ls[i].port && ls[j].port == ls[i].port) {
                fail(errstr, size, "port %d is used by two listeners", ls[i].port);
                goto bad;
            }
        }
        i++;
    }
    *out = ls;
    *count = i;
    return KC_ERR_NO_ERROR;
bad:
    free(ls);
    return KC_ERR__CONF;
}

static int check_listeners(const char *value, char *errstr, size_t size)
{
    broker_listener_t *ls;
    int n;
    if (broker_conf_parse_listeners(value, &ls, &n, errstr, size)) return -1;
    free(ls);
    return 0;
}

static int check_advertised(const char *value, char *errstr, size_t size)
{
    broker_listener_t *ls;
    int n;
    if (!*value) return 0; /* empty: advertise `listeners` */
    if (broker_conf_parse_listeners(value, &ls, &n, errstr, size)) return -1;
    int zero = 0;
    for (int i = 0; i < n; i++)
        zero |= ls[i].port == 0;
    free(ls);
    return zero ? fail(errstr, size, "port 0 cannot be advertised; name the real port") : 0;
}

/* --- the rest --- */

kc_err_t broker_conf_init(broker_conf_t *conf, char *errstr, size_t size)
{
    return util_conf_init(&conf->base, &broker_conf_table, errstr, size);
}

kc_err_t broker_conf_set(broker_conf_t *conf, const char *name, const char *value, char *errstr,
                         size_t size)
{
    return util_conf_set(&conf->base, name, value, errstr, size);
}

static void free_derived(broker_conf_t *c)
{
    free(c->listen);
    free(c->advertise);
    if (c->dirs) free(c->dirs[0]);
    free(c->dirs);
    c->listen = c->advertise = NULL;
    c->dirs = NULL;
    c->listen_count = c->advertise_count = c->dir_count = 0;
}

void broker_conf_clear(broker_conf_t *conf)
{
    free_derived(conf);
    util_conf_clear(&conf->base);
}

static int is_set(const broker_conf_t *c, const char *name)
{
    return util_conf_is_set(&c->base, name);
}

/* Splits "a,b,c" into c->dirs, pointing into one copy. */
static kc_err_t split_dirs(broker_conf_t *c, const char *name, const char *list, char *errstr,
                           size_t size)
{
    if (!list || !*list) {
        fail(errstr, size, "%s: no directory given", name);
        return KC_ERR__CONF;
    }
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    char *copy = strdup(list);
    c->dirs = calloc(n, sizeof(char *));
    if (!copy || !c->dirs) {
        free(copy);
        free(c->dirs);
        c->dirs = NULL;
        fail(errstr, size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    for (char *p = copy, *save = NULL; (p = strtok_r(p, ",", &save)); p = NULL)
        c->dirs[c->dir_count++] = p;
    return KC_ERR_NO_ERROR;
}

kc_err_t broker_conf_finalize(broker_conf_t *c, char *errstr, size_t size)
{
    free_derived(c);
    /* Kafka's precedence: the most precise unit given wins. */
    if (is_set(c, "log.retention.ms"))
        c->retention_ms = c->log_retention_ms;
    else if (is_set(c, "log.retention.minutes"))
        c->retention_ms = (int64_t)c->log_retention_minutes * 60000;
    else
        c->retention_ms = (int64_t)c->log_retention_hours * 3600000;
    if (c->retention_ms < 0) c->retention_ms = -1;
    c->roll_ms = is_set(c, "log.roll.ms") ? c->log_roll_ms : (int64_t)c->log_roll_hours * 3600000;
    c->flush_ms = is_set(c, "log.flush.interval.ms") ? c->log_flush_interval_ms : INT64_MAX;

    if (c->group_min_session_timeout_ms > c->group_max_session_timeout_ms) {
        fail(errstr, size,
             "group.min.session.timeout.ms: %d is above group.max.session.timeout.ms (%d)",
             c->group_min_session_timeout_ms, c->group_max_session_timeout_ms);
        return KC_ERR__CONF;
    }
    char why[256];
    kc_err_t err =
        broker_conf_parse_listeners(c->listeners, &c->listen, &c->listen_count, why, sizeof(why));
    if (!err && c->advertised_listeners && *c->advertised_listeners) {
        err = broker_conf_parse_listeners(c->advertised_listeners, &c->advertise,
                                          &c->advertise_count, why, sizeof(why));
        if (err) fail(errstr, size, "advertised.listeners: %s", why);
    } else if (!err) {
        c->advertise = malloc(sizeof(*c->advertise) * (size_t)c->listen_count);
        if (!c->advertise) {
            snprintf(why, sizeof(why), "out of memory");
            err = KC_ERR__NO_MEMORY;
        } else {
            memcpy(c->advertise, c->listen, sizeof(*c->advertise) * (size_t)c->listen_count);
            c->advertise_count = c->listen_count;
        }
    } else {
        fail(errstr, size, "listeners: %s", why);
    }
    if (!err)
        err = c->log_dirs ? split_dirs(c, "log.dirs", c->log_dirs, errstr, size)
                          : split_dirs(c, "log.dir", c->log_dir, errstr, size);
    if (err) free_derived(c);
    return err;
}

static kc_err_t check_override(const char *kv, char *errstr, size_t size)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        fail(errstr, size, "--override \"%s\": expected key=value (%s)", kv, BROKER_CONF_USAGE);
        return KC_ERR__INVALID_ARG;
    }
    return KC_ERR_NO_ERROR;
}

kc_err_t broker_conf_from_argv(broker_conf_t *conf, int argc, char **argv, char *errstr,
                               size_t size)
{
    const char *file = NULL;
    /* Check the shape of the command line before reading anything. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        kc_err_t err = KC_ERR_NO_ERROR;
        if (!strcmp(a, "--override")) {
            if (i + 1 >= argc) {
                fail(errstr, size, "--override needs key=value (%s)", BROKER_CONF_USAGE);
                return KC_ERR__INVALID_ARG;
            }
            err = check_override(argv[++i], errstr, size);
        } else if (!strncmp(a, "--override=", 11)) {
            err = check_override(a + 11, errstr, size);
        } else if (a[0] == '-' && a[1]) {
            fail(errstr, size, "unknown option %s (%s)", a, BROKER_CONF_USAGE);
            err = KC_ERR__INVALID_ARG;
        } else if (file) {
            fail(errstr, size, "one properties file at most, got %s and %s (%s)", file, a,
                 BROKER_CONF_USAGE);
            err = KC_ERR__INVALID_ARG;
        } else {
            file = a;
        }
        if (err) return err;
    }

    kc_err_t err = broker_conf_init(conf, errstr, size);
    if (err) return err;
    if (file) err = util_conf_load_file(&conf->base, file, errstr, size);
    for (int i = 1; !err && i < argc; i++) {
        const char *kv = !strcmp(argv[i], "--override")         ? argv[++i]
                         : !strncmp(argv[i], "--override=", 11) ? argv[i] + 11
                                                                : NULL;
        if (!kv) continue;
        const char *eq = strchr(kv, '=');
        char key[256];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
        char why[512];
        err = broker_conf_set(conf, key, eq + 1, why, sizeof(why));
        if (err) fail(errstr, size, "--override: %s", why);
    }
    if (!err) err = broker_conf_finalize(conf, errstr, size);
    if (err) broker_conf_clear(conf);
    return err;
}
