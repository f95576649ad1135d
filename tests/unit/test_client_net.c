/* The connection layer (net_conn) driven by an event loop on the test
 * thread, against librdkafka's mock cluster, a kc-broker process and a
 * scripted fake broker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/event.h>

#include "client_test_util.h"
#include "kc/kc.h"
#include "net/net_conn.h"
#include "util/log.h"

typedef struct got {
    int n;          /* callbacks so far */
    int order[256]; /* opaque index per callback, in order */
    kc_err_t err[256];
    int16_t version[256];
    char errstr[512];
    int broker_cnt;
    int downs;
    void (*on_down)(void *);
    void *on_down_arg;
} got_t;

typedef struct slot {
    got_t *g;
    int idx;
} slot_t;

static void on_resp(const net_resp_t *r, void *opaque)
{
    slot_t *s = opaque;
    got_t *g = s->g;
    if (g->n < 256) {
        g->order[g->n] = s->idx;
        g->err[g->n] = r->err;
        g->version[g->n] = r->version;
    }
    if (r->err && r->errstr) snprintf(g->errstr, sizeof(g->errstr), "%s", r->errstr);
    if (!r->err && r->api_key == PROTO_API_METADATA) {
        const proto_metadata_response_t *m = r->body;
        g->broker_cnt = m->brokers.n;
    }
    g->n++;
}

static void on_state(net_conn_t *c, net_state_t s, kc_err_t err, const char *reason, void *opaque)
{
    (void)c;
    (void)err;
    (void)reason;
    got_t *g = opaque;
    if (s == NET_DOWN) {
        g->downs++;
        if (g->on_down) {
            g->on_down(g->on_down_arg);
            g->on_down = NULL;
        }
    }
}

static net_conn_conf_t test_conf(void)
{
    net_conn_conf_t cf = {
        .client_id = "kc-test",
        .connect_timeout_ms = 5000,
        .api_version_timeout_ms = 5000,
        .request_timeout_ms = 10000,
        .backoff_ms = 10,
        .backoff_max_ms = 100,
        .max_in_flight = 5,
        .max_frame = 1 << 20,
    };
    return cf;
}

static void run_until(struct event_base *base, const int *n, int want)
{
    while (*n < want)
        event_base_loop(base, EVLOOP_ONCE);
}

static proto_metadata_request_t md_all(void)
{
    proto_metadata_request_t req;
    proto_msg_init(&proto_metadata_request_desc, &req);
    req.topics.v = NULL;
    req.topics.n = -1;
    req.allow_auto_topic_creation = false;
    return req;
}

/* A connection under test: its event loop, what its callbacks saw, and the
 * one-broker librdkafka mock it talks to, if any. Lives on the test's stack
 * (slots point into g). */
typedef struct fx {
    tmock_t m;
    int has_mock;
    struct event_base *base;
    got_t g;
    net_conn_t *c;
    proto_metadata_request_t md;
} fx_t;

/* A connection to host:port with cf (test_conf() when NULL). */
static void fx_connect(fx_t *f, const char *host, int port, const net_conn_conf_t *cf)
{
    net_conn_conf_t def = test_conf();
    f->base = event_base_new();
    assert_non_null(f->base);
    f->c = net_conn_new(f->base, cf ? cf : &def, host, port, -1, on_state, &f->g);
    assert_non_null(f->c);
    f->md = md_all();
}

/* A one-broker mock and a connection to it. */
static void fx_mock(fx_t *f)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(tmock_start(&f->m, 1), 0);
    f->has_mock = 1;
    char host[128];
    int port;
    tmock_first(&f->m, host, sizeof(host), &port);
    fx_connect(f, host, port, NULL);
}

/* Sends the all-topics Metadata request, answered into slot s. */
static void fx_send_md(fx_t *f, slot_t *s, int timeout_ms, int flags)
{
    assert_int_equal(
        net_request_send(f->c, PROTO_API_METADATA, &f->md, timeout_ms, flags, on_resp, s), 0);
}

/* Destroys what the test left: the connection (unless it set c to NULL),
 * the loop, the mock. */
static void fx_stop(fx_t *f)
{
    if (f->c) net_conn_destroy(f->c);
    event_base_free(f->base);
    if (f->has_mock) tmock_stop(&f->m);
}

/* The 2.0.2 mock knows ApiVersions v0-2: the v4 request gets error 35 with
 * no range (an empty list), so the retry is v0, which it answers. Metadata
 * then goes out at the highest common version (the mock's 2). */
static void test_apiversions_fallback_mock(void **state)
{
    (void)state;
    fx_t f;
    fx_mock(&f);
    slot_t s = {&f.g, 0};
    fx_send_md(&f, &s, 0, 0);
    run_until(f.base, &f.g.n, 1);
    if (f.g.err[0]) fprintf(stderr, "%s\n", f.g.errstr);
    assert_int_equal(f.g.err[0], 0);
    assert_int_equal(f.g.broker_cnt, 1);
    assert_int_equal(f.g.version[0], 2);
    assert_int_equal(net_conn_api_versions_version(f.c), 0);
    assert_int_equal(net_conn_state(f.c), NET_UP);
    fx_stop(&f);
}

/* kc-broker knows ApiVersions v4: no fallback; Metadata at the top (13). */
static void test_apiversions_kc_broker(void **state)
{
    (void)state;
    tbroker_t b = {0};
    assert_int_equal(tbroker_start(&b), 0);
    char host[128];
    snprintf(host, sizeof(host), "%s", b.addr);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    fx_t f = {0};
    fx_connect(&f, host, atoi(colon + 1), NULL);
    slot_t s = {&f.g, 0};
    fx_send_md(&f, &s, 0, 0);
    run_until(f.base, &f.g.n, 1);
    assert_int_equal(f.g.err[0], 0);
    assert_int_equal(net_conn_api_versions_version(f.c), 4);
    assert_int_equal(f.g.version[0], 13);
    fx_stop(&f);
    tbroker_stop(&b);
}

/* 200 requests queued at once, at most 5 on the wire: every callback fires,
 * in the order sent. */
static void test_pipelining_in_order(void **state)
{
    (void)state;
    fx_t f;
    fx_mock(&f);
    slot_t s[200];
    for (int i = 0; i < 200; i++) {
        s[i] = (slot_t){&f.g, i};
        fx_send_md(&f, &s[i], 0, 0);
    }
    assert_int_equal(net_conn_pending(f.c), 200);
    run_until(f.base, &f.g.n, 200);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(f.g.order[i], i);
        assert_int_equal(f.g.err[i], 0);
    }
    assert_int_equal(f.g.downs, 0);
    fx_stop(&f);
}

/* A broker that answers too slowly: the request fails with a time-out and
 * the connection is reset; the next request reconnects and succeeds. */
static void test_request_timeout_resets(void **state)
{
    (void)state;
    fx_t f;
    fx_mock(&f);
    slot_t s0 = {&f.g, 0}, s1 = {&f.g, 1}, s2 = {&f.g, 2};
    fx_send_md(&f, &s0, 0, 0);
    run_until(f.base, &f.g.n, 1);
    assert_int_equal(f.g.err[0], 0);
    rd_kafka_mock_broker_set_rtt(f.m.mc, 1, 60000);
    fx_send_md(&f, &s1, 100, 0);
    run_until(f.base, &f.g.n, 2);
    assert_int_equal(f.g.err[1], KC_ERR__TIMED_OUT);
    assert_non_null(strstr(f.g.errstr, "Metadata"));
    assert_int_equal(f.g.downs, 1);
    rd_kafka_mock_broker_set_rtt(f.m.mc, 1, 0);
    fx_send_md(&f, &s2, 0, 0);
    run_until(f.base, &f.g.n, 3);
    assert_int_equal(f.g.err[2], 0);
    fx_stop(&f);
}

static void bring_up(void *arg)
{
    tmock_t *m = arg;
    rd_kafka_mock_broker_set_up(m->mc, 1);
}

/* The broker drops the connection: the waiting request survives it and is
 * answered over the next connection, made after the backoff. */
static void test_reconnect_after_close(void **state)
{
    (void)state;
    fx_t f;
    fx_mock(&f);
    slot_t s0 = {&f.g, 0}, s1 = {&f.g, 1};
    fx_send_md(&f, &s0, 0, 0);
    run_until(f.base, &f.g.n, 1);
    assert_int_equal(f.g.err[0], 0);
    /* Down: the connection closes; up again once we saw it close. */
    f.g.on_down = bring_up;
    f.g.on_down_arg = &f.m;
    rd_kafka_mock_broker_set_down(f.m.mc, 1);
    run_until(f.base, &f.g.downs, 1);
    fx_send_md(&f, &s1, 0, 0);
    run_until(f.base, &f.g.n, 2);
    assert_int_equal(f.g.err[1], 0);
    assert_int_equal(net_conn_state(f.c), NET_UP);
    fx_stop(&f);
}

/* Nothing listens: a fail-fast request fails with the connect error; a
 * normal one waits through reconnects and times out, naming the cause. */
static void test_unreachable(void **state)
{
    (void)state;
    fx_t f = {0};
    fx_connect(&f, "127.0.0.1", closed_port(), NULL);
    slot_t s0 = {&f.g, 0}, s1 = {&f.g, 1};
    fx_send_md(&f, &s0, 0, NET_REQ_FAIL_FAST);
    run_until(f.base, &f.g.n, 1);
    assert_int_equal(f.g.err[0], KC_ERR__TRANSPORT);
    assert_non_null(strstr(f.g.errstr, "refused"));
    fx_send_md(&f, &s1, 300, 0);
    run_until(f.base, &f.g.n, 2);
    assert_int_equal(f.g.err[1], KC_ERR__TIMED_OUT);
    assert_non_null(strstr(f.g.errstr, "refused"));
    assert_true(f.g.downs >= 2);
    fx_stop(&f);
}

/* A listener whose accept queue is full drops SYNs, so connect() hangs:
 * socket.connection.setup.timeout.ms ends the attempt. */
static void test_connect_setup_timeout(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(lfd, 0), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof(a));
    }
    fx_t f = {0};
    net_conn_conf_t cf = test_conf();
    cf.connect_timeout_ms = 200;
    fx_connect(&f, "127.0.0.1", ntohs(a.sin_port), &cf);
    slot_t s0 = {&f.g, 0};
    fx_send_md(&f, &s0, 0, NET_REQ_FAIL_FAST);
    run_until(f.base, &f.g.n, 1);
    assert_int_equal(f.g.err[0], KC_ERR__TRANSPORT);
    assert_non_null(strstr(f.g.errstr, "socket.connection.setup.timeout.ms"));
    fx_stop(&f);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
}

/* An API the broker does not advertise fails with KC_ERR__UNSUPPORTED naming
 * it; the connection stays up. */
static void test_unsupported_api(void **state)
{
    (void)state;
    fx_t f;
    fx_mock(&f);
    proto_describe_cluster_request_t req;
    proto_msg_init(&proto_describe_cluster_request_desc, &req);
    slot_t s = {&f.g, 0};
    assert_int_equal(net_request_send(f.c, PROTO_API_DESCRIBE_CLUSTER, &req, 0, 0, on_resp, &s), 0);
    run_until(f.base, &f.g.n, 1);
    assert_int_equal(f.g.err[0], KC_ERR__UNSUPPORTED);
    assert_non_null(strstr(f.g.errstr, "DescribeCluster"));
    assert_int_equal(net_conn_state(f.c), NET_UP);
    assert_int_equal(f.g.downs, 0);
    fx_stop(&f);
}

static void fake_case(fake_mode_t mode, kc_err_t want)
{
    fake_broker_t fb;
    assert_int_equal(fake_start(&fb, mode), 0);
    fx_t f = {0};
    fx_connect(&f, "127.0.0.1", fb.port, NULL);
    slot_t s = {&f.g, 0};
    fx_send_md(&f, &s, 0, 0);
    run_until(f.base, &f.g.n, 1);
    assert_int_equal(f.g.err[0], want);
    assert_int_equal(f.g.downs, 1);
    fx_stop(&f);
    fake_stop(&fb);
}

/* A response whose correlation id is not the oldest request's closes the
 * connection. */
static void test_wrong_correlation_id(void **state)
{
    (void)state;
    fake_case(FAKE_WRONG_CORR, KC_ERR__BAD_MSG);
}

/* A frame above receive.message.max.bytes closes the connection. */
static void test_frame_limit(void **state)
{
    (void)state;
    fake_case(FAKE_HUGE_FRAME, KC_ERR__TOO_LARGE);
}

/* Destroy with requests on the wire and waiting: each callback fires once,
 * with KC_ERR__DESTROY, before destroy returns; none after. */
static void test_destroy_in_flight(void **state)
{
    (void)state;
    fx_t f;
    fx_mock(&f);
    net_conn_connect(f.c);
    while (net_conn_state(f.c) != NET_UP)
        event_base_loop(f.base, EVLOOP_ONCE);
    rd_kafka_mock_broker_set_rtt(f.m.mc, 1, 60000);
    slot_t s[20];
    for (int i = 0; i < 20; i++) {
        s[i] = (slot_t){&f.g, i};
        fx_send_md(&f, &s[i], 0, 0);
    }
    for (int i = 0; i < 10; i++)
        event_base_loop(f.base, EVLOOP_NONBLOCK);
    assert_int_equal(f.g.n, 0);
    net_conn_destroy(f.c);
    f.c = NULL;
    assert_int_equal(f.g.n, 20);
    for (int i = 0; i < 20; i++)
        assert_int_equal(f.g.err[i], KC_ERR__DESTROY);
    event_base_loop(f.base, EVLOOP_NONBLOCK);
    assert_int_equal(f.g.n, 20);
    fx_stop(&f);
}

static void destroy_from_cb(const net_resp_t *r, void *opaque)
{
    (void)r;
    int *n = opaque;
    (*n)++;
    net_conn_destroy(r->conn);
}

/* Destroying the connection from inside its own callback is allowed. */
static void test_destroy_from_callback(void **state)
{
    (void)state;
    fx_t f;
    fx_mock(&f);
    int n = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            net_request_send(f.c, PROTO_API_METADATA, &f.md, 0, 0, destroy_from_cb, &n), 0);
    run_until(f.base, &n, 1);
    /* The first callback destroyed it; the other two failed inside that. */
    assert_int_equal(n, 3);
    f.c = NULL;
    fx_stop(&f);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (getenv("KC_TEST_DEBUG")) util_log_set_level(LOG_LVL_DEBUG);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apiversions_fallback_mock),
        cmocka_unit_test(test_apiversions_kc_broker),
        cmocka_unit_test(test_pipelining_in_order),
        cmocka_unit_test(test_request_timeout_resets),
        cmocka_unit_test(test_reconnect_after_close),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_connect_setup_timeout),
        cmocka_unit_test(test_unsupported_api),
        cmocka_unit_test(test_wrong_correlation_id),
        cmocka_unit_test(test_frame_limit),
        cmocka_unit_test(test_destroy_in_flight),
        cmocka_unit_test(test_destroy_from_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
