/* Fault injection through the broker core's hooks (broker_hooks_t): queued
 * errors, per-broker round-trip time, the request log and pinned
 * coordinators. All of it runs on the loop thread. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "mock_int.h"
#include "util/log.h"

/* ---- Fault queues ------------------------------------------------------------------ */

static mock_fault_queue_t *queue_find(mock_faults_t *f, int16_t api_key, int create)
{
    for (size_t i = 0; i < f->count; i++)
        if (f->queues[i].api_key == api_key) return &f->queues[i];
    if (!create) return NULL;
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 4;
        mock_fault_queue_t *v = realloc(f->queues, cap * sizeof(*v));
        if (!v) return NULL;
        f->queues = v;
        f->cap = cap;
    }
    mock_fault_queue_t *q = &f->queues[f->count++];
    memset(q, 0, sizeof(*q));
    q->api_key = api_key;
    return q;
}

int mock_faults_push(mock_faults_t *f, int16_t api_key, const mock_fault_t *faults, size_t n)
{
    mock_fault_queue_t *q = queue_find(f, api_key, 1);
    if (!q) return -1;
    if (q->head > 0) { /* compact before growing */
        memmove(q->v, q->v + q->head, (q->len - q->head) * sizeof(*q->v));
        q->len -= q->head;
        q->head = 0;
    }
    if (q->len + n > q->cap) {
        size_t cap = q->cap ? q->cap : 8;
        while (cap < q->len + n)
            cap *= 2;
        mock_fault_t *v = realloc(q->v, cap * sizeof(*v));
        if (!v) return -1;
        q->v = v;
        q->cap = cap;
    }
    memcpy(q->v + q->len, faults, n * sizeof(*faults));
    q->len += n;
    return 0;
}

int mock_faults_pop(mock_faults_t *f, int16_t api_key, mock_fault_t *out)
{
    mock_fault_queue_t *q = queue_find(f, api_key, 0);
    if (!q || q->head == q->len) return -1;
    *out = q->v[q->head++];
    if (q->head == q->len) q->head = q->len = 0;
    return 0;
}

void mock_faults_clear(mock_faults_t *f, int16_t api_key)
{
    for (size_t i = 0; i < f->count; i++)
        if (api_key < 0 || f->queues[i].api_key == api_key)
            f->queues[i].head = f->queues[i].len = 0;
}

void mock_faults_free(mock_faults_t *f)
{
    for (size_t i = 0; i < f->count; i++)
        free(f->queues[i].v);
    free(f->queues);
    memset(f, 0, sizeof(*f));
}

/* ---- Delayed calls ------------------------------------------------------------------- */

/* A call held back by an injected round-trip time. While parked it lives in
 * call->handler_data (the handler has not run yet, so nobody else uses it). */
typedef struct parked {
    struct event *ev;
    broker_call_t *call;
    broker_handler_fn handle; /* NULL: answer with err instead */
    int16_t err;
} parked_t;

static void parked_free(parked_t *pk)
{
    pk->call->handler_data = NULL;
    pk->call->on_abandon = NULL;
    event_free(pk->ev);
    free(pk);
}

static void parked_abandon(broker_call_t *call)
{
    parked_t *pk = call->handler_data;
    if (pk) parked_free(pk);
}

static void parked_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    parked_t *pk = arg;
    broker_call_t *call = pk->call;
    broker_handler_fn handle = pk->handle;
    int16_t err = pk->err;
    parked_free(pk);
    if (handle)
        handle(call);
    else
        mock_respond_error(call, err);
}

/* Returns 1 if parked, 0 if it could not be (the caller serves it now). */
static int park(kc_mock_cluster_t *mc, broker_call_t *call, broker_handler_fn handle, int16_t err,
                int delay_ms)
{
    parked_t *pk = calloc(1, sizeof(*pk));
    if (pk) pk->ev = evtimer_new(mc->base, parked_fire, pk);
    if (!pk || !pk->ev) {
        free(pk);
        log_warn("mock: out of memory delaying a request; serving it now");
        return 0;
    }
    pk->call = call;
    pk->handle = handle;
    pk->err = err;
    call->handler_data = pk;
    call->on_abandon = parked_abandon;
    struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
    /* From now, not from the loop's cached time (the start of this turn,
     * before the request was read and logged), so the delay is a lower
     * bound of the logged response time. */
    event_base_update_cache_time(mc->base);
    evtimer_add(pk->ev, &tv);
    return 1;
}

/* ---- Hooks ------------------------------------------------------------------------------ */

static int on_call(void *opaque, broker_call_t *call, broker_handler_fn handle)
{
    kc_mock_cluster_t *mc = opaque;
    int idx = call->node->id - 1;
    mock_node_t *mn = idx >= 0 && idx < mc->node_count ? &mc->nodes[idx] : NULL;
    if (!mn) return 0;
    int16_t key = call->hdr.api_key;
    mock_fault_t fault;
    int faulted = mock_faults_pop(&mn->faults, key, &fault) == 0 ||
                  mock_faults_pop(&mc->faults, key, &fault) == 0;
    if (!faulted) fault = (mock_fault_t){0, 0};
    uint64_t seq = mock_reqlog_add(mc, call, fault.err);
    call->hook_data = (void *)(uintptr_t)seq;
    int delay = mn->rtt_ms + fault.rtt_ms;
    if (fault.err) {
        if (delay > 0 && park(mc, call, NULL, fault.err, delay)) return 1;
        mock_respond_error(call, fault.err);
        return 1;
    }
    if (delay > 0 && park(mc, call, handle, 0, delay)) return 1;
    return 0;
}

static void on_call_end(void *opaque, broker_call_t *call)
{
    if (!call->hook_data) return; /* never reached on_call */
    /* A call that was answered has had its request's on_abandon cleared
     * (dispatch.c, call_send); an abandoned one still has it. */
    int answered = call->req && call->req->on_abandon == NULL;
    mock_reqlog_ended(opaque, call, (uint64_t)(uintptr_t)call->hook_data, answered);
}

static broker_node_t *coordinator(void *opaque, int8_t key_type, proto_str_t key)
{
    kc_mock_cluster_t *mc = opaque;
    size_t n = key.len > 0 ? (size_t)key.len : 0;
    for (size_t i = 0; i < mc->pin_count; i++) {
        const mock_pin_t *p = &mc->pins[i];
        if (p->key_type == key_type && strlen(p->key) == n && (!n || !memcmp(p->key, key.ptr, n)))
            return mock_node(mc, p->node_id);
    }
    return NULL;
}

void mock_hooks_init(kc_mock_cluster_t *mc)
{
    mc->hooks.opaque = mc;
    mc->hooks.on_call = on_call;
    mc->hooks.on_call_end = on_call_end;
    mc->hooks.coordinator = coordinator;
}

/* ---- Connections --------------------------------------------------------------------- */

int mock_node_restart_server(kc_mock_cluster_t *mc, broker_node_t *node, int listen_again,
                             char *errstr, size_t errstr_size)
{
    /* Destroying the server closes its listener and every connection;
     * parked calls are abandoned through their on_abandon. */
    broker_server_destroy(node->server);
    node->server = NULL;
    if (!listen_again) return 0;
    char addr[300];
    snprintf(addr, sizeof(addr), "%s:%d", node->host, node->port);
    const char *addrs[1] = {addr};
    broker_server_conf_t sc = {
        .listeners = addrs,
        .listener_count = 1,
        .max_frame_bytes = (size_t)mc->conf.socket_request_max_bytes,
        .max_connections = mc->conf.max_connections,
        .on_request = broker_dispatch,
        .opaque = node,
    };
    node->server = broker_server_new(mc->base, &sc, errstr, errstr_size);
    return node->server ? 0 : KC_ERR__TRANSPORT;
}
