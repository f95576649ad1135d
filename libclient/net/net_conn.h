/* One connection to one broker: connect (every address of the host in
 * turn), ApiVersions negotiation, framing, pipelined requests matched to
 * responses by correlation id, per-request time-outs, reconnect with
 * exponential backoff and jitter.
 *
 * Threading: everything here runs on the owning client's I/O thread, the
 * thread that runs `base`. No function may be called from another thread.
 *
 * Lifecycle of a net_conn_t:
 *   - net_conn_new() gives an idle connection (state NET_DOWN, no socket).
 *     It connects lazily: when a request is queued, or on net_conn_connect().
 *   - While requests wait, a failed or closed connection is retried after
 *     the backoff; an idle one stays down until it is needed again.
 *   - net_conn_destroy() closes the socket and fails every queued and
 *     in-flight request with KC_ERR__DESTROY, calling their callbacks before
 *     it returns. After it returns no callback of this connection fires.
 *     It may be called from inside one of this connection's callbacks; the
 *     memory is then released when that callback returns.
 *
 * Lifecycle of a request (net_request_send):
 *   - If net_request_send() returns an error, its callback never fires.
 *   - Otherwise the callback fires exactly once, on the I/O thread: with the
 *     decoded response, or with an error (KC_ERR__TIMED_OUT, KC_ERR__TRANSPORT,
 *     KC_ERR__UNSUPPORTED when the broker lacks the API, KC_ERR__BAD_MSG,
 *     KC_ERR__DESTROY).
 *   - The request struct is borrowed until the callback fires (it is encoded
 *     when the request is written, which may be after a reconnect).
 *   - The response struct and everything it points to live in an arena that
 *     is freed when the callback returns: copy what you keep.
 */
#ifndef NET_CONN_H
#define NET_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "kc/kc_err.h"
#include "net/net_transport.h"

struct event_base;

typedef struct net_conn net_conn_t;

typedef enum net_state {
    NET_DOWN,       /* no socket; may be waiting out a backoff */
    NET_CONNECTING, /* TCP connect in progress */
    NET_HANDSHAKE,  /* ApiVersions in flight */
    NET_UP,         /* requests flow */
} net_state_t;

typedef struct net_conn_conf {
    const char *client_id;            /* copied */
    int connect_timeout_ms;           /* socket.connection.setup.timeout.ms, per address */
    int api_version_timeout_ms;       /* api.version.request.timeout.ms */
    int request_timeout_ms;           /* default per-request time-out (socket.timeout.ms) */
    int backoff_ms;                   /* reconnect.backoff.ms */
    int backoff_max_ms;               /* reconnect.backoff.max.ms */
    int max_in_flight;                /* max.in.flight.requests.per.connection */
    int max_frame;                    /* receive.message.max.bytes */
    const net_transport_t *transport; /* NULL: plaintext */
} net_conn_conf_t;

typedef struct net_resp {
    net_conn_t *conn;
    int32_t node_id;
    int16_t api_key;
    int16_t version;       /* the version sent, -1 if none was chosen */
    kc_err_t err;          /* 0 or a local error; Kafka errors are in the body */
    const char *errstr;    /* why, when err != 0 */
    const void *body;      /* proto_<api>_response_t, NULL when err != 0 */
    uint8_t **frame_slot_; /* see net_resp_take_frame() */
} net_resp_t;

/* Inside a response callback: takes ownership of the received frame (free
 * it with net_frame_free()), so the bytes and strings of body, which point into it, outlive the
 * callback (the consumer keeps fetched records this way, without a copy).
 * The decoded structs themselves still die with the arena. NULL when
 * err != 0 or already taken. */
void *net_resp_take_frame(const net_resp_t *resp);

/* Buffers for received frames (any thread): large ones are recycled
 * through a small process-wide cache (net_frame.c). */
void *net_frame_alloc(size_t size);
void net_frame_free(void *frame);

typedef void (*net_resp_cb)(const net_resp_t *resp, void *opaque);

/* Called on every state change; err/reason say why a connection went down.
 * May be NULL. */
typedef void (*net_state_cb)(net_conn_t *c, net_state_t state, kc_err_t err, const char *reason,
                             void *opaque);

/* host is copied. NULL when out of memory. */
net_conn_t *net_conn_new(struct event_base *base, const net_conn_conf_t *conf, const char *host,
                         int port, int32_t node_id, net_state_cb state_cb, void *opaque);
void net_conn_destroy(net_conn_t *c);

/* Used from the next connect on (a broker that moved). */
int net_conn_set_address(net_conn_t *c, const char *host, int port);
/* Starts connecting now if down (after the backoff, if one runs). */
void net_conn_connect(net_conn_t *c);

net_state_t net_conn_state(const net_conn_t *c);
int32_t net_conn_node_id(const net_conn_t *c);
void net_conn_set_node_id(net_conn_t *c, int32_t node_id);
const char *net_conn_name(const net_conn_t *c); /* "host:port/id" */
/* The ApiVersions version the broker answered last handshake; -1 before. */
int16_t net_conn_api_versions_version(const net_conn_t *c);
/* Requests queued or in flight. */
int net_conn_pending(const net_conn_t *c);

/* The version to send for api_key: the highest both the client (the codec's
 * range narrowed by net_client_range) and the broker support. Only valid when
 * NET_UP. KC_ERR__UNSUPPORTED with a message naming the API otherwise. */
kc_err_t net_conn_pick_version(const net_conn_t *c, int16_t api_key, int16_t *version, char *errstr,
                               size_t errstr_size);

/* The versions kc's client sends for api_key (TARGET.md "kc client sends").
 * Returns 0, or -1 if the codec does not know the key. */
int net_client_range(int16_t api_key, int16_t *min, int16_t *max);

/* The body to encode for api_key at version: body itself, or a copy in
 * scratch with fields the version cannot carry reset to their defaults
 * where losing them is acceptable (Metadata v1-3: AllowAutoTopicCreation),
 * or where the caller filled two forms of the same thing (FindCoordinator's
 * Key and CoordinatorKeys, OffsetFetch's GroupId/Topics and Groups;
 * LeaveGroup v0-2 takes the first of Members as its MemberId). */
const void *net_body_for_version(int16_t api_key, int16_t version, const void *body, void *scratch,
                                 size_t scratch_size);

/* net_request_send flags */
enum {
    /* Fail with KC_ERR__TRANSPORT when a connection attempt fails while the
     * request waits, instead of waiting for the reconnect: for requests any
     * broker can answer, so the caller moves on to another. */
    NET_REQ_FAIL_FAST = 1 << 0,
    /* The broker sends no response (Produce with acks=0): the callback
     * fires with err 0 and body NULL once the request is written. */
    NET_REQ_NO_RESPONSE = 1 << 1,
};

/* Queues a request (see the lifecycle above). timeout_ms <= 0 uses the
 * connection's request_timeout_ms; the time-out counts from now and covers
 * waiting for a connection. flags: NET_REQ_*. Returns 0, or
 * KC_ERR__INVALID_ARG for an API the codec does not know, KC_ERR__NO_MEMORY,
 * KC_ERR__DESTROY while the connection is being destroyed. */
kc_err_t net_request_send(net_conn_t *c, int16_t api_key, const void *req, int timeout_ms,
                          int flags, net_resp_cb cb, void *opaque);

#endif
