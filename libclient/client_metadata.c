/* Metadata: requests to any broker (rotating on failure), the cache of
 * topics -> partitions -> leader, its refreshes, and the kc_metadata_t
 * snapshots handed to applications. I/O thread only, except
 * kc_metadata_destroy(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client_int.h"
#include "util/log.h"

/* ---- snapshots ---- */

static char *dup_str(proto_str_t s)
{
    if (!s.ptr || s.len < 0) return NULL;
    char *d = malloc((size_t)s.len + 1);
    if (!d) return NULL;
    memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = '\0';
    return d;
}

void kc_metadata_destroy(kc_metadata_t *md)
{
    if (!md) return;
    for (int i = 0; i < md->broker_cnt; i++) {
        free((char *)md->brokers[i].host);
        free((char *)md->brokers[i].rack);
    }
    free((void *)md->brokers);
    for (int i = 0; i < md->topic_cnt; i++) {
        const kc_metadata_topic_t *t = &md->topics[i];
        for (int j = 0; j < t->partition_cnt; j++) {
            free((void *)t->partitions[j].replicas);
            free((void *)t->partitions[j].isrs);
        }
        free((void *)t->partitions);
        free((char *)t->name);
    }
    free((void *)md->topics);
    free((char *)md->cluster_id);
    free((char *)md->orig_broker_name);
    free(md);
}

static int32_t *dup_ids(const int32_t *v, int32_t n)
{
    int32_t *d = malloc(sizeof(*d) * (size_t)(n > 0 ? n : 1));
    if (d && n > 0) memcpy(d, v, sizeof(*d) * (size_t)n);
    return d;
}

static int cmp_part(const void *a, const void *b)
{
    const kc_metadata_partition_t *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* NULL when out of memory. */
static kc_metadata_t *md_build(const proto_metadata_response_t *r, int32_t orig_id,
                               const char *orig_name)
{
    kc_metadata_t *md = calloc(1, sizeof(*md));
    if (!md) return NULL;
    md->controller_id = r->controller_id;
    md->orig_broker_id = orig_id;
    md->orig_broker_name = strdup(orig_name);
    md->cluster_id = dup_str(r->cluster_id);
    int ok = md->orig_broker_name && (md->cluster_id || !r->cluster_id.ptr);
    int nb = r->brokers.n > 0 ? r->brokers.n : 0;
    kc_metadata_broker_t *bs = calloc((size_t)nb + 1, sizeof(*bs));
    md->brokers = bs;
    ok = ok && bs;
    for (int i = 0; ok && i < nb; i++) {
        const proto_metadata_response_broker_t *b = &r->brokers.v[i];
        bs[i] = (kc_metadata_broker_t){b->node_id, dup_str(b->host), b->port, dup_str(b->rack)};
        md->broker_cnt = i + 1;
        ok = bs[i].host && (bs[i].rack || !b->rack.ptr);
    }
    int nt = r->topics.n > 0 ? r->topics.n : 0;
    kc_metadata_topic_t *ts = calloc((size_t)nt + 1, sizeof(*ts));
    md->topics = ts;
    ok = ok && ts;
    for (int i = 0; ok && i < nt; i++) {
        const proto_metadata_response_topic_t *t = &r->topics.v[i];
        int np = t->partitions.n > 0 ? t->partitions.n : 0;
        kc_metadata_partition_t *ps = calloc((size_t)np + 1, sizeof(*ps));
        ts[i].name = t->name.ptr ? dup_str(t->name) : strdup("");
        ts[i].err = (kc_err_t)t->error_code;
        ts[i].is_internal = t->is_internal;
        ts[i].partitions = ps;
        md->topic_cnt = i + 1;
        ok = ts[i].name && ps;
        for (int j = 0; ok && j < np; j++) {
            const proto_metadata_response_partition_t *p = &t->partitions.v[j];
            ps[j] = (kc_metadata_partition_t){
                p->partition_index,
                (kc_err_t)p->error_code,
                p->leader_id,
                p->leader_epoch,
                p->replica_nodes.n > 0 ? p->replica_nodes.n : 0,
                dup_ids(p->replica_nodes.v, p->replica_nodes.n),
                p->isr_nodes.n > 0 ? p->isr_nodes.n : 0,
                dup_ids(p->isr_nodes.v, p->isr_nodes.n),
            };
            ts[i].partition_cnt = j + 1;
            ok = ps[j].replicas && ps[j].isrs;
        }
        if (ok) qsort(ps, (size_t)np, sizeof(*ps), cmp_part);
    }
    if (!ok) {
        kc_metadata_destroy(md);
        return NULL;
    }
    return md;
}

/* ---- the cache ---- */

static void topic_free(client_topic_t *t)
{
    if (!t) return;
    free(t->name);
    free(t->parts);
    free(t);
}

static client_topic_t *topic_get_or_add(client_t *c, const char *name)
{
    client_topic_t *t = util_hmap_gets(&c->topics, name);
    if (t) return t;
    t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->name = strdup(name);
    t->err = KC_ERR_LEADER_NOT_AVAILABLE;
    if (!t->name || util_hmap_puts(&c->topics, t->name, t) != 0) {
        topic_free(t);
        return NULL;
    }
    return t;
}

static void cache_update(client_t *c, const proto_metadata_response_t *r, int all_topics)
{
    for (int32_t i = 0; i < r->brokers.n; i++) {
        const proto_metadata_response_broker_t *b = &r->brokers.v[i];
        char *host = dup_str(b->host);
        char *rack = dup_str(b->rack);
        if (host && b->node_id >= 0) client_broker_upsert(c, b->node_id, host, b->port, rack);
        free(host);
        free(rack);
    }
    uint64_t now = client_now_ms();
    for (int32_t i = 0; i < r->topics.n; i++) {
        const proto_metadata_response_topic_t *rt = &r->topics.v[i];
        char *name = dup_str(rt->name);
        client_topic_t *t = name ? topic_get_or_add(c, name) : NULL;
        free(name);
        if (!t) continue;
        int32_t n = 0;
        for (int32_t j = 0; j < rt->partitions.n; j++)
            if (rt->partitions.v[j].partition_index >= n)
                n = rt->partitions.v[j].partition_index + 1;
        client_partition_t *parts = calloc((size_t)n + 1, sizeof(*parts));
        if (!parts) continue;
        for (int32_t j = 0; j < n; j++)
            parts[j] = (client_partition_t){j, -1, -1, KC_ERR_LEADER_NOT_AVAILABLE};
        for (int32_t j = 0; j < rt->partitions.n; j++) {
            const proto_metadata_response_partition_t *p = &rt->partitions.v[j];
            if (p->partition_index < 0) continue;
            parts[p->partition_index] = (client_partition_t){p->partition_index, p->leader_id,
                                                             p->leader_epoch, p->error_code};
        }
        free(t->parts);
        t->parts = parts;
        t->npart = n;
        t->err = rt->error_code;
        t->updated_ms = now;
    }
    if (!all_topics) return;
    /* Topics the cluster no longer has. */
    for (;;) {
        const void *k;
        size_t kl, it = 0;
        void *v;
        client_topic_t *gone = NULL;
        while (!gone && util_hmap_next(&c->topics, &it, &k, &kl, &v)) {
            client_topic_t *t = v;
            if (t->updated_ms != now) gone = t;
        }
        if (!gone) break;
        util_hmap_dels(&c->topics, gone->name);
        topic_free(gone);
    }
}

void client_metadata_clear(client_t *c)
{
    const void *k;
    size_t kl, it = 0;
    void *v;
    while (util_hmap_next(&c->topics, &it, &k, &kl, &v))
        topic_free(v);
    util_hmap_destroy(&c->topics);
}

/* ---- metadata operations ---- */

static void md_attempt(client_t *c, client_op_t *op);

static void md_finish_refresh(client_t *c, client_op_t *op)
{
    if (op != c->refresh_op) return;
    c->refresh_op = NULL;
    c->refreshes++;
    if (c->refresh_again && !c->stopping) {
        c->refresh_again = 0;
        client_metadata_refresh(c, NULL);
    }
}

static void md_resp(const net_resp_t *resp, void *opaque)
{
    client_op_t *op = opaque;
    client_t *c = op->client;
    op->in_flight = 0;
    if (resp->err == KC_ERR__DESTROY) {
        md_finish_refresh(c, op);
        client_op_finish(c, op, KC_ERR__DESTROY, "client is being destroyed");
        return;
    }
    kc_err_t err = resp->err;
    const proto_metadata_response_t *r = resp->body;
    if (!err && r->error_code != 0) err = (kc_err_t)r->error_code;
    if (err) {
        /* Keep the reason; the next broker may do better. */
        snprintf(op->errstr, sizeof(op->errstr), "%s: %s", net_conn_name(resp->conn),
                 resp->errstr ? resp->errstr : kc_err_str(err));
        op->err = err;
        op->attempt++;
        uint64_t now = client_now_ms();
        int64_t wait = client_conf(c)->retry_backoff_ms;
        if (now + (uint64_t)wait > op->deadline_ms) wait = (int64_t)(op->deadline_ms - now);
        if (wait < 0) wait = 0;
        struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
        log_debug("metadata request failed (%s), retrying in %lld ms", op->errstr, (long long)wait);
        evtimer_add(op->timer, &tv);
        return;
    }
    cache_update(c, r, op->all_topics);
    if (c->on_metadata) c->on_metadata(c, c->on_metadata_opaque);
    if (op->type == CLIENT_OP_REFRESH) {
        md_finish_refresh(c, op);
        client_op_finish(c, op, 0, NULL);
        return;
    }
    /* A bootstrap connection has no node id yet: name the broker that
     * answered by its address, as the cluster lists it. */
    int32_t orig = resp->node_id;
    char name[300];
    snprintf(name, sizeof(name), "%s", net_conn_name(resp->conn));
    for (int i = 0; orig < 0 && i < c->nbrokers; i++) {
        const client_broker_t *b = c->brokers[i];
        if (b->conn != resp->conn) continue;
        for (int32_t j = 0; j < r->brokers.n; j++) {
            const proto_metadata_response_broker_t *rb = &r->brokers.v[j];
            if (rb->port == b->port && proto_str_eq(rb->host, b->host)) {
                orig = rb->node_id;
                snprintf(name, sizeof(name), "%s:%d/%d", b->host, b->port, (int)orig);
            }
        }
    }
    op->md = md_build(r, orig, name);
    if (!op->md)
        client_op_finish(c, op, KC_ERR__NO_MEMORY, "out of memory copying metadata");
    else
        client_op_finish(c, op, 0, NULL);
}

static void md_fail_deadline(client_t *c, client_op_t *op)
{
    md_finish_refresh(c, op);
    kc_err_t err = op->err == KC_ERR__UNSUPPORTED ? KC_ERR__UNSUPPORTED : KC_ERR__TIMED_OUT;
    char why[sizeof(op->errstr)];
    snprintf(why, sizeof(why), "%s", op->errstr[0] ? op->errstr : "no broker answered");
    client_op_finish(c, op, err, "no metadata within the time-out: %s", why);
}

static void md_attempt(client_t *c, client_op_t *op)
{
    uint64_t now = client_now_ms();
    if (now >= op->deadline_ms) {
        md_fail_deadline(c, op);
        return;
    }
    client_broker_t *b = client_broker_pick(c, op->attempt);
    int left = (int)(op->deadline_ms - now);
    int tmo = client_conf(c)->socket_timeout_ms;
    if (tmo <= 0 || tmo > left) tmo = left;
    kc_err_t err = net_request_send(b->conn, PROTO_API_METADATA, &op->req, tmo, NET_REQ_FAIL_FAST,
                                    md_resp, op);
    if (err) {
        md_finish_refresh(c, op);
        client_op_finish(c, op, err, "cannot send a Metadata request: %s", kc_err_str(err));
        return;
    }
    op->in_flight = 1;
}

static void on_md_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    client_op_t *op = arg;
    md_attempt(op->client, op);
}

void client_metadata_start(client_t *c, client_op_t *op)
{
    op->client = c;
    op->timer = evtimer_new(c->base, on_md_timer, op);
    proto_msg_init(&proto_metadata_request_desc, &op->req);
    /* Only a request naming its topics can create one; "all topics" never does. */
    op->req.allow_auto_topic_creation = !op->all_topics && client_conf(c)->allow_auto_create_topics;
    if (op->all_topics) {
        op->req.topics.v = NULL;
        op->req.topics.n = -1;
    } else {
        op->req_topics = calloc((size_t)op->ntopics + 1, sizeof(*op->req_topics));
        for (int i = 0; op->req_topics && i < op->ntopics; i++) {
            proto_struct_init(&proto_metadata_request_topic_sdesc, &op->req_topics[i]);
            op->req_topics[i].name = proto_str_of(op->topics[i]);
        }
        op->req.topics.v = op->req_topics;
        op->req.topics.n = op->ntopics;
    }
    if (!op->timer || (!op->all_topics && !op->req_topics)) {
        md_finish_refresh(c, op);
        client_op_finish(c, op, KC_ERR__NO_MEMORY, "out of memory");
        return;
    }
    md_attempt(c, op);
}

/* ---- refreshes ---- */

void client_metadata_refresh(client_t *c, const char *topic)
{
    if (c->stopping) return;
    if (topic && !topic_get_or_add(c, topic)) return;
    if (c->refresh_op) {
        c->refresh_again = 1;
        return;
    }
    if (c->topics.count == 0) return;
    client_op_t *op = calloc(1, sizeof(*op));
    if (!op) return;
    op->type = CLIENT_OP_REFRESH;
    op->refs = 1;
    op->topics = calloc(c->topics.count, sizeof(char *));
    const void *k;
    size_t kl, it = 0;
    void *v;
    while (op->topics && util_hmap_next(&c->topics, &it, &k, &kl, &v)) {
        client_topic_t *t = v;
        op->topics[op->ntopics] = strdup(t->name);
        if (!op->topics[op->ntopics]) break;
        op->ntopics++;
    }
    int timeout = client_conf(c)->socket_timeout_ms;
    op->deadline_ms = client_now_ms() + (uint64_t)(timeout > 0 ? timeout : 60000);
    if (!op->topics || (size_t)op->ntopics != c->topics.count) {
        client_op_release(c, op);
        return;
    }
    c->refresh_op = op;
    TAILQ_INSERT_TAIL(&c->active, op, link);
    client_metadata_start(c, op);
}

static void on_refresh_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    client_metadata_refresh(arg, NULL);
}

void client_metadata_init(client_t *c)
{
    int every = c->conf->topic_metadata_refresh_interval_ms;
    if (every <= 0) return;
    c->ev_refresh = event_new(c->base, -1, EV_PERSIST, on_refresh_timer, c);
    if (!c->ev_refresh) return;
    struct timeval tv = {(time_t)(every / 1000), (suseconds_t)(every % 1000) * 1000};
    event_add(c->ev_refresh, &tv);
}

void client_metadata_stop(client_t *c)
{
    if (c->ev_refresh) event_del(c->ev_refresh);
    c->refresh_again = 0;
}

kc_err_t client_topic_leader(client_t *c, const char *topic, int32_t partition, int32_t *leader)
{
    client_topic_t *t = util_hmap_gets(&c->topics, topic);
    if (!t || t->updated_ms == 0) {
        client_metadata_refresh(c, topic);
        return KC_ERR__UNKNOWN_TOPIC;
    }
    if (client_now_ms() - t->updated_ms > (uint64_t)c->conf->metadata_max_age_ms)
        client_metadata_refresh(c, topic);
    if (t->err && t->err != KC_ERR_LEADER_NOT_AVAILABLE) return (kc_err_t)t->err;
    if (partition < 0 || partition >= t->npart) return KC_ERR__UNKNOWN_PARTITION;
    const client_partition_t *p = &t->parts[partition];
    if (p->leader < 0) return KC_ERR_LEADER_NOT_AVAILABLE;
    *leader = p->leader;
    return 0;
}

void client_set_metadata_cb(client_t *c, void (*fn)(client_t *c, void *opaque), void *opaque)
{
    c->on_metadata = fn;
    c->on_metadata_opaque = opaque;
}

uint64_t client_metadata_refreshes(const client_t *c)
{
    return c->refreshes;
}
