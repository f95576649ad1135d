/* Broker lifecycle: nodes and their listeners, loading persisted state, the
 * batched flush, housekeeping timers. See broker.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/broker.h"
#include "core/broker_int.h"
#include "groups/groups.h"
#include "kc/kc_err.h"
#include "producers/producers.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/uuid.h"

int64_t broker_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

broker_node_t *broker_node_find(broker_t *b, int32_t node_id)
{
    for (int i = 0; i < b->node_count; i++)
        if (b->nodes[i].id == node_id) return &b->nodes[i];
    return NULL;
}

/* ---- Housekeeping: retention and time-based flushing ------------------------------ */

static void housekeeping(evutil_socket_t fd, short what, void *arg)
{
    broker_t *b = arg;
    int64_t now = b->now_ms();
    size_t it = 0;
    broker_topic_t *t;
    int retention_due = now - b->last_retention_ms >= b->conf->log_retention_check_interval_ms;
    while (util_hmap_next(&b->topics, &it, NULL, NULL, (void **)&t)) {
        for (int32_t i = 0; i < t->partition_count; i++) {
            broker_partition_t *p = t->partitions[i];
            if (p->unflushed_msgs > 0 && now - p->last_flush_ms >= b->conf->flush_ms)
                broker_flush_mark(b, p);
            if (retention_due) {
                char err[256];
                int deleted = 0;
                if (broker_log_retain(p->log, now, &deleted, err, sizeof(err)))
                    log_warn("retention of %s-%d: %s", t->name, i, err);
                else if (deleted)
                    log_info("retention deleted %d segment%s of %s-%d", deleted,
                             deleted == 1 ? "" : "s", t->name, i);
            }
        }
    }
    if (retention_due) b->last_retention_ms = now;
}

/* ---- Cluster id ----------------------------------------------------------------- */

/* Kafka keeps the cluster id in meta.properties; so do we, so that a restart
 * keeps it and clients that cache it see no change. */
static int cluster_id_load(broker_t *b, char *errstr, size_t errstr_size)
{
    if (b->conf->cluster_id && b->conf->cluster_id[0]) {
        snprintf(b->cluster_id, sizeof(b->cluster_id), "%s", b->conf->cluster_id);
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/meta.properties", b->conf->dirs[0]);
    char *text = NULL;
    size_t len;
    if (b->persistent) {
        int rc = util_read_file(path, &text, &len, errstr, errstr_size);
        if (rc < 0) return KC_ERR_KAFKA_STORAGE_ERROR;
        const char *p = text ? strstr(text, "cluster.id=") : NULL;
        if (p) {
            p += strlen("cluster.id=");
            size_t n = strcspn(p, "\r\n");
            if (n > 0 && n < sizeof(b->cluster_id)) {
                memcpy(b->cluster_id, p, n);
                b->cluster_id[n] = '\0';
                free(text);
                return 0;
            }
        }
        free(text);
    }
    proto_uuid_t id;
    util_uuid_random(&id);
    char s[23];
    util_uuid_to_str(&id, s);
    snprintf(b->cluster_id, sizeof(b->cluster_id), "%s", s);
    if (!b->persistent) return 0;
    char body[256];
    int n = snprintf(body, sizeof(body), "version=1\ncluster.id=%s\nnode.id=%d\n", b->cluster_id,
                     b->conf->node_id);
    return util_write_file_atomic(path, body, (size_t)n, errstr, errstr_size)
               ? KC_ERR_KAFKA_STORAGE_ERROR
               : 0;
}

/* ---- Nodes ------------------------------------------------------------------------ */

static int node_start(broker_t *b, broker_node_t *node, int index, char *errstr, size_t errstr_size)
{
    const broker_conf_t *c = b->conf;
    const char *addrs[16];
    char extra[16][300];
    int n = c->listen_count < 16 ? c->listen_count : 16;
    for (int i = 0; i < n; i++) {
        if (index == 0) {
            addrs[i] = c->listen[i].addr;
        } else {
            /* Further nodes of an in-process cluster: same hosts, any free port. */
            snprintf(extra[i], sizeof(extra[i]), "%s:0",
                     c->listen[i].host[0] ? c->listen[i].host : "127.0.0.1");
            addrs[i] = extra[i];
        }
    }
    broker_server_conf_t sc = {
        .listeners = addrs,
        .listener_count = n,
        .max_frame_bytes = (size_t)c->socket_request_max_bytes,
        .max_connections = c->max_connections,
        .on_request = broker_dispatch,
        .opaque = node,
    };
    node->server = broker_server_new(b->base, &sc, errstr, errstr_size);
    if (!node->server) return KC_ERR__TRANSPORT;
    /* Advertise the first listener (or advertised.listeners), with the port
     * actually bound where it was 0 and a loopback host where it was empty. */
    const broker_listener_t *adv = index == 0 && c->advertise_count ? &c->advertise[0] : NULL;
    const char *host = adv && adv->host[0] ? adv->host : c->listen[0].host;
    if (!host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "::")) host = "127.0.0.1";
    snprintf(node->host, sizeof(node->host), "%s", host);
    node->port = adv && adv->port ? adv->port : broker_server_port(node->server, 0);
    node->up = 1;
    return 0;
}

broker_t *broker_new(struct event_base *base, const broker_conf_t *conf, const broker_opts_t *opts,
                     char *errstr, size_t errstr_size)
{
    broker_t *b = calloc(1, sizeof(*b));
    int nodes = opts && opts->node_count > 0 ? opts->node_count : 1;
    if (b) b->nodes = calloc((size_t)nodes, sizeof(*b->nodes));
    if (!b || !b->nodes) {
        if (b) free(b->nodes);
        free(b);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    b->base = base;
    b->conf = conf;
    b->now_ms = broker_now_ms;
    b->persistent = opts ? opts->persistent : 1;
    b->open_log = opts && opts->open_log ? opts->open_log : broker_open_file_log;
    b->node_count = nodes;
    util_hmap_init(&b->topics);
    util_hmap_init(&b->topics_by_id);
    for (int i = 0; i < nodes; i++) {
        b->nodes[i].broker = b;
        b->nodes[i].id = (opts && opts->node_count ? opts->first_node_id : conf->node_id) + i;
    }
    b->controller_id = b->nodes[0].id;
    b->housekeeping = event_new(base, -1, EV_PERSIST, housekeeping, b);
    if (!b->housekeeping || broker_flusher_init(b) != 0) {
        snprintf(errstr, errstr_size, "out of memory");
        broker_destroy(b);
        return NULL;
    }
    int rc = 0;
    if (b->persistent)
        for (int i = 0; i < conf->dir_count && !rc; i++)
            if (util_mkdirs(conf->dirs[i], errstr, errstr_size) != 0)
                rc = KC_ERR_KAFKA_STORAGE_ERROR;
    if (!rc) rc = cluster_id_load(b, errstr, errstr_size);
    for (int i = 0; i < nodes && !rc; i++)
        rc = node_start(b, &b->nodes[i], i, errstr, errstr_size);
    if (!rc && b->persistent) rc = broker_topics_load(b, errstr, errstr_size);
    if (!rc) rc = broker_groups_new(b, errstr, errstr_size);
    if (rc) {
        broker_destroy(b);
        return NULL;
    }
    struct timeval tick = {1, 0};
    event_add(b->housekeeping, &tick);
    return b;
}

void broker_destroy(broker_t *b)
{
    if (!b) return;
    /* Connections first: parked calls are abandoned before their partitions go. */
    for (int i = 0; i < b->node_count; i++) {
        broker_server_destroy(b->nodes[i].server);
        b->nodes[i].server = NULL;
    }
    broker_groups_destroy(b); /* after the connections: no call is parked any more */
    broker_flusher_destroy(b);
    broker_producers_shutdown(b);
    broker_fetch_destroy(b);
    size_t it = 0;
    broker_topic_t *t;
    while (util_hmap_next(&b->topics, &it, NULL, NULL, (void **)&t))
        broker_topic_free(t);
    util_hmap_destroy(&b->topics);
    util_hmap_destroy(&b->topics_by_id);
    if (b->housekeeping) event_free(b->housekeeping);
    for (int i = 0; i < b->node_count; i++)
        free(b->nodes[i].rack);
    free(b->nodes);
    free(b);
}
