/* Committed offsets and group administration through the protocol:
 * standalone (generation -1) commits, per-partition errors, OffsetFetch in
 * its versions, restart and crash replay of the journal, its compaction,
 * retention, DescribeGroups/ListGroups/DeleteGroups/OffsetDelete. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "groups/groups_int.h"
#include "groups_test_util.h"

static int setup(void **state)
{
    static harness_t h;
    static const char *const overrides[] = {"group.initial.rebalance.delay.ms=0",
                                            "group.min.session.timeout.ms=100", "num.partitions=2",
                                            "offsets.retention.minutes=1", NULL};
    harness_start(&h, overrides);
    *state = &h;
    int fd = harness_connect(&h);
    gt_create_topic(fd, "t1");
    gt_create_topic(fd, "t2");
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    return 0;
}

static void journal_path(harness_t *h, char *out, size_t cap)
{
    snprintf(out, cap, "%s/kc-metadata/groups/journal", h->dir);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void test_standalone_commit_and_fetch(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    assert_int_equal(gt_fetch(fd, "g-simple", "t1", 0, NULL), -1); /* unknown group */
    assert_int_equal(gt_commit(fd, 2, "g-simple", -1, "", "t1", 0, 5, NULL), 0);
    assert_int_equal(gt_commit(fd, 8, "g-simple", -1, "", "t1", 1, 9, "m"), 0);
    assert_int_equal(gt_fetch(fd, "g-simple", "t1", 0, NULL), 5);
    char meta[256];
    assert_int_equal(gt_fetch(fd, "g-simple", "t1", 1, meta), 9);
    assert_string_equal(meta, "m");
    assert_int_equal(gt_commit(fd, 8, "g-simple", -1, "", "nope", 0, 1, NULL),
                     KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(gt_commit(fd, 8, "g-simple", -1, "", "t1", 7, 1, NULL),
                     KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    char big[GROUP_OFFSET_METADATA_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(gt_commit(fd, 8, "g-simple", -1, "", "t1", 0, 6, big),
                     KC_ERR_OFFSET_METADATA_TOO_LARGE);
    big[GROUP_OFFSET_METADATA_MAX] = '\0'; /* exactly the limit is fine */
    assert_int_equal(gt_commit(fd, 8, "g-simple", -1, "", "t1", 0, 6, big), 0);
    /* A generation for a group that does not exist is stale. */
    assert_int_equal(gt_commit(fd, 8, "g-none", 3, "x", "t1", 0, 1, NULL),
                     KC_ERR_ILLEGAL_GENERATION);
    char st[64];
    assert_int_equal(gt_describe(fd, "g-simple", st, NULL), 0);
    assert_string_equal(st, "Empty");
    close(fd);
}

/* OffsetFetch v1 (per-partition), v2-7 (null topics = all) and v8 (groups). */
static void test_fetch_versions(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    assert_int_equal(gt_commit(fd, 8, "g-fv", -1, "", "t2", 1, 21, NULL), 0);
    assert_int_equal(gt_commit(fd, 8, "g-fv", -1, "", "t1", 0, 10, NULL), 0);
    assert_int_equal(gt_commit(fd, 8, "g-fv", -1, "", "t2", 0, 20, NULL), 0);

    proto_offset_fetch_request_t req;
    proto_msg_init(&proto_offset_fetch_request_desc, &req);
    req.group_id = proto_str_of("g-fv");
    req.topics.n = -1;
    proto_offset_fetch_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_OFFSET_FETCH, 5, &req, &resp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(resp.topics.n, 2);
    assert_true(proto_str_eq(resp.topics.v[0].name, "t1"));
    assert_true(proto_str_eq(resp.topics.v[1].name, "t2"));
    assert_int_equal(resp.topics.v[1].partitions.n, 2);
    assert_int_equal(resp.topics.v[1].partitions.v[0].committed_offset, 20);
    assert_int_equal(resp.topics.v[1].partitions.v[1].committed_offset, 21);
    gt_done(&r);

    int32_t parts[2] = {0, 1};
    proto_offset_fetch_request_topics_t t = {proto_str_of("t2"), {parts, 2}};
    proto_offset_fetch_request_group_t groups[2];
    proto_struct_init(&proto_offset_fetch_request_group_sdesc, &groups[0]);
    proto_struct_init(&proto_offset_fetch_request_group_sdesc, &groups[1]);
    groups[0].group_id = proto_str_of("g-fv");
    groups[0].topics.v = &t;
    groups[0].topics.n = 1;
    groups[1].group_id = proto_str_of("g-fv");
    groups[1].topics.n = -1;
    proto_msg_init(&proto_offset_fetch_request_desc, &req);
    req.groups.v = groups;
    req.groups.n = 2;
    req.require_stable = 1;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_OFFSET_FETCH, 8, &req, &resp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(resp.groups.n, 2);
    assert_int_equal(resp.groups.v[0].topics.v[0].partitions.v[1].committed_offset, 21);
    assert_int_equal(resp.groups.v[1].topics.n, 2);
    gt_done(&r);

    proto_offset_fetch_request_topic_t t1 = {proto_str_of("t1"), {parts, 2}};
    proto_msg_init(&proto_offset_fetch_request_desc, &req);
    req.group_id = proto_str_of("g-fv");
    req.topics.v = &t1;
    req.topics.n = 1;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_OFFSET_FETCH, 1, &req, &resp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(resp.topics.v[0].partitions.v[0].committed_offset, 10);
    assert_int_equal(resp.topics.v[0].partitions.v[1].committed_offset, -1);
    gt_done(&r);
    close(fd);
}

static void test_offsets_survive_restart(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    gt_member_t m = {.fd = fd};
    int32_t corr = gt_join_start(&m, "g-restart", 10000);
    assert_int_equal(gt_join_recv(&m, 5, corr, 10000), 0);
    gt_member_t *all[] = {&m};
    assert_int_equal(gt_sync_recv(&m, gt_sync_send(&m, "g-restart", all, 1), NULL), 0);
    assert_int_equal(gt_commit(fd, 8, "g-restart", m.generation, m.id, "t1", 0, 77, "x"), 0);
    close(fd);
    harness_restart(h);
    fd = harness_connect(h);
    char meta[256];
    assert_int_equal(gt_fetch(fd, "g-restart", "t1", 0, meta), 77);
    assert_string_equal(meta, "x");
    /* The group comes back Empty with its protocol type and generation. */
    char st[64];
    assert_int_equal(gt_describe(fd, "g-restart", st, NULL), 0);
    assert_string_equal(st, "Empty");
    m.fd = fd;
    assert_int_equal(gt_heartbeat(&m, "g-restart"), KC_ERR_UNKNOWN_MEMBER_ID);
    gt_member_t m2 = {.fd = fd};
    corr = gt_join_start(&m2, "g-restart", 10000);
    assert_int_equal(gt_join_recv(&m2, 5, corr, 10000), 0);
    assert_int_equal(m2.generation, m.generation + 1); /* the generation survived */
    close(fd);
}

/* A crash tears the last record: replay keeps everything before it, cuts
 * the tail, and appends after it. */
static void test_journal_torn_tail(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    assert_int_equal(gt_commit(fd, 8, "g-crash", -1, "", "t1", 0, 100, NULL), 0);
    assert_int_equal(gt_commit(fd, 8, "g-crash", -1, "", "t1", 1, 200, NULL), 0);
    close(fd);
    harness_shutdown_(h);
    char path[512];
    journal_path(h, path, sizeof(path));
    off_t size = file_size(path);
    assert_true(size > 20);
    assert_int_equal(truncate(path, size - 3), 0);
    harness_start_(h, harness_overrides_);
    fd = harness_connect(h);
    assert_int_equal(gt_fetch(fd, "g-crash", "t1", 0, NULL), 100);
    assert_int_equal(gt_fetch(fd, "g-crash", "t1", 1, NULL), -1);
    assert_int_equal(gt_commit(fd, 8, "g-crash", -1, "", "t1", 1, 201, NULL), 0);
    close(fd);
    harness_restart(h);
    fd = harness_connect(h);
    assert_int_equal(gt_fetch(fd, "g-crash", "t1", 0, NULL), 100);
    assert_int_equal(gt_fetch(fd, "g-crash", "t1", 1, NULL), 201);
    close(fd);

    /* Garbage after good records (a CRC mismatch) is cut the same way. */
    harness_shutdown_(h);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fwrite("\0\0\0\x10garbagegarbage!!", 1, 20, f);
    fclose(f);
    harness_start_(h, harness_overrides_);
    fd = harness_connect(h);
    assert_int_equal(gt_fetch(fd, "g-crash", "t1", 1, NULL), 201);
    close(fd);
}

/* Rewrites keep the journal near its live size. */
static void test_journal_compaction(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    char meta[1001];
    memset(meta, 'm', 1000);
    meta[1000] = '\0';
    for (int i = 0; i < 400; i++)
        assert_int_equal(gt_commit(fd, 8, "g-compact", -1, "", "t1", i % 2, i, meta), 0);
    char path[512];
    journal_path(h, path, sizeof(path));
    off_t size = file_size(path);
    assert_true(size > 0);
    assert_true(size < 3 * GROUP_JOURNAL_COMPACT_MIN); /* 400 records would be ~420 KB */
    close(fd);
    harness_restart(h);
    fd = harness_connect(h);
    assert_int_equal(gt_fetch(fd, "g-compact", "t1", 0, NULL), 398);
    assert_int_equal(gt_fetch(fd, "g-compact", "t1", 1, NULL), 399);
    close(fd);
}

static void test_admin(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    assert_int_equal(gt_commit(fd, 8, "g-adm-empty", -1, "", "t1", 0, 1, NULL), 0);
    assert_int_equal(gt_commit(fd, 8, "g-adm-empty", -1, "", "t2", 0, 2, NULL), 0);
    gt_member_t m = {.fd = harness_connect(h)};
    int32_t corr = gt_join_start(&m, "g-adm-live", 10000);
    assert_int_equal(gt_join_recv(&m, 5, corr, 10000), 0);
    gt_member_t *all[] = {&m};
    assert_int_equal(gt_sync_recv(&m, gt_sync_send(&m, "g-adm-live", all, 1), NULL), 0);
    assert_int_equal(gt_commit(fd, 8, "g-adm-live", m.generation, m.id, "t1", 0, 3, NULL), 0);
    assert_int_equal(gt_commit(fd, 8, "g-adm-live", m.generation, m.id, "t2", 0, 4, NULL), 0);

    /* ListGroups: all, and filtered by state (v4) and type (v5). */
    for (int16_t v = 0; v <= 5; v++) {
        proto_list_groups_request_t req;
        proto_msg_init(&proto_list_groups_request_desc, &req);
        proto_str_t stable = proto_str_of("stable"); /* case-insensitive */
        if (v >= 4) {
            req.states_filter.v = &stable;
            req.states_filter.n = 1;
        }
        proto_list_groups_response_t resp;
        gt_resp_t r;
        proto_arena_init(&r.arena);
        r.frame = harness_call(fd, PROTO_API_LIST_GROUPS, v, &req, &resp, &r.arena);
        assert_non_null(r.frame);
        int live = 0, empty = 0;
        for (int32_t i = 0; i < resp.groups.n; i++) {
            if (proto_str_eq(resp.groups.v[i].group_id, "g-adm-live")) {
                live = 1;
                assert_true(proto_str_eq(resp.groups.v[i].protocol_type, "consumer"));
                if (v >= 5) assert_true(proto_str_eq(resp.groups.v[i].group_type, "classic"));
            }
            if (proto_str_eq(resp.groups.v[i].group_id, "g-adm-empty")) empty = 1;
        }
        assert_true(live);
        assert_int_equal(empty, v < 4);
        gt_done(&r);
    }

    /* DescribeGroups: members with metadata and assignment once Stable. */
    proto_describe_groups_request_t dreq;
    proto_msg_init(&proto_describe_groups_request_desc, &dreq);
    proto_str_t ids[2] = {proto_str_of("g-adm-live"), proto_str_of("g-missing")};
    dreq.groups.v = ids;
    dreq.groups.n = 2;
    for (int16_t v = 0; v <= 6; v++) {
        dreq.include_authorized_operations = v >= 3;
        proto_describe_groups_response_t dresp;
        gt_resp_t r;
        proto_arena_init(&r.arena);
        r.frame = harness_call(fd, PROTO_API_DESCRIBE_GROUPS, v, &dreq, &dresp, &r.arena);
        assert_non_null(r.frame);
        const proto_describe_groups_response_described_group_t *g = &dresp.groups.v[0];
        assert_int_equal(g->error_code, 0);
        assert_true(proto_str_eq(g->group_state, "Stable"));
        assert_true(proto_str_eq(g->protocol_data, "range"));
        assert_int_equal(g->members.n, 1);
        assert_true(proto_str_eq(g->members.v[0].member_id, m.id));
        assert_true(proto_str_eq(g->members.v[0].client_id, "kc-test"));
        assert_true(proto_str_eq(g->members.v[0].client_host, "/127.0.0.1"));
        assert_int_equal(g->members.v[0].member_assignment.len, 1);
        assert_true(g->members.v[0].member_metadata.len > 0);
        if (v >= 3) assert_int_not_equal(g->authorized_operations, INT32_MIN);
        assert_true(proto_str_eq(dresp.groups.v[1].group_state, "Dead"));
        assert_int_equal(dresp.groups.v[1].error_code, v >= 6 ? KC_ERR_GROUP_ID_NOT_FOUND : 0);
        gt_done(&r);
    }

    /* OffsetDelete: the live group reads t1 (its subscription), not t2. */
    proto_offset_delete_request_partition_t p0 = {0};
    proto_offset_delete_request_topic_t ot[2] = {{proto_str_of("t1"), {&p0, 1}},
                                                 {proto_str_of("t2"), {&p0, 1}}};
    proto_offset_delete_request_t oreq;
    proto_msg_init(&proto_offset_delete_request_desc, &oreq);
    oreq.group_id = proto_str_of("g-adm-live");
    oreq.topics.v = ot;
    oreq.topics.n = 2;
    proto_offset_delete_response_t oresp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_OFFSET_DELETE, 0, &oreq, &oresp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(oresp.error_code, 0);
    assert_int_equal(oresp.topics.v[0].partitions.v[0].error_code,
                     KC_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
    assert_int_equal(oresp.topics.v[1].partitions.v[0].error_code, 0);
    gt_done(&r);
    assert_int_equal(gt_fetch(fd, "g-adm-live", "t1", 0, NULL), 3);
    assert_int_equal(gt_fetch(fd, "g-adm-live", "t2", 0, NULL), -1);
    oreq.group_id = proto_str_of("g-missing");
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_OFFSET_DELETE, 0, &oreq, &oresp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(oresp.error_code, KC_ERR_GROUP_ID_NOT_FOUND);
    gt_done(&r);

    /* DeleteGroups: only Empty groups. */
    proto_delete_groups_request_t xreq;
    proto_msg_init(&proto_delete_groups_request_desc, &xreq);
    proto_str_t del[3] = {proto_str_of("g-adm-empty"), proto_str_of("g-adm-live"),
                          proto_str_of("g-missing")};
    xreq.groups_names.v = del;
    xreq.groups_names.n = 3;
    proto_delete_groups_response_t xresp;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_DELETE_GROUPS, 2, &xreq, &xresp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(xresp.results.v[0].error_code, 0);
    assert_int_equal(xresp.results.v[1].error_code, KC_ERR_NON_EMPTY_GROUP);
    assert_int_equal(xresp.results.v[2].error_code, KC_ERR_GROUP_ID_NOT_FOUND);
    gt_done(&r);
    assert_int_equal(gt_fetch(fd, "g-adm-empty", "t1", 0, NULL), -1);
    char st[64];
    assert_int_equal(gt_describe(fd, "g-adm-empty", st, NULL), 0);
    assert_string_equal(st, "Dead");
    /* The deletion is durable. */
    close(fd);
    close(m.fd);
    harness_restart(h);
    fd = harness_connect(h);
    assert_int_equal(gt_fetch(fd, "g-adm-empty", "t1", 0, NULL), -1);
    assert_int_equal(gt_fetch(fd, "g-adm-live", "t1", 0, NULL), 3);
    close(fd);
}

/* Deleting a topic drops its committed offsets, durably. */
static void test_topic_delete_drops_offsets(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    assert_int_equal(gt_commit(fd, 8, "g-del", -1, "", "t2", 0, 5, NULL), 0);
    assert_int_equal(gt_commit(fd, 8, "g-del", -1, "", "t1", 0, 6, NULL), 0);
    proto_delete_topics_request_t req;
    proto_msg_init(&proto_delete_topics_request_desc, &req);
    proto_str_t name = proto_str_of("t2");
    req.topic_names.v = &name;
    req.topic_names.n = 1;
    req.timeout_ms = 5000;
    proto_delete_topics_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_DELETE_TOPICS, 4, &req, &resp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(resp.responses.v[0].error_code, 0);
    gt_done(&r);
    gt_create_topic(fd, "t2");
    assert_int_equal(gt_fetch(fd, "g-del", "t2", 0, NULL), -1);
    assert_int_equal(gt_fetch(fd, "g-del", "t1", 0, NULL), 6);
    close(fd);
    harness_restart(h);
    fd = harness_connect(h);
    assert_int_equal(gt_fetch(fd, "g-del", "t2", 0, NULL), -1);
    assert_int_equal(gt_fetch(fd, "g-del", "t1", 0, NULL), 6);
    close(fd);
}

/* ---- Retention, run on the broker's loop thread ------------------------------------- */

typedef struct expire_job {
    harness_t *h;
    int64_t at;
    int done;
    pthread_mutex_t mu;
} expire_job_t;

static void run_expire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    expire_job_t *j = arg;
    broker_groups_expire(j->h->broker, j->at);
    pthread_mutex_lock(&j->mu);
    j->done = 1;
    pthread_mutex_unlock(&j->mu);
}

static void expire_at(harness_t *h, int64_t at)
{
    expire_job_t j = {.h = h, .at = at};
    pthread_mutex_init(&j.mu, NULL);
    struct timeval now = {0, 0};
    assert_int_equal(event_base_once(h->base, -1, EV_TIMEOUT, run_expire, &j, &now), 0);
    for (int done = 0; !done;) {
        gt_sleep_ms(5);
        pthread_mutex_lock(&j.mu);
        done = j.done;
        pthread_mutex_unlock(&j.mu);
    }
    pthread_mutex_destroy(&j.mu);
}

static void test_retention(void **state)
{
    harness_t *h = *state;
    int fd = harness_connect(h);
    assert_int_equal(gt_commit(fd, 8, "g-old", -1, "", "t1", 0, 1, NULL), 0);
    gt_member_t m = {.fd = harness_connect(h)};
    int32_t corr = gt_join_start(&m, "g-alive", 10000);
    assert_int_equal(gt_join_recv(&m, 5, corr, 10000), 0);
    gt_member_t *all[] = {&m};
    assert_int_equal(gt_sync_recv(&m, gt_sync_send(&m, "g-alive", all, 1), NULL), 0);
    assert_int_equal(gt_commit(fd, 8, "g-alive", m.generation, m.id, "t1", 0, 2, NULL), 0);

    expire_at(h, broker_now_ms() + 30 * 1000); /* within offsets.retention.minutes=1 */
    assert_int_equal(gt_fetch(fd, "g-old", "t1", 0, NULL), 1);
    expire_at(h, broker_now_ms() + 2 * 60 * 1000);
    assert_int_equal(gt_fetch(fd, "g-old", "t1", 0, NULL), -1);
    char st[64];
    assert_int_equal(gt_describe(fd, "g-old", st, NULL), 0);
    assert_string_equal(st, "Dead"); /* emptied and gone */
    /* A live group keeps the offsets of topics it reads. */
    assert_int_equal(gt_fetch(fd, "g-alive", "t1", 0, NULL), 2);
    close(fd);
    close(m.fd);
    harness_restart(h);
    fd = harness_connect(h);
    assert_int_equal(gt_fetch(fd, "g-old", "t1", 0, NULL), -1);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_standalone_commit_and_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offsets_survive_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topic_delete_drops_offsets, setup, teardown),
    };
    (void)harness_closed;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
