/* Group and offset requests for the broker group tests: each helper sends
 * one request through the harness client and decodes the answer, so a test
 * reads like the client conversation it checks. Include after
 * broker_harness.h and cmocka. */
#ifndef KC_TEST_GROUPS_TEST_UTIL_H
#define KC_TEST_GROUPS_TEST_UTIL_H

#include <time.h>

#include "broker_harness.h"
#include "kc/kc_err.h"

/* One arena and frame per decoded response; gt_done() frees them. */
typedef struct gt_resp {
    proto_arena_t arena;
    uint8_t *frame;
} gt_resp_t;

static inline void gt_done(gt_resp_t *r)
{
    free(r->frame);
    r->frame = NULL;
    proto_arena_destroy(&r->arena);
}

static inline int64_t gt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void gt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ConsumerProtocolSubscription v0 naming `topic` (NULL: none). */
static inline proto_bytes_t gt_subscription(uint8_t *buf, const char *topic)
{
    proto_wbuf_t w = {0};
    proto_put_i16(&w, 0);
    proto_put_array_len(&w, topic ? 1 : 0);
    if (topic) proto_put_str(&w, proto_str_of(topic));
    proto_put_bytes(&w, PROTO_NULL_SLICE);
    memcpy(buf, w.data, w.len);
    proto_bytes_t b = proto_slice_of(buf, w.len);
    proto_wbuf_free(&w);
    return b;
}

typedef struct gt_member {
    int fd;
    char id[256];
    int32_t generation;
    char leader[256];
    int32_t nmembers; /* in the last join response */
} gt_member_t;

static inline void gt_copy(char *dst, proto_str_t s)
{
    int n = s.len > 0 ? (s.len < 255 ? s.len : 255) : 0;
    memcpy(dst, s.ptr ? (const char *)s.ptr : "", (size_t)n);
    dst[n] = '\0';
}

static uint8_t gt_sub_buf[256];

/* Sends a JoinGroup for m (its current id), protocol "range" with a
 * subscription to `topic`. Returns the correlation id. */
static inline int32_t gt_join_send(gt_member_t *m, int16_t ver, const char *group,
                                   const char *instance, int32_t session_ms, const char *topic)
{
    proto_join_group_request_t req;
    proto_msg_init(&proto_join_group_request_desc, &req);
    proto_join_group_request_protocol_t p = {proto_str_of("range"),
                                             gt_subscription(gt_sub_buf, topic)};
    req.group_id = proto_str_of(group);
    req.session_timeout_ms = session_ms;
    req.rebalance_timeout_ms = 5000;
    req.member_id = proto_str_of(m->id);
    req.group_instance_id = instance ? proto_str_of(instance) : PROTO_NULL_SLICE;
    req.protocol_type = proto_str_of("consumer");
    req.protocols.v = &p;
    req.protocols.n = 1;
    return harness_send(m->fd, PROTO_API_JOIN_GROUP, ver, &req);
}

/* Receives the JoinGroup answer; remembers id, generation and leader.
 * Returns its error code (-999 when nothing came back). */
static inline int gt_join_recv(gt_member_t *m, int16_t ver, int32_t corr, int timeout_ms)
{
    proto_join_group_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_recv(m->fd, PROTO_API_JOIN_GROUP, ver, corr, &resp, &r.arena, timeout_ms);
    if (!r.frame) {
        gt_done(&r);
        return -999;
    }
    if (resp.member_id.len > 0) gt_copy(m->id, resp.member_id);
    m->generation = resp.generation_id;
    gt_copy(m->leader, resp.leader);
    m->nmembers = resp.members.n;
    int err = resp.error_code;
    gt_done(&r);
    return err;
}

/* The v4+ join: MEMBER_ID_REQUIRED first, then the real join. Sends the
 * second join and returns its correlation id (the answer may be held). */
static inline int32_t gt_join_start(gt_member_t *m, const char *group, int32_t session_ms)
{
    m->id[0] = '\0';
    int32_t corr = gt_join_send(m, 5, group, NULL, session_ms, "t1");
    assert_int_equal(gt_join_recv(m, 5, corr, 5000), KC_ERR_MEMBER_ID_REQUIRED);
    assert_true(m->id[0] != '\0');
    return gt_join_send(m, 5, group, NULL, session_ms, "t1");
}

/* SyncGroup; the leader passes every member's id with an assignment of one
 * byte naming it. Returns the error; *assignment gets the first byte (or -1). */
static inline int32_t gt_sync_send(gt_member_t *m, const char *group, gt_member_t **all, int n)
{
    proto_sync_group_request_t req;
    proto_msg_init(&proto_sync_group_request_desc, &req);
    static proto_sync_group_request_assignment_t a[8];
    static uint8_t bytes[8];
    req.group_id = proto_str_of(group);
    req.generation_id = m->generation;
    req.member_id = proto_str_of(m->id);
    for (int i = 0; i < n && i < 8; i++) {
        bytes[i] = (uint8_t)('A' + i);
        a[i].member_id = proto_str_of(all[i]->id);
        a[i].assignment = proto_slice_of(&bytes[i], 1);
    }
    req.assignments.v = a;
    req.assignments.n = n;
    return harness_send(m->fd, PROTO_API_SYNC_GROUP, 3, &req);
}

static inline int gt_sync_recv(gt_member_t *m, int32_t corr, int *assignment)
{
    proto_sync_group_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_recv(m->fd, PROTO_API_SYNC_GROUP, 3, corr, &resp, &r.arena, 10000);
    if (!r.frame) {
        gt_done(&r);
        return -999;
    }
    if (assignment) *assignment = resp.assignment.len > 0 ? resp.assignment.ptr[0] : -1;
    int err = resp.error_code;
    gt_done(&r);
    return err;
}

static inline int gt_heartbeat(gt_member_t *m, const char *group)
{
    proto_heartbeat_request_t req;
    proto_msg_init(&proto_heartbeat_request_desc, &req);
    req.group_id = proto_str_of(group);
    req.generation_id = m->generation;
    req.member_id = proto_str_of(m->id);
    proto_heartbeat_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(m->fd, PROTO_API_HEARTBEAT, 4, &req, &resp, &r.arena);
    int err = r.frame ? resp.error_code : -999;
    gt_done(&r);
    return err;
}

static inline int gt_leave(gt_member_t *m, const char *group)
{
    proto_leave_group_request_t req;
    proto_msg_init(&proto_leave_group_request_desc, &req);
    proto_leave_group_request_member_identity_t mi;
    proto_struct_init(&proto_leave_group_request_member_identity_sdesc, &mi);
    mi.member_id = proto_str_of(m->id);
    req.group_id = proto_str_of(group);
    req.members.v = &mi;
    req.members.n = 1;
    proto_leave_group_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(m->fd, PROTO_API_LEAVE_GROUP, 4, &req, &resp, &r.arena);
    int err = !r.frame ? -999 : resp.error_code ? resp.error_code : resp.members.v[0].error_code;
    gt_done(&r);
    return err;
}

/* OffsetCommit v8 of one partition; returns the partition's error. */
static inline int gt_commit(int fd, int16_t ver, const char *group, int32_t generation,
                            const char *member, const char *topic, int32_t partition,
                            int64_t offset, const char *metadata)
{
    proto_offset_commit_request_t req;
    proto_msg_init(&proto_offset_commit_request_desc, &req);
    proto_offset_commit_request_partition_t p;
    proto_struct_init(&proto_offset_commit_request_partition_sdesc, &p);
    p.partition_index = partition;
    p.committed_offset = offset;
    p.committed_metadata = proto_str_of(metadata);
    proto_offset_commit_request_topic_t t = {proto_str_of(topic), {&p, 1}};
    req.group_id = proto_str_of(group);
    req.generation_id_or_member_epoch = generation;
    req.member_id = proto_str_of(member ? member : "");
    req.topics.v = &t;
    req.topics.n = 1;
    proto_offset_commit_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_OFFSET_COMMIT, ver, &req, &resp, &r.arena);
    int err = r.frame ? resp.topics.v[0].partitions.v[0].error_code : -999;
    gt_done(&r);
    return err;
}

/* OffsetFetch v7 of one partition: its committed offset (-1 none), or
 * -999 on a transport failure. Copies the metadata into meta if given. */
static inline int64_t gt_fetch(int fd, const char *group, const char *topic, int32_t partition,
                               char *meta)
{
    proto_offset_fetch_request_t req;
    proto_msg_init(&proto_offset_fetch_request_desc, &req);
    proto_offset_fetch_request_topic_t t = {proto_str_of(topic), {&partition, 1}};
    req.group_id = proto_str_of(group);
    req.topics.v = &t;
    req.topics.n = 1;
    proto_offset_fetch_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_OFFSET_FETCH, 7, &req, &resp, &r.arena);
    int64_t off = -999;
    if (r.frame && !resp.error_code && resp.topics.n == 1 && resp.topics.v[0].partitions.n == 1) {
        off = resp.topics.v[0].partitions.v[0].committed_offset;
        if (meta) gt_copy(meta, resp.topics.v[0].partitions.v[0].metadata);
    }
    gt_done(&r);
    return off;
}

/* Auto-creates a topic through Metadata v4. */
static inline void gt_create_topic(int fd, const char *topic)
{
    proto_metadata_request_t req;
    proto_msg_init(&proto_metadata_request_desc, &req);
    proto_metadata_request_topic_t t;
    proto_struct_init(&proto_metadata_request_topic_sdesc, &t);
    t.name = proto_str_of(topic);
    req.topics.v = &t;
    req.topics.n = 1;
    req.allow_auto_topic_creation = 1;
    proto_metadata_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_METADATA, 4, &req, &resp, &r.arena);
    assert_non_null(r.frame);
    assert_int_equal(resp.topics.v[0].error_code, 0);
    gt_done(&r);
}

/* The group's state name from DescribeGroups v5, into state. */
static inline int gt_describe(int fd, const char *group, char *state, int32_t *members)
{
    proto_describe_groups_request_t req;
    proto_msg_init(&proto_describe_groups_request_desc, &req);
    proto_str_t id = proto_str_of(group);
    req.groups.v = &id;
    req.groups.n = 1;
    req.include_authorized_operations = 1;
    proto_describe_groups_response_t resp;
    gt_resp_t r;
    proto_arena_init(&r.arena);
    r.frame = harness_call(fd, PROTO_API_DESCRIBE_GROUPS, 5, &req, &resp, &r.arena);
    int err = r.frame ? resp.groups.v[0].error_code : -999;
    if (r.frame) {
        gt_copy(state, resp.groups.v[0].group_state);
        if (members) *members = resp.groups.v[0].members.n;
    }
    gt_done(&r);
    return err;
}

#endif
