/* Topics and partitions: the registry, creation, deletion, config overrides,
 * and their persistence.
 *
 * A persistent broker keeps one small file per topic,
 * `<first log dir>/kc-metadata/topics/<topic>.topic`, holding its id,
 * partition count and config overrides as `key=value` lines; the partitions'
 * data lives in `<log dir>/<topic>-<partition>/` (storage/). The file is
 * replaced atomically on every change, so a restart sees either the old or
 * the new state. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/broker.h"
#include "core/broker_int.h"
#include "core/topic_conf.h"
#include "groups/groups.h"
#include "kc/kc_err.h"
#include "producers/producers.h"
#include "storage/log_file.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/uuid.h"

#define TOPIC_NAME_MAX 249

broker_topic_t *broker_topic_find(broker_t *b, proto_str_t name)
{
    if (name.len < 0) return NULL;
    return util_hmap_get(&b->topics, name.ptr, (size_t)name.len);
}

broker_topic_t *broker_topic_find_id(broker_t *b, const proto_uuid_t *id)
{
    return util_hmap_get(&b->topics_by_id, id->b, sizeof(id->b));
}

broker_partition_t *broker_partition_find(broker_t *b, proto_str_t topic, int32_t partition)
{
    broker_topic_t *t = broker_topic_find(b, topic);
    if (!t || partition < 0 || partition >= t->partition_count) return NULL;
    return t->partitions[partition];
}

int broker_topic_name_check(proto_str_t name, char *errstr, size_t errstr_size)
{
    const char *why = NULL;
    if (name.len <= 0)
        why = "the name is empty";
    else if (name.len > TOPIC_NAME_MAX)
        why = "the name is longer than 249 characters";
    else if ((name.len == 1 && name.ptr[0] == '.') ||
             (name.len == 2 && name.ptr[0] == '.' && name.ptr[1] == '.'))
        why = "'.' and '..' are not topic names";
    else
        for (int32_t i = 0; i < name.len && !why; i++) {
            uint8_t c = name.ptr[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-'))
                why = "only ASCII letters, digits, '.', '_' and '-' are allowed";
        }
    if (!why) return 0;
    snprintf(errstr, errstr_size, "invalid topic name '%.*s': %s",
             name.len > 0 ? (int)(name.len > 64 ? 64 : name.len) : 0,
             name.len > 0 ? (const char *)name.ptr : "", why);
    return KC_ERR_INVALID_TOPIC_EXCEPTION;
}

/* ---- Persistence --------------------------------------------------------------- */

static int topic_meta_path(broker_t *b, const char *topic, char *buf, size_t n)
{
    int w = snprintf(buf, n, "%s/kc-metadata/topics/%s.topic", b->conf->dirs[0], topic);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

static int topic_persist(broker_t *b, broker_topic_t *t, char *errstr, size_t errstr_size)
{
    if (!b->persistent) return 0;
    char path[4096], id[23];
    if (topic_meta_path(b, t->name, path, sizeof(path)) != 0) {
        snprintf(errstr, errstr_size, "topic %s: metadata path too long", t->name);
        return KC_ERR_KAFKA_STORAGE_ERROR;
    }
    util_uuid_to_str(&t->id, id);
    size_t cap = 256, len = 0;
    for (int i = 0; i < t->conf.count; i++)
        cap += strlen(t->conf.names[i]) + strlen(t->conf.values[i]) + 16;
    char *text = malloc(cap);
    if (!text) {
        snprintf(errstr, errstr_size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    len +=
        (size_t)snprintf(text + len, cap - len, "id=%s\npartitions=%d\n", id, t->partition_count);
    for (int i = 0; i < t->conf.count; i++)
        len += (size_t)snprintf(text + len, cap - len, "config.%s=%s\n", t->conf.names[i],
                                t->conf.values[i]);
    int rc = util_write_file_atomic(path, text, len, errstr, errstr_size);
    free(text);
    return rc ? KC_ERR_KAFKA_STORAGE_ERROR : 0;
}

/* The log dir holding a partition: where it already is, else spread by
 * partition number over log.dirs. */
static const char *partition_dir_root(broker_t *b, const char *topic, int32_t p)
{
    const broker_conf_t *c = b->conf;
    for (int i = 0; i < c->dir_count; i++) {
        char path[4096];
        struct stat st;
        if (broker_log_dir_path(path, sizeof(path), c->dirs[i], topic, p) == 0 &&
            stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return c->dirs[i];
    }
    return c->dirs[(size_t)p % (size_t)c->dir_count];
}

/* ---- Log configuration of a topic ------------------------------------------------- */

static int open_file_log(broker_t *b, broker_topic_t *t, int32_t p, broker_log_t **out,
                         char *errstr, size_t errstr_size)
{
    char path[4096];
    const char *root = partition_dir_root(b, t->name, p);
    int rc = broker_log_dir_path(path, sizeof(path), root, t->name, p);
    if (rc) {
        snprintf(errstr, errstr_size, "topic %s: partition path too long", t->name);
        return rc;
    }
    broker_log_conf_t lc;
    broker_topic_log_conf(b, t, &lc);
    return broker_file_log_open(path, &lc, b->now_ms(), out, errstr, errstr_size);
}

/* ---- Creation and deletion ---------------------------------------------------- */

/* Removes a topic's metadata file and partition folders (logs closed first). */
static int topic_remove_data(broker_t *b, const char *name, int32_t count, char *errstr,
                             size_t errstr_size)
{
    if (!b->persistent) return 0;
    int rc = 0;
    char path[4096];
    if (topic_meta_path(b, name, path, sizeof(path)) == 0 && remove(path) != 0 && errno != ENOENT) {
        snprintf(errstr, errstr_size, "cannot remove %s: %s", path, strerror(errno));
        rc = KC_ERR_KAFKA_STORAGE_ERROR;
    }
    for (int32_t p = 0; p < count; p++)
        for (int i = 0; i < b->conf->dir_count; i++) {
            if (broker_log_dir_path(path, sizeof(path), b->conf->dirs[i], name, p) != 0) continue;
            if (util_remove_tree(path, errstr, errstr_size) != 0) rc = KC_ERR_KAFKA_STORAGE_ERROR;
        }
    return rc;
}

static void partition_close(broker_partition_t *p)
{
    if (!p) return;
    broker_fetch_partition_closing(p);
    broker_producers_free(p);
    if (p->log) {
        char err[256];
        if (broker_log_close(p->log, err, sizeof(err)))
            log_warn("closing %s-%d: %s", p->topic->name, p->index, err);
    }
    free(p->replicas);
    free(p);
}

static void topic_conf_free(broker_topic_conf_t *c)
{
    for (int i = 0; i < c->count; i++) {
        free(c->names[i]);
        free(c->values[i]);
    }
    free(c->names);
    free(c->values);
    memset(c, 0, sizeof(*c));
}

void broker_topic_free(broker_topic_t *t)
{
    if (!t) return;
    for (int32_t i = 0; i < t->partition_count; i++)
        partition_close(t->partitions[i]);
    free(t->partitions);
    topic_conf_free(&t->conf);
    free(t->name);
    free(t);
}

static int partitions_open(broker_t *b, broker_topic_t *t, int32_t total, char *errstr,
                           size_t errstr_size)
{
    broker_partition_t **ps = realloc(t->partitions, (size_t)total * sizeof(*ps));
    if (!ps) {
        snprintf(errstr, errstr_size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    t->partitions = ps;
    for (int32_t i = t->partition_count; i < total; i++) {
        broker_partition_t *p = calloc(1, sizeof(*p));
        if (!p) {
            snprintf(errstr, errstr_size, "out of memory");
            return KC_ERR__NO_MEMORY;
        }
        p->topic = t;
        p->index = i;
        /* Leadership spread round-robin over the nodes, offset by a hash of
         * the topic so that single-partition topics do not all land on one. */
        size_t h = 0;
        for (const char *c = t->name; *c; c++)
            h = h * 31 + (uint8_t)*c;
        p->leader_id = b->nodes[(h + (size_t)i) % (size_t)b->node_count].id;
        p->leader_epoch = 0;
        p->last_flush_ms = b->now_ms();
        int rc = b->open_log(b, t, i, &p->log, errstr, errstr_size);
        if (rc) {
            free(p);
            return rc;
        }
        t->partitions[i] = p;
        t->partition_count = i + 1;
        broker_producers_load(b, p); /* on failure the first produce retries */
    }
    return 0;
}

static int topic_register(broker_t *b, broker_topic_t *t)
{
    if (util_hmap_puts(&b->topics, t->name, t) != 0) return KC_ERR__NO_MEMORY;
    if (util_hmap_put(&b->topics_by_id, t->id.b, sizeof(t->id.b), t, NULL) != 0) {
        util_hmap_dels(&b->topics, t->name);
        return KC_ERR__NO_MEMORY;
    }
    return 0;
}

static int topic_conf_put(broker_topic_conf_t *c, const char *name, const char *value)
{
    for (int i = 0; i < c->count; i++) {
        if (strcmp(c->names[i], name) != 0) continue;
        if (!value) {
            free(c->names[i]);
            free(c->values[i]);
            c->names[i] = c->names[c->count - 1];
            c->values[i] = c->values[c->count - 1];
            c->count--;
            return 0;
        }
        char *v = strdup(value);
        if (!v) return -1;
        free(c->values[i]);
        c->values[i] = v;
        return 0;
    }
    if (!value) return 0;
    char **n = realloc(c->names, (size_t)(c->count + 1) * sizeof(*n));
    if (!n) return -1;
    c->names = n;
    char **v = realloc(c->values, (size_t)(c->count + 1) * sizeof(*v));
    if (!v) return -1;
    c->values = v;
    c->names[c->count] = strdup(name);
    c->values[c->count] = strdup(value);
    if (!c->names[c->count] || !c->values[c->count]) {
        free(c->names[c->count]);
        free(c->values[c->count]);
        return -1;
    }
    c->count++;
    return 0;
}

const char *broker_topic_conf_get(const broker_topic_t *t, const char *name)
{
    for (int i = 0; i < t->conf.count; i++)
        if (!strcmp(t->conf.names[i], name)) return t->conf.values[i];
    return NULL;
}

int broker_topic_conf_set(broker_t *b, broker_topic_t *t, const char *name, const char *value,
                          char *errstr, size_t errstr_size)
{
    if (topic_conf_put(&t->conf, name, value) != 0) {
        snprintf(errstr, errstr_size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    return topic_persist(b, t, errstr, errstr_size);
}

static broker_topic_t *topic_alloc(proto_str_t name)
{
    broker_topic_t *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->name = strndup((const char *)name.ptr, (size_t)name.len);
    if (!t->name) {
        free(t);
        return NULL;
    }
    return t;
}

int broker_topic_create(broker_t *b, proto_str_t name, int32_t partitions,
                        const char *const *conf_names, const char *const *conf_values,
                        int conf_count, broker_topic_t **out, char *errstr, size_t errstr_size)
{
    int rc = broker_topic_name_check(name, errstr, errstr_size);
    if (rc) return rc;
    if (broker_topic_find(b, name)) {
        snprintf(errstr, errstr_size, "topic '%.*s' already exists", (int)name.len, name.ptr);
        return KC_ERR_TOPIC_ALREADY_EXISTS;
    }
    if (partitions < 1 || partitions > 100000) {
        snprintf(errstr, errstr_size, "number of partitions must be 1..100000, not %d", partitions);
        return KC_ERR_INVALID_PARTITIONS;
    }
    broker_topic_t *t = topic_alloc(name);
    if (!t) {
        snprintf(errstr, errstr_size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    do
        util_uuid_random(&t->id);
    while (broker_topic_find_id(b, &t->id));
    for (int i = 0; i < conf_count; i++)
        if (topic_conf_put(&t->conf, conf_names[i], conf_values[i]) != 0) rc = KC_ERR__NO_MEMORY;
    if (!rc) rc = partitions_open(b, t, partitions, errstr, errstr_size);
    if (!rc) rc = topic_persist(b, t, errstr, errstr_size);
    if (!rc) rc = topic_register(b, t);
    if (rc) {
        /* Remove what was created on disk so that a retry starts clean. */
        char ignore[256];
        int32_t opened = t->partition_count;
        for (int32_t i = 0; i < opened; i++)
            partition_close(t->partitions[i]);
        t->partition_count = 0;
        topic_remove_data(b, t->name, opened, ignore, sizeof(ignore));
        broker_topic_free(t);
        return rc;
    }
    log_info("created topic %s with %d partition%s", t->name, partitions,
             partitions == 1 ? "" : "s");
    if (out) *out = t;
    return 0;
}

int broker_topic_add_partitions(broker_t *b, broker_topic_t *t, int32_t total, char *errstr,
                                size_t errstr_size)
{
    if (total <= t->partition_count) {
        snprintf(errstr, errstr_size, "topic %s has %d partitions; the new count %d must be larger",
                 t->name, t->partition_count, total);
        return KC_ERR_INVALID_PARTITIONS;
    }
    if (total > 100000) {
        snprintf(errstr, errstr_size, "number of partitions must be at most 100000, not %d", total);
        return KC_ERR_INVALID_PARTITIONS;
    }
    int rc = partitions_open(b, t, total, errstr, errstr_size);
    int prc = topic_persist(b, t, errstr, errstr_size);
    return rc ? rc : prc;
}

void broker_topic_conf_apply(broker_t *b, broker_topic_t *t)
{
    broker_log_conf_t lc;
    broker_topic_log_conf(b, t, &lc);
    for (int32_t i = 0; i < t->partition_count; i++) {
        char err[256];
        if (broker_log_reconfigure(t->partitions[i]->log, &lc, err, sizeof(err)))
            log_warn("reconfiguring %s-%d: %s", t->name, i, err);
    }
}

int broker_topic_delete(broker_t *b, broker_topic_t *t, char *errstr, size_t errstr_size)
{
    util_hmap_dels(&b->topics, t->name);
    util_hmap_del(&b->topics_by_id, t->id.b, sizeof(t->id.b));
    int32_t count = t->partition_count;
    /* No flush may be under way on a log that closes. */
    broker_flush_run(b);
    for (int32_t i = 0; i < count; i++) {
        broker_flush_forget(b, t->partitions[i]);
        partition_close(t->partitions[i]);
    }
    t->partition_count = 0;
    int rc = topic_remove_data(b, t->name, count, errstr, errstr_size);
    log_info("deleted topic %s", t->name);
    broker_groups_forget_topic(b, t->name);
    broker_topic_free(t);
    return rc;
}

broker_topic_t *broker_topic_auto_create(broker_t *b, proto_str_t name, int *err)
{
    char errstr[256];
    broker_topic_t *t = NULL;
    *err = broker_topic_create(b, name, b->conf->num_partitions, NULL, NULL, 0, &t, errstr,
                               sizeof(errstr));
    if (*err) log_warn("auto-creating topic: %s", errstr);
    return t;
}

/* ---- Loading at start ---------------------------------------------------------- */

/* Parses one `<topic>.topic` file and opens the topic's partitions. */
static int topic_load(broker_t *b, const char *name, const char *text, char *errstr,
                      size_t errstr_size)
{
    broker_topic_t *t = topic_alloc(proto_str_of(name));
    if (!t) return KC_ERR__NO_MEMORY;
    int32_t partitions = 0;
    int have_id = 0;
    const char *line = text;
    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[8192];
        if (len >= sizeof(buf)) len = sizeof(buf) - 1;
        memcpy(buf, line, len);
        buf[len] = '\0';
        char *eq = strchr(buf, '=');
        if (eq) {
            *eq = '\0';
            const char *k = buf, *v = eq + 1;
            if (!strcmp(k, "id"))
                have_id = util_uuid_from_str(v, &t->id) == 0;
            else if (!strcmp(k, "partitions"))
                partitions = (int32_t)strtol(v, NULL, 10);
            else if (!strncmp(k, "config.", 7))
                topic_conf_put(&t->conf, k + 7, v);
        }
        line = nl ? nl + 1 : line + len;
    }
    int rc = 0;
    if (!have_id || partitions < 1) {
        snprintf(errstr, errstr_size, "topic metadata of %s is damaged (id or partitions missing)",
                 name);
        rc = KC_ERR_KAFKA_STORAGE_ERROR;
    }
    if (!rc) rc = partitions_open(b, t, partitions, errstr, errstr_size);
    if (!rc) rc = topic_register(b, t);
    if (rc) broker_topic_free(t);
    return rc;
}

int broker_topics_load(broker_t *b, char *errstr, size_t errstr_size)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/kc-metadata/topics", b->conf->dirs[0]);
    if (util_mkdirs(dir, errstr, errstr_size) != 0) return KC_ERR_KAFKA_STORAGE_ERROR;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(errstr, errstr_size, "cannot read %s: %s", dir, strerror(errno));
        return KC_ERR_KAFKA_STORAGE_ERROR;
    }
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n <= 6 || strcmp(de->d_name + n - 6, ".topic") != 0) continue;
        char name[256];
        if (n - 6 >= sizeof(name)) continue;
        memcpy(name, de->d_name, n - 6);
        name[n - 6] = '\0';
        char path[4096 + 256], *text;
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (util_read_file(path, &text, &len, errstr, errstr_size) != 0) {
            rc = KC_ERR_KAFKA_STORAGE_ERROR;
            break;
        }
        rc = topic_load(b, name, text, errstr, errstr_size);
        free(text);
    }
    closedir(d);
    return rc;
}

int broker_open_file_log(broker_t *b, broker_topic_t *t, int32_t partition, broker_log_t **out,
                         char *errstr, size_t errstr_size)
{
    return open_file_log(b, t, partition, out, errstr, errstr_size);
}
