/* Hand-checked byte vectors for the message codec, written from the protocol
 * spec, plus the behaviours around them: defaults, tagged fields, versions a
 * field is missing from, hostile counts and error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kc/kc_err.h"
#include "proto_msg.h"
#include "proto_msgs.h"

typedef struct fixture {
    proto_arena_t arena;
    proto_wbuf_t w;
    proto_rbuf_t r;
    char err[256];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    if (!f) return -1;
    proto_arena_init(&f->arena);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    proto_arena_destroy(&f->arena);
    proto_wbuf_free(&f->w);
    free(f);
    return 0;
}

#define assert_bytes(w, ...)                                  \
    do {                                                      \
        static const uint8_t want_[] = {__VA_ARGS__};         \
        assert_int_equal((w)->len, sizeof(want_));            \
        assert_memory_equal((w)->data, want_, sizeof(want_)); \
    } while (0)

static int decode(fixture_t *f, const proto_msg_desc_t *d, int16_t ver, const void *buf, size_t len,
                  void *out)
{
    proto_rbuf_init(&f->r, buf, len);
    return proto_msg_decode(d, ver, &f->r, out, &f->arena);
}

static void test_metadata_v0_request(void **state)
{
    fixture_t *f = *state;
    proto_metadata_request_t req;
    proto_msg_init(&proto_metadata_request_desc, &req);
    proto_metadata_request_topic_t topics[2];
    proto_struct_init(&proto_metadata_request_topic_sdesc, &topics[0]);
    proto_struct_init(&proto_metadata_request_topic_sdesc, &topics[1]);
    topics[0].name = proto_str_of("foo");
    topics[1].name = proto_str_of("bar");
    req.topics.v = topics;
    req.topics.n = 2;
    /* AllowAutoTopicCreation (v4+) defaults to true, so leaving it is fine. */
    assert_true(req.allow_auto_topic_creation);
    assert_int_equal(
        proto_msg_encode(&proto_metadata_request_desc, 0, &req, &f->w, f->err, sizeof(f->err)), 0);
    assert_bytes(&f->w, 0, 0, 0, 2, 0, 3, 'f', 'o', 'o', 0, 3, 'b', 'a', 'r');

    proto_metadata_request_t out;
    assert_int_equal(decode(f, &proto_metadata_request_desc, 0, f->w.data, f->w.len, &out), 0);
    assert_int_equal(out.topics.n, 2);
    assert_true(proto_str_eq(out.topics.v[1].name, "bar"));
    /* Strings borrow from the input. */
    assert_ptr_equal(out.topics.v[0].name.ptr, f->w.data + 6);

    /* Null topics ("all topics") exist from v1 only. */
    req.topics.v = NULL;
    req.topics.n = -1;
    proto_wbuf_reset(&f->w);
    assert_int_equal(
        proto_msg_encode(&proto_metadata_request_desc, 0, &req, &f->w, f->err, sizeof(f->err)),
        KC_ERR__INVALID_ARG);
    assert_non_null(strstr(f->err, "MetadataRequest v0: Topics"));
    proto_wbuf_reset(&f->w);
    assert_int_equal(
        proto_msg_encode(&proto_metadata_request_desc, 1, &req, &f->w, f->err, sizeof(f->err)), 0);
    assert_bytes(&f->w, 0xff, 0xff, 0xff, 0xff);
}

static void test_produce_v3_request(void **state)
{
    fixture_t *f = *state;
    static const uint8_t records[] = {0x01, 0x02, 0x03};
    proto_produce_request_partition_produce_data_t part = {.index = 1};
    part.records = proto_slice_of(records, sizeof(records));
    proto_produce_request_topic_produce_data_t topic = {.name = proto_str_of("t")};
    topic.partition_data.v = &part;
    topic.partition_data.n = 1;
    proto_produce_request_t req;
    proto_msg_init(&proto_produce_request_desc, &req);
    req.acks = -1;
    req.timeout_ms = 30000;
    req.topic_data.v = &topic;
    req.topic_data.n = 1;
    assert_int_equal(
        proto_msg_encode(&proto_produce_request_desc, 3, &req, &f->w, f->err, sizeof(f->err)), 0);
    assert_bytes(&f->w, 0xff, 0xff,                /* TransactionalId: null */
                 0xff, 0xff,                       /* Acks -1 */
                 0x00, 0x00, 0x75, 0x30,           /* TimeoutMs 30000 */
                 0x00, 0x00, 0x00, 0x01,           /* TopicData: 1 */
                 0x00, 0x01, 't',                  /* Name */
                 0x00, 0x00, 0x00, 0x01,           /* PartitionData: 1 */
                 0x00, 0x00, 0x00, 0x01,           /* Index 1 */
                 0x00, 0x00, 0x00, 0x03, 1, 2, 3); /* Records */

    proto_produce_request_t out;
    assert_int_equal(decode(f, &proto_produce_request_desc, 3, f->w.data, f->w.len, &out), 0);
    assert_int_equal(out.transactional_id.len, -1);
    assert_int_equal(out.acks, -1);
    assert_int_equal(out.topic_data.v[0].partition_data.v[0].records.len, 3);
    assert_ptr_equal(out.topic_data.v[0].partition_data.v[0].records.ptr, f->w.data + 27);

    /* The same request in v9 (flexible): compact forms and tag sections. */
    proto_wbuf_reset(&f->w);
    assert_int_equal(
        proto_msg_encode(&proto_produce_request_desc, 9, &req, &f->w, f->err, sizeof(f->err)), 0);
    assert_bytes(&f->w, 0x00, 0xff, 0xff, 0x00, 0x00, 0x75, 0x30, 0x02, 0x02, 't', 0x02, 0x00, 0x00,
                 0x00, 0x01, 0x04, 1, 2, 3, 0x00, /* partition tags */
                 0x00,                            /* topic tags */
                 0x00);                           /* request tags */
}

static void test_flexible_response_skips_unknown_tag(void **state)
{
    fixture_t *f = *state;
    static const uint8_t in[] = {
        0x00, 0x00,                                        /* ErrorCode */
        0x02,                                              /* ApiKeys: 1 */
        0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00,          /* 18: 0..4, no tags */
        0x00, 0x00, 0x00, 0x00,                            /* ThrottleTimeMs */
        0x02,                                              /* two tagged fields */
        0x01, 0x08, 0,    0,    0,    0,    0,    0, 0, 5, /* FinalizedFeaturesEpoch 5 */
        0x09, 0x03, 0xaa, 0xbb, 0xcc,                      /* tag 9: unknown */
    };
    proto_api_versions_response_t out;
    memset(&out, 0xa5, sizeof(out));
    assert_int_equal(decode(f, &proto_api_versions_response_desc, 3, in, sizeof(in), &out), 0);
    assert_int_equal(proto_rbuf_left(&f->r), 0);
    assert_int_equal(out.api_keys.n, 1);
    assert_int_equal(out.api_keys.v[0].api_key, 18);
    assert_int_equal(out.api_keys.v[0].max_version, 4);
    assert_int_equal(out.finalized_features_epoch, 5);
    assert_int_equal(out.supported_features.n, 0);
    assert_false(out.zk_migration_ready);

    /* Re-encoding keeps the known tag and drops the unknown one. */
    assert_int_equal(
        proto_msg_encode(&proto_api_versions_response_desc, 3, &out, &f->w, f->err, sizeof(f->err)),
        0);
    assert_int_equal(f->w.len, sizeof(in) - 5);
    assert_int_equal(f->w.data[14], 0x01);
    assert_memory_equal(f->w.data + 15, in + 15, 10);

    /* An unknown tag alone, in a response that has no tagged fields at all. */
    static const uint8_t hb[] = {0, 0, 0, 10, 0, 0, 0x01, 0x05, 0x02, 0xff, 0xff};
    proto_heartbeat_response_t hr;
    assert_int_equal(decode(f, &proto_heartbeat_response_desc, 4, hb, sizeof(hb), &hr), 0);
    assert_int_equal(hr.throttle_time_ms, 10);
    assert_int_equal(proto_rbuf_left(&f->r), 0);

    /* A tagged field whose size runs past the message. */
    static const uint8_t bad[] = {0, 0, 0, 10, 0, 0, 0x01, 0x05, 0x09, 0xff, 0xff};
    assert_int_equal(decode(f, &proto_heartbeat_response_desc, 4, bad, sizeof(bad), &hr),
                     KC_ERR__BAD_MSG);
    assert_string_equal(f->r.errstr,
                        "HeartbeatResponse v4: tag 5: size 9 exceeds the 2 bytes left");
}

static void test_tagged_fields_on_encode(void **state)
{
    fixture_t *f = *state;
    proto_api_versions_response_t m;
    proto_msg_init(&proto_api_versions_response_desc, &m);
    assert_int_equal(m.finalized_features_epoch, -1);
    /* All tagged fields at their defaults: an empty tag section. */
    assert_int_equal(
        proto_msg_encode(&proto_api_versions_response_desc, 3, &m, &f->w, f->err, sizeof(f->err)),
        0);
    assert_bytes(&f->w, 0, 0, 0x01, 0, 0, 0, 0, 0x00);

    /* Set in reverse tag order; written ascending. */
    m.zk_migration_ready = true;
    m.finalized_features_epoch = 7;
    proto_wbuf_reset(&f->w);
    assert_int_equal(
        proto_msg_encode(&proto_api_versions_response_desc, 3, &m, &f->w, f->err, sizeof(f->err)),
        0);
    assert_bytes(&f->w, 0, 0, 0x01, 0, 0, 0, 0, 0x02, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 7, 0x03,
                 0x01, 0x01);

    /* Not in v2 but ignorable: silently left out. */
    proto_wbuf_reset(&f->w);
    assert_int_equal(
        proto_msg_encode(&proto_api_versions_response_desc, 2, &m, &f->w, f->err, sizeof(f->err)),
        0);
    assert_bytes(&f->w, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}

static void test_field_missing_from_version(void **state)
{
    fixture_t *f = *state;
    proto_heartbeat_request_t hb;
    proto_msg_init(&proto_heartbeat_request_desc, &hb);
    hb.group_id = proto_str_of("g");
    hb.member_id = proto_str_of("m");
    /* GroupInstanceId is v3+ and not ignorable. */
    hb.group_instance_id = proto_str_of("static-1");
    assert_int_equal(
        proto_msg_encode(&proto_heartbeat_request_desc, 2, &hb, &f->w, f->err, sizeof(f->err)),
        KC_ERR__UNSUPPORTED);
    assert_string_equal(f->err, "HeartbeatRequest v2: GroupInstanceId: field not supported in "
                                "this version and not at its default");
    proto_wbuf_reset(&f->w);
    assert_int_equal(
        proto_msg_encode(&proto_heartbeat_request_desc, 3, &hb, &f->w, f->err, sizeof(f->err)), 0);

    /* A nested non-ignorable field: FetchRequest ReplicaState (v15+, tagged). */
    proto_fetch_request_t fr;
    proto_msg_init(&proto_fetch_request_desc, &fr);
    fr.replica_state.replica_epoch = 3;
    proto_wbuf_reset(&f->w);
    assert_int_equal(
        proto_msg_encode(&proto_fetch_request_desc, 14, &fr, &f->w, f->err, sizeof(f->err)),
        KC_ERR__UNSUPPORTED);
    assert_non_null(strstr(f->err, "ReplicaState"));

    /* Versions outside the codec's range. */
    proto_wbuf_reset(&f->w);
    assert_int_equal(
        proto_msg_encode(&proto_fetch_request_desc, 3, &fr, &f->w, f->err, sizeof(f->err)),
        KC_ERR__UNSUPPORTED);
    proto_fetch_request_t out;
    static const uint8_t empty[1];
    assert_int_equal(decode(f, &proto_fetch_request_desc, 18, empty, 0, &out), KC_ERR__UNSUPPORTED);
}

static void test_defaults_on_decode(void **state)
{
    fixture_t *f = *state;
    proto_fetch_response_t m;
    proto_msg_init(&proto_fetch_response_desc, &m);
    proto_fetch_response_partition_data_t p;
    proto_fetch_response_fetchable_topic_response_t t;
    proto_struct_init(&proto_fetch_response_fetchable_topic_response_sdesc, &t);
    proto_struct_init(&proto_fetch_response_partition_data_sdesc, &p);
    p.high_watermark = 42;
    p.log_start_offset = 1000; /* v5+: dropped in v4, it is ignorable */
    t.topic = proto_str_of("t");
    t.partitions.v = &p;
    t.partitions.n = 1;
    m.responses.v = &t;
    m.responses.n = 1;
    assert_int_equal(
        proto_msg_encode(&proto_fetch_response_desc, 4, &m, &f->w, f->err, sizeof(f->err)), 0);
    proto_fetch_response_t out;
    memset(&out, 0x5a, sizeof(out));
    assert_int_equal(decode(f, &proto_fetch_response_desc, 4, f->w.data, f->w.len, &out), 0);
    const proto_fetch_response_partition_data_t *op = &out.responses.v[0].partitions.v[0];
    assert_int_equal(op->high_watermark, 42);
    assert_int_equal(op->log_start_offset, -1);       /* schema default */
    assert_int_equal(op->preferred_read_replica, -1); /* v11+ */
    assert_int_equal(op->current_leader.leader_id, -1);
    assert_int_equal(out.session_id, 0);
    assert_int_equal(out.node_endpoints.n, 0);
    assert_int_equal(op->records.len, -1); /* records default to null */
}

static void test_nullable_struct(void **state)
{
    fixture_t *f = *state;
    proto_consumer_group_heartbeat_response_t m;
    proto_msg_init(&proto_consumer_group_heartbeat_response_desc, &m);
    assert_null(m.assignment);
    assert_int_equal(proto_msg_encode(&proto_consumer_group_heartbeat_response_desc, 0, &m, &f->w,
                                      f->err, sizeof(f->err)),
                     0);
    assert_bytes(&f->w, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x00);

    int32_t parts[] = {4, 5};
    proto_consumer_group_heartbeat_response_topic_partitions_t tp = {.partitions = {parts, 2}};
    tp.topic_id.b[15] = 9;
    proto_consumer_group_heartbeat_response_assignment_t a = {.topic_partitions = {&tp, 1}};
    m.assignment = &a;
    proto_wbuf_reset(&f->w);
    assert_int_equal(proto_msg_encode(&proto_consumer_group_heartbeat_response_desc, 0, &m, &f->w,
                                      f->err, sizeof(f->err)),
                     0);
    assert_int_equal(f->w.data[16], 0x01);
    proto_consumer_group_heartbeat_response_t out;
    assert_int_equal(
        decode(f, &proto_consumer_group_heartbeat_response_desc, 0, f->w.data, f->w.len, &out), 0);
    assert_non_null(out.assignment);
    assert_int_equal(out.assignment->topic_partitions.n, 1);
    assert_int_equal(out.assignment->topic_partitions.v[0].topic_id.b[15], 9);
    assert_int_equal(out.assignment->topic_partitions.v[0].partitions.v[1], 5);
}

static void test_error_names_the_path(void **state)
{
    fixture_t *f = *state;
    uint8_t in[64] = {
        0x00,                               /* TransactionalId null */
        0xff, 0xff,                         /* Acks */
        0x00, 0x00, 0x75, 0x30,             /* TimeoutMs */
        0x02, 0x02, 't',                    /* TopicData[0].Name */
        0x04,                               /* 3 partitions */
        0,    0,    0,    0,    0x01, 0x00, /* [0]: empty records, no tags */
        0,    0,    0,    1,    0x00, 0x00, /* [1]: null records */
        0,    0,    0,    2,    0x90, 0x4e, /* [2]: records of 9999 bytes ... */
    };
    size_t len = 29 + 12; /* ... of which 12 are there */
    proto_produce_request_t out;
    assert_int_equal(decode(f, &proto_produce_request_desc, 9, in, len, &out), KC_ERR__BAD_MSG);
    assert_string_equal(f->r.errstr, "ProduceRequest v9: TopicData[0].PartitionData[2].Records: "
                                     "length 9999 exceeds the 12 bytes left");

    /* A null where the version does not allow one. */
    static const uint8_t hb[] = {0xff, 0xff, 0, 0, 0, 1, 0, 0};
    proto_heartbeat_request_t h;
    assert_int_equal(decode(f, &proto_heartbeat_request_desc, 0, hb, sizeof(hb), &h),
                     KC_ERR__BAD_MSG);
    assert_string_equal(f->r.errstr, "HeartbeatRequest v0: GroupId: null in a non-nullable field");
}

static void test_hostile_counts(void **state)
{
    fixture_t *f = *state;
    proto_metadata_request_t out;
    static const uint8_t classic[] = {0x7f, 0xff, 0xff, 0xff, 0, 1, 'a'};
    assert_int_equal(decode(f, &proto_metadata_request_desc, 0, classic, sizeof(classic), &out),
                     KC_ERR__BAD_MSG);
    assert_non_null(strstr(f->r.errstr, "Topics: array count 2147483647 cannot fit"));
    assert_null(f->arena.chunks); /* nothing was allocated */

    /* Compact count 2^31 - 1 (uvarint 2^31), and 2^32 - 2. */
    static const uint8_t compact[] = {0x80, 0x80, 0x80, 0x80, 0x08, 0x02, 'a', 0x00};
    assert_int_equal(decode(f, &proto_metadata_request_desc, 9, compact, sizeof(compact), &out),
                     KC_ERR__BAD_MSG);
    assert_non_null(strstr(f->r.errstr, "array count 2147483647 cannot fit in the 3 bytes left"));
    static const uint8_t compact2[] = {0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    proto_api_versions_response_t av;
    assert_int_equal(
        decode(f, &proto_api_versions_response_desc, 3, compact2, sizeof(compact2), &av),
        KC_ERR__BAD_MSG);
    assert_non_null(strstr(f->r.errstr, "ApiKeys: array count 4294967294 cannot fit"));

    /* Counts are bounded by the smallest element: a FetchRequest v4 topic
     * takes at least 2 + 4 bytes, so 10 of them cannot fit in 40 bytes. */
    uint8_t fetch[64] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0,
                         0,    0,    0,    0,    0, 0, 0, 0, 0, 10};
    proto_fetch_request_t fr;
    assert_int_equal(decode(f, &proto_fetch_request_desc, 4, fetch, 21 + 40, &fr), KC_ERR__BAD_MSG);
    assert_non_null(strstr(f->r.errstr, "FetchRequest v4: Topics: array count 10 cannot fit"));
}

static void test_arena_limit(void **state)
{
    fixture_t *f = *state;
    /* 1000 empty topic names: tiny on the wire, 16 KiB decoded. */
    size_t len = 4 + 2 * 1000;
    uint8_t *in = calloc(1, len);
    assert_non_null(in);
    in[2] = 0x03;
    in[3] = 0xe8;
    proto_arena_set_limit(&f->arena, 4096);
    proto_metadata_request_t out;
    assert_int_equal(decode(f, &proto_metadata_request_desc, 0, in, len, &out), KC_ERR__NO_MEMORY);
    proto_arena_reset(&f->arena);
    proto_arena_set_limit(&f->arena, 0);
    assert_int_equal(decode(f, &proto_metadata_request_desc, 0, in, len, &out), 0);
    assert_int_equal(out.topics.n, 1000);
    free(in);
}

static void test_trailing_bytes_are_left(void **state)
{
    fixture_t *f = *state;
    static const uint8_t in[] = {0, 0, 0, 0, 0xde, 0xad};
    proto_metadata_request_t out;
    assert_int_equal(decode(f, &proto_metadata_request_desc, 0, in, sizeof(in), &out), 0);
    assert_int_equal(proto_rbuf_left(&f->r), 2);
}

static void test_by_key(void **state)
{
    fixture_t *f = *state;
    static const uint8_t in[] = {0, 0, 0, 0};
    proto_metadata_request_t out;
    proto_rbuf_init(&f->r, in, sizeof(in));
    assert_int_equal(proto_request_decode(PROTO_API_METADATA, 0, &f->r, &out, &f->arena), 0);
    proto_rbuf_init(&f->r, in, sizeof(in));
    assert_int_equal(proto_request_decode(4, 0, &f->r, &out, &f->arena), KC_ERR__UNSUPPORTED);
    assert_string_equal(f->r.errstr, "unknown API key 4");
    assert_int_equal(
        proto_request_encode(PROTO_API_METADATA, 0, &out, &f->w, f->err, sizeof(f->err)), 0);
    assert_bytes(&f->w, 0, 0, 0, 0);
}

static void test_registry(void **state)
{
    (void)state;
    assert_int_equal(proto_api_count(), 51);
    int16_t last = -1;
    for (size_t i = 0; i < proto_api_count(); i++) {
        const proto_api_t *api = proto_api_at(i);
        assert_true(api->key > last);
        last = api->key;
        assert_ptr_equal(proto_api_find(api->key), api);
        assert_true(api->min_ver <= api->max_ver);
    }
    assert_null(proto_api_at(proto_api_count()));
    assert_null(proto_api_find(4));
    assert_null(proto_api_find(-1));
    const proto_api_t *p = proto_api_find(PROTO_API_PRODUCE);
    assert_string_equal(p->name, "Produce");
    assert_int_equal(p->min_ver, 3);
    assert_int_equal(p->max_ver, 12);
    assert_int_equal(p->flex_ver, 9);
    assert_string_equal(p->request->name, "ProduceRequest");
    assert_false(proto_api_is_flexible(p, 8));
    assert_true(proto_api_is_flexible(p, 9));
    const proto_api_t *sh = proto_api_find(PROTO_API_SASL_HANDSHAKE);
    assert_int_equal(sh->flex_ver, PROTO_VER_MAX);
    assert_int_equal(proto_api_find(PROTO_API_METADATA)->max_ver, 13);
    assert_int_equal(proto_api_find(PROTO_API_FETCH)->max_ver, 17);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metadata_v0_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_produce_v3_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flexible_response_skips_unknown_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tagged_fields_on_encode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_missing_from_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_on_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nullable_struct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_names_the_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arena_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trailing_bytes_are_left, setup, teardown),
        cmocka_unit_test_setup_teardown(test_by_key, setup, teardown),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
