/* The idempotent producer on librdkafka's mock cluster: a soak with about 5%
 * of produce requests failing, dropped or answered too late, then every
 * partition read back (no duplicate, no gap, order kept); the epoch bump
 * after an unexpected sequence error; fatal errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <poll.h>
#include <unistd.h>

#include <cmocka.h>

#include "client_test_util.h"
#include "test_client_producer_util.h"

#include "producer/prod_int.h"

#define SOAK_RECORDS 100000
#define SOAK_PARTS   6

/* Reads everything back and checks that partition p holds exactly the
 * values p, p + nparts, p + 2 * nparts, ... below n, in that order. */
static void check_exact_order(const char *bootstrap, const char *topic, int nparts, int n)
{
    tp_read_t rd;
    assert_int_equal(tp_read_all(bootstrap, topic, nparts, n, &rd), n);
    int *next = calloc((size_t)nparts, sizeof(*next));
    for (int i = 0; i < nparts; i++)
        next[i] = i;
    for (int i = 0; i < rd.n; i++) {
        int v = atoi(rd.v[i].value);
        int part = rd.v[i].partition;
        if (v != next[part])
            fail_msg("partition %d: got %d at offset %lld, expected %d", part, v,
                     (long long)rd.v[i].offset, next[part]);
        next[part] += nparts;
    }
    free(next);
    tp_read_free(&rd);
}

/* One fault the mock applies before it writes anything: a retriable error
 * for the whole request, or a dropped connection. (librdkafka 2.0.2's mock
 * checks sequence numbers only for transactional producers, so it can
 * neither drop a duplicate nor refuse a gap: faults after a write are
 * exercised against kc-broker below.) */
static void mock_fault(void *arg, int k)
{
    static const rd_kafka_resp_err_t errs[] = {
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR__TRANSPORT,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,     RD_KAFKA_RESP_ERR__TRANSPORT,
    };
    tmock_t *m = arg;
    rd_kafka_mock_push_request_errors(m->mc, 0, 1, errs[k % 6]);
}

/* Produces SOAK_RECORDS values "<i>" to partition i % nparts, paced so that
 * requests spread over the run, calling fault(arg, k) whenever fewer than
 * one request in twenty has had a fault. */
static void soak_produce(kc_producer_t *p, const char *topic, int nparts,
                         void (*fault)(void *arg, int k), void *arg)
{
    prod_t *in = prod_of(p);
    int injected = 0;
    char val[32];
    for (int i = 0; i < SOAK_RECORDS; i++) {
        snprintf(val, sizeof(val), "%d", i);
        kc_err_t err;
        while ((err = tp_produce(p, topic, i % nparts, NULL, val, i)) == KC_ERR__QUEUE_FULL)
            kc_poll(p, 10);
        assert_int_equal(err, 0);
        if (i % 1000 == 999) {
            while (kc_outq_len(p) > 3000)
                kc_poll(p, 5);
            while (injected < (int)(atomic_load(&in->stat_requests) / 20) + 1)
                fault(arg, injected++);
        }
    }
    assert_int_equal(kc_flush(p, 60000), 0);
    print_message("soak: %d faults, %llu requests, %llu batches retried, %u producer ids/epochs\n",
                  injected, (unsigned long long)atomic_load(&in->stat_requests),
                  (unsigned long long)atomic_load(&in->stat_retries), in->pid_gen);
}

static void check_drs(const tp_drs_t *drs, int n)
{
    assert_int_equal(drs->n, n);
    for (int i = 0; i < drs->n; i++)
        if (drs->v[i].err)
            fail_msg("record %d: %s", (int)drs->v[i].opaque, kc_err_str(drs->v[i].err));
}

static void test_idem_soak_mock(void **state)
{
    (void)state;
    tmock_t m;
    assert_int_equal(tmock_start(&m, 3), 0);
    const char *topic = "soak";
    rd_kafka_mock_topic_create(m.mc, topic, SOAK_PARTS, 1);
    for (int i = 0; i < SOAK_PARTS; i++)
        rd_kafka_mock_partition_set_leader(m.mc, topic, i, 1 + i % 3);
    tp_drs_t drs = {0};
    /* One request at a time per connection: the mock would not refuse a
     * batch written after a failed one (a broker that checks sequences
     * does; see the kc-broker soak). */
    const char *props[] = {"enable.idempotence",
                           "true",
                           "linger.ms",
                           "5",
                           "batch.num.messages",
                           "250",
                           "retry.backoff.ms",
                           "10",
                           "max.in.flight.requests.per.connection",
                           "1",
                           NULL};
    kc_producer_t *p = tp_producer(m.bootstrap, &drs, props);
    assert_non_null(p);
    soak_produce(p, topic, SOAK_PARTS, mock_fault, &m);
    check_drs(&drs, SOAK_RECORDS);
    assert_true(atomic_load(&prod_of(p)->stat_retries) > 0);
    assert_int_equal(kc_fatal_error(p, NULL, 0), 0);
    kc_producer_destroy(p, 5000);
    rd_kafka_mock_clear_request_errors(m.mc, 0);
    check_exact_order(m.bootstrap, topic, SOAK_PARTS, SOAK_RECORDS);
    tp_drs_free(&drs);
    tmock_stop(&m);
}

/* ---- a fault-injecting proxy in front of kc-broker ---- */

typedef struct proxy {
    int lfd, port;
    char target_host[64];
    int target_port;
    pthread_t thread;
    atomic_int stop;
    atomic_int drop_next; /* faults asked for and not yet done */
    atomic_int drops;
} proxy_t;

typedef struct pipe_pair {
    int a, b; /* client side, broker side */
} pipe_pair_t;

static int proxy_connect(proxy_t *px)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)px->target_port);
    inet_pton(AF_INET, px->target_host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Forwards bytes both ways. A requested fault cuts a connection pair when
 * the client sends: alternately before the bytes reach the broker (nothing
 * written) and right after (written, the answer lost). */
static void *proxy_main(void *arg)
{
    proxy_t *px = arg;
    pipe_pair_t pairs[32];
    int np = 0;
    int flip = 0;
    static uint8_t buf[65536];
    while (!atomic_load(&px->stop)) {
        struct pollfd fds[1 + 64];
        int n = 0;
        fds[n++] = (struct pollfd){px->lfd, POLLIN, 0};
        for (int i = 0; i < np; i++) {
            fds[n++] = (struct pollfd){pairs[i].a, POLLIN, 0};
            fds[n++] = (struct pollfd){pairs[i].b, POLLIN, 0};
        }
        if (poll(fds, (nfds_t)n, 50) <= 0) continue;
        int snapshot = np;
        for (int i = snapshot - 1; i >= 0; i--) {
            int closed = 0;
            for (int dir = 0; dir < 2 && !closed; dir++) {
                short re = fds[1 + 2 * i + dir].revents;
                if (!(re & (POLLIN | POLLHUP | POLLERR))) continue;
                int from = dir == 0 ? pairs[i].a : pairs[i].b;
                int to = dir == 0 ? pairs[i].b : pairs[i].a;
                ssize_t r = read(from, buf, sizeof(buf));
                int fault = 0;
                if (r > 0 && dir == 0 && atomic_load(&px->drop_next) > 0) {
                    atomic_fetch_sub(&px->drop_next, 1);
                    atomic_fetch_add(&px->drops, 1);
                    fault = 1 + (flip++ % 2);
                }
                if (r > 0 && fault != 1 && write(to, buf, (size_t)r) != r) r = -1;
                if (r <= 0 || fault) {
                    if (fault == 2) usleep(2000); /* let the broker take it */
                    close(pairs[i].a);
                    close(pairs[i].b);
                    pairs[i] = pairs[--np];
                    closed = 1;
                }
            }
        }
        if ((fds[0].revents & POLLIN) && np < 32) {
            int c = accept(px->lfd, NULL, NULL);
            int b = c >= 0 ? proxy_connect(px) : -1;
            if (c >= 0 && b >= 0)
                pairs[np++] = (pipe_pair_t){c, b};
            else if (c >= 0)
                close(c);
        }
    }
    for (int i = 0; i < np; i++) {
        close(pairs[i].a);
        close(pairs[i].b);
    }
    return NULL;
}

static int proxy_listen(proxy_t *px)
{
    px->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    if (bind(px->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(px->lfd, 16) ||
        getsockname(px->lfd, (struct sockaddr *)&a, &al))
        return -1;
    px->port = ntohs(a.sin_port);
    return 0;
}

/* kc-broker advertising the proxy's address, so every connection of the
 * client goes through it. */
static int broker_behind(tbroker_t *b, int adv_port)
{
    char adv[100];
    snprintf(adv, sizeof(adv), "advertised.listeners=PLAINTEXT://127.0.0.1:%d", adv_port);
    const char *const overrides[] = {adv, NULL};
    return tbroker_start_with(b, "/tmp/kc-prod-idem-XXXXXX", overrides);
}

static void proxy_fault(void *arg, int k)
{
    (void)k;
    proxy_t *px = arg;
    atomic_fetch_add(&px->drop_next, 1);
}

/* The soak against a broker that checks sequences, five requests in
 * flight: connections cut before or after a request reached the broker. */
static proxy_t px;
static int px_running;
static tbroker_t b;

static void test_idem_soak_kcbroker(void **state)
{
    (void)state;
    assert_int_equal(proxy_listen(&px), 0);
    assert_int_equal(broker_behind(&b, px.port), 0);
    char *colon = strrchr(b.addr, ':');
    snprintf(px.target_host, sizeof(px.target_host), "%.*s", (int)(colon - b.addr), b.addr);
    px.target_port = atoi(colon + 1);
    assert_int_equal(pthread_create(&px.thread, NULL, proxy_main, &px), 0);
    px_running = 1;
    char bootstrap[64];
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", px.port);
    const char *topic = "soak";
    assert_int_equal(tp_create_topic(bootstrap, topic, SOAK_PARTS, NULL, NULL), 0);

    tp_drs_t drs = {0};
    const char *props[] = {"enable.idempotence",
                           "true",
                           "linger.ms",
                           "5",
                           "batch.num.messages",
                           "250",
                           "retry.backoff.ms",
                           "10",
                           "reconnect.backoff.ms",
                           "10",
                           NULL};
    kc_producer_t *p = tp_producer(bootstrap, &drs, props);
    assert_non_null(p);
    soak_produce(p, topic, SOAK_PARTS, proxy_fault, &px);
    check_drs(&drs, SOAK_RECORDS);
    assert_true(atomic_load(&px.drops) > 0);
    assert_int_equal(kc_fatal_error(p, NULL, 0), 0);
    kc_producer_destroy(p, 5000);
    atomic_store(&px.drop_next, 0);
    check_exact_order(bootstrap, topic, SOAK_PARTS, SOAK_RECORDS);
    tp_drs_free(&drs);
}

/* Also after a failed assertion: no broker process or proxy thread is left. */
static int soak_kcbroker_teardown(void **state)
{
    (void)state;
    if (px_running) {
        atomic_store(&px.stop, 1);
        pthread_join(px.thread, NULL);
        px_running = 0;
    }
    if (px.lfd > 0) close(px.lfd);
    if (b.pid > 0) tbroker_stop(&b);
    return 0;
}

/* An OUT_OF_ORDER_SEQUENCE_NUMBER (or UNKNOWN_PRODUCER_ID) nothing explains
 * bumps the epoch; the records still arrive once, in order. */
static void test_idem_epoch_bump(void **state)
{
    (void)state;
    static const rd_kafka_resp_err_t errs[] = {RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                               RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID};
    for (int e = 0; e < 2; e++) {
        tmock_t m;
        assert_int_equal(tmock_start(&m, 1), 0);
        const char *topic = "bump";
        rd_kafka_mock_topic_create(m.mc, topic, 2, 1);
        tp_drs_t drs = {0};
        const char *props[] = {"enable.idempotence", "true", "retry.backoff.ms", "10", NULL};
        kc_producer_t *p = tp_producer(m.bootstrap, &drs, props);
        assert_non_null(p);
        char val[32];
        for (int i = 0; i < 100; i++) {
            snprintf(val, sizeof(val), "%d", i);
            assert_int_equal(tp_produce(p, topic, i % 2, NULL, val, i), 0);
        }
        assert_int_equal(kc_flush(p, 10000), 0);
        prod_t *in = prod_of(p);
        unsigned gen = in->pid_gen;
        rd_kafka_mock_push_request_errors(m.mc, 0, 1, errs[e]);
        for (int i = 100; i < 200; i++) {
            snprintf(val, sizeof(val), "%d", i);
            assert_int_equal(tp_produce(p, topic, i % 2, NULL, val, i), 0);
        }
        assert_int_equal(kc_flush(p, 10000), 0);
        assert_int_equal(drs.n, 200);
        assert_int_equal(drs.errors, 0);
        assert_int_equal(kc_fatal_error(p, NULL, 0), 0);
        /* librdkafka's mock refuses the bump of an idempotent (not
         * transactional) producer, so kc falls back to a new id. */
        assert_true(in->pid_gen > gen);
        kc_producer_destroy(p, 5000);
        check_exact_order(m.bootstrap, topic, 2, 200);
        tp_drs_free(&drs);
        tmock_stop(&m);
    }
}

/* Without InitProducerId v3 there is no bump: the producer fails fatally;
 * a fenced producer too. */
static void test_idem_fatal(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        tmock_t m;
        assert_int_equal(tmock_start(&m, 1), 0);
        if (mode == 0) rd_kafka_mock_set_apiversion(m.mc, 22, 0, 2);
        rd_kafka_mock_topic_create(m.mc, "fatal", 1, 1);
        tp_drs_t drs = {0};
        const char *props[] = {"enable.idempotence", "true", "retry.backoff.ms", "10", NULL};
        kc_producer_t *p = tp_producer(m.bootstrap, &drs, props);
        assert_non_null(p);
        assert_int_equal(tp_produce(p, "fatal", 0, NULL, "0", 0), 0);
        assert_int_equal(kc_flush(p, 10000), 0);
        assert_int_equal(drs.errors, 0);
        rd_kafka_mock_push_request_errors(m.mc, 0, 1,
                                          mode == 0 ? RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER
                                                    : RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
        assert_int_equal(tp_produce(p, "fatal", 0, NULL, "1", 1), 0);
        assert_int_equal(kc_flush(p, 10000), 0);
        assert_int_equal(drs.n, 2);
        assert_int_equal(drs.v[1].err, KC_ERR__FATAL);
        char why[256];
        kc_err_t fe = kc_fatal_error(p, why, sizeof(why));
        assert_int_equal(fe,
                         mode == 0 ? KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER : KC_ERR_PRODUCER_FENCED);
        assert_true(strlen(why) > 0);
        assert_int_equal(tp_produce(p, "fatal", 0, NULL, "2", 2), KC_ERR__FATAL);
        kc_producer_destroy(p, 1000);
        tp_drs_free(&drs);
        tmock_stop(&m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idem_epoch_bump),
        cmocka_unit_test(test_idem_fatal),
        cmocka_unit_test(test_idem_soak_mock),
        cmocka_unit_test_teardown(test_idem_soak_kcbroker, soak_kcbroker_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
