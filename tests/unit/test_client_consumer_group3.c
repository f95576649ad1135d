/* Three kc consumers in one group over a 6-partition topic on a kc-broker
 * process, committing each record after processing it: every record is
 * processed exactly once. One member is a separate process that is killed
 * with SIGKILL (no LeaveGroup); after the session times out the other two
 * take over its partitions from its committed offsets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>

#include "client_test_util.h"
#include "test_client_cgrp_util.h"
#include "test_client_consumer_util.h"

#define TOPIC  "g3"
#define GROUP  "g3-group"
#define NPART  6
#define PERP   100
#define SLOWUS 20000 /* the doomed member's processing time per record */

static tbroker_t broker;
static pid_t worker = -1;
static int to_worker = -1, from_worker = -1;

static kc_consumer_t *member(const char *bootstrap)
{
    return ctu_consumer(bootstrap, "group.id", GROUP, "enable.auto.commit", "false",
                        "auto.offset.reset", "earliest", "session.timeout.ms", "1500",
                        "heartbeat.interval.ms", "100", NULL);
}

/* The member that gets killed: a process of its own, forked before the test
 * program starts any thread. It reads the bootstrap address from its pipe,
 * consumes slowly, and reports "a N" when its assignment changes and
 * "r P O" for each record once its commit succeeded. */
static void worker_main(int in, int out)
{
    char addr[256];
    FILE *f = fdopen(in, "r");
    if (!f || !fgets(addr, sizeof(addr), f)) _exit(1);
    addr[strcspn(addr, "\n")] = '\0';
    kc_consumer_t *c = member(addr);
    if (!c) _exit(1);
    const char *topics[] = {TOPIC};
    if (kc_subscribe(c, topics, 1)) _exit(1);
    int last = -1;
    char line[64];
    for (;;) {
        kc_message_t *m = kc_consumer_poll(c, 50);
        kc_topic_partition_list_t *a = NULL;
        if (kc_assignment(c, &a) == 0 && a) {
            if (a->cnt != last) {
                last = a->cnt;
                int n = snprintf(line, sizeof(line), "a %d\n", last);
                if (write(out, line, (size_t)n) != n) _exit(1);
            }
            kc_topic_partition_list_destroy(a);
        }
        if (!m) continue;
        if (!m->err) {
            usleep(SLOWUS);
            if (kc_commit_message(c, m, 0) == 0) {
                int n = snprintf(line, sizeof(line), "r %d %lld\n", (int)m->partition,
                                 (long long)m->offset);
                if (write(out, line, (size_t)n) != n) _exit(1);
            }
        }
        kc_message_destroy(m);
    }
}

typedef struct tally {
    int seen[NPART][PERP];
    int total;
    int worker_assigned;
    int worker_records;
    char buf[4096];
    size_t len;
} tally_t;

static void count(tally_t *t, int p, long long o)
{
    assert_in_range(p, 0, NPART - 1);
    assert_in_range(o, 0, PERP - 1);
    if (t->seen[p][o]++ == 0) t->total++;
}

/* Reads whatever the worker wrote, without blocking. */
static void drain_worker(tally_t *t)
{
    struct pollfd pfd = {.fd = from_worker, .events = POLLIN};
    while (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)) {
        ssize_t n = read(from_worker, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
        if (n <= 0) return;
        t->len += (size_t)n;
        char *nl;
        while ((nl = memchr(t->buf, '\n', t->len)) != NULL) {
            *nl = '\0';
            int p;
            long long o;
            if (sscanf(t->buf, "a %d", &p) == 1) t->worker_assigned = p;
            if (sscanf(t->buf, "r %d %lld", &p, &o) == 2) {
                count(t, p, o);
                t->worker_records++;
            }
            size_t used = (size_t)(nl + 1 - t->buf);
            memmove(t->buf, nl + 1, t->len - used);
            t->len -= used;
        }
    }
}

static int assigned(kc_consumer_t *c)
{
    kc_topic_partition_list_t *a = NULL;
    if (kc_assignment(c, &a) || !a) return 0;
    int n = a->cnt;
    kc_topic_partition_list_destroy(a);
    return n;
}

/* Polls c once; a record is counted when its commit succeeded (a failed
 * commit means the record comes again, to whoever owns it next). */
static void poll_member(kc_consumer_t *c, tally_t *t)
{
    kc_message_t *m = kc_consumer_poll(c, 10);
    if (m && !m->err && kc_commit_message(c, m, 0) == 0) count(t, m->partition, m->offset);
    kc_message_destroy(m);
}

static void test_three_members_one_killed(void **state)
{
    (void)state;
    assert_true(worker > 0);
    assert_int_equal(gbroker_start(&broker), 0);
    assert_int_equal(ctu_create_topic(broker.addr, TOPIC, NPART), 0);
    static tally_t t;
    kc_consumer_t *a = member(broker.addr), *b = member(broker.addr);
    assert_non_null(a);
    assert_non_null(b);
    const char *topics[] = {TOPIC};
    assert_int_equal(kc_subscribe(a, topics, 1), 0);
    assert_int_equal(kc_subscribe(b, topics, 1), 0);
    char line[300];
    int n = snprintf(line, sizeof(line), "%s\n", broker.addr);
    assert_int_equal(write(to_worker, line, (size_t)n), n);

    /* Everyone joined and the six partitions are split three ways; only
     * then is there data, so the worker has records to die holding. */
    int64_t end = ctu_now_ms() + 30000;
    while (ctu_now_ms() < end) {
        poll_member(a, &t);
        poll_member(b, &t);
        drain_worker(&t);
        if (t.worker_assigned > 0 && assigned(a) > 0 && assigned(b) > 0 &&
            t.worker_assigned + assigned(a) + assigned(b) == NPART)
            break;
    }
    assert_true(t.worker_assigned > 0);
    for (int p = 0; p < NPART; p++)
        assert_int_equal(ctu_produce(broker.addr, TOPIC, p, PERP, 0, "none", 0, 0, NULL, NULL), 0);

    /* The worker has committed some of its records: kill it mid-stream. */
    end = ctu_now_ms() + 30000;
    while (t.worker_records < 10 && ctu_now_ms() < end) {
        poll_member(a, &t);
        poll_member(b, &t);
        drain_worker(&t);
    }
    assert_true(t.worker_records >= 10);
    kill(worker, SIGKILL);
    waitpid(worker, NULL, 0);
    worker = -1;
    drain_worker(&t);
    /* The worker reports a record after its commit returned; killed between
     * the two, its last record is committed but unreported. That one record
     * (the committed offset - 1 of one partition) is counted as the
     * worker's; any other record below a committed offset that nobody
     * reported is still a failure below. */
    kc_topic_partition_list_t *cl = kc_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++)
        kc_topic_partition_list_add(cl, TOPIC, p);
    assert_int_equal(kc_committed(a, cl, 10000), 0);
    int unreported = 0;
    for (int i = 0; i < cl->cnt; i++) {
        int64_t c = cl->elems[i].offset;
        if (c > 0 && c <= PERP && t.seen[cl->elems[i].partition][c - 1] == 0) {
            count(&t, cl->elems[i].partition, c - 1);
            t.worker_records++;
            unreported++;
        }
    }
    kc_topic_partition_list_destroy(cl);
    assert_true(unreported <= 1);
    int worker_total = t.worker_records;
    /* It held two partitions of 100 records and processed 20 ms each. */
    assert_true(worker_total < t.worker_assigned * PERP);

    /* The two left take over after session.timeout.ms and finish. */
    end = ctu_now_ms() + 60000;
    while (t.total < NPART * PERP && ctu_now_ms() < end) {
        poll_member(a, &t);
        poll_member(b, &t);
    }
    assert_int_equal(assigned(a) + assigned(b), NPART);
    for (int p = 0; p < NPART; p++)
        for (int o = 0; o < PERP; o++)
            if (t.seen[p][o] != 1)
                fail_msg("partition %d offset %d seen %d times", p, o, t.seen[p][o]);
    assert_int_equal(t.total, NPART * PERP);
    assert_int_equal(kc_consumer_close(a), 0);
    assert_int_equal(kc_consumer_close(b), 0);
    kc_consumer_destroy(a);
    kc_consumer_destroy(b);
    tbroker_stop(&broker);
}

int main(void)
{
    int down[2], up[2];
    if (pipe(down) || pipe(up)) return 1;
    worker = fork();
    if (worker == 0) {
        close(down[1]);
        close(up[0]);
        worker_main(down[0], up[1]);
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    to_worker = down[1];
    from_worker = up[0];
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_members_one_killed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (worker > 0) {
        kill(worker, SIGKILL);
        waitpid(worker, NULL, 0);
    }
    return rc;
}
