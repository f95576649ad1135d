/* The broker's network front over real loopback sockets: framing, response
 * order, limits, and one bad connection not disturbing the others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "server/broker_server.h"
#include "util/log.h"

/* Request "api keys" of the test protocol. */
enum { ECHO = 0, DELAYED = 1, SILENT = 2, BAD = 99 };

struct fixture {
    struct event_base *base;
    broker_server_t *srv;
    pthread_t thread;
    int port;
};

struct delayed {
    broker_req_t *req;
    struct event *ev;
};

static void echo_body(broker_req_t *req)
{
    evbuffer_add(req->out, req->frame + 8, req->frame_len - 8);
}

static void delayed_fire(evutil_socket_t fd, short what, void *arg)
{
    struct delayed *d = arg;
    echo_body(d->req);
    broker_req_done(d->req);
    event_free(d->ev);
    free(d);
}

static int on_request(void *opaque, broker_req_t *req)
{
    struct fixture *f = opaque;
    int16_t key = (int16_t)((req->frame[0] << 8) | req->frame[1]);
    switch (key) {
    case ECHO:
        echo_body(req);
        broker_req_done(req);
        return 0;
    case SILENT:
        req->no_response = 1;
        broker_req_done(req);
        return 0;
    case DELAYED: {
        struct delayed *d = calloc(1, sizeof(*d));
        d->req = req;
        d->ev = evtimer_new(f->base, delayed_fire, d);
        struct timeval tv = {0, 30 * 1000};
        evtimer_add(d->ev, &tv);
        return 0;
    }
    default: return -1;
    }
}

static void *loop_main(void *arg)
{
    struct fixture *f = arg;
    event_base_loop(f->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int setup(void **state)
{
    static int threads_on;
    if (!threads_on++) evthread_use_pthreads();
    util_log_set_level(LOG_LVL_ERROR);
    struct fixture *f = calloc(1, sizeof(*f));
    f->base = event_base_new();
    const char *listeners[] = {"127.0.0.1:0"};
    broker_server_conf_t conf = {
        .listeners = listeners,
        .listener_count = 1,
        .max_frame_bytes = 1024 * 1024,
        .max_connections = 4,
        .max_conn_inflight = 16,
        .on_request = on_request,
        .opaque = f,
    };
    char err[256];
    f->srv = broker_server_new(f->base, &conf, err, sizeof(err));
    assert_non_null(f->srv);
    f->port = broker_server_port(f->srv, 0);
    assert_true(f->port > 0);
    pthread_create(&f->thread, NULL, loop_main, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    event_base_loopexit(f->base, NULL);
    pthread_join(f->thread, NULL);
    broker_server_destroy(f->srv);
    event_base_free(f->base);
    free(f);
    return 0;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static size_t frame(uint8_t *out, int16_t key, int32_t corr, const char *body)
{
    size_t blen = strlen(body);
    uint32_t size = (uint32_t)(8 + blen);
    uint8_t hdr[12] = {(uint8_t)(size >> 24),
                       (uint8_t)(size >> 16),
                       (uint8_t)(size >> 8),
                       (uint8_t)size,
                       (uint8_t)(key >> 8),
                       (uint8_t)key,
                       0,
                       0,
                       (uint8_t)(corr >> 24),
                       (uint8_t)(corr >> 16),
                       (uint8_t)(corr >> 8),
                       (uint8_t)corr};
    memcpy(out, hdr, 12);
    memcpy(out + 12, body, blen);
    return 12 + blen;
}

static void send_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        b += w;
        n -= (size_t)w;
    }
}

static void send_req(int fd, int16_t key, int32_t corr, const char *body)
{
    uint8_t buf[512];
    send_all(fd, buf, frame(buf, key, corr, body));
}

/* Reads exactly n bytes; returns 0 on EOF, -1 on time-out (5 s). */
static int recv_n(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 5000) <= 0) return -1;
        ssize_t r = recv(fd, b, n, 0);
        if (r <= 0) return 0;
        b += r;
        n -= (size_t)r;
    }
    return 1;
}

/* Reads one response (header v0) and checks its correlation id and body. */
static void expect_resp(int fd, int32_t corr, const char *body)
{
    uint8_t hdr[8];
    assert_int_equal(recv_n(fd, hdr, 8), 1);
    uint32_t size = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | (hdr[2] << 8) | hdr[3];
    int32_t got =
        (int32_t)(((uint32_t)hdr[4] << 24) | ((uint32_t)hdr[5] << 16) | (hdr[6] << 8) | hdr[7]);
    assert_int_equal(got, corr);
    assert_int_equal(size, 4 + strlen(body));
    char buf[512] = {0};
    assert_int_equal(recv_n(fd, buf, size - 4), size - 4 ? 1 : 1);
    assert_string_equal(buf, body);
}

static void expect_closed(int fd)
{
    uint8_t b;
    assert_int_equal(recv_n(fd, &b, 1), 0);
}

static void test_echo(void **state)
{
    struct fixture *f = *state;
    int fd = connect_to(f->port);
    send_req(fd, ECHO, 42, "hello");
    expect_resp(fd, 42, "hello");
    close(fd);
}

static void test_responses_in_request_order(void **state)
{
    struct fixture *f = *state;
    int fd = connect_to(f->port);
    /* The first request completes 30 ms after the second: its answer still
     * leaves first. */
    uint8_t buf[256];
    size_t n = frame(buf, DELAYED, 1, "slow");
    n += frame(buf + n, ECHO, 2, "fast");
    n += frame(buf + n, SILENT, 3, "none");
    n += frame(buf + n, ECHO, 4, "last");
    send_all(fd, buf, n);
    expect_resp(fd, 1, "slow");
    expect_resp(fd, 2, "fast");
    expect_resp(fd, 4, "last");
    close(fd);
}

static void test_byte_by_byte(void **state)
{
    struct fixture *f = *state;
    int fd = connect_to(f->port);
    uint8_t buf[64];
    size_t n = frame(buf, ECHO, 7, "dribble");
    for (size_t i = 0; i < n; i++)
        send_all(fd, buf + i, 1);
    expect_resp(fd, 7, "dribble");
    close(fd);
}

static void test_pipelined_beyond_inflight_limit(void **state)
{
    /* 200 requests against a limit of 16 open requests: reading pauses and
     * resumes, and every answer comes back in order. */
    struct fixture *f = *state;
    int fd = connect_to(f->port);
    static uint8_t buf[200 * 32];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += frame(buf + n, i % 10 == 0 ? DELAYED : ECHO, i, "x");
    send_all(fd, buf, n);
    for (int i = 0; i < 200; i++)
        expect_resp(fd, i, "x");
    close(fd);
}

/* A frame larger than the connection's input buffer is read into its own
 * allocation; the frames around it still come out whole and in order. */
static void test_large_frame_between_small_ones(void **state)
{
    struct fixture *f = *state;
    int fd = connect_to(f->port);
    enum { BODY = 300 * 1024 };
    uint8_t *buf = malloc(12 + BODY + 64);
    size_t n = frame(buf, ECHO, 1, "a");
    uint32_t size = 8 + BODY;
    uint8_t hdr[12] = {(uint8_t)(size >> 24),
                       (uint8_t)(size >> 16),
                       (uint8_t)(size >> 8),
                       (uint8_t)size,
                       0,
                       ECHO,
                       0,
                       0,
                       0,
                       0,
                       0,
                       2};
    memcpy(buf + n, hdr, 12);
    for (size_t i = 0; i < BODY; i++)
        buf[n + 12 + i] = (uint8_t)('a' + i % 26);
    n += 12 + BODY;
    n += frame(buf + n, ECHO, 3, "c");
    /* In uneven pieces, so frame boundaries fall anywhere. */
    for (size_t off = 0; off < n;) {
        size_t piece = off % 7 == 0 ? 70001 : 4093;
        if (piece > n - off) piece = n - off;
        send_all(fd, buf + off, piece);
        off += piece;
    }
    expect_resp(fd, 1, "a");
    uint8_t rh[8];
    assert_int_equal(recv_n(fd, rh, 8), 1);
    assert_int_equal(((uint32_t)rh[0] << 24 | (uint32_t)rh[1] << 16 | rh[2] << 8 | rh[3]),
                     4 + BODY);
    uint8_t *body = malloc(BODY);
    assert_int_equal(recv_n(fd, body, BODY), 1);
    for (size_t i = 0; i < BODY; i++)
        assert_int_equal(body[i], (uint8_t)('a' + i % 26));
    expect_resp(fd, 3, "c");
    free(body);
    free(buf);
    close(fd);
}

/* An echo frame of `len` body bytes, each (corr + i) % 251, at buf. */
static size_t frame_n(uint8_t *buf, int32_t corr, size_t len)
{
    uint32_t size = (uint32_t)(8 + len);
    const uint8_t hdr[12] = {(uint8_t)(size >> 24),
                             (uint8_t)(size >> 16),
                             (uint8_t)(size >> 8),
                             (uint8_t)size,
                             0,
                             ECHO,
                             0,
                             0,
                             (uint8_t)(corr >> 24),
                             (uint8_t)(corr >> 16),
                             (uint8_t)(corr >> 8),
                             (uint8_t)corr};
    memcpy(buf, hdr, 12);
    for (size_t i = 0; i < len; i++)
        buf[12 + i] = (uint8_t)((corr + i) % 251);
    return 12 + len;
}

static void expect_resp_n(int fd, int32_t corr, size_t len)
{
    uint8_t rh[8];
    assert_int_equal(recv_n(fd, rh, 8), 1);
    assert_int_equal(((uint32_t)rh[0] << 24 | (uint32_t)rh[1] << 16 | rh[2] << 8 | rh[3]), 4 + len);
    assert_int_equal(((uint32_t)rh[4] << 24 | (uint32_t)rh[5] << 16 | rh[6] << 8 | rh[7]), corr);
    uint8_t *body = malloc(len + 1);
    assert_int_equal(recv_n(fd, body, len), len ? 1 : 1);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(body[i], (uint8_t)((corr + i) % 251));
    free(body);
}

/* Large frames back to back with frames of every other size between them:
 * after a large frame the server reads only the start of the next one, and
 * every frame still comes out whole and in order, sent at once or in
 * pieces. */
static void test_large_frames_back_to_back(void **state)
{
    struct fixture *f = *state;
    static const size_t sizes[] = {300 * 1024, 10 * 1024, 200 * 1024, 300 * 1024, 5,
                                   70 * 1024,  1,         4096,       64 * 1024,  128 * 1024};
    enum { N = sizeof(sizes) / sizeof(sizes[0]) };
    size_t total = 0;
    for (int i = 0; i < N; i++)
        total += 12 + sizes[i];
    uint8_t *buf = malloc(total);
    for (int pieces = 0; pieces < 2; pieces++) {
        int fd = connect_to(f->port);
        size_t n = 0;
        for (int i = 0; i < N; i++)
            n += frame_n(buf + n, 100 + i, sizes[i]);
        for (size_t off = 0; off < n;) {
            size_t piece = pieces ? (off % 3 == 0 ? 5000 : 123457) : n;
            if (piece > n - off) piece = n - off;
            send_all(fd, buf + off, piece);
            off += piece;
        }
        for (int i = 0; i < N; i++)
            expect_resp_n(fd, 100 + i, sizes[i]);
        close(fd);
    }
    free(buf);
}

static void test_bad_frames_close_only_their_connection(void **state)
{
    struct fixture *f = *state;
    int good = connect_to(f->port);

    int big = connect_to(f->port);
    const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    send_all(big, huge, sizeof(huge));
    expect_closed(big);
    close(big);

    int tiny = connect_to(f->port);
    const uint8_t small[] = {0, 0, 0, 3, 1, 2, 3};
    send_all(tiny, small, sizeof(small));
    expect_closed(tiny);
    close(tiny);

    int neg = connect_to(f->port);
    const uint8_t negative[] = {0xff, 0xff, 0xff, 0xfe};
    send_all(neg, negative, sizeof(negative));
    expect_closed(neg);
    close(neg);

    int bad = connect_to(f->port);
    send_req(bad, BAD, 1, "?");
    expect_closed(bad);
    close(bad);

    send_req(good, ECHO, 5, "still here");
    expect_resp(good, 5, "still here");
    close(good);
}

/* A bad frame closes the connection only after the answers to the requests
 * before it were sent, including one that completes later. */
static void test_bad_frame_after_good_ones(void **state)
{
    struct fixture *f = *state;
    int fd = connect_to(f->port);
    uint8_t buf[128];
    size_t n = frame(buf, DELAYED, 1, "slow");
    n += frame(buf + n, ECHO, 2, "fast");
    n += frame(buf + n, BAD, 3, "?");
    n += frame(buf + n, ECHO, 4, "never");
    send_all(fd, buf, n);
    expect_resp(fd, 1, "slow");
    expect_resp(fd, 2, "fast");
    expect_closed(fd);
    close(fd);

    fd = connect_to(f->port);
    n = frame(buf, ECHO, 5, "before");
    const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff};
    memcpy(buf + n, huge, 4);
    send_all(fd, buf, n + 4);
    expect_resp(fd, 5, "before");
    expect_closed(fd);
    close(fd);
}

static void test_max_connections(void **state)
{
    struct fixture *f = *state;
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = connect_to(f->port);
        send_req(fds[i], ECHO, i, "up");
        expect_resp(fds[i], i, "up");
    }
    int extra = connect_to(f->port);
    expect_closed(extra);
    close(extra);
    close(fds[0]);
    /* A slot frees once the server sees the close. */
    int again = -1;
    for (int tries = 0; tries < 100; tries++) {
        again = connect_to(f->port);
        send_req(again, ECHO, 9, "in");
        uint8_t hdr[8];
        if (recv_n(again, hdr, 8) == 1) break;
        close(again);
        again = -1;
        usleep(10 * 1000);
    }
    assert_true(again >= 0);
    close(again);
    for (int i = 1; i < 4; i++)
        close(fds[i]);
}

static void test_bind_error_is_reported(void **state)
{
    struct event_base *base = event_base_new();
    const char *listeners[] = {"not-an-address"};
    broker_server_conf_t conf = {
        .listeners = listeners, .listener_count = 1, .on_request = on_request};
    char err[256] = "";
    assert_null(broker_server_new(base, &conf, err, sizeof(err)));
    assert_non_null(strstr(err, "not-an-address"));
    event_base_free(base);
}

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

static struct sockaddr_in6 v6(const char *ip)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return a;
}

/* Which peers count as on this host (Fetch writes from mapped segments to
 * them, sendfile to the others). */
static void test_local_peers(void **state)
{
    (void)state;
    struct sockaddr_in lo = v4("127.0.0.1"), lo2 = v4("127.8.9.10"), lan = v4("10.1.2.3"),
                       other = v4("10.1.2.4");
    struct sockaddr_in6 lo6 = v6("::1"), mapped = v6("::ffff:127.0.0.1"), lan6 = v6("fd00::5"),
                        other6 = v6("fd00::6");
    assert_true(broker_addr_is_local((struct sockaddr *)&lo, NULL));
    assert_true(broker_addr_is_local((struct sockaddr *)&lo2, (struct sockaddr *)&lan));
    assert_true(broker_addr_is_local((struct sockaddr *)&lo6, NULL));
    assert_true(broker_addr_is_local((struct sockaddr *)&mapped, NULL));
    /* The host's own address on both ends: the same machine. */
    assert_true(broker_addr_is_local((struct sockaddr *)&lan, (struct sockaddr *)&lan));
    assert_true(broker_addr_is_local((struct sockaddr *)&lan6, (struct sockaddr *)&lan6));
    assert_false(broker_addr_is_local((struct sockaddr *)&other, (struct sockaddr *)&lan));
    assert_false(broker_addr_is_local((struct sockaddr *)&other6, (struct sockaddr *)&lan6));
    assert_false(broker_addr_is_local((struct sockaddr *)&lan, NULL));
    assert_false(broker_addr_is_local((struct sockaddr *)&lan, (struct sockaddr *)&lan6));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_peers),
        cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_responses_in_request_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_by_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_beyond_inflight_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_frame_between_small_ones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_frames_back_to_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames_close_only_their_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_frame_after_good_ones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections, setup, teardown),
        cmocka_unit_test(test_bind_error_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
