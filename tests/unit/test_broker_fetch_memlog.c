/* Fetch over an in-memory log (as the mock cluster will have) in a
 * two-node in-process cluster: ranges with `mem` go out as evbuffer
 * references and their holds are released once sent; a partition led by the
 * other node answers NOT_LEADER_OR_FOLLOWER there and data on its leader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker_harness.h"
#include "fetch_test_util.h"

/* ---- A minimal in-memory log: one chunk per append, refcounted ---------- */

typedef struct chunk {
    uint8_t *bytes;
    size_t len;
    int64_t base, last;
    int refs; /* 1 for the log while it holds the chunk + one per range */
} chunk_t;

typedef struct memlog {
    broker_log_t pub;
    chunk_t **c;
    int n, cap;
    int64_t end;
} memlog_t;

static int live_holds;

static void chunk_unref(void *hold)
{
    chunk_t *c = hold;
    live_holds--;
    if (--c->refs == 0) {
        free(c->bytes);
        free(c);
    }
}

static int ml_append(broker_log_t *log, void *data, size_t len, int64_t now_ms,
                     broker_log_append_info_t *info, char *errstr, size_t errstr_size)
{
    (void)now_ms;
    memlog_t *m = (memlog_t *)log;
    chunk_t *c = calloc(1, sizeof(*c));
    c->bytes = malloc(len);
    memcpy(c->bytes, data, len);
    c->len = len;
    c->base = m->end;
    c->refs = 1;
    size_t at = 0;
    while (at < len) {
        proto_batch_header_t h;
        if (proto_batch_header_parse(c->bytes + at, len - at, &h, errstr, errstr_size)) {
            free(c->bytes);
            free(c);
            return KC_ERR_CORRUPT_MESSAGE;
        }
        proto_batch_set_base_offset(c->bytes + at, m->end);
        m->end += h.last_offset_delta + 1;
        at += proto_batch_size(&h);
    }
    c->last = m->end - 1;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->c = realloc(m->c, (size_t)m->cap * sizeof(*m->c));
    }
    m->c[m->n++] = c;
    info->base_offset = c->base;
    info->last_offset = c->last;
    info->start = 0;
    return 0;
}

static int ml_read(broker_log_t *log, int64_t offset, int64_t max_offset, size_t max_bytes,
                   broker_log_range_t *out, char *errstr, size_t errstr_size)
{
    (void)max_offset;
    (void)max_bytes;
    memlog_t *m = (memlog_t *)log;
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    if (offset < 0 || offset > m->end) {
        snprintf(errstr, errstr_size, "out of range");
        return KC_ERR_OFFSET_OUT_OF_RANGE;
    }
    for (int i = 0; i < m->n; i++) {
        chunk_t *c = m->c[i];
        if (offset < c->base || offset > c->last) continue;
        c->refs++;
        live_holds++;
        out->mem = c->bytes;
        out->len = c->len;
        out->first_offset = c->base;
        out->hold = c;
        out->release = chunk_unref;
        return 0;
    }
    return 0;
}

static int ml_flush(broker_log_t *log, int64_t *flushed, char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    if (flushed) *flushed = ((memlog_t *)log)->end;
    return 0;
}

static int ml_flush_begin(broker_log_t *log, broker_log_flush_t **ticket, char *errstr,
                          size_t errstr_size)
{
    (void)log;
    (void)ticket;
    snprintf(errstr, errstr_size, "not supported");
    return KC_ERR__STATE;
}

static int ml_flush_end(broker_log_t *log, broker_log_flush_t *ticket, int rc, int64_t *flushed)
{
    (void)log;
    (void)ticket;
    (void)flushed;
    return rc;
}

static int ml_advance(broker_log_t *log, int64_t offset, char *errstr, size_t errstr_size)
{
    (void)log;
    (void)offset;
    snprintf(errstr, errstr_size, "not supported");
    return KC_ERR__STATE;
}

static int ml_retain(broker_log_t *log, int64_t now, int *deleted, char *errstr, size_t size)
{
    (void)log;
    (void)now;
    (void)errstr;
    (void)size;
    if (deleted) *deleted = 0;
    return 0;
}

static int ml_for_time(broker_log_t *log, int64_t ts, broker_log_ts_hit_t *hit, char *errstr,
                       size_t size)
{
    (void)log;
    (void)ts;
    (void)errstr;
    (void)size;
    hit->offset = hit->timestamp = hit->last_offset = -1;
    return 0;
}

static void ml_offsets(broker_log_t *log, broker_log_offsets_t *out)
{
    memlog_t *m = (memlog_t *)log;
    memset(out, 0, sizeof(*out));
    out->end = out->flushed = m->end;
    out->segments = 1;
}

static int ml_close(broker_log_t *log, char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    memlog_t *m = (memlog_t *)log;
    for (int i = 0; i < m->n; i++) {
        live_holds++; /* chunk_unref counts one down */
        chunk_unref(m->c[i]);
    }
    free(m->c);
    free(m);
    return 0;
}

static broker_log_ops_t ml_ops;

static int ml_open(broker_t *b, broker_topic_t *t, int32_t partition, broker_log_t **out,
                   char *errstr, size_t errstr_size)
{
    (void)b;
    (void)t;
    (void)partition;
    (void)errstr;
    (void)errstr_size;
    ml_ops = (broker_log_ops_t){0};
    ml_ops.append = ml_append;
    ml_ops.read = ml_read;
    ml_ops.flush = ml_flush;
    ml_ops.flush_begin = ml_flush_begin;
    ml_ops.flush_end = ml_flush_end;
    ml_ops.advance_start = ml_advance;
    ml_ops.retain = ml_retain;
    ml_ops.offset_for_time = ml_for_time;
    ml_ops.offsets = ml_offsets;
    ml_ops.close = ml_close;
    memlog_t *m = calloc(1, sizeof(*m));
    m->pub.ops = &ml_ops;
    *out = &m->pub;
    return 0;
}

/* ---- A two-node in-memory cluster ------------------------------------------------ */

static harness_t H;

static int setup(void **state)
{
    memset(&H, 0, sizeof(H));
    snprintf(H.dir, sizeof(H.dir), "/tmp/kc-test-memlog-unused");
    evthread_use_pthreads();
    util_log_set_level(getenv("KC_TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
    char *argv[] = {"kc-broker", "--override", "listeners=PLAINTEXT://127.0.0.1:0", "--override",
                    "log.dirs=/tmp/kc-test-memlog-unused"};
    char err[256];
    assert_int_equal(broker_conf_from_argv(&H.conf, 5, argv, err, sizeof(err)), 0);
    H.base = event_base_new();
    broker_opts_t opts = {.node_count = 2, .first_node_id = 1, .open_log = ml_open};
    H.broker = broker_new(H.base, &H.conf, &opts, err, sizeof(err));
    if (!H.broker) fail_msg("broker: %s", err);
    H.port = broker_server_port(H.broker->nodes[0].server, 0);
    pthread_create(&H.thread, NULL, harness_loop_, &H);
    *state = &H;
    return 0;
}

static int teardown(void **state)
{
    harness_shutdown_(*state);
    return 0;
}

typedef struct leader_q {
    const char *topic;
    int32_t partition;
    int32_t leader;
} leader_q_t;

static void leader_q_cb(harness_t *h, void *arg)
{
    leader_q_t *q = arg;
    q->leader = broker_partition_find(h->broker, proto_str_of(q->topic), q->partition)->leader_id;
}

static int16_t fetch_from(harness_t *h, int node_index, const char *topic, int32_t partition,
                          int *records)
{
    int saved = h->port;
    h->port = broker_server_port(h->broker->nodes[node_index].server, 0);
    int fd = harness_connect(h);
    h->port = saved;
    proto_fetch_request_t req;
    proto_msg_init(&proto_fetch_request_desc, &req);
    req.max_wait_ms = 0;
    req.min_bytes = 1;
    proto_fetch_request_fetch_partition_t p;
    proto_struct_init(&proto_fetch_request_fetch_partition_sdesc, &p);
    p.partition = partition;
    p.fetch_offset = 0;
    p.partition_max_bytes = 1 << 20;
    proto_fetch_request_fetch_topic_t t;
    proto_struct_init(&proto_fetch_request_fetch_topic_sdesc, &t);
    t.topic_id = topic_id_of(h, topic); /* v16: by id */
    t.partitions.v = &p;
    t.partitions.n = 1;
    req.topics.v = &t;
    req.topics.n = 1;
    proto_fetch_response_t resp;
    proto_arena_t a;
    proto_arena_init(&a);
    uint8_t *f = harness_call(fd, PROTO_API_FETCH, 16, &req, &resp, &a);
    assert_non_null(f);
    const proto_fetch_response_partition_data_t *pd = &resp.responses.v[0].partitions.v[0];
    int16_t err = pd->error_code;
    *records = count_records(pd->records, NULL, NULL);
    if (err == KC_ERR_NOT_LEADER_OR_FOLLOWER) {
        leader_q_t q = {topic, partition, -1};
        harness_on_loop(h, leader_q_cb, &q);
        assert_int_equal(pd->current_leader.leader_id, q.leader);
        assert_int_equal(resp.node_endpoints.n, 2);
    }
    free(f);
    proto_arena_destroy(&a);
    close(fd);
    return err;
}

static void holds_cb(harness_t *h, void *arg)
{
    (void)h;
    *(int *)arg = live_holds;
}

static void test_memory_log_two_nodes(void **state)
{
    harness_t *h = *state;
    assert_int_equal(topic_make(h, "m", 2), 0);
    for (int32_t p = 0; p < 2; p++)
        for (int i = 0; i < 3; i++)
            assert_true(append_batch(h, "m", p, 4, 100) >= 0);
    for (int32_t p = 0; p < 2; p++) {
        leader_q_t q = {"m", p, -1};
        harness_on_loop(h, leader_q_cb, &q);
        int leader_index = q.leader - 1, other = 1 - leader_index;
        int n = 0;
        assert_int_equal(fetch_from(h, leader_index, "m", p, &n), 0);
        assert_int_equal(n, 4); /* one chunk: one append */
        assert_int_equal(fetch_from(h, other, "m", p, &n), KC_ERR_NOT_LEADER_OR_FOLLOWER);
        assert_int_equal(n, 0);
    }
    /* Every hold went back once its bytes were sent. */
    int holds = -1;
    for (int i = 0; i < 1000 && holds != 0; i++) {
        harness_on_loop(h, holds_cb, &holds);
        if (holds) usleep(1000);
    }
    assert_int_equal(holds, 0);
}

int main(void)
{
    (void)harness_restart;
    (void)harness_stop;
    (void)harness_start;
    (void)harness_closed;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_log_two_nodes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
