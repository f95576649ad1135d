/* Listeners and connections of the broker. See broker_server.h. */
#include "broker_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "util/log.h"

#define MAX_LISTENERS 16
/* Per-connection input buffer: small requests are cut from it; larger ones
 * get their own buffer. */
#define CONN_IBUF_SIZE (64 * 1024)
/* What is read after a large frame, to learn the next frame's size. */
#define CONN_FIRST_READ 4096

TAILQ_HEAD(req_queue, broker_req);

struct broker_conn {
    broker_server_t *srv;
    evutil_socket_t fd;
    /* Responses waiting for the socket; file segments leave with sendfile.
     * Written at once when a response is ready, and by wev only when the
     * socket is full: a bufferevent would wait for the next loop turn and
     * add and remove its write event (two epoll_ctl) for every response. */
    struct evbuffer *out;
    struct event *wev;
    struct event *rev; /* readable: we read ourselves, in large pieces */
    /* Bytes read but not yet cut into frames. A frame larger than the buffer
     * gets its own allocation (big) and the rest of it is read straight into
     * that, so a large Produce is read with a few large reads and no copy. */
    uint8_t *ibuf;
    size_t ilen;
    uint8_t *big;
    size_t big_size, big_have;
    struct req_queue reqs; /* in arrival order; the head leaves first */
    int inflight;          /* requests in reqs */
    uint64_t id;
    int local; /* broker_conn_is_local */
    char peer[64];
    void *state;
    void (*state_free)(void *);
    int busy;                 /* > 0 while inside our own callbacks: defer the free */
    unsigned in_input : 1;    /* conn_process_input is on the stack */
    unsigned closing : 1;     /* close once completed responses are sent */
    unsigned dead : 1;        /* close now; freed when no longer busy */
    unsigned read_paused : 1; /* backpressure */
    unsigned wev_added : 1;   /* wev is waiting for the socket to take more */
    unsigned big_last : 1;    /* the last frame was large: the next probably is too */
    LIST_ENTRY(broker_conn) link;
};

struct broker_listener {
    struct evconnlistener *lev;
    char address[300];
    int port;
};

struct broker_server {
    struct event_base *base;
    broker_server_conf_t conf;
    struct broker_listener listeners[MAX_LISTENERS];
    int listener_count;
    LIST_HEAD(, broker_conn) conns;
    int conn_count;
    uint64_t next_conn_id;
    uint64_t next_req_id;
};

static void conn_process_input(broker_conn_t *conn);
static void conn_free(broker_conn_t *conn);
static void conn_write(broker_conn_t *conn);

/* ---- Requests and ordered responses -------------------------------------- */

static void req_free(broker_req_t *req, int abandoned)
{
    if (abandoned && req->on_abandon) req->on_abandon(req);
    if (req->out) evbuffer_free(req->out);
    free(req->frame);
    free(req);
}

static void conn_update_backpressure(broker_conn_t *conn)
{
    if (conn->dead || conn->closing) return;
    const broker_server_conf_t *c = &conn->srv->conf;
    size_t pending = evbuffer_get_length(conn->out);
    int over = conn->inflight >= c->max_conn_inflight || pending >= c->max_conn_pending_bytes;
    if (over && !conn->read_paused) {
        conn->read_paused = 1;
        event_del(conn->rev);
    } else if (!over && conn->read_paused) {
        conn->read_paused = 0;
        event_add(conn->rev, NULL);
        /* Frames already buffered will not raise another read event. */
        conn_process_input(conn);
    }
}

/* Frees the connection if it is done and no callback of ours is on the stack. */
static void conn_maybe_free(broker_conn_t *conn)
{
    if (conn->busy) return;
    if (conn->dead) {
        conn_free(conn);
        return;
    }
    if (conn->closing && TAILQ_EMPTY(&conn->reqs) && evbuffer_get_length(conn->out) == 0)
        conn_free(conn);
}

/* Moves every completed response at the head of the queue to the socket. */
static void conn_flush_ready(broker_conn_t *conn)
{
    struct evbuffer *output = conn->out;
    int added = 0;
    broker_req_t *req;
    while ((req = TAILQ_FIRST(&conn->reqs)) && req->done) {
        TAILQ_REMOVE(&conn->reqs, req, link);
        conn->inflight--;
        if (!req->no_response && !conn->dead) {
            uint8_t hdr[9];
            size_t hlen = req->resp_header_version >= 1 ? 9 : 8;
            uint32_t size = (uint32_t)(hlen - 4 + evbuffer_get_length(req->out));
            uint32_t corr = (uint32_t)req->correlation_id;
            for (int i = 0; i < 4; i++) {
                hdr[i] = (uint8_t)(size >> (24 - 8 * i));
                hdr[4 + i] = (uint8_t)(corr >> (24 - 8 * i));
            }
            hdr[8] = 0; /* empty tagged-field section of response header v1 */
            /* Prepended to the response, not added to the output: after a
             * file segment there, evbuffer_add would allocate a chain as
             * large as that segment for these few bytes. */
            evbuffer_prepend(req->out, hdr, hlen);
            evbuffer_add_buffer(output, req->out);
            added = 1;
        }
        req_free(req, 0);
    }
    if (added) conn_write(conn);
}

/* Writes what the socket takes now; waits on wev for the rest. A failed
 * write kills the connection (freed by the caller's conn_maybe_free). */
static void conn_write(broker_conn_t *conn)
{
    while (!conn->dead && evbuffer_get_length(conn->out) > 0) {
        int n = evbuffer_write_atmost(conn->out, conn->fd, -1);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            /* EIO (sendfile) and EFAULT (a write from a mapped segment) mean
             * the log's file could not be read: the broker's problem, not
             * the client's going away. */
            if (errno == EIO || errno == EFAULT)
                log_error("connection %s: cannot send a response: %s (a log file could not "
                          "be read)",
                          conn->peer, strerror(errno));
            else
                log_debug("connection %s: write error: %s", conn->peer, strerror(errno));
            conn->dead = 1;
        }
        break;
    }
    int wait = !conn->dead && evbuffer_get_length(conn->out) > 0;
    if (wait && !conn->wev_added) {
        event_add(conn->wev, NULL);
        conn->wev_added = 1;
    } else if (!wait && conn->wev_added) {
        event_del(conn->wev);
        conn->wev_added = 0;
    }
}

void broker_req_done(broker_req_t *req)
{
    broker_conn_t *conn = req->conn;
    req->done = 1;
    conn->busy++;
    conn_flush_ready(conn);
    conn_update_backpressure(conn);
    conn->busy--;
    conn_maybe_free(conn);
}

/* ---- Connections ----------------------------------------------------------- */

static void conn_free(broker_conn_t *conn)
{
    broker_server_t *srv = conn->srv;
    broker_req_t *req;
    while ((req = TAILQ_FIRST(&conn->reqs))) {
        TAILQ_REMOVE(&conn->reqs, req, link);
        req_free(req, !req->done);
    }
    if (srv->conf.on_conn_close) srv->conf.on_conn_close(srv->conf.opaque, conn);
    if (conn->state_free) conn->state_free(conn->state);
    event_free(conn->rev);
    event_free(conn->wev);
    evbuffer_free(conn->out);
    evutil_closesocket(conn->fd);
    free(conn->ibuf);
    free(conn->big);
    LIST_REMOVE(conn, link);
    srv->conn_count--;
    free(conn);
}

void broker_conn_close(broker_conn_t *conn, int now)
{
    event_del(conn->rev);
    if (now) {
        conn->dead = 1;
        event_del(conn->wev);
        conn->wev_added = 0;
    } else {
        conn->closing = 1;
    }
    conn_maybe_free(conn);
}

const char *broker_conn_peer(const broker_conn_t *conn)
{
    return conn->peer;
}

int broker_conn_is_local(const broker_conn_t *conn)
{
    return conn->local;
}

int broker_addr_is_local(const struct sockaddr *peer, const struct sockaddr *self)
{
    if (peer->sa_family == AF_UNIX) return 1;
    if (peer->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)peer;
        if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) return 1;
        return self && self->sa_family == AF_INET &&
               in->sin_addr.s_addr == ((const struct sockaddr_in *)self)->sin_addr.s_addr;
    }
    if (peer->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)peer)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) return 1;
        if (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127) return 1;
        return self && self->sa_family == AF_INET6 &&
               memcmp(a, &((const struct sockaddr_in6 *)self)->sin6_addr, sizeof(*a)) == 0;
    }
    return 0;
}

uint64_t broker_conn_id(const broker_conn_t *conn)
{
    return conn->id;
}

void *broker_conn_get_state(const broker_conn_t *conn)
{
    return conn->state;
}

void broker_conn_set_state(broker_conn_t *conn, void *state, void (*free_fn)(void *))
{
    if (conn->state_free && conn->state != state) conn->state_free(conn->state);
    conn->state = state;
    conn->state_free = free_fn;
}

static uint32_t peek_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Hands a complete frame (owned) to the request callback. Returns 0 to go on. */
static int conn_dispatch(broker_conn_t *conn, uint8_t *frame, uint32_t size)
{
    broker_server_t *srv = conn->srv;
    broker_req_t *req = calloc(1, sizeof(*req));
    struct evbuffer *out = evbuffer_new();
    if (!req || !out) {
        log_error("connection %s: out of memory for a %u-byte request; closing", conn->peer, size);
        free(req);
        free(frame);
        if (out) evbuffer_free(out);
        broker_conn_close(conn, 1);
        return -1;
    }
    req->conn = conn;
    req->id = ++srv->next_req_id;
    req->frame = frame;
    req->frame_len = size;
    req->out = out;
    req->correlation_id = (int32_t)peek_be32(frame + 4);
    TAILQ_INSERT_TAIL(&conn->reqs, req, link);
    conn->inflight++;
    if (srv->conf.on_request(srv->conf.opaque, req) != 0) {
        /* The request callback refused this frame (and logged why): drop it,
         * answer what came before it, then close, as Kafka does. */
        TAILQ_REMOVE(&conn->reqs, req, link);
        conn->inflight--;
        req_free(req, 1);
        broker_conn_close(conn, 0);
        conn_flush_ready(conn);
        return -1;
    }
    conn_update_backpressure(conn);
    return 0;
}

/* Cuts complete frames off the input buffer and hands them on. A frame that
 * is not all here yet and does not fit the buffer moves to its own
 * allocation, which on_readable then fills directly. */
static void conn_process_input(broker_conn_t *conn)
{
    broker_server_t *srv = conn->srv;
    if (conn->in_input) return; /* the call further up the stack goes on with the loop */
    conn->in_input = 1;
    conn->busy++;
    size_t pos = 0;
    while (!conn->dead && !conn->closing && !conn->read_paused) {
        if (conn->big) {
            if (conn->big_have < conn->big_size) break;
            uint8_t *frame = conn->big;
            uint32_t size = (uint32_t)conn->big_size;
            conn->big = NULL;
            conn->big_size = conn->big_have = 0;
            conn->big_last = 1;
            if (conn_dispatch(conn, frame, size) != 0) break;
            continue;
        }
        if (conn->ilen - pos < 4) break;
        uint32_t size = peek_be32(conn->ibuf + pos);
        /* 8 bytes: the smallest request header (key, version, correlation id). */
        if (size < 8 || size > srv->conf.max_frame_bytes) {
            log_warn("connection %s: frame of %u bytes is outside 8..%zu "
                     "(socket.request.max.bytes); closing",
                     conn->peer, size, srv->conf.max_frame_bytes);
            broker_conn_close(conn, 0); /* after the answers to earlier requests */
            break;
        }
        size_t have = conn->ilen - pos - 4;
        if (have < size && 4 + (size_t)size <= CONN_IBUF_SIZE) break; /* wait in the buffer */
        uint8_t *frame = malloc(size);
        if (!frame) {
            log_error("connection %s: out of memory for a %u-byte request; closing", conn->peer,
                      size);
            broker_conn_close(conn, 1);
            break;
        }
        size_t take = have < size ? have : size;
        memcpy(frame, conn->ibuf + pos + 4, take);
        pos += 4 + take;
        if (take < size) { /* the rest goes straight into the frame */
            conn->big = frame;
            conn->big_size = size;
            conn->big_have = take;
            break;
        }
        conn->big_last = 0;
        if (conn_dispatch(conn, frame, size) != 0) break;
    }
    if (!conn->dead && pos) {
        memmove(conn->ibuf, conn->ibuf + pos, conn->ilen - pos);
        conn->ilen -= pos;
    }
    conn->in_input = 0;
    conn->busy--;
    conn_maybe_free(conn);
}

/* Reads what the socket has, in large pieces: libevent's bufferevents read
 * 4 KiB per system call, which made reading the socket most of the broker's
 * CPU time on Produce. Stops after a few MiB so one busy connection cannot
 * starve the others. */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    broker_conn_t *conn = arg;
    size_t budget = 8u << 20;
    conn->busy++;
    while (!conn->dead && !conn->closing && !conn->read_paused && budget) {
        uint8_t *dst;
        size_t room;
        if (conn->big) {
            dst = conn->big + conn->big_have;
            room = conn->big_size - conn->big_have;
        } else {
            dst = conn->ibuf + conn->ilen;
            room = CONN_IBUF_SIZE - conn->ilen;
            /* After a large frame, read only the start of the next one: if
             * it is large too, the rest goes straight into its own buffer
             * instead of through this one (a 64 KiB copy per request). */
            if (conn->big_last && conn->ilen == 0 && room > CONN_FIRST_READ) room = CONN_FIRST_READ;
        }
        if (room == 0) { /* only when frames wait for backpressure to lift */
            conn_process_input(conn);
            break;
        }
        ssize_t n = recv(fd, dst, room, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            if (n < 0) log_debug("connection %s: read error: %s", conn->peer, strerror(errno));
            conn->dead = 1;
            break;
        }
        if (conn->big)
            conn->big_have += (size_t)n;
        else
            conn->ilen += (size_t)n;
        budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
        conn_process_input(conn);
        if ((size_t)n < room) break; /* drained the socket */
    }
    conn->busy--;
    conn_maybe_free(conn);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    broker_conn_t *conn = arg;
    conn->busy++;
    conn_write(conn);
    conn_update_backpressure(conn);
    conn->busy--;
    conn_maybe_free(conn);
}

static void format_peer(const struct sockaddr *sa, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(out, n, "%s:%d", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(out, n, "[%s]:%d", host, port);
    } else {
        snprintf(out, n, "?");
    }
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    broker_server_t *srv = arg;
    char peer[64];
    format_peer(sa, peer, sizeof(peer));
    if (srv->conf.max_connections > 0 && srv->conn_count >= srv->conf.max_connections) {
        log_warn("refusing connection from %s: max.connections=%d reached", peer,
                 srv->conf.max_connections);
        evutil_closesocket(fd);
        return;
    }
    broker_conn_t *conn = calloc(1, sizeof(*conn));
    uint8_t *ibuf = malloc(CONN_IBUF_SIZE);
    struct evbuffer *out = conn && ibuf ? evbuffer_new() : NULL;
    struct event *rev =
        out ? event_new(srv->base, fd, EV_READ | EV_PERSIST, on_readable, conn) : NULL;
    struct event *wev =
        rev ? event_new(srv->base, fd, EV_WRITE | EV_PERSIST, on_writable, conn) : NULL;
    if (!wev || evutil_make_socket_nonblocking(fd) != 0) {
        log_error("refusing connection from %s: out of memory", peer);
        if (wev) event_free(wev);
        if (rev) event_free(rev);
        if (out) evbuffer_free(out);
        evutil_closesocket(fd);
        free(ibuf);
        free(conn);
        return;
    }
    /* Lets file segments go out with sendfile. */
    evbuffer_set_flags(out, EVBUFFER_FLAG_DRAINS_TO_FD);
    conn->fd = fd;
    conn->out = out;
    conn->rev = rev;
    conn->wev = wev;
    conn->ibuf = ibuf;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn->srv = srv;
    conn->id = ++srv->next_conn_id;
    memcpy(conn->peer, peer, sizeof(conn->peer));
    struct sockaddr_storage self;
    socklen_t self_len = sizeof(self);
    int have_self = getsockname(fd, (struct sockaddr *)&self, &self_len) == 0;
    conn->local = broker_addr_is_local(sa, have_self ? (struct sockaddr *)&self : NULL);
    TAILQ_INIT(&conn->reqs);
    LIST_INSERT_HEAD(&srv->conns, conn, link);
    srv->conn_count++;
    event_add(rev, NULL);
    log_debug("connection %s accepted (id %llu)", peer, (unsigned long long)conn->id);
}

/* ---- Listeners ------------------------------------------------------------- */

static int split_host_port(const char *s, char *host, size_t hostn, char *port, size_t portn)
{
    const char *colon = strrchr(s, ':');
    if (!colon) return -1;
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { /* [::1]:9092 */
        h++;
        hl -= 2;
    }
    if (hl >= hostn || strlen(colon + 1) >= portn || !colon[1]) return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

static int listener_open(broker_server_t *srv, struct broker_listener *l, const char *spec,
                         char *errstr, size_t errstr_size)
{
    char host[256], port[16];
    if (split_host_port(spec, host, sizeof(host), port, sizeof(port)) != 0) {
        snprintf(errstr, errstr_size, "listener '%s': expected HOST:PORT", spec);
        return -1;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gai != 0) {
        snprintf(errstr, errstr_size, "listener '%s': %s", spec, gai_strerror(gai));
        return -1;
    }
    l->lev =
        evconnlistener_new_bind(srv->base, on_accept, srv,
                                LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                -1, res->ai_addr, (int)res->ai_addrlen);
    int saved = errno;
    freeaddrinfo(res);
    if (!l->lev) {
        snprintf(errstr, errstr_size, "listener '%s': cannot bind: %s", spec, strerror(saved));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&ss, &sl);
    l->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (strchr(host, ':'))
        snprintf(l->address, sizeof(l->address), "[%s]:%d", host, l->port);
    else
        snprintf(l->address, sizeof(l->address), "%s:%d", host[0] ? host : "0.0.0.0", l->port);
    return 0;
}

broker_server_t *broker_server_new(struct event_base *base, const broker_server_conf_t *conf,
                                   char *errstr, size_t errstr_size)
{
    if (conf->listener_count < 1 || conf->listener_count > MAX_LISTENERS || !conf->on_request) {
        snprintf(errstr, errstr_size, "between 1 and %d listeners and a request callback needed",
                 MAX_LISTENERS);
        return NULL;
    }
    broker_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    srv->base = base;
    srv->conf = *conf;
    if (!srv->conf.max_frame_bytes) srv->conf.max_frame_bytes = 100 * 1024 * 1024;
    if (!srv->conf.max_conn_pending_bytes) srv->conf.max_conn_pending_bytes = 64 * 1024 * 1024;
    if (!srv->conf.max_conn_inflight) srv->conf.max_conn_inflight = 1000;
    LIST_INIT(&srv->conns);
    for (int i = 0; i < conf->listener_count; i++) {
        if (listener_open(srv, &srv->listeners[i], conf->listeners[i], errstr, errstr_size)) {
            broker_server_destroy(srv);
            return NULL;
        }
        srv->listener_count++;
    }
    return srv;
}

const char *broker_server_address(const broker_server_t *srv, int i)
{
    return i >= 0 && i < srv->listener_count ? srv->listeners[i].address : NULL;
}

int broker_server_port(const broker_server_t *srv, int i)
{
    return i >= 0 && i < srv->listener_count ? srv->listeners[i].port : -1;
}

int broker_server_connection_count(const broker_server_t *srv)
{
    return srv->conn_count;
}

void broker_server_close_connections(broker_server_t *srv)
{
    broker_conn_t *conn;
    while ((conn = LIST_FIRST(&srv->conns)))
        conn_free(conn);
}

void broker_server_destroy(broker_server_t *srv)
{
    if (!srv) return;
    for (int i = 0; i < srv->listener_count; i++)
        evconnlistener_free(srv->listeners[i].lev);
    broker_conn_t *conn;
    while ((conn = LIST_FIRST(&srv->conns)))
        conn_free(conn);
    free(srv);
}
