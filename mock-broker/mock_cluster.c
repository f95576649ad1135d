/* The mock cluster's lifecycle and the way control calls reach its thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "kc/kc_mock.h"
#include "mock_int.h"
#include "storage/log_mem.h"
#include "util/log.h"

static void err_set(char *errstr, size_t errstr_size, const char *fmt, const char *detail)
{
    if (errstr && errstr_size) snprintf(errstr, errstr_size, fmt, detail);
}

static int open_mem_log(broker_t *b, broker_topic_t *t, int32_t partition, broker_log_t **out,
                        char *errstr, size_t errstr_size)
{
    (void)b;
    (void)t;
    (void)partition;
    return broker_mem_log_open(out, errstr, errstr_size);
}

static void *loop_main(void *arg)
{
    kc_mock_cluster_t *mc = arg;
    event_base_loop(mc->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* ---- Control calls ---------------------------------------------------------------- */

typedef struct mock_op {
    kc_mock_cluster_t *mc;
    int (*fn)(kc_mock_cluster_t *mc, void *arg);
    void *arg;
    int rc;
    int done;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} mock_op_t;

static void op_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    mock_op_t *op = arg;
    int rc = op->fn(op->mc, op->arg);
    pthread_mutex_lock(&op->lock);
    op->rc = rc;
    op->done = 1;
    pthread_cond_signal(&op->cond);
    pthread_mutex_unlock(&op->lock);
}

int mock_run(kc_mock_cluster_t *mc, int (*fn)(kc_mock_cluster_t *mc, void *arg), void *arg)
{
    mock_op_t op = {.mc = mc, .fn = fn, .arg = arg};
    pthread_mutex_init(&op.lock, NULL);
    pthread_cond_init(&op.cond, NULL);
    struct timeval now = {0, 0};
    int rc = KC_ERR__NO_MEMORY;
    /* event_base_once is thread-safe once evthread_use_pthreads() ran. */
    if (event_base_once(mc->base, -1, EV_TIMEOUT, op_cb, &op, &now) == 0) {
        pthread_mutex_lock(&op.lock);
        while (!op.done)
            pthread_cond_wait(&op.cond, &op.lock);
        pthread_mutex_unlock(&op.lock);
        rc = op.rc;
    }
    pthread_cond_destroy(&op.cond);
    pthread_mutex_destroy(&op.lock);
    return rc;
}

broker_node_t *mock_node(kc_mock_cluster_t *mc, int32_t node_id)
{
    return mc->broker ? broker_node_find(mc->broker, node_id) : NULL;
}

/* ---- Lifecycle ---------------------------------------------------------------------- */

static int conf_build(kc_mock_cluster_t *mc, const char *const *properties, char *errstr,
                      size_t errstr_size)
{
    /* Defaults suited to tests: no initial rebalance delay (Kafka's 3 s
     * would slow every group test down) and data nowhere on disk. */
    const char *head[] = {"kc-mock",
                          "--override",
                          "listeners=PLAINTEXT://127.0.0.1:0",
                          "--override",
                          "log.dirs=/nonexistent/kc-mock",
                          "--override",
                          "group.initial.rebalance.delay.ms=0"};
    size_t nhead = sizeof(head) / sizeof(head[0]), nprops = 0;
    while (properties && properties[nprops])
        nprops++;
    char **argv = calloc(nhead + 2 * nprops + 4, sizeof(char *));
    if (!argv) {
        err_set(errstr, errstr_size, "%s", "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    size_t argc = 0;
    for (size_t i = 0; i < nhead; i++)
        argv[argc++] = (char *)head[i];
    for (size_t i = 0; i < nprops; i++) {
        argv[argc++] = "--override";
        argv[argc++] = (char *)properties[i];
    }
    /* The mock's own, whatever the caller said. */
    argv[argc++] = "--override";
    argv[argc++] = "listeners=PLAINTEXT://127.0.0.1:0";
    argv[argc++] = "--override";
    argv[argc++] = "log.dirs=/nonexistent/kc-mock";
    int rc = broker_conf_from_argv(&mc->conf, (int)argc, argv, errstr, errstr_size);
    free(argv);
    return rc;
}

static int bootstrap_build(kc_mock_cluster_t *mc)
{
    size_t cap = (size_t)mc->node_count * 300 + 1, len = 0;
    mc->bootstrap = malloc(cap);
    if (!mc->bootstrap) return -1;
    mc->bootstrap[0] = '\0';
    for (int i = 0; i < mc->broker->node_count; i++) {
        const broker_node_t *n = &mc->broker->nodes[i];
        len += (size_t)snprintf(mc->bootstrap + len, cap - len, "%s%s:%d", i ? "," : "", n->host,
                                n->port);
    }
    return 0;
}

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static int threads_rc;

static void threads_init(void)
{
    threads_rc = evthread_use_pthreads();
}

kc_mock_cluster_t *kc_mock_cluster_new_with(int broker_count, const char *const *properties,
                                            char *errstr, size_t errstr_size)
{
    if (broker_count < 1 || broker_count > KC_MOCK_MAX_BROKERS) {
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size, "broker count must be 1..%d, not %d", KC_MOCK_MAX_BROKERS,
                     broker_count);
        return NULL;
    }
    pthread_once(&threads_once, threads_init);
    if (threads_rc != 0) {
        err_set(errstr, errstr_size, "%s", "libevent has no thread support");
        return NULL;
    }
    kc_mock_cluster_t *mc = calloc(1, sizeof(*mc));
    if (mc) mc->nodes = calloc((size_t)broker_count, sizeof(*mc->nodes));
    if (!mc || !mc->nodes) {
        if (mc) free(mc->nodes);
        free(mc);
        err_set(errstr, errstr_size, "%s", "out of memory");
        return NULL;
    }
    mc->node_count = broker_count;
    char err[512];
    if (conf_build(mc, properties, err, sizeof(err)) != 0) {
        err_set(errstr, errstr_size, "mock cluster: %s", err);
        free(mc->nodes);
        free(mc);
        return NULL;
    }
    /* A precise (not coarse) monotonic clock for timers: an injected RTT is
     * a lower bound, and the request log measures it with CLOCK_MONOTONIC;
     * a coarse clock lags it by up to a tick and fires timers that early. */
    struct event_config *cfg = event_config_new();
    if (cfg) {
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
        mc->base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    if (!mc->base) {
        err_set(errstr, errstr_size, "%s", "cannot create the event loop");
        kc_mock_cluster_destroy(mc);
        return NULL;
    }
    mock_hooks_init(mc);
    broker_opts_t opts = {
        .node_count = broker_count,
        .first_node_id = 1,
        .open_log = open_mem_log,
        .persistent = 0,
    };
    mc->broker = broker_new(mc->base, &mc->conf, &opts, err, sizeof(err));
    if (!mc->broker) {
        err_set(errstr, errstr_size, "mock cluster: %s", err);
        kc_mock_cluster_destroy(mc);
        return NULL;
    }
    mc->broker->hooks = &mc->hooks;
    if (bootstrap_build(mc) != 0) {
        err_set(errstr, errstr_size, "%s", "out of memory");
        kc_mock_cluster_destroy(mc);
        return NULL;
    }
    int rc = pthread_create(&mc->thread, NULL, loop_main, mc);
    if (rc != 0) {
        err_set(errstr, errstr_size, "cannot start the mock's thread: %s", strerror(rc));
        kc_mock_cluster_destroy(mc);
        return NULL;
    }
    mc->thread_started = 1;
    log_debug("mock cluster of %d broker%s: %s", broker_count, broker_count == 1 ? "" : "s",
              mc->bootstrap);
    return mc;
}

kc_mock_cluster_t *kc_mock_cluster_new(int broker_count, char *errstr, size_t errstr_size)
{
    return kc_mock_cluster_new_with(broker_count, NULL, errstr, errstr_size);
}

const char *kc_mock_cluster_bootstrap(const kc_mock_cluster_t *mc)
{
    return mc ? mc->bootstrap : NULL;
}

int kc_mock_cluster_broker_count(const kc_mock_cluster_t *mc)
{
    return mc ? mc->node_count : 0;
}

void kc_mock_cluster_destroy(kc_mock_cluster_t *mc)
{
    if (!mc) return;
    if (mc->thread_started) {
        event_base_loopbreak(mc->base);
        pthread_join(mc->thread, NULL);
    }
    /* Connections (and with them parked calls and their timers) go first. */
    broker_destroy(mc->broker);
    if (mc->base) event_base_free(mc->base);
    for (int i = 0; i < mc->node_count; i++) {
        mock_faults_free(&mc->nodes[i].faults);
        mock_reqlog_free(&mc->nodes[i].log);
    }
    mock_faults_free(&mc->faults);
    for (size_t i = 0; i < mc->pin_count; i++)
        free(mc->pins[i].key);
    free(mc->pins);
    free(mc->nodes);
    free(mc->bootstrap);
    broker_conf_clear(&mc->conf);
    free(mc);
}
