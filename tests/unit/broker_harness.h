/* A kc broker in the test process, on a real loopback port, and a tiny
 * blocking client that speaks to it with the codec: for tests of request
 * handlers through the protocol, as a client would see them.
 *
 *   harness_t h;
 *   harness_start(&h, NULL);                 // temp log dir, 127.0.0.1:0
 *   int fd = harness_connect(&h);
 *   proto_metadata_request_t req; proto_msg_init(&proto_metadata_request_desc, &req);
 *   proto_metadata_response_t resp; proto_arena_t arena; proto_arena_init(&arena);
 *   harness_call(fd, PROTO_API_METADATA, 12, &req, &resp, &arena);
 *   ...
 *   harness_stop(&h);                        // removes the temp dir
 *
 * harness_restart() stops the broker and starts it again on the same log
 * dir, to test what survives a restart. Header-only: each test program
 * includes it once. */
#ifndef KC_TEST_BROKER_HARNESS_H
#define KC_TEST_BROKER_HARNESS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "broker_conf.h"
#include "core/broker.h"
#include "proto/proto_header.h"
#include "proto/proto_msg.h"
#include "proto_msgs.h"
#include "util/fsutil.h"
#include "util/log.h"

typedef struct harness {
    char dir[256];
    broker_conf_t conf;
    struct event_base *base;
    broker_t *broker;
    pthread_t thread;
    int port;
    int32_t next_corr;
} harness_t;

static void *harness_loop_(void *arg)
{
    harness_t *h = arg;
    event_base_loop(h->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* Starts the broker on h->dir (created if h->dir is empty). `overrides` is a
 * NULL-terminated list of "key=value" broker properties, or NULL. Fails the
 * test (via abort-free fprintf + exit) when the broker cannot start. */
static void harness_start_(harness_t *h, const char *const *overrides)
{
    static int threads_on;
    if (!threads_on++) evthread_use_pthreads();
    if (!util_log_get_level() || util_log_get_level() > LOG_LVL_WARN)
        util_log_set_level(getenv("KC_TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
    char err[512];
    char *argv[64];
    int argc = 0;
    argv[argc++] = "kc-broker";
    static char dirs[300];
    snprintf(dirs, sizeof(dirs), "log.dirs=%s", h->dir);
    argv[argc++] = "--override";
    argv[argc++] = "listeners=PLAINTEXT://127.0.0.1:0";
    argv[argc++] = "--override";
    argv[argc++] = dirs;
    for (int i = 0; overrides && overrides[i] && argc < 60; i++) {
        argv[argc++] = "--override";
        argv[argc++] = (char *)overrides[i];
    }
    if (broker_conf_from_argv(&h->conf, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "harness: bad broker config: %s\n", err);
        exit(1);
    }
    h->base = event_base_new();
    h->broker = broker_new(h->base, &h->conf, NULL, err, sizeof(err));
    if (!h->broker) {
        fprintf(stderr, "harness: broker did not start: %s\n", err);
        exit(1);
    }
    h->port = broker_server_port(h->broker->nodes[0].server, 0);
    pthread_create(&h->thread, NULL, harness_loop_, h);
}

static const char *const *harness_overrides_;

static void harness_start(harness_t *h, const char *const *overrides)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->dir, sizeof(h->dir), "/tmp/kc-test-broker-XXXXXX");
    if (!mkdtemp(h->dir)) {
        perror("harness: mkdtemp");
        exit(1);
    }
    harness_overrides_ = overrides;
    harness_start_(h, overrides);
}

/* Stops the loop and the broker (clean shutdown), keeping the log dir. */
static void harness_shutdown_(harness_t *h)
{
    event_base_loopexit(h->base, NULL);
    pthread_join(h->thread, NULL);
    broker_destroy(h->broker);
    event_base_free(h->base);
    broker_conf_clear(&h->conf);
    h->broker = NULL;
}

static void harness_restart(harness_t *h)
{
    harness_shutdown_(h);
    harness_start_(h, harness_overrides_);
}

static void harness_stop(harness_t *h)
{
    harness_shutdown_(h);
    char err[256];
    util_remove_tree(h->dir, err, sizeof(err));
}

static int harness_connect(harness_t *h)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("harness: connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int harness_send_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes within timeout_ms; 1 = ok, 0 = EOF, -1 = time-out. */
static int harness_recv_n(int fd, void *p, size_t n, int timeout_ms)
{
    uint8_t *b = p;
    while (n) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, timeout_ms) <= 0) return -1;
        ssize_t r = recv(fd, b, n, 0);
        if (r <= 0) return 0;
        b += r;
        n -= (size_t)r;
    }
    return 1;
}

/* Sends a request (encoded at `version` with the right header) and returns
 * its correlation id; -1 if it could not be encoded or sent. */
static int32_t harness_send(int fd, int16_t api_key, int16_t version, const void *req)
{
    static int32_t corr = 1000;
    proto_wbuf_t w = {0};
    size_t at = proto_wbuf_skip(&w, 4);
    proto_req_header_t hdr = {.api_key = api_key,
                              .api_version = version,
                              .correlation_id = ++corr,
                              .client_id = proto_str_of("kc-test")};
    proto_req_header_encode(&w, &hdr);
    char err[256];
    if (proto_request_encode(api_key, version, req, &w, err, sizeof(err)) != 0) {
        fprintf(stderr, "harness: cannot encode request: %s\n", err);
        proto_wbuf_free(&w);
        return -1;
    }
    proto_put_i32_at(&w, at, (int32_t)(w.len - 4));
    int rc = harness_send_all(fd, w.data, w.len);
    proto_wbuf_free(&w);
    return rc ? -1 : corr;
}

/* Receives one response frame into a malloc'ed buffer (caller frees);
 * NULL on EOF or after timeout_ms. */
static uint8_t *harness_recv_frame(int fd, size_t *len, int timeout_ms)
{
    uint8_t szb[4];
    if (harness_recv_n(fd, szb, 4, timeout_ms) != 1) return NULL;
    uint32_t size = ((uint32_t)szb[0] << 24) | ((uint32_t)szb[1] << 16) | (szb[2] << 8) | szb[3];
    uint8_t *buf = malloc(size ? size : 1);
    if (harness_recv_n(fd, buf, size, timeout_ms) != 1) {
        free(buf);
        return NULL;
    }
    *len = size;
    return buf;
}

/* Receives the response to (api_key, version) and decodes it into *resp,
 * checking the correlation id. The returned frame holds the bytes resp's
 * strings point into: free it after use. NULL (and a message on stderr) on
 * any failure. */
static uint8_t *harness_recv(int fd, int16_t api_key, int16_t version, int32_t corr, void *resp,
                             proto_arena_t *arena, int timeout_ms)
{
    size_t len;
    uint8_t *frame = harness_recv_frame(fd, &len, timeout_ms);
    if (!frame) {
        fprintf(stderr, "harness: no response to api %d v%d (closed or timed out)\n", api_key,
                version);
        return NULL;
    }
    proto_rbuf_t r;
    proto_rbuf_init(&r, frame, len);
    int32_t got;
    proto_resp_header_decode(&r, proto_resp_header_version(api_key, version), &got);
    if (got != corr || proto_response_decode(api_key, version, &r, resp, arena) != 0) {
        fprintf(stderr, "harness: bad response to api %d v%d: corr %d/%d %s\n", api_key, version,
                got, corr, r.errstr);
        free(frame);
        return NULL;
    }
    return frame;
}

/* Send + receive with a 10 s limit. Returns the frame to free, or NULL. */
static uint8_t *harness_call(int fd, int16_t api_key, int16_t version, const void *req, void *resp,
                             proto_arena_t *arena)
{
    int32_t corr = harness_send(fd, api_key, version, req);
    if (corr < 0) return NULL;
    return harness_recv(fd, api_key, version, corr, resp, arena, 10000);
}

/* 1 if the broker closed the connection (EOF) within timeout_ms. */
static int harness_closed(int fd, int timeout_ms)
{
    uint8_t b;
    return harness_recv_n(fd, &b, 1, timeout_ms) == 0;
}

#endif
