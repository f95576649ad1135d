/* The per-broker request log and its public, copied view. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mock_int.h"

struct kc_mock_requests {
    struct kc_mock_request *v;
    size_t n;
};

static int64_t clock_us(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Logs are bounded so that a long-running kc-mock does not grow forever:
 * past this many entries the oldest half goes. */
#define REQLOG_MAX 100000

static void entry_free(struct kc_mock_request *r)
{
    free(r->client_id);
    r->client_id = NULL;
}

uint64_t mock_reqlog_add(kc_mock_cluster_t *mc, broker_call_t *call, int16_t injected)
{
    uint64_t seq = ++mc->next_seq;
    mock_reqlog_t *log = &mc->nodes[call->node->id - 1].log;
    if (log->len >= REQLOG_MAX) {
        size_t drop = log->len / 2;
        for (size_t i = 0; i < drop; i++)
            entry_free(&log->v[i]);
        memmove(log->v, log->v + drop, (log->len - drop) * sizeof(*log->v));
        log->len -= drop;
    }
    if (log->len == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 64;
        struct kc_mock_request *v = realloc(log->v, cap * sizeof(*v));
        if (!v) return seq; /* not logged; the call goes on */
        log->v = v;
        log->cap = cap;
    }
    struct kc_mock_request *r = &log->v[log->len++];
    memset(r, 0, sizeof(*r));
    r->broker_id = call->node->id;
    r->api_key = call->hdr.api_key;
    r->api_version = call->hdr.api_version;
    r->injected = injected;
    proto_str_t cid = call->hdr.client_id;
    if (cid.len >= 0 && cid.ptr) r->client_id = strndup((const char *)cid.ptr, (size_t)cid.len);
    r->received_us = clock_us(CLOCK_REALTIME);
    r->received_mono_us = clock_us(CLOCK_MONOTONIC);
    r->response_us = -1;
    r->seq = seq;
    return seq;
}

void mock_reqlog_ended(kc_mock_cluster_t *mc, broker_call_t *call, uint64_t seq, int answered)
{
    if (!answered) return;
    mock_reqlog_t *log = &mc->nodes[call->node->id - 1].log;
    /* Entries are in seq order: search from the newest, where calls end. */
    for (size_t i = log->len; i-- > 0;) {
        if (log->v[i].seq < seq) return;
        if (log->v[i].seq == seq) {
            log->v[i].response_us = clock_us(CLOCK_MONOTONIC) - log->v[i].received_mono_us;
            return;
        }
    }
}

void mock_reqlog_free(mock_reqlog_t *log)
{
    for (size_t i = 0; i < log->len; i++)
        entry_free(&log->v[i]);
    free(log->v);
    memset(log, 0, sizeof(*log));
}

/* ---- Public view --------------------------------------------------------------------- */

typedef struct get_args {
    int32_t broker_id;
    kc_mock_requests_t *out;
} get_args_t;

static int copy_log(kc_mock_requests_t *out, const mock_reqlog_t *log)
{
    for (size_t i = 0; i < log->len; i++) {
        struct kc_mock_request *r = &out->v[out->n];
        *r = log->v[i];
        r->client_id = NULL;
        if (log->v[i].client_id && !(r->client_id = strdup(log->v[i].client_id))) return -1;
        out->n++;
    }
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const struct kc_mock_request *)a)->seq;
    uint64_t y = ((const struct kc_mock_request *)b)->seq;
    return x < y ? -1 : x > y;
}

static int get_cb(kc_mock_cluster_t *mc, void *arg)
{
    get_args_t *a = arg;
    size_t total = 0;
    for (int i = 0; i < mc->node_count; i++)
        if (a->broker_id < 0 || a->broker_id == i + 1) total += mc->nodes[i].log.len;
    kc_mock_requests_t *out = calloc(1, sizeof(*out));
    if (out && total) out->v = calloc(total, sizeof(*out->v));
    if (!out || (total && !out->v)) {
        free(out);
        return KC_ERR__NO_MEMORY;
    }
    int rc = 0;
    for (int i = 0; i < mc->node_count && !rc; i++)
        if (a->broker_id < 0 || a->broker_id == i + 1) rc = copy_log(out, &mc->nodes[i].log);
    if (rc) {
        kc_mock_requests_destroy(out);
        return KC_ERR__NO_MEMORY;
    }
    if (out->n > 1) qsort(out->v, out->n, sizeof(*out->v), by_seq);
    a->out = out;
    return 0;
}

kc_mock_requests_t *kc_mock_requests_get(kc_mock_cluster_t *mc, int32_t broker_id)
{
    if (!mc || broker_id == 0 || broker_id < -1 || broker_id > mc->node_count) return NULL;
    get_args_t a = {broker_id, NULL};
    if (mock_run(mc, get_cb, &a) != 0) return NULL;
    return a.out;
}

size_t kc_mock_requests_count(const kc_mock_requests_t *list)
{
    return list ? list->n : 0;
}

const kc_mock_request_t *kc_mock_requests_at(const kc_mock_requests_t *list, size_t i)
{
    return list && i < list->n ? &list->v[i] : NULL;
}

void kc_mock_requests_destroy(kc_mock_requests_t *list)
{
    if (!list) return;
    for (size_t i = 0; i < list->n; i++)
        entry_free(&list->v[i]);
    free(list->v);
    free(list);
}

int32_t kc_mock_request_broker_id(const kc_mock_request_t *r)
{
    return r->broker_id;
}

int16_t kc_mock_request_api_key(const kc_mock_request_t *r)
{
    return r->api_key;
}

int16_t kc_mock_request_api_version(const kc_mock_request_t *r)
{
    return r->api_version;
}

const char *kc_mock_request_client_id(const kc_mock_request_t *r)
{
    return r->client_id;
}

int64_t kc_mock_request_received_us(const kc_mock_request_t *r)
{
    return r->received_us;
}

int64_t kc_mock_request_response_us(const kc_mock_request_t *r)
{
    return r->response_us;
}

kc_err_t kc_mock_request_injected_error(const kc_mock_request_t *r)
{
    return (kc_err_t)r->injected;
}

static int clear_cb(kc_mock_cluster_t *mc, void *arg)
{
    int32_t id = *(int32_t *)arg;
    for (int i = 0; i < mc->node_count; i++)
        if (id < 0 || id == i + 1) {
            mock_reqlog_t *log = &mc->nodes[i].log;
            for (size_t j = 0; j < log->len; j++)
                entry_free(&log->v[j]);
            log->len = 0;
        }
    return 0;
}

kc_err_t kc_mock_requests_clear(kc_mock_cluster_t *mc, int32_t broker_id)
{
    if (!mc || broker_id == 0 || broker_id < -1 || broker_id > mc->node_count)
        return KC_ERR__INVALID_ARG;
    return (kc_err_t)mock_run(mc, clear_cb, &broker_id);
}
