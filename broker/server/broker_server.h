/* The broker's network front: listeners, connections, framing, and responses
 * kept in request order.
 *
 * One libevent loop serves every connection. A connection reads frames
 * (int32 size + bytes), bounded by `max_frame_bytes`; each frame becomes a
 * broker_req_t handed to the request callback on the loop thread. The handler
 * answers now or later (a Produce waiting for fsync, a Fetch long-poll, a
 * JoinGroup waiting for the group) by appending the response body to
 * req->out and calling broker_req_done(). Responses leave the connection in
 * request order whatever order handlers finish in.
 *
 * Lifecycle: broker_server_new() binds the listeners (port 0 picks a free
 * port); broker_server_run() serves until broker_server_stop() (callable from
 * a signal handler through the loop, or from the loop thread); then
 * broker_server_destroy() closes every connection. Requests still pending at
 * destroy are freed without their callbacks completing them; their owner
 * (e.g. a waiting Produce) must have a way to be told: see on_conn_close.
 */
#ifndef BROKER_SERVER_H
#define BROKER_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/queue.h>

struct event_base;
struct evbuffer;

typedef struct broker_server broker_server_t;
typedef struct broker_conn broker_conn_t;
typedef struct broker_req broker_req_t;

struct broker_req {
    broker_conn_t *conn;
    uint64_t id;    /* unique per server, for logs */
    uint8_t *frame; /* the whole request frame (without the size), owned */
    size_t frame_len;
    struct evbuffer *out; /* the response body: the handler appends here */
    void *handler_state;  /* free for the handler (e.g. a pending produce) */
    /* Called if the request is freed before it completed (connection closed
     * or server destroyed), so a handler can drop its reference. */
    void (*on_abandon)(broker_req_t *req);
    int32_t correlation_id;
    int16_t resp_header_version; /* 0 or 1; set by the dispatcher */
    unsigned done : 1;
    unsigned no_response : 1; /* acks=0 produce: nothing goes back */
    TAILQ_ENTRY(broker_req) link;
};

typedef struct broker_server_conf {
    const char *const *listeners; /* "host:port" strings; port 0 = any free port */
    int listener_count;
    size_t max_frame_bytes;        /* socket.request.max.bytes */
    int max_connections;           /* max.connections */
    size_t max_conn_pending_bytes; /* stop reading a connection past this much unsent output */
    int max_conn_inflight;         /* stop reading a connection past this many open requests */
    /* Every complete frame goes here, on the loop thread. Return 0 to go on, or
     * non-zero to close the connection (a malformed or unsupported request);
     * the callback logs why. */
    int (*on_request)(void *opaque, broker_req_t *req);
    void (*on_conn_close)(void *opaque, broker_conn_t *conn);
    void *opaque;
} broker_server_conf_t;

/* Binds every listener. On failure returns NULL with a message in errstr. */
broker_server_t *broker_server_new(struct event_base *base, const broker_server_conf_t *conf,
                                   char *errstr, size_t errstr_size);
/* The bound address of listener i, "host:port" with the real port. */
const char *broker_server_address(const broker_server_t *srv, int i);
int broker_server_port(const broker_server_t *srv, int i);
int broker_server_connection_count(const broker_server_t *srv);
void broker_server_destroy(broker_server_t *srv);
/* Closes every connection now, as destroy does, but keeps listening (the
 * mock's "close all connections"). Not from inside a request callback. */
void broker_server_close_connections(broker_server_t *srv);

/* Marks req complete; its response leaves once every earlier request on the
 * connection has left. Frees req (and the response buffer) when sent. */
void broker_req_done(broker_req_t *req);

/* Closes the connection after the responses already completed are sent (or
 * at once with now != 0). Safe to call from a request callback. */
void broker_conn_close(broker_conn_t *conn, int now);
/* "127.0.0.1:54321" of the peer, for logs. */
const char *broker_conn_peer(const broker_conn_t *conn);
/* Whether the peer runs on this host (a loopback address, or the address the
 * connection came in on): Fetch then writes from mapped segments, which a
 * same-host reader takes faster than sendfile's page references; a remote
 * peer gets sendfile, which a NIC sends without a CPU copy. */
int broker_conn_is_local(const broker_conn_t *conn);
/* The rule behind it: peer is a loopback address or equals self's address.
 * Exposed for tests. */
int broker_addr_is_local(const struct sockaddr *peer, const struct sockaddr *self);
uint64_t broker_conn_id(const broker_conn_t *conn);
/* Per-connection state owned by the request layer (SASL state, client id...). */
void *broker_conn_get_state(const broker_conn_t *conn);
void broker_conn_set_state(broker_conn_t *conn, void *state, void (*free_fn)(void *));

#endif
