/* The client's I/O thread, its operation queue and its brokers; see client.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "client_int.h"
#include "client_mock.h"
#include "kc_conf_int.h"
#include "util/log.h"

uint64_t client_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- operations ---- */

static void op_free(client_op_t *op)
{
    for (int i = 0; i < op->ntopics; i++)
        free(op->topics[i]);
    free(op->topics);
    free(op->req_topics);
    if (op->timer) event_free(op->timer);
    kc_metadata_destroy(op->md);
    free(op);
}

void client_op_release(client_t *c, client_op_t *op)
{
    pthread_mutex_lock(&c->lock);
    int last = --op->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (last) op_free(op);
}

void client_op_finish(client_t *c, client_op_t *op, kc_err_t err, const char *fmt, ...)
{
    if (op->timer) event_del(op->timer);
    if (op->type != CLIENT_OP_CALL) TAILQ_REMOVE(&c->active, op, link);
    pthread_mutex_lock(&c->lock);
    op->err = err;
    if (err && fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(op->errstr, sizeof(op->errstr), fmt, ap);
        va_end(ap);
    }
    op->done = 1;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    client_op_release(c, op);
}

/* Application thread: queues op (the queue takes one reference) and waits
 * until the I/O thread marked it done. The I/O thread bounds every operation
 * by its own deadline, so this wait ends. */
static kc_err_t op_run(client_t *c, client_op_t *op)
{
    pthread_mutex_lock(&c->lock);
    if (c->terminate) {
        pthread_mutex_unlock(&c->lock);
        snprintf(op->errstr, sizeof(op->errstr), "client is being destroyed");
        return KC_ERR__DESTROY;
    }
    op->refs = 2;
    op->queued = 1;
    TAILQ_INSERT_TAIL(&c->ops, op, link);
    pthread_mutex_unlock(&c->lock);
    event_active(c->ev_wake, 0, 0);
    pthread_mutex_lock(&c->lock);
    while (!op->done)
        pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
    return op->err;
}

/* I/O thread: takes the application threads' operations. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    client_t *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        client_op_t *op = TAILQ_FIRST(&c->ops);
        int terminate = c->terminate;
        if (op) TAILQ_REMOVE(&c->ops, op, link);
        pthread_mutex_unlock(&c->lock);
        if (!op) {
            if (terminate && !c->stopping) {
                c->stopping = 1;
                client_metadata_stop(c);
                for (int i = 0; i < c->nbrokers; i++) {
                    net_conn_destroy(c->brokers[i]->conn);
                    c->brokers[i]->conn = NULL;
                }
                /* Operations whose requests were failed above are done;
                 * the rest were waiting out a retry backoff. */
                client_op_t *a;
                while ((a = TAILQ_FIRST(&c->active)) != NULL)
                    client_op_finish(c, a, KC_ERR__DESTROY, "client is being destroyed");
                event_base_loopbreak(c->base);
            }
            return;
        }
        if (c->stopping) {
            if (op->type != CLIENT_OP_CALL) TAILQ_INSERT_TAIL(&c->active, op, link);
            client_op_finish(c, op, KC_ERR__DESTROY, "client is being destroyed");
            continue;
        }
        if (op->type == CLIENT_OP_CALL) {
            op->fn(c, op->arg);
            client_op_finish(c, op, 0, NULL);
        } else {
            TAILQ_INSERT_TAIL(&c->active, op, link);
            client_metadata_start(c, op);
        }
    }
}

/* Adapts kc_conf_set_log_cb's callback to the util_log sink. */
static void log_to_app(void *opaque, int level, const char *msg)
{
    const kc_conf_cbs_t *cbs = opaque;
    cbs->log(level, msg, cbs->log_opaque);
}

static void *io_main(void *arg)
{
    client_t *c = arg;
    c->io_tid = pthread_self();
    const kc_conf_cbs_t *cbs = &c->kconf->cbs;
    /* debug=... asks for debug lines whatever log_level says, as in librdkafka. */
    int level = c->conf->debug ? LOG_LVL_DEBUG : c->conf->log_level;
    util_log_set_thread(cbs->log ? log_to_app : NULL, (void *)cbs, level);
    if (c->conf->statistics_interval_ms > 0)
        log_warn("statistics.interval.ms is set, but kc emits no statistics yet");
    event_base_loop(c->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* ---- brokers ---- */

static void on_conn_state(net_conn_t *conn, net_state_t s, kc_err_t err, const char *reason,
                          void *opaque)
{
    (void)opaque;
    (void)err;
    if (s == NET_DOWN && reason) log_debug("%s: down: %s", net_conn_name(conn), reason);
}

static client_broker_t *broker_add(client_t *c, int32_t node_id, const char *host, int port)
{
    client_broker_t **nb = realloc(c->brokers, sizeof(*nb) * (size_t)(c->nbrokers + 1));
    if (!nb) return NULL;
    c->brokers = nb;
    client_broker_t *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->node_id = node_id;
    b->host = strdup(host);
    b->port = port;
    b->conn = net_conn_new(c->base, &c->nconf, host, port, node_id, on_conn_state, c);
    if (!b->host || !b->conn) {
        net_conn_destroy(b->conn);
        free(b->host);
        free(b);
        return NULL;
    }
    c->brokers[c->nbrokers++] = b;
    return b;
}

client_broker_t *client_broker_find(client_t *c, int32_t node_id)
{
    for (int i = 0; i < c->nbrokers; i++)
        if (c->brokers[i]->node_id == node_id) return c->brokers[i];
    return NULL;
}

client_broker_t *client_broker_upsert(client_t *c, int32_t node_id, const char *host, int port,
                                      const char *rack)
{
    client_broker_t *b = client_broker_find(c, node_id);
    if (!b) {
        b = broker_add(c, node_id, host, port);
        if (!b) return NULL;
        log_debug("broker %d at %s:%d learned", (int)node_id, host, port);
    } else if (strcmp(b->host, host) != 0 || b->port != port) {
        char *h = strdup(host);
        if (!h || net_conn_set_address(b->conn, host, port) != 0) {
            free(h);
            return NULL;
        }
        log_info("broker %d moved from %s:%d to %s:%d", (int)node_id, b->host, b->port, host, port);
        free(b->host);
        b->host = h;
        b->port = port;
    }
    if (!rack || !b->rack || strcmp(rack, b->rack) != 0) {
        free(b->rack);
        b->rack = rack ? strdup(rack) : NULL;
    }
    return b;
}

/* Learned brokers before bootstrap entries, and among them one whose
 * connection is up, so a request does not wait for a connect that another
 * broker spares. `attempt` rotates through the rest after failures. */
client_broker_t *client_broker_pick(client_t *c, int attempt)
{
    if (c->nbrokers == 0) return NULL;
    int learned = 0;
    for (int i = 0; i < c->nbrokers; i++)
        learned += c->brokers[i]->node_id >= 0;
    if (attempt == 0) {
        for (int i = 0; i < c->nbrokers; i++) {
            client_broker_t *b = c->brokers[(c->rr + i) % c->nbrokers];
            if ((b->node_id >= 0 || !learned) && net_conn_state(b->conn) == NET_UP) return b;
        }
    }
    /* Candidates: the learned brokers if any, else the bootstrap entries; the
     * bootstrap entries are still tried every other round, in case every
     * learned address is unreachable from here. */
    int use_learned = learned && (attempt % 2 == 0 || learned == c->nbrokers);
    int n = 0;
    for (int i = 0; i < c->nbrokers; i++)
        n += (c->brokers[i]->node_id >= 0) == use_learned;
    int k = (c->rr + attempt / 2 + attempt % 2) % n;
    for (int i = 0; i < c->nbrokers; i++) {
        client_broker_t *b = c->brokers[i];
        if ((b->node_id >= 0) != use_learned) continue;
        if (k-- == 0) return b;
    }
    return c->brokers[0];
}

kc_err_t client_broker_request(client_t *c, int32_t node_id, int16_t api_key, const void *req,
                               int timeout_ms, int flags, net_resp_cb cb, void *opaque)
{
    client_broker_t *b = node_id == -1 ? client_broker_pick(c, 0) : client_broker_find(c, node_id);
    if (!b || node_id < -1) return KC_ERR__NOENT;
    return net_request_send(b->conn, api_key, req, timeout_ms, flags, cb, opaque);
}

net_conn_t *client_broker_conn(client_t *c, int32_t node_id)
{
    client_broker_t *b = client_broker_find(c, node_id);
    return b ? b->conn : NULL;
}

/* bootstrap.servers: "host:port,host:port", "[v6addr]:port", an optional
 * "PLAINTEXT://" in front of each as in listeners. */
static int add_bootstrap(client_t *c, char *errstr, size_t errstr_size)
{
    const char *s = c->mock ? client_mock_bootstrap(c->mock) : c->conf->bootstrap_servers;
    if (!s || !*s) {
        snprintf(errstr, errstr_size, "bootstrap.servers is not set");
        return -1;
    }
    char *copy = strdup(s);
    if (!copy) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    int rc = 0, id = -1;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", \t", &save); tok && rc == 0;
         tok = strtok_r(NULL, ", \t", &save)) {
        char orig[256];
        snprintf(orig, sizeof(orig), "%s", tok);
        char *p = strstr(tok, "://");
        if (p) tok = p + 3;
        char *host = tok, *port_s = NULL;
        if (*tok == '[') {
            char *close = strchr(tok, ']');
            if (close) {
                *close = '\0';
                host = tok + 1;
                if (close[1] == ':') port_s = close + 2;
            }
        } else {
            char *colon = strrchr(tok, ':');
            if (colon) {
                *colon = '\0';
                port_s = colon + 1;
            }
        }
        long port = 9092;
        if (port_s) {
            char *end;
            errno = 0;
            port = strtol(port_s, &end, 10);
            if (errno || *end || end == port_s || port < 1 || port > 65535) port = -1;
        }
        if (!*host || port < 0) {
            snprintf(errstr, errstr_size, "bootstrap.servers: bad address \"%s\" (want host:port)",
                     orig);
            rc = -1;
        } else if (!broker_add(c, id--, host, (int)port)) {
            snprintf(errstr, errstr_size, "out of memory");
            rc = -1;
        }
    }
    free(copy);
    if (rc == 0 && c->nbrokers == 0) {
        snprintf(errstr, errstr_size, "bootstrap.servers has no address");
        rc = -1;
    }
    return rc;
}

/* ---- the client ---- */

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static int threads_rc;
static void threads_init(void)
{
    /* Makes event_active() from application threads safe. */
    threads_rc = evthread_use_pthreads();
}

static void client_free(client_t *c)
{
    for (int i = 0; i < c->nbrokers; i++) {
        net_conn_destroy(c->brokers[i]->conn);
        free(c->brokers[i]->host);
        free(c->brokers[i]->rack);
        free(c->brokers[i]);
    }
    free(c->brokers);
    client_metadata_clear(c);
    if (c->ev_wake) event_free(c->ev_wake);
    if (c->ev_refresh) event_free(c->ev_refresh);
    if (c->base) event_base_free(c->base);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    client_mock_destroy(c->mock); /* after the connections to it */
    free(c);
}

client_t *client_new(kc_conf_t *conf, char *errstr, size_t errstr_size)
{
    pthread_once(&threads_once, threads_init);
    if (threads_rc != 0) {
        snprintf(errstr, errstr_size, "libevent has no thread support");
        return NULL;
    }
    client_t *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    TAILQ_INIT(&c->ops);
    TAILQ_INIT(&c->active);
    c->kconf = conf;
    c->conf = &conf->client;
    const client_conf_t *cc = c->conf;
    c->nconf = (net_conn_conf_t){
        .client_id = cc->client_id,
        .connect_timeout_ms = cc->socket_connection_setup_timeout_ms,
        .api_version_timeout_ms = cc->api_version_request_timeout_ms,
        .request_timeout_ms = cc->socket_timeout_ms,
        .backoff_ms = cc->reconnect_backoff_ms,
        .backoff_max_ms = cc->reconnect_backoff_max_ms,
        .max_in_flight = cc->max_in_flight,
        .max_frame = cc->receive_message_max_bytes,
        .transport = &net_transport_plain,
    };
    if (cc->security_protocol != CLIENT_SECURITY_PLAINTEXT) {
        snprintf(errstr, errstr_size, "security.protocol: only plaintext is implemented so far");
        c->kconf = NULL;
        client_free(c);
        return NULL;
    }
    c->base = event_base_new();
    if (c->base) c->ev_wake = event_new(c->base, -1, EV_PERSIST, on_wake, c);
    if (!c->base || !c->ev_wake) {
        snprintf(errstr, errstr_size, "cannot create the event loop");
        c->kconf = NULL;
        client_free(c);
        return NULL;
    }
    util_hmap_init(&c->topics);
    client_metadata_init(c);
    if (cc->test_mock_num_brokers > 0)
        c->mock = client_mock_start(cc->test_mock_num_brokers, errstr, errstr_size);
    if ((cc->test_mock_num_brokers > 0 && !c->mock) || add_bootstrap(c, errstr, errstr_size) != 0) {
        c->kconf = NULL;
        client_free(c);
        return NULL;
    }
    int rc = pthread_create(&c->thread, NULL, io_main, c);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "cannot start the I/O thread: %s", strerror(rc));
        c->kconf = NULL;
        client_free(c);
        return NULL;
    }
    c->thread_started = 1;
    return c;
}

void client_destroy(client_t *c)
{
    if (!c) return;
    pthread_mutex_lock(&c->lock);
    c->terminate = 1;
    pthread_mutex_unlock(&c->lock);
    event_active(c->ev_wake, 0, 0);
    pthread_join(c->thread, NULL);
    kc_conf_t *conf = c->kconf;
    client_free(c);
    kc_conf_destroy(conf);
}

kc_err_t client_call(client_t *c, void (*fn)(client_t *c, void *arg), void *arg)
{
    client_op_t *op = calloc(1, sizeof(*op));
    if (!op) return KC_ERR__NO_MEMORY;
    op->type = CLIENT_OP_CALL;
    op->fn = fn;
    op->arg = arg;
    kc_err_t err = op_run(c, op);
    if (!op->queued) {
        free(op);
        return err;
    }
    client_op_release(c, op);
    return err;
}

kc_err_t client_metadata_get(client_t *c, const char *topic, int timeout_ms, kc_metadata_t **out,
                             char *errstr, size_t errstr_size)
{
    *out = NULL;
    client_op_t *op = calloc(1, sizeof(*op));
    if (!op) return KC_ERR__NO_MEMORY;
    op->type = CLIENT_OP_METADATA;
    op->all_topics = topic == NULL;
    if (topic) {
        op->topics = calloc(1, sizeof(char *));
        if (op->topics) op->topics[0] = strdup(topic);
        if (!op->topics || !op->topics[0]) {
            op_free(op);
            return KC_ERR__NO_MEMORY;
        }
        op->ntopics = 1;
    }
    op->deadline_ms = client_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    kc_err_t err = op_run(c, op);
    if (errstr && errstr_size) snprintf(errstr, errstr_size, "%s", err ? op->errstr : "");
    if (!op->queued) {
        op_free(op);
        return err;
    }
    if (!err) {
        *out = op->md;
        op->md = NULL;
    }
    client_op_release(c, op);
    return err;
}

struct event_base *client_base(client_t *c)
{
    return c->base;
}

const client_conf_t *client_conf(const client_t *c)
{
    return c->conf;
}
