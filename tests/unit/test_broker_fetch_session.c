/* Fetch sessions (KIP-227) through the protocol: creation, incremental
 * requests and responses with only what changed, forgotten partitions,
 * epochs, unknown sessions, closing, LRU eviction, and sessions that outlive
 * their connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker_harness.h"
#include "fetch_test_util.h"

typedef struct sreq {
    int32_t session_id, epoch;
    const char *topic;
    const int32_t *parts; /* partitions to list */
    const int64_t *offsets;
    int nparts;
    const int32_t *forget; /* partitions of `topic` to forget */
    int nforget;
} sreq_t;

typedef struct sreply {
    proto_fetch_response_t resp;
    proto_arena_t arena;
    uint8_t *frame;
} sreply_t;

static void sreply_free(sreply_t *r)
{
    free(r->frame);
    proto_arena_destroy(&r->arena);
}

static int16_t ver_ = 12;

static void sfetch(harness_t *h, int fd, const sreq_t *s, sreply_t *out)
{
    proto_arena_t a;
    proto_arena_init(&a);
    proto_fetch_request_t req;
    proto_msg_init(&proto_fetch_request_desc, &req);
    req.max_wait_ms = 0;
    req.min_bytes = 1;
    req.max_bytes = 1 << 20;
    req.session_id = s->session_id;
    req.session_epoch = s->epoch;
    proto_uuid_t id = topic_id_of(h, s->topic);
    proto_fetch_request_fetch_topic_t *t = proto_arena_alloc(&a, sizeof(*t));
    proto_struct_init(&proto_fetch_request_fetch_topic_sdesc, t);
    if (ver_ >= 13)
        t->topic_id = id;
    else
        t->topic = proto_str_of(s->topic);
    proto_fetch_request_fetch_partition_t *ps =
        proto_arena_alloc(&a, sizeof(*ps) * (size_t)(s->nparts + 1));
    for (int i = 0; i < s->nparts; i++) {
        proto_struct_init(&proto_fetch_request_fetch_partition_sdesc, &ps[i]);
        ps[i].partition = s->parts[i];
        ps[i].fetch_offset = s->offsets[i];
        ps[i].partition_max_bytes = 1 << 20;
    }
    t->partitions.v = ps;
    t->partitions.n = s->nparts;
    req.topics.v = t;
    req.topics.n = s->nparts ? 1 : 0;
    if (s->nforget) {
        proto_fetch_request_forgotten_topic_t *f = proto_arena_alloc(&a, sizeof(*f));
        proto_struct_init(&proto_fetch_request_forgotten_topic_sdesc, f);
        if (ver_ >= 13)
            f->topic_id = id;
        else
            f->topic = proto_str_of(s->topic);
        f->partitions.v = (int32_t *)s->forget;
        f->partitions.n = s->nforget;
        req.forgotten_topics_data.v = f;
        req.forgotten_topics_data.n = 1;
    }
    proto_arena_init(&out->arena);
    out->frame = harness_call(fd, PROTO_API_FETCH, ver_, &req, &out->resp, &out->arena);
    proto_arena_destroy(&a);
    assert_non_null(out->frame);
}

/* The partitions a response lists (in order) into parts[]; returns count. */
static int listed(const sreply_t *r, int32_t *parts, int max)
{
    int n = 0;
    for (int32_t i = 0; i < r->resp.responses.n; i++)
        for (int32_t j = 0; j < r->resp.responses.v[i].partitions.n && n < max; j++)
            parts[n++] = r->resp.responses.v[i].partitions.v[j].partition_index;
    return n;
}

static const proto_fetch_response_partition_data_t *part_of(const sreply_t *r, int32_t p)
{
    for (int32_t i = 0; i < r->resp.responses.n; i++)
        for (int32_t j = 0; j < r->resp.responses.v[i].partitions.n; j++)
            if (r->resp.responses.v[i].partitions.v[j].partition_index == p)
                return &r->resp.responses.v[i].partitions.v[j];
    return NULL;
}

static harness_t H;

static int setup(void **state)
{
    harness_start(&H, NULL);
    assert_int_equal(topic_make(&H, "s", 3), 0);
    for (int32_t p = 0; p < 3; p++)
        assert_true(append_batch(&H, "s", p, 2, 10) >= 0);
    *state = &H;
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    return 0;
}

static void run_incremental(harness_t *h, const char *tp)
{
    int fd = harness_connect(h);
    static const int32_t all[3] = {0, 1, 2};
    int64_t offs[3] = {0, 0, 0};
    int64_t ends[3];
    sreply_t r;
    /* Create: a full response (every partition) with a new session id. */
    sreq_t q = {0, 0, tp, all, offs, 3, NULL, 0};
    sfetch(h, fd, &q, &r);
    assert_int_equal(r.resp.error_code, 0);
    int32_t sid = r.resp.session_id;
    assert_true(sid != 0);
    int32_t got[8];
    assert_int_equal(listed(&r, got, 8), 3);
    for (int32_t p = 0; p < 3; p++)
        ends[p] = part_of(&r, p)->high_watermark;
    sreply_free(&r);

    /* Epoch 1, the client moved every offset to the end: nothing new, so
     * nothing listed. */
    sreq_t q1 = {sid, 1, tp, all, ends, 3, NULL, 0};
    sfetch(h, fd, &q1, &r);
    assert_int_equal(r.resp.error_code, 0);
    assert_int_equal(r.resp.session_id, sid);
    assert_int_equal(listed(&r, got, 8), 0);
    sreply_free(&r);

    /* New data on partition 1 only: only partition 1, and the request lists
     * no partition at all (nothing changed on the client's side). */
    assert_true(append_batch(h, tp, 1, 3, 10) >= 0);
    sreq_t q2 = {sid, 2, tp, NULL, NULL, 0, NULL, 0};
    sfetch(h, fd, &q2, &r);
    assert_int_equal(r.resp.error_code, 0);
    assert_int_equal(listed(&r, got, 8), 1);
    assert_int_equal(got[0], 1);
    assert_int_equal(count_records(part_of(&r, 1)->records, NULL, NULL), 3);
    int64_t hw1 = part_of(&r, 1)->high_watermark;
    sreply_free(&r);

    /* The session still fetches partition 1 at its old offset until told
     * otherwise; tell it, and forget partition 2. */
    static const int32_t one[1] = {1};
    static const int32_t two[1] = {2};
    sreq_t q3 = {sid, 3, tp, one, &hw1, 1, two, 1};
    sfetch(h, fd, &q3, &r);
    assert_int_equal(listed(&r, got, 8), 0);
    sreply_free(&r);
    /* Data on the forgotten partition is not listed any more. */
    assert_true(append_batch(h, tp, 2, 1, 10) >= 0);
    assert_true(append_batch(h, tp, 0, 1, 10) >= 0);
    sreq_t q4 = {sid, 4, tp, NULL, NULL, 0, NULL, 0};
    sfetch(h, fd, &q4, &r);
    assert_int_equal(listed(&r, got, 8), 1);
    assert_int_equal(got[0], 0);
    sreply_free(&r);

    /* A changed log start offset is news too (DeleteRecords), even without
     * records. Partition 0's offset stays where it was (its end - 1). */
    close(fd);
    fd = harness_connect(h); /* sessions belong to the broker, not the connection */
    proto_delete_records_request_t dr;
    proto_msg_init(&proto_delete_records_request_desc, &dr);
    proto_delete_records_request_delete_records_partition_t drp = {.partition_index = 1,
                                                                   .offset = 1};
    proto_delete_records_request_delete_records_topic_t drt = {.name = proto_str_of(tp),
                                                               .partitions = {.v = &drp, .n = 1}};
    dr.topics.v = &drt;
    dr.topics.n = 1;
    dr.timeout_ms = 1000;
    proto_delete_records_response_t drr;
    proto_arena_t da;
    proto_arena_init(&da);
    uint8_t *f = harness_call(fd, PROTO_API_DELETE_RECORDS, 1, &dr, &drr, &da);
    assert_non_null(f);
    assert_int_equal(drr.topics.v[0].partitions.v[0].error_code, 0);
    free(f);
    proto_arena_destroy(&da);
    sreq_t q5 = {sid, 5, tp, NULL, NULL, 0, NULL, 0};
    sfetch(h, fd, &q5, &r);
    /* Partition 0 still has the batch the client did not move past. */
    assert_int_equal(listed(&r, got, 8), 2);
    assert_non_null(part_of(&r, 1));
    assert_int_equal(part_of(&r, 1)->log_start_offset, 1);
    assert_int_equal(part_of(&r, 1)->records.len, 0);
    sreply_free(&r);

    /* Wrong epoch; unknown session; then the session is closed. */
    sreq_t bad = {sid, 5, tp, NULL, NULL, 0, NULL, 0};
    sfetch(h, fd, &bad, &r);
    assert_int_equal(r.resp.error_code, KC_ERR_INVALID_FETCH_SESSION_EPOCH);
    assert_int_equal(r.resp.responses.n, 0);
    sreply_free(&r);
    sreq_t unknown = {sid ^ 0x5a5a, 1, tp, NULL, NULL, 0, NULL, 0};
    sfetch(h, fd, &unknown, &r);
    assert_int_equal(r.resp.error_code, KC_ERR_FETCH_SESSION_ID_NOT_FOUND);
    sreply_free(&r);
    /* (N, -1) closes N and fetches without a session. */
    sreq_t closing = {sid, -1, tp, all, offs, 3, NULL, 0};
    sfetch(h, fd, &closing, &r);
    assert_int_equal(r.resp.error_code, 0);
    assert_int_equal(r.resp.session_id, 0);
    assert_int_equal(listed(&r, got, 8), 3);
    sreply_free(&r);
    sreq_t after = {sid, 6, tp, NULL, NULL, 0, NULL, 0};
    sfetch(h, fd, &after, &r);
    assert_int_equal(r.resp.error_code, KC_ERR_FETCH_SESSION_ID_NOT_FOUND);
    sreply_free(&r);
    close(fd);
}

static void test_incremental_by_name(void **state)
{
    ver_ = 12;
    run_incremental(*state, "s");
}

static void test_incremental_by_id(void **state)
{
    ver_ = 13;
    harness_t *h = *state;
    assert_int_equal(topic_make(h, "s2", 3), 0);
    for (int32_t p = 0; p < 3; p++)
        assert_true(append_batch(h, "s2", p, 2, 10) >= 0);
    /* The same on a fresh topic (the first one's partition 1 start moved). */
    run_incremental(h, "s2");
    ver_ = 12;
}

/* A session made with names cannot go on with ids (v13+). */
static void test_topic_id_mismatch(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    static const int32_t p0[1] = {0};
    static const int64_t o0[1] = {0};
    sreply_t r;
    ver_ = 12;
    sreq_t q = {0, 0, "s", p0, o0, 1, NULL, 0};
    sfetch(h, fd, &q, &r);
    int32_t sid = r.resp.session_id;
    assert_true(sid != 0);
    sreply_free(&r);
    ver_ = 13;
    sreq_t q1 = {sid, 1, "s", NULL, NULL, 0, NULL, 0};
    sfetch(h, fd, &q1, &r);
    assert_int_equal(r.resp.error_code, KC_ERR_FETCH_SESSION_TOPIC_ID_ERROR);
    sreply_free(&r);
    /* A v13 session works by id. */
    sreq_t q2 = {0, 0, "s", p0, o0, 1, NULL, 0};
    sfetch(h, fd, &q2, &r);
    sid = r.resp.session_id;
    assert_true(sid != 0);
    assert_int_equal(r.resp.responses.n, 1);
    sreply_free(&r);
    assert_true(append_batch(h, "s", 0, 1, 10) >= 0);
    sreq_t q3 = {sid, 1, "s", NULL, NULL, 0, NULL, 0};
    sfetch(h, fd, &q3, &r);
    assert_int_equal(r.resp.error_code, 0);
    assert_int_equal(r.resp.responses.n, 1);
    proto_uuid_t id = topic_id_of(h, "s");
    assert_memory_equal(&r.resp.responses.v[0].topic_id, &id, sizeof(id));
    sreply_free(&r);
    ver_ = 12;
    close(fd);
}

typedef struct slots_arg {
    int slots;
    int count;
} slots_arg_t;

static void slots_cb(harness_t *h, void *arg)
{
    slots_arg_t *s = arg;
    if (s->slots >= 0) fetch_session_set_slots(h->broker, s->slots);
    s->count = fetch_session_count(h->broker);
}

/* A full cache evicts the least recently used session. */
static void test_eviction(void **state)
{
    harness_t *h = *state;
    slots_arg_t sa = {2, 0};
    harness_on_loop(h, slots_cb, &sa);
    int fd = harness_connect(h);
    static const int32_t p0[1] = {0};
    static const int64_t o0[1] = {0};
    int32_t sid[3];
    sreply_t r;
    for (int i = 0; i < 2; i++) {
        sreq_t q = {0, 0, "s", p0, o0, 1, NULL, 0};
        sfetch(h, fd, &q, &r);
        sid[i] = r.resp.session_id;
        assert_true(sid[i] != 0);
        sreply_free(&r);
    }
    /* Use session 0, so session 1 is the least recently used. */
    sreq_t use0 = {sid[0], 1, "s", NULL, NULL, 0, NULL, 0};
    sfetch(h, fd, &use0, &r);
    assert_int_equal(r.resp.error_code, 0);
    sreply_free(&r);
    sreq_t q = {0, 0, "s", p0, o0, 1, NULL, 0};
    sfetch(h, fd, &q, &r);
    sid[2] = r.resp.session_id;
    assert_true(sid[2] != 0);
    sreply_free(&r);
    sreq_t use1 = {sid[1], 1, "s", NULL, NULL, 0, NULL, 0};
    sfetch(h, fd, &use1, &r);
    assert_int_equal(r.resp.error_code, KC_ERR_FETCH_SESSION_ID_NOT_FOUND);
    sreply_free(&r);
    sreq_t use0b = {sid[0], 2, "s", NULL, NULL, 0, NULL, 0};
    sfetch(h, fd, &use0b, &r);
    assert_int_equal(r.resp.error_code, 0);
    sreply_free(&r);
    /* No slots: a full request is answered without a session. */
    sa.slots = 0;
    harness_on_loop(h, slots_cb, &sa);
    assert_int_equal(sa.count, 0);
    sfetch(h, fd, &q, &r);
    assert_int_equal(r.resp.error_code, 0);
    assert_int_equal(r.resp.session_id, 0);
    assert_int_equal(r.resp.responses.n, 1);
    sreply_free(&r);
    sa.slots = FETCH_SESSION_SLOTS_DEFAULT;
    harness_on_loop(h, slots_cb, &sa);
    close(fd);
}

/* An incremental fetch with nothing new parks like any other and wakes on
 * an append to one of the session's partitions. */
static void test_incremental_long_poll(void **state)
{
    harness_t *h = *state;
    assert_int_equal(topic_make(h, "sp", 2), 0);
    int fd = harness_connect(h);
    static const int32_t both[2] = {0, 1};
    static const int64_t zero[2] = {0, 0};
    sreply_t r;
    ver_ = 12;
    sreq_t q = {0, 0, "sp", both, zero, 2, NULL, 0};
    sfetch(h, fd, &q, &r);
    int32_t sid = r.resp.session_id;
    sreply_free(&r);
    proto_fetch_request_t req;
    proto_msg_init(&proto_fetch_request_desc, &req);
    req.max_wait_ms = 30000;
    req.min_bytes = 1;
    req.session_id = sid;
    req.session_epoch = 1;
    int32_t corr = harness_send(fd, PROTO_API_FETCH, 12, &req);
    assert_true(wait_parked(h, "sp", 1, 1));
    assert_true(append_batch(h, "sp", 1, 2, 10) >= 0);
    proto_arena_init(&r.arena);
    r.frame = harness_recv(fd, PROTO_API_FETCH, 12, corr, &r.resp, &r.arena, 20000);
    assert_non_null(r.frame);
    int32_t got[4];
    assert_int_equal(listed(&r, got, 4), 1);
    assert_int_equal(got[0], 1);
    assert_int_equal(count_records(part_of(&r, 1)->records, NULL, NULL), 2);
    sreply_free(&r);
    close(fd);
}

int main(void)
{
    (void)harness_restart;
    (void)harness_closed;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incremental_by_name),   cmocka_unit_test(test_incremental_by_id),
        cmocka_unit_test(test_topic_id_mismatch),     cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_incremental_long_poll),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
