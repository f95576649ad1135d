/* A broker connection: see net_conn.h for the contract.
 *
 * Every callback into the owner runs from one of this file's event handlers
 * (or from net_conn_destroy), never from inside an API call, so an owner
 * never sees a callback while it is in the middle of net_request_send().
 * Handlers hold c->busy while they run; net_conn_destroy() from inside a
 * callback only marks the connection and the last handler frees it. After
 * each callback a handler checks c->destroying and c->gen (bumped on every
 * reset) before it touches the socket again.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "kc/kc.h"
#include "net/net_conn.h"
#include "proto_header.h"
#include "proto_msgs.h"
#include "util/log.h"

#define NET_MAX_KEY    128         /* API keys kc can record broker ranges for */
#define NET_REF_MIN    (64 * 1024) /* frames this large go to the socket buffer uncopied */
#define NET_READ_CHUNK 65536
#define NET_READ_ROUND                               \
    (1 << 20) /* bytes read per wake-up, so one busy \
                 connection does not starve the loop */

typedef struct net_req {
    TAILQ_ENTRY(net_req) link;
    net_conn_t *c;
    int16_t api_key;
    int16_t version;
    int32_t corr;
    const void *body;
    net_resp_cb cb;
    void *opaque;
    struct event *tmo;
    int timeout_ms;
    int on_wire;  /* in c->inflight */
    int internal; /* the connection's own ApiVersions */
    int flags;    /* NET_REQ_* */
    uint64_t seq; /* queueing order */
} net_req_t;

TAILQ_HEAD(net_req_q, net_req);

struct net_conn {
    struct event_base *base;
    net_conn_conf_t conf;
    char *client_id;
    char *host;
    int port;
    int32_t node_id;
    char name[300];
    net_state_cb state_cb;
    void *opaque;

    net_state_t state;
    int fd;
    void *tp_ctx;
    struct event *ev_read, *ev_write;
    struct event *ev_timer;    /* backoff (DOWN) or connect time-out (CONNECTING) */
    struct event *ev_dispatch; /* activated by API calls: connect and write */
    struct evbuffer *in, *out;
    uint8_t *big; /* a large frame being read into its own buffer, or NULL */
    int32_t big_size;
    size_t big_have;
    struct addrinfo *ais, *ai_next;
    char conn_err[200]; /* why the last address failed */

    struct net_req_q waitq;    /* not written yet */
    struct net_req_q inflight; /* written, waiting for a response, in order */
    int n_inflight;
    int32_t next_corr;
    uint64_t next_seq;

    int failures;
    uint64_t retry_at_ms;
    uint64_t rng;

    int16_t brk_min[NET_MAX_KEY], brk_max[NET_MAX_KEY];
    int16_t av_version;
    proto_api_versions_request_t av_req;

    unsigned gen;
    int busy;
    int destroying;
    char last_err[256];
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct timeval tv_ms(int64_t ms)
{
    if (ms < 0) ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
}

static const char *api_name(int16_t key)
{
    const proto_api_t *api = proto_api_find(key);
    return api ? api->name : "unknown API";
}

static void set_name(net_conn_t *c)
{
    snprintf(c->name, sizeof(c->name), "%s:%d/%d", c->host, c->port, (int)c->node_id);
}

static void conn_free(net_conn_t *c)
{
    if (c->ais) freeaddrinfo(c->ais);
    if (c->in) evbuffer_free(c->in);
    net_frame_free(c->big);
    if (c->out) evbuffer_free(c->out);
    free(c->host);
    free(c->client_id);
    free(c);
}

/* Ends a handler: the place where a deferred destroy completes. */
static void conn_leave(net_conn_t *c)
{
    if (--c->busy == 0 && c->destroying) conn_free(c);
}

static void set_state(net_conn_t *c, net_state_t s, kc_err_t err, const char *reason)
{
    c->state = s;
    if (c->state_cb) c->state_cb(c, s, err, reason, c->opaque);
}

/* ---- requests ---- */

static void req_free(net_req_t *req)
{
    if (req->tmo) event_free(req->tmo);
    free(req);
}

/* Takes req off whichever queue holds it, calls its callback with err, frees it. */
static void req_fail(net_req_t *req, kc_err_t err, const char *errstr)
{
    net_conn_t *c = req->c;
    if (req->on_wire) {
        TAILQ_REMOVE(&c->inflight, req, link);
        c->n_inflight--;
    } else {
        TAILQ_REMOVE(&c->waitq, req, link);
    }
    if (!req->internal && req->cb) {
        net_resp_t r = {c,   c->node_id, req->api_key, req->on_wire ? req->version : (int16_t)-1,
                        err, errstr,     NULL,         NULL};
        req->cb(&r, req->opaque);
    }
    req_free(req);
}

static void close_socket(net_conn_t *c)
{
    if (c->ev_read) event_free(c->ev_read);
    if (c->ev_write) event_free(c->ev_write);
    c->ev_read = c->ev_write = NULL;
    if (c->fd >= 0) c->conf.transport->close(c->tp_ctx, c->fd);
    c->fd = -1;
    c->tp_ctx = NULL;
    evbuffer_drain(c->in, evbuffer_get_length(c->in));
    net_frame_free(c->big);
    c->big = NULL;
    evbuffer_drain(c->out, evbuffer_get_length(c->out));
}

static uint32_t next_rand(net_conn_t *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (uint32_t)(c->rng >> 11);
}

/* reconnect.backoff.ms doubled per consecutive failure up to
 * reconnect.backoff.max.ms, then -25%..+25% jitter so that many clients
 * that lost the same broker do not come back in step. */
static int64_t next_backoff(net_conn_t *c)
{
    int64_t b = c->conf.backoff_ms;
    for (int i = 1; i < c->failures && b < c->conf.backoff_max_ms; i++)
        b *= 2;
    if (b > c->conf.backoff_max_ms) b = c->conf.backoff_max_ms;
    int64_t span = b / 2;
    if (span > 0) b = b - span / 2 + (int64_t)(next_rand(c) % (uint64_t)(span + 1));
    return b;
}

static void conn_start(net_conn_t *c);
static void req_timer(net_conn_t *c, net_req_t *req, int timeout_ms);

/* Resets the connection: the socket closes, every in-flight request fails
 * with err, waiting requests stay queued for the next connection. */
static void conn_fail(net_conn_t *c, kc_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_fail(net_conn_t *c, kc_err_t err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last_err, sizeof(c->last_err), fmt, ap);
    va_end(ap);
    char reason[sizeof(c->last_err)];
    memcpy(reason, c->last_err, sizeof(reason));
    if (c->state == NET_UP)
        log_warn("%s: %s", c->name, reason);
    else
        log_debug("%s: %s", c->name, reason);
    close_socket(c);
    if (c->ev_timer) event_del(c->ev_timer);
    c->gen++;
    c->failures++;
    c->retry_at_ms = now_ms() + (uint64_t)next_backoff(c);
    set_state(c, NET_DOWN, err, reason);
    /* Popped one at a time: a callback may destroy the connection, which
     * then fails the rest itself. */
    net_req_t *req;
    while (!c->destroying && (req = TAILQ_FIRST(&c->inflight)) != NULL)
        req_fail(req, err, reason);
    /* Only requests that waited for this attempt: one a callback queues
     * now waits for the next. */
    uint64_t limit = c->next_seq;
    net_req_t *next;
    for (req = TAILQ_FIRST(&c->waitq); !c->destroying && req; req = next) {
        next = TAILQ_NEXT(req, link);
        if ((req->flags & NET_REQ_FAIL_FAST) && req->seq < limit) {
            /* A callback may queue or fail others: restart from the head. */
            req_fail(req, KC_ERR__TRANSPORT, reason);
            next = TAILQ_FIRST(&c->waitq);
        }
    }
    /* Through the timer even with no backoff left: a connect that fails at
     * once must not recurse back into here. */
    if (!c->destroying && !TAILQ_EMPTY(&c->waitq) && c->state == NET_DOWN) {
        uint64_t now = now_ms();
        struct timeval tv = tv_ms(c->retry_at_ms > now ? (int64_t)(c->retry_at_ms - now) : 0);
        event_add(c->ev_timer, &tv);
    }
}

/* ---- writing ---- */

/* Pieces of the output handed to one writev: a few Produce frames' headers
 * and batches. */
#define WRITE_IOV_MAX 32

static void do_write(net_conn_t *c)
{
    while (evbuffer_get_length(c->out) > 0) {
        struct evbuffer_iovec v[WRITE_IOV_MAX];
        int nv = evbuffer_peek(c->out, -1, NULL, v, WRITE_IOV_MAX);
        if (nv < 1) break;
        if (nv > WRITE_IOV_MAX) nv = WRITE_IOV_MAX; /* peek counts what it could not fill */
        struct iovec iov[WRITE_IOV_MAX];
        size_t want = 0;
        for (int i = 0; i < nv; i++) {
            iov[i].iov_base = v[i].iov_base;
            iov[i].iov_len = v[i].iov_len;
            want += v[i].iov_len;
        }
        ssize_t n = c->conf.transport->writev(c->tp_ctx, c->fd, iov, nv);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            conn_fail(c, KC_ERR__TRANSPORT, "write failed: %s", strerror(errno));
            return;
        }
        evbuffer_drain(c->out, (size_t)n);
        if ((size_t)n < want) break; /* the socket is full: wait to be told */
    }
    if (evbuffer_get_length(c->out) > 0)
        event_add(c->ev_write, NULL);
    else
        event_del(c->ev_write);
}

static void free_frame(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

/* Record bytes left out of an encoded Produce frame, spliced back in by
 * reference when the frame goes to the output buffer. */
typedef struct net_splices {
    struct {
        size_t at;
        const uint8_t *ptr;
        int32_t len;
    } v[64];
    int n;
    int overflow;
    size_t bytes;
} net_splices_t;

static void on_records(void *arg, const proto_slice_t *records, size_t at)
{
    net_splices_t *sp = arg;
    if (sp->n == 64) {
        sp->overflow = 1;
        return;
    }
    sp->v[sp->n].at = at;
    sp->v[sp->n].ptr = records->ptr;
    sp->v[sp->n].len = records->len;
    sp->n++;
    sp->bytes += (size_t)records->len;
}

/* Appends the frame w with sp's record bytes referenced in place: Produce
 * batches reach the socket without being copied into the frame. Their
 * memory is the request body's, borrowed until the callback, which fires
 * only after the output buffer let go of them (a reset drains it first). */
static int out_add_spliced(net_conn_t *c, const proto_wbuf_t *w, const net_splices_t *sp)
{
    /* Built aside, so a failure leaves no partial frame in the output. */
    struct evbuffer *f = evbuffer_new();
    if (!f) return -1;
    size_t from = 0;
    int rc = 0;
    for (int i = 0; i < sp->n && rc == 0; i++) {
        rc = evbuffer_add(f, w->data + from, sp->v[i].at - from);
        if (rc == 0 && sp->v[i].len > 0)
            rc = evbuffer_add_reference(f, sp->v[i].ptr, (size_t)sp->v[i].len, NULL, NULL);
        from = sp->v[i].at;
    }
    if (rc == 0) rc = evbuffer_add(f, w->data + from, w->len - from);
    if (rc == 0) rc = evbuffer_add_buffer(c->out, f);
    evbuffer_free(f);
    return rc;
}

/* Encodes req as a frame at the end of the output buffer and moves it to the
 * in-flight queue. Returns 0 or a kc_err_t with errstr. */
static kc_err_t req_write(net_conn_t *c, net_req_t *req, char *errstr, size_t errstr_size)
{
    proto_wbuf_t w;
    proto_wbuf_init(&w, 256);
    proto_put_i32(&w, 0);
    proto_req_header_t h = {req->api_key, req->version, c->next_corr, proto_str_of(c->client_id),
                            0};
    proto_req_header_encode(&w, &h);
    union {
        proto_metadata_request_t md;
        proto_find_coordinator_request_t fc;
        proto_offset_fetch_request_t of;
        proto_leave_group_request_t lg;
    } scratch;
    const void *body =
        net_body_for_version(req->api_key, req->version, req->body, &scratch, sizeof(scratch));
    /* Produce: the batches stay where the producer built them. Not with
     * acks=0, whose callback (and the batch's release) comes as soon as the
     * frame is queued. */
    net_splices_t *sp = NULL;
    int err;
    if (req->api_key == PROTO_API_PRODUCE && !(req->flags & NET_REQ_NO_RESPONSE))
        sp = calloc(1, sizeof(*sp));
    if (sp) {
        size_t start = w.len;
        err = proto_msg_encode_split(proto_api_find(req->api_key)->request, req->version, body, &w,
                                     on_records, sp, errstr, errstr_size);
        if (!err && sp->overflow) {
            w.len = start;
            free(sp);
            sp = NULL;
        }
    }
    if (!sp) err = proto_request_encode(req->api_key, req->version, body, &w, errstr, errstr_size);
    if (!err && w.oom) {
        err = KC_ERR__NO_MEMORY;
        snprintf(errstr, errstr_size, "out of memory encoding %s", api_name(req->api_key));
    }
    if (!err && sp) {
        proto_put_i32_at(&w, 0, (int32_t)(w.len + sp->bytes - 4));
        if (out_add_spliced(c, &w, sp) != 0) {
            err = KC_ERR__NO_MEMORY;
            snprintf(errstr, errstr_size, "out of memory queueing %s", api_name(req->api_key));
        }
    } else if (!err) {
        proto_put_i32_at(&w, 0, (int32_t)(w.len - 4));
        /* A large frame (Produce) is handed over rather than copied again. */
        int rc;
        if (w.len >= NET_REF_MIN) {
            rc = evbuffer_add_reference(c->out, w.data, w.len, free_frame, NULL);
            if (rc == 0) w.data = NULL;
        } else {
            rc = evbuffer_add(c->out, w.data, w.len);
        }
        if (rc != 0) {
            err = KC_ERR__NO_MEMORY;
            snprintf(errstr, errstr_size, "out of memory queueing %s", api_name(req->api_key));
        }
    }
    free(sp);
    proto_wbuf_free(&w);
    if (err) return (kc_err_t)err;
    req->corr = c->next_corr;
    c->next_corr = c->next_corr == INT32_MAX ? 0 : c->next_corr + 1;
    if (req->on_wire == 0) TAILQ_REMOVE(&c->waitq, req, link);
    req->on_wire = 1;
    TAILQ_INSERT_TAIL(&c->inflight, req, link);
    c->n_inflight++;
    /* The body is not needed after this point. */
    req->body = NULL;
    return 0;
}

/* A request the broker never answers is done once it is in the output
 * buffer: it leaves the in-flight queue, so the next response matches the
 * next request. */
static void req_written_no_response(net_conn_t *c, net_req_t *req)
{
    TAILQ_REMOVE(&c->inflight, req, link);
    c->n_inflight--;
    net_resp_t r = {
        .conn = c, .node_id = c->node_id, .api_key = req->api_key, .version = req->version};
    net_resp_cb cb = req->cb;
    void *opaque = req->opaque;
    req_free(req);
    cb(&r, opaque);
}

/* Writes waiting requests while the pipeline has room. */
static void dispatch(net_conn_t *c)
{
    unsigned gen = c->gen;
    net_req_t *req;
    while (!c->destroying && c->gen == gen && c->state == NET_UP &&
           c->n_inflight < c->conf.max_in_flight && (req = TAILQ_FIRST(&c->waitq)) != NULL) {
        char errstr[256];
        kc_err_t err =
            net_conn_pick_version(c, req->api_key, &req->version, errstr, sizeof(errstr));
        if (!err) err = req_write(c, req, errstr, sizeof(errstr));
        if (err)
            req_fail(req, err, errstr);
        else if (req->flags & NET_REQ_NO_RESPONSE)
            req_written_no_response(c, req);
    }
    if (!c->destroying && c->gen == gen && c->state >= NET_HANDSHAKE) do_write(c);
}

/* ---- the ApiVersions handshake ---- */

static void send_api_versions(net_conn_t *c, int16_t version)
{
    net_req_t *req = calloc(1, sizeof(*req));
    char errstr[256];
    if (!req) {
        conn_fail(c, KC_ERR__NO_MEMORY, "out of memory");
        return;
    }
    req->c = c;
    req->api_key = PROTO_API_API_VERSIONS;
    req->version = version;
    req->body = &c->av_req;
    req->internal = 1;
    req->on_wire = 1; /* never on the wait queue */
    req->tmo = NULL;
    kc_err_t err = req_write(c, req, errstr, sizeof(errstr));
    req->on_wire = 1;
    if (err) {
        free(req);
        conn_fail(c, err, "ApiVersions: %s", errstr);
        return;
    }
    req_timer(c, req, c->conf.api_version_timeout_ms);
    do_write(c);
}

static void handshake_done(net_conn_t *c, int16_t version, kc_err_t err, const char *errstr,
                           const proto_api_versions_response_t *resp, int16_t decoded)
{
    if (err) {
        conn_fail(c, err, "ApiVersions v%d: %s", version, errstr);
        return;
    }
    if (resp->error_code == KC_ERR_UNSUPPORTED_VERSION) {
        /* KIP-511: the broker says which ApiVersions versions it knows. */
        int16_t retry = 0;
        for (int32_t i = 0; i < resp->api_keys.n; i++)
            if (resp->api_keys.v[i].api_key == PROTO_API_API_VERSIONS &&
                resp->api_keys.v[i].max_version < version)
                retry = resp->api_keys.v[i].max_version;
        if (version == 0 || retry < 0) {
            conn_fail(c, KC_ERR__UNSUPPORTED, "broker refuses ApiVersions v0");
            return;
        }
        log_debug("%s: ApiVersions v%d unsupported (answered as v%d), retrying with v%d", c->name,
                  version, decoded, retry);
        send_api_versions(c, retry);
        return;
    }
    if (resp->error_code != 0) {
        conn_fail(c, KC_ERR__TRANSPORT, "ApiVersions v%d failed: broker error %d", version,
                  resp->error_code);
        return;
    }
    for (int i = 0; i < NET_MAX_KEY; i++)
        c->brk_min[i] = c->brk_max[i] = -1;
    for (int32_t i = 0; i < resp->api_keys.n; i++) {
        const proto_api_versions_response_api_version_t *a = &resp->api_keys.v[i];
        if (a->api_key < 0 || a->api_key >= NET_MAX_KEY || a->min_version > a->max_version)
            continue;
        c->brk_min[a->api_key] = a->min_version;
        c->brk_max[a->api_key] = a->max_version;
    }
    c->av_version = version;
    c->failures = 0;
    c->last_err[0] = '\0';
    log_debug("%s: up (ApiVersions v%d, %d APIs)", c->name, version, (int)resp->api_keys.n);
    unsigned gen = c->gen;
    set_state(c, NET_UP, 0, NULL);
    if (!c->destroying && c->gen == gen) dispatch(c);
}

/* ---- reading ---- */

void *net_resp_take_frame(const net_resp_t *resp)
{
    if (!resp->frame_slot_) return NULL;
    void *f = *resp->frame_slot_;
    *resp->frame_slot_ = NULL;
    return f;
}

static void handle_frame(net_conn_t *c, uint8_t **framep, int32_t size)
{
    const uint8_t *frame = *framep;
    net_req_t *req = TAILQ_FIRST(&c->inflight);
    proto_rbuf_t r;
    proto_rbuf_init(&r, frame, (size_t)size);
    if (!req) {
        log_error("%s: response without a request in flight: closing the connection", c->name);
        conn_fail(c, KC_ERR__BAD_MSG, "unexpected response");
        return;
    }
    int32_t corr = 0;
    int hv = proto_resp_header_version(req->api_key, req->version);
    if (proto_resp_header_decode(&r, hv, &corr) != 0) {
        conn_fail(c, KC_ERR__BAD_MSG, "bad response header: %s", r.errstr);
        return;
    }
    if (corr != req->corr) {
        log_error("%s: response with correlation id %d, expected %d (%s v%d): closing the "
                  "connection",
                  c->name, (int)corr, (int)req->corr, api_name(req->api_key), req->version);
        conn_fail(c, KC_ERR__BAD_MSG, "response out of order (correlation id %d, expected %d)",
                  (int)corr, (int)req->corr);
        return;
    }
    TAILQ_REMOVE(&c->inflight, req, link);
    c->n_inflight--;
    req->on_wire = 0;

    proto_arena_t arena;
    proto_arena_init(&arena);
    const proto_api_t *api = proto_api_find(req->api_key);
    void *body = proto_arena_alloc(&arena, api->response->root->size);
    int err;
    int16_t decoded = req->version;
    if (!body) {
        err = KC_ERR__NO_MEMORY;
        snprintf(r.errstr, sizeof(r.errstr), "out of memory");
    } else {
        memset(body, 0, api->response->root->size);
        if (req->api_key == PROTO_API_API_VERSIONS)
            err = proto_api_versions_response_decode(req->version, &r, body, &arena, &decoded);
        else
            err = proto_response_decode(req->api_key, req->version, &r, body, &arena);
    }
    if (req->internal) {
        int16_t v = req->version;
        req_free(req);
        handshake_done(c, v, (kc_err_t)err, r.errstr, body, decoded);
    } else {
        net_resp_t resp = {c,
                           c->node_id,
                           req->api_key,
                           req->version,
                           err ? (kc_err_t)err : 0,
                           err ? r.errstr : NULL,
                           err ? NULL : body,
                           err ? NULL : framep};
        if (err)
            log_warn("%s: cannot decode %s v%d response: %s", c->name, api_name(req->api_key),
                     req->version, r.errstr);
        net_resp_cb cb = req->cb;
        void *opaque = req->opaque;
        req_free(req);
        cb(&resp, opaque);
    }
    proto_arena_destroy(&arena);
}

/* Reads into the input buffer, or straight into a large frame's own buffer
 * once its header is known (no copy out of the evbuffer, no chains
 * allocated and freed per read). 1 when something was read, 0 when the
 * socket is drained, -1 when the connection failed. */
static int read_some(net_conn_t *c, size_t *got)
{
    struct evbuffer_iovec v;
    if (c->big) {
        v.iov_base = c->big + c->big_have;
        v.iov_len = (size_t)c->big_size - c->big_have;
    } else if (evbuffer_reserve_space(c->in, NET_READ_CHUNK, &v, 1) < 1) {
        conn_fail(c, KC_ERR__NO_MEMORY, "out of memory reading");
        return -1;
    }
    size_t want = v.iov_len;
    ssize_t n = c->conf.transport->read(c->tp_ctx, c->fd, v.iov_base, v.iov_len);
    if (n == 0) {
        conn_fail(c, KC_ERR__TRANSPORT, "connection closed by the broker");
        return -1;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        conn_fail(c, KC_ERR__TRANSPORT, "read failed: %s", strerror(errno));
        return -1;
    }
    *got += (size_t)n;
    if (c->big) {
        c->big_have += (size_t)n;
    } else {
        v.iov_len = (size_t)n;
        evbuffer_commit_space(c->in, &v, 1);
    }
    return (size_t)n < want ? 0 : 1;
}

/* Hands complete frames to handle_frame; starts a direct read for a large
 * frame not yet all there. 0, or -1 when the connection failed. */
static int parse_frames(net_conn_t *c, unsigned gen)
{
    if (c->big && c->big_have == (size_t)c->big_size) {
        uint8_t *frame = c->big;
        int32_t size = c->big_size;
        c->big = NULL;
        handle_frame(c, &frame, size);
        net_frame_free(frame);
    }
    while (!c->destroying && c->gen == gen && !c->big) {
        size_t len = evbuffer_get_length(c->in);
        uint8_t hdr[4];
        if (len < 4) break;
        evbuffer_copyout(c->in, hdr, 4);
        int32_t size = (int32_t)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
                                 (uint32_t)hdr[2] << 8 | hdr[3]);
        if (size < 4 || size > c->conf.max_frame) {
            log_error("%s: response frame of %d bytes is outside 4..%d "
                      "(receive.message.max.bytes): closing the connection",
                      c->name, (int)size, c->conf.max_frame);
            conn_fail(c, KC_ERR__TOO_LARGE,
                      "response frame of %d bytes exceeds "
                      "receive.message.max.bytes (%d)",
                      (int)size, c->conf.max_frame);
            return -1;
        }
        int complete = len >= (size_t)size + 4;
        if (!complete && size < NET_REF_MIN) break;
        uint8_t *frame = net_frame_alloc((size_t)size);
        if (!frame) {
            conn_fail(c, KC_ERR__NO_MEMORY, "out of memory for a %d-byte response", (int)size);
            return -1;
        }
        evbuffer_drain(c->in, 4);
        if (!complete) {
            c->big = frame;
            c->big_size = size;
            c->big_have = evbuffer_remove(c->in, frame, len - 4) > 0 ? len - 4 : 0;
            break;
        }
        evbuffer_remove(c->in, frame, (size_t)size);
        handle_frame(c, &frame, size);
        net_frame_free(frame);
    }
    return 0;
}

static void do_read(net_conn_t *c)
{
    unsigned gen = c->gen;
    size_t got = 0;
    for (;;) {
        int rc = read_some(c, &got);
        if (rc < 0) return;
        if (parse_frames(c, gen) < 0 || c->destroying || c->gen != gen) return;
        if (rc == 0 || got >= NET_READ_ROUND) break;
    }
    dispatch(c);
}

/* ---- connecting ---- */

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);

static void connected(net_conn_t *c)
{
    event_del(c->ev_timer);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    event_add(c->ev_read, NULL);
    unsigned gen = c->gen;
    set_state(c, NET_HANDSHAKE, 0, NULL);
    if (c->destroying || c->gen != gen) return;
    /* Start from the newest version kc knows (KIP-511): the broker answers
     * a version it lacks with its own range, in a v0 body. */
    send_api_versions(c, proto_api_find(PROTO_API_API_VERSIONS)->max_ver);
}

static void try_next_addr(net_conn_t *c)
{
    while (c->ai_next) {
        struct addrinfo *ai = c->ai_next;
        c->ai_next = ai->ai_next;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(c->conn_err, sizeof(c->conn_err), "socket: %s", strerror(errno));
            continue;
        }
        c->fd = fd;
        c->ev_read = event_new(c->base, fd, EV_READ | EV_PERSIST, on_read, c);
        c->ev_write = event_new(c->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
        if (!c->ev_read || !c->ev_write) {
            close_socket(c);
            snprintf(c->conn_err, sizeof(c->conn_err), "out of memory");
            continue;
        }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc == 0) {
            connected(c);
            return;
        }
        if (errno == EINPROGRESS) {
            event_add(c->ev_write, NULL);
            struct timeval tv = tv_ms(c->conf.connect_timeout_ms);
            event_add(c->ev_timer, &tv);
            return;
        }
        snprintf(c->conn_err, sizeof(c->conn_err), "%s", strerror(errno));
        close_socket(c);
    }
    conn_fail(c, KC_ERR__TRANSPORT, "connect to %s:%d failed: %s", c->host, c->port,
              c->conn_err[0] ? c->conn_err : "no address");
}

static void conn_start(net_conn_t *c)
{
    if (c->state != NET_DOWN || c->destroying) return;
    uint64_t now = now_ms();
    if (now < c->retry_at_ms) {
        if (!event_pending(c->ev_timer, EV_TIMEOUT, NULL)) {
            struct timeval tv = tv_ms((int64_t)(c->retry_at_ms - now));
            event_add(c->ev_timer, &tv);
        }
        return;
    }
    if (c->ais) freeaddrinfo(c->ais);
    c->ais = c->ai_next = NULL;
    c->conn_err[0] = '\0';
    char port[16];
    snprintf(port, sizeof(port), "%d", c->port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* Blocks the I/O thread for the resolver's time: fine for literal
     * addresses and /etc/hosts; an asynchronous resolver can come later. */
    int rc = getaddrinfo(c->host, port, &hints, &c->ais);
    if (rc != 0) {
        c->ais = NULL;
        conn_fail(c, KC_ERR__TRANSPORT, "cannot resolve %s: %s", c->host, gai_strerror(rc));
        return;
    }
    c->ai_next = c->ais;
    unsigned gen = c->gen;
    set_state(c, NET_CONNECTING, 0, NULL);
    if (c->destroying || c->gen != gen) return;
    try_next_addr(c);
}

/* ---- event handlers ---- */

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    net_conn_t *c = arg;
    c->busy++;
    do_read(c);
    conn_leave(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    net_conn_t *c = arg;
    c->busy++;
    if (c->state == NET_CONNECTING) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt((int)fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) soerr = errno;
        if (soerr == EINPROGRESS) {
            conn_leave(c);
            return;
        }
        event_del(c->ev_timer);
        if (soerr != 0) {
            snprintf(c->conn_err, sizeof(c->conn_err), "%s", strerror(soerr));
            close_socket(c);
            try_next_addr(c);
        } else {
            event_del(c->ev_write);
            connected(c);
        }
    } else {
        do_write(c);
    }
    conn_leave(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    net_conn_t *c = arg;
    c->busy++;
    if (c->state == NET_CONNECTING) {
        snprintf(c->conn_err, sizeof(c->conn_err),
                 "timed out after %d ms (socket.connection.setup.timeout.ms)",
                 c->conf.connect_timeout_ms);
        close_socket(c);
        try_next_addr(c);
    } else if (c->state == NET_DOWN && !TAILQ_EMPTY(&c->waitq)) {
        conn_start(c);
    }
    conn_leave(c);
}

static void on_dispatch(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    net_conn_t *c = arg;
    c->busy++;
    if (c->state == NET_DOWN)
        conn_start(c);
    else if (c->state == NET_UP)
        dispatch(c);
    conn_leave(c);
}

static void on_req_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    net_req_t *req = arg;
    net_conn_t *c = req->c;
    c->busy++;
    char msg[640];
    if (req->on_wire) {
        snprintf(msg, sizeof(msg),
                 "%s v%d request (correlation id %d) timed out after %d ms: resetting the "
                 "connection",
                 api_name(req->api_key), req->version, (int)req->corr, req->timeout_ms);
        log_warn("%s: %s", c->name, msg);
        unsigned gen = c->gen;
        req_fail(req, KC_ERR__TIMED_OUT, msg);
        if (!c->destroying && c->gen == gen) conn_fail(c, KC_ERR__TIMED_OUT, "%s", msg);
    } else {
        snprintf(msg, sizeof(msg), "%s request timed out after %d ms waiting for %s%s%s",
                 api_name(req->api_key), req->timeout_ms, c->name, c->last_err[0] ? ": " : "",
                 c->last_err);
        req_fail(req, KC_ERR__TIMED_OUT, msg);
    }
    conn_leave(c);
}

static void req_timer(net_conn_t *c, net_req_t *req, int timeout_ms)
{
    req->timeout_ms = timeout_ms;
    req->tmo = evtimer_new(c->base, on_req_timeout, req);
    if (req->tmo) {
        struct timeval tv = tv_ms(timeout_ms);
        evtimer_add(req->tmo, &tv);
    }
}

/* ---- API ---- */

net_conn_t *net_conn_new(struct event_base *base, const net_conn_conf_t *conf, const char *host,
                         int port, int32_t node_id, net_state_cb state_cb, void *opaque)
{
    net_conn_t *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->base = base;
    c->conf = *conf;
    if (!c->conf.transport) c->conf.transport = &net_transport_plain;
    if (c->conf.max_in_flight < 1) c->conf.max_in_flight = 1;
    if (c->conf.backoff_max_ms < c->conf.backoff_ms) c->conf.backoff_max_ms = c->conf.backoff_ms;
    c->client_id = conf->client_id ? strdup(conf->client_id) : NULL;
    c->host = strdup(host);
    c->port = port;
    c->node_id = node_id;
    c->state_cb = state_cb;
    c->opaque = opaque;
    c->fd = -1;
    c->av_version = -1;
    c->rng = (uint64_t)(uintptr_t)c ^ (now_ms() << 20) ^ 0x9e3779b97f4a7c15ull;
    TAILQ_INIT(&c->waitq);
    TAILQ_INIT(&c->inflight);
    c->in = evbuffer_new();
    c->out = evbuffer_new();
    c->ev_timer = evtimer_new(base, on_timer, c);
    c->ev_dispatch = event_new(base, -1, 0, on_dispatch, c);
    if (!c->host || (conf->client_id && !c->client_id) || !c->in || !c->out || !c->ev_timer ||
        !c->ev_dispatch) {
        if (c->ev_timer) event_free(c->ev_timer);
        if (c->ev_dispatch) event_free(c->ev_dispatch);
        conn_free(c);
        return NULL;
    }
    proto_msg_init(&proto_api_versions_request_desc, &c->av_req);
    c->av_req.client_software_name = proto_str_of("kc");
    c->av_req.client_software_version = proto_str_of(kc_version_str());
    for (int i = 0; i < NET_MAX_KEY; i++)
        c->brk_min[i] = c->brk_max[i] = -1;
    set_name(c);
    return c;
}

void net_conn_destroy(net_conn_t *c)
{
    if (!c || c->destroying) return;
    c->destroying = 1;
    c->busy++;
    close_socket(c);
    net_req_t *req;
    while ((req = TAILQ_FIRST(&c->inflight)) != NULL)
        req_fail(req, KC_ERR__DESTROY, "connection destroyed");
    while ((req = TAILQ_FIRST(&c->waitq)) != NULL)
        req_fail(req, KC_ERR__DESTROY, "connection destroyed");
    event_free(c->ev_timer);
    event_free(c->ev_dispatch);
    c->ev_timer = c->ev_dispatch = NULL;
    conn_leave(c);
}

int net_conn_set_address(net_conn_t *c, const char *host, int port)
{
    if (strcmp(host, c->host) != 0) {
        char *h = strdup(host);
        if (!h) return -1;
        free(c->host);
        c->host = h;
    }
    c->port = port;
    set_name(c);
    return 0;
}

void net_conn_connect(net_conn_t *c)
{
    if (c->state == NET_DOWN && !c->destroying) event_active(c->ev_dispatch, 0, 0);
}

net_state_t net_conn_state(const net_conn_t *c)
{
    return c->state;
}

int32_t net_conn_node_id(const net_conn_t *c)
{
    return c->node_id;
}

void net_conn_set_node_id(net_conn_t *c, int32_t node_id)
{
    c->node_id = node_id;
    set_name(c);
}

const char *net_conn_name(const net_conn_t *c)
{
    return c->name;
}

int16_t net_conn_api_versions_version(const net_conn_t *c)
{
    return c->av_version;
}

int net_conn_pending(const net_conn_t *c)
{
    int n = c->n_inflight;
    const net_req_t *r;
    TAILQ_FOREACH(r, &c->waitq, link)
    n++;
    return n;
}

kc_err_t net_conn_pick_version(const net_conn_t *c, int16_t api_key, int16_t *version, char *errstr,
                               size_t errstr_size)
{
    int16_t lo, hi;
    if (net_client_range(api_key, &lo, &hi) != 0) {
        snprintf(errstr, errstr_size, "API key %d is unknown to kc", api_key);
        return KC_ERR__UNSUPPORTED;
    }
    if (api_key < 0 || api_key >= NET_MAX_KEY || c->brk_max[api_key] < 0) {
        snprintf(errstr, errstr_size, "broker %s does not support %s (API key %d)", c->name,
                 api_name(api_key), api_key);
        return KC_ERR__UNSUPPORTED;
    }
    int16_t blo = c->brk_min[api_key], bhi = c->brk_max[api_key];
    int16_t v = hi < bhi ? hi : bhi;
    if (v < lo || v < blo) {
        snprintf(errstr, errstr_size,
                 "broker %s supports %s v%d-%d, kc sends v%d-%d: no common version", c->name,
                 api_name(api_key), blo, bhi, lo, hi);
        return KC_ERR__UNSUPPORTED;
    }
    *version = v;
    return 0;
}

kc_err_t net_request_send(net_conn_t *c, int16_t api_key, const void *req, int timeout_ms,
                          int flags, net_resp_cb cb, void *opaque)
{
    if (c->destroying) return KC_ERR__DESTROY;
    if (!proto_api_find(api_key) || !cb || !req) return KC_ERR__INVALID_ARG;
    net_req_t *r = calloc(1, sizeof(*r));
    if (!r) return KC_ERR__NO_MEMORY;
    r->c = c;
    r->api_key = api_key;
    r->version = -1;
    r->body = req;
    r->cb = cb;
    r->opaque = opaque;
    r->flags = flags;
    r->seq = c->next_seq++;
    req_timer(c, r, timeout_ms > 0 ? timeout_ms : c->conf.request_timeout_ms);
    if (!r->tmo) {
        free(r);
        return KC_ERR__NO_MEMORY;
    }
    TAILQ_INSERT_TAIL(&c->waitq, r, link);
    event_active(c->ev_dispatch, 0, 0);
    return 0;
}
