/* ConsumerProtocolSubscription / ConsumerProtocolAssignment bytes: vectors
 * written by hand from the schemas, every version, round trips, truncations
 * and hostile counts refused; and the assignor lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_client_assignor_util.h"

/* Topics ["t"], UserData null, then per version: OwnedPartitions
 * [t: [0, 3]], GenerationId 5, RackId "r1". */
#define SUB_V0_BODY 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff
#define SUB_OWNED   0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3
#define SUB_GEN     0, 0, 0, 5
#define SUB_RACK    0, 2, 'r', '1'

static const uint8_t sub_v0[] = {0, 0, SUB_V0_BODY};
static const uint8_t sub_v1[] = {0, 1, SUB_V0_BODY, SUB_OWNED};
static const uint8_t sub_v2[] = {0, 2, SUB_V0_BODY, SUB_OWNED, SUB_GEN};
static const uint8_t sub_v3[] = {0, 3, SUB_V0_BODY, SUB_OWNED, SUB_GEN, SUB_RACK};

static void decode_sub(const uint8_t *buf, size_t len, assignor_member_t *m)
{
    char errstr[256] = "";
    memset(m, 0, sizeof(*m));
    kc_err_t err = assignor_subscription_decode(buf, len, m, errstr, sizeof(errstr));
    if (err) fail_msg("decode: %d %s", err, errstr);
}

static void test_subscription_vectors_every_version(void **state)
{
    const struct {
        const uint8_t *buf;
        size_t len;
        int version;
    } v[] = {{sub_v0, sizeof(sub_v0), 0},
             {sub_v1, sizeof(sub_v1), 1},
             {sub_v2, sizeof(sub_v2), 2},
             {sub_v3, sizeof(sub_v3), 3}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assignor_member_t m;
        char s[256];
        decode_sub(v[i].buf, v[i].len, &m);
        assert_int_equal(m.topic_cnt, 1);
        assert_string_equal(m.topics[0], "t");
        if (v[i].version >= 1) {
            assert_string_equal(tm_str(m.owned, s, sizeof(s)), "tp0 tp3");
        } else {
            assert_null(m.owned);
        }
        assert_int_equal(m.generation, v[i].version >= 2 ? 5 : -1);
        if (v[i].version >= 3) {
            assert_string_equal(m.rack, "r1");
        } else {
            assert_null(m.rack);
        }
        assignor_member_clear(&m);
    }
}

/* The encoder writes version 3, byte for byte the hand-written vector. */
static void test_subscription_encode_matches_vector(void **state)
{
    kc_topic_partition_list_t *owned = kc_topic_partition_list_new(0);
    /* Out of order on purpose: the encoder groups by topic. */
    kc_topic_partition_list_add(owned, "t", 3);
    kc_topic_partition_list_add(owned, "t", 0);
    const char *topics[] = {"t"};
    proto_wbuf_t w = {0};
    assert_int_equal(assignor_subscription_encode(&w, topics, 1, owned, 5, "r1"), 0);
    assert_int_equal(w.len, sizeof(sub_v3));
    assert_memory_equal(w.data, sub_v3, sizeof(sub_v3));
    proto_wbuf_free(&w);
    kc_topic_partition_list_destroy(owned);
}

static void test_subscription_round_trip(void **state)
{
    const char *topics[] = {"orders", "a", "payments-eu"};
    kc_topic_partition_list_t *owned = kc_topic_partition_list_new(0);
    kc_topic_partition_list_add(owned, "payments-eu", 7);
    kc_topic_partition_list_add(owned, "a", 2);
    kc_topic_partition_list_add(owned, "payments-eu", 1);
    kc_topic_partition_list_add(owned, "a", 0);
    const struct {
        const kc_topic_partition_list_t *owned;
        int32_t gen;
        const char *rack;
        const char *want_owned;
    } cases[] = {{owned, 42, "rack-a", "ap0 ap2 payments-eup1 payments-eup7"},
                 {NULL, -1, NULL, ""},
                 {owned, 0, NULL, "ap0 ap2 payments-eup1 payments-eup7"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        proto_wbuf_t w = {0};
        assert_int_equal(assignor_subscription_encode(&w, topics, 3, cases[i].owned, cases[i].gen,
                                                      cases[i].rack),
                         0);
        assignor_member_t m;
        char s[256];
        decode_sub(w.data, w.len, &m);
        assert_int_equal(m.topic_cnt, 3);
        for (int t = 0; t < 3; t++)
            assert_string_equal(m.topics[t], topics[t]);
        assert_non_null(m.owned);
        assert_string_equal(tm_str(m.owned, s, sizeof(s)), cases[i].want_owned);
        assert_int_equal(m.generation, cases[i].gen);
        if (cases[i].rack) {
            assert_string_equal(m.rack, cases[i].rack);
        } else {
            assert_null(m.rack);
        }
        assignor_member_clear(&m);
        proto_wbuf_free(&w);
    }
    /* No topics at all. */
    proto_wbuf_t w = {0};
    assert_int_equal(assignor_subscription_encode(&w, NULL, 0, NULL, -1, NULL), 0);
    assignor_member_t m;
    decode_sub(w.data, w.len, &m);
    assert_int_equal(m.topic_cnt, 0);
    assignor_member_clear(&m);
    proto_wbuf_free(&w);
    kc_topic_partition_list_destroy(owned);
}

static void test_subscription_encode_refuses_bad_args(void **state)
{
    proto_wbuf_t w = {0};
    const char *with_null[] = {"a", NULL};
    assert_int_equal(assignor_subscription_encode(&w, with_null, 2, NULL, -1, NULL),
                     KC_ERR__INVALID_ARG);
    assert_int_equal(assignor_subscription_encode(&w, NULL, -1, NULL, -1, NULL),
                     KC_ERR__INVALID_ARG);
    char *longname = malloc(40000);
    memset(longname, 'x', 39999);
    longname[39999] = '\0';
    const char *too_long[] = {longname};
    assert_int_equal(assignor_subscription_encode(&w, too_long, 1, NULL, -1, NULL),
                     KC_ERR__INVALID_ARG);
    /* A list holding a NULL topic: refused before anything is written. */
    kc_topic_partition_list_t *bad = kc_topic_partition_list_new(0);
    kc_topic_partition_list_add(bad, "ok", 0);
    kc_topic_partition_t *e = kc_topic_partition_list_add(bad, "x", 1);
    const char *saved = e->topic;
    e->topic = NULL;
    const char *topics[] = {"ok"};
    assert_int_equal(assignor_subscription_encode(&w, topics, 1, bad, 1, NULL),
                     KC_ERR__INVALID_ARG);
    assert_int_equal(assignor_assignment_encode(&w, bad), KC_ERR__INVALID_ARG);
    assert_int_equal(w.len, 0);
    e->topic = saved;
    kc_topic_partition_list_destroy(bad);
    free(longname);
    proto_wbuf_free(&w);
}

/* Every proper prefix of a complete message is refused with a reason, and
 * the output member is left empty. */
static void test_subscription_truncations_refused(void **state)
{
    const uint8_t *vecs[] = {sub_v0, sub_v1, sub_v2, sub_v3};
    const size_t lens[] = {sizeof(sub_v0), sizeof(sub_v1), sizeof(sub_v2), sizeof(sub_v3)};
    for (int v = 0; v < 4; v++) {
        for (size_t n = 0; n < lens[v]; n++) {
            assignor_member_t m;
            memset(&m, 0, sizeof(m));
            char errstr[256] = "";
            uint8_t *copy = malloc(n ? n : 1); /* so ASan sees any overread */
            memcpy(copy, vecs[v], n);
            kc_err_t err = assignor_subscription_decode(copy, n, &m, errstr, sizeof(errstr));
            if (err != KC_ERR__BAD_MSG)
                fail_msg("v%d cut at %zu of %zu: err %d, want BAD_MSG", v, n, lens[v], err);
            assert_true(strlen(errstr) > 0);
            assert_null(m.topics);
            assert_null(m.owned);
            assert_null(m.rack);
            free(copy);
        }
    }
}

static void expect_sub_bad(const uint8_t *buf, size_t len, const char *want_in_msg)
{
    assignor_member_t m;
    memset(&m, 0, sizeof(m));
    char errstr[256] = "";
    assert_int_equal(assignor_subscription_decode(buf, len, &m, errstr, sizeof(errstr)),
                     KC_ERR__BAD_MSG);
    if (!strstr(errstr, want_in_msg)) fail_msg("message '%s' lacks '%s'", errstr, want_in_msg);
    assert_null(m.topics);
    assert_null(m.owned);
}

static void test_subscription_hostile_input(void **state)
{
    /* Negative version. */
    const uint8_t neg_version[] = {0xff, 0xff, SUB_V0_BODY};
    expect_sub_bad(neg_version, sizeof(neg_version), "version");
    /* Null Topics array. */
    const uint8_t null_topics[] = {0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    expect_sub_bad(null_topics, sizeof(null_topics), "Topics");
    /* A count of 2^31-1 topics in a few bytes: refused before allocating. */
    const uint8_t huge_topics[] = {0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 't'};
    expect_sub_bad(huge_topics, sizeof(huge_topics), "Topics");
    /* A null topic name. */
    const uint8_t null_name[] = {0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    expect_sub_bad(null_name, sizeof(null_name), "Topics");
    /* A huge owned-partitions count. */
    const uint8_t huge_parts[] = {0,   1,    SUB_V0_BODY, 0, 0, 0, 1, 0, 1,
                                  't', 0x7f, 0,           0, 0, 0, 0, 0, 0};
    expect_sub_bad(huge_parts, sizeof(huge_parts), "OwnedPartitions");
    /* A null partition array. */
    const uint8_t null_parts[] = {0, 1, SUB_V0_BODY, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff};
    expect_sub_bad(null_parts, sizeof(null_parts), "OwnedPartitions");
    /* UserData longer than the buffer. */
    const uint8_t long_user[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2};
    expect_sub_bad(long_user, sizeof(long_user), "UserData");
}

/* A newer version is read as version 3; what follows is ignored. */
static void test_subscription_newer_version(void **state)
{
    uint8_t v9[sizeof(sub_v3) + 6];
    memcpy(v9, sub_v3, sizeof(sub_v3));
    v9[1] = 9;
    memcpy(v9 + sizeof(sub_v3), "future", 6);
    assignor_member_t m;
    char s[64];
    decode_sub(v9, sizeof(v9), &m);
    assert_string_equal(m.topics[0], "t");
    assert_string_equal(tm_str(m.owned, s, sizeof(s)), "tp0 tp3");
    assert_int_equal(m.generation, 5);
    assert_string_equal(m.rack, "r1");
    assignor_member_clear(&m);
}

/* Java's cooperative-sticky before GenerationId (v1) put the generation in
 * UserData as one int32; an empty rack is no rack, as in Java. */
static void test_subscription_userdata_generation_and_empty_rack(void **state)
{
    const uint8_t v1_user[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 9, 0, 0, 0, 0};
    assignor_member_t m;
    decode_sub(v1_user, sizeof(v1_user), &m);
    assert_int_equal(m.generation, 9);
    assert_int_equal(m.owned->cnt, 0);
    assignor_member_clear(&m);

    /* The field wins over UserData when present. */
    const uint8_t v2_user[] = {0, 2, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3};
    decode_sub(v2_user, sizeof(v2_user), &m);
    assert_int_equal(m.generation, 3);
    assignor_member_clear(&m);

    /* Other user data sizes are not a generation. */
    const uint8_t v1_user5[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 9, 1, 0, 0, 0, 0};
    decode_sub(v1_user5, sizeof(v1_user5), &m);
    assert_int_equal(m.generation, -1);
    assignor_member_clear(&m);

    const uint8_t v3_empty_rack[] = {0, 3, SUB_V0_BODY, 0, 0, 0, 0, SUB_GEN, 0, 0};
    decode_sub(v3_empty_rack, sizeof(v3_empty_rack), &m);
    assert_null(m.rack);
    assignor_member_clear(&m);
}

/* Decoding leaves the caller's member id, instance id and assignment. */
static void test_subscription_decode_keeps_caller_fields(void **state)
{
    assignor_member_t m;
    memset(&m, 0, sizeof(m));
    m.member_id = "member-1";
    m.group_instance_id = "instance-1";
    m.assigned = kc_topic_partition_list_new(0);
    kc_topic_partition_list_t *assigned = m.assigned;
    char errstr[128];
    assert_int_equal(
        assignor_subscription_decode(sub_v3, sizeof(sub_v3), &m, errstr, sizeof(errstr)), 0);
    assert_string_equal(m.member_id, "member-1");
    assert_string_equal(m.group_instance_id, "instance-1");
    assert_ptr_equal(m.assigned, assigned);
    /* Also on failure. */
    assignor_member_clear(&m);
    m.assigned = kc_topic_partition_list_new(0);
    assigned = m.assigned;
    assert_int_equal(assignor_subscription_decode(sub_v3, 5, &m, errstr, sizeof(errstr)),
                     KC_ERR__BAD_MSG);
    assert_ptr_equal(m.assigned, assigned);
    assignor_member_clear(&m);
    assert_null(m.assigned);
}

/* AssignedPartitions [t: [0, 1]], UserData null / 2 bytes. */
static const uint8_t asg_v3[] = {0, 3, 0, 0, 0, 1, 0, 1, 't',  0,    0,    0,   2,
                                 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff};
static const uint8_t asg_v0_user[] = {0, 0, 0, 0, 0,   2, 0, 1, 'a', 0, 0, 0, 1, 0,   0,
                                      0, 7, 0, 1, 'b', 0, 0, 0, 0,   0, 0, 0, 2, 'x', 'y'};

static void test_assignment_vectors(void **state)
{
    kc_topic_partition_list_t *l = NULL;
    char errstr[128], s[128];
    assert_int_equal(assignor_assignment_decode(asg_v3, sizeof(asg_v3), &l, errstr, sizeof(errstr)),
                     0);
    assert_string_equal(tm_str(l, s, sizeof(s)), "tp0 tp1");
    kc_topic_partition_list_destroy(l);
    assert_int_equal(
        assignor_assignment_decode(asg_v0_user, sizeof(asg_v0_user), &l, errstr, sizeof(errstr)),
        0);
    assert_string_equal(tm_str(l, s, sizeof(s)), "ap7");
    kc_topic_partition_list_destroy(l);

    /* The encoder writes version 3, topics grouped. */
    kc_topic_partition_list_t *parts = kc_topic_partition_list_new(0);
    kc_topic_partition_list_add(parts, "t", 1);
    kc_topic_partition_list_add(parts, "t", 0);
    proto_wbuf_t w = {0};
    assert_int_equal(assignor_assignment_encode(&w, parts), 0);
    assert_int_equal(w.len, sizeof(asg_v3));
    assert_memory_equal(w.data, asg_v3, sizeof(asg_v3));
    proto_wbuf_free(&w);
    kc_topic_partition_list_destroy(parts);
}

static void test_assignment_round_trip_and_empty(void **state)
{
    kc_topic_partition_list_t *parts = kc_topic_partition_list_new(0);
    for (int t = 0; t < 5; t++)
        for (int p = 9; p >= 0; p -= 3) {
            char name[16];
            snprintf(name, sizeof(name), "topic-%d", 4 - t);
            kc_topic_partition_list_add(parts, name, p);
        }
    proto_wbuf_t w = {0};
    assert_int_equal(assignor_assignment_encode(&w, parts), 0);
    kc_topic_partition_list_t *l = NULL;
    char errstr[128];
    assert_int_equal(assignor_assignment_decode(w.data, w.len, &l, errstr, sizeof(errstr)), 0);
    assert_int_equal(l->cnt, parts->cnt);
    for (int i = 0; i < parts->cnt; i++)
        assert_non_null(
            kc_topic_partition_list_find(l, parts->elems[i].topic, parts->elems[i].partition));
    char s[512];
    assert_string_equal(tm_str(l, s, sizeof(s)), "topic-0p0 topic-0p3 topic-0p6 topic-0p9 "
                                                 "topic-1p0 topic-1p3 topic-1p6 topic-1p9 "
                                                 "topic-2p0 topic-2p3 topic-2p6 topic-2p9 "
                                                 "topic-3p0 topic-3p3 topic-3p6 topic-3p9 "
                                                 "topic-4p0 topic-4p3 topic-4p6 topic-4p9");
    kc_topic_partition_list_destroy(l);
    proto_wbuf_free(&w);

    /* An empty assignment, and an empty buffer (a member the leader left
     * out), both decode to an empty list. */
    w = (proto_wbuf_t){0};
    assert_int_equal(assignor_assignment_encode(&w, NULL), 0);
    assert_int_equal(assignor_assignment_decode(w.data, w.len, &l, errstr, sizeof(errstr)), 0);
    assert_int_equal(l->cnt, 0);
    kc_topic_partition_list_destroy(l);
    assert_int_equal(assignor_assignment_decode(NULL, 0, &l, errstr, sizeof(errstr)), 0);
    assert_non_null(l);
    assert_int_equal(l->cnt, 0);
    kc_topic_partition_list_destroy(l);
    proto_wbuf_free(&w);
    kc_topic_partition_list_destroy(parts);
}

static void test_assignment_truncations_and_hostile(void **state)
{
    for (size_t n = 1; n < sizeof(asg_v3); n++) {
        kc_topic_partition_list_t *l = (kc_topic_partition_list_t *)1;
        char errstr[128] = "";
        uint8_t *copy = malloc(n);
        memcpy(copy, asg_v3, n);
        kc_err_t err = assignor_assignment_decode(copy, n, &l, errstr, sizeof(errstr));
        if (err != KC_ERR__BAD_MSG) fail_msg("cut at %zu: err %d", n, err);
        assert_null(l);
        assert_true(strlen(errstr) > 0);
        free(copy);
    }
    const uint8_t huge[] = {0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    const uint8_t neg_version[] = {0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    const uint8_t null_parts[] = {0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t *bad[] = {huge, neg_version, null_parts};
    for (int i = 0; i < 3; i++) {
        kc_topic_partition_list_t *l = NULL;
        char errstr[128] = "";
        assert_int_equal(assignor_assignment_decode(bad[i], 10, &l, errstr, sizeof(errstr)),
                         KC_ERR__BAD_MSG);
        assert_null(l);
        assert_true(strlen(errstr) > 0);
    }
}

/* Mutated valid messages: each either decodes or is refused with a reason;
 * never a crash, overread or leak (run under ASan). */
static void test_mutations_never_crash(void **state)
{
    uint64_t rng = 12345;
    const uint8_t *vecs[] = {sub_v0, sub_v1, sub_v2, sub_v3, asg_v3, asg_v0_user};
    const size_t lens[] = {sizeof(sub_v0), sizeof(sub_v1), sizeof(sub_v2),
                           sizeof(sub_v3), sizeof(asg_v3), sizeof(asg_v0_user)};
    for (int i = 0; i < 20000; i++) {
        int v = (int)(tm_rand(&rng) % 6);
        size_t len = lens[v] + tm_rand(&rng) % 4;
        uint8_t *buf = malloc(len);
        for (size_t k = 0; k < len; k++)
            buf[k] = k < lens[v] ? vecs[v][k] : (uint8_t)tm_rand(&rng);
        for (int flips = 1 + (int)(tm_rand(&rng) % 3); flips > 0; flips--)
            buf[tm_rand(&rng) % len] = (uint8_t)tm_rand(&rng);
        char errstr[256] = "";
        assignor_member_t m;
        memset(&m, 0, sizeof(m));
        kc_err_t err = assignor_subscription_decode(buf, len, &m, errstr, sizeof(errstr));
        if (err) {
            assert_int_equal(err, KC_ERR__BAD_MSG);
            assert_true(strlen(errstr) > 0);
        }
        assignor_member_clear(&m);
        kc_topic_partition_list_t *l = NULL;
        err = assignor_assignment_decode(buf, len, &l, errstr, sizeof(errstr));
        if (err) {
            assert_int_equal(err, KC_ERR__BAD_MSG);
            assert_null(l);
        }
        kc_topic_partition_list_destroy(l);
        free(buf);
    }
}

static void test_find(void **state)
{
    const assignor_t *a = assignor_find("range");
    assert_non_null(a);
    assert_string_equal(a->name, "range");
    assert_int_equal(a->protocol, ASSIGNOR_EAGER);
    a = assignor_find("RoundRobin");
    assert_non_null(a);
    assert_string_equal(a->name, "roundrobin");
    assert_int_equal(a->protocol, ASSIGNOR_EAGER);
    a = assignor_find("COOPERATIVE-STICKY");
    assert_non_null(a);
    assert_string_equal(a->name, "cooperative-sticky");
    assert_int_equal(a->protocol, ASSIGNOR_COOPERATIVE);
    assert_null(assignor_find("sticky"));
    assert_null(assignor_find(""));
    assert_null(assignor_find(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscription_vectors_every_version),
        cmocka_unit_test(test_subscription_encode_matches_vector),
        cmocka_unit_test(test_subscription_round_trip),
        cmocka_unit_test(test_subscription_encode_refuses_bad_args),
        cmocka_unit_test(test_subscription_truncations_refused),
        cmocka_unit_test(test_subscription_hostile_input),
        cmocka_unit_test(test_subscription_newer_version),
        cmocka_unit_test(test_subscription_userdata_generation_and_empty_rack),
        cmocka_unit_test(test_subscription_decode_keeps_caller_fields),
        cmocka_unit_test(test_assignment_vectors),
        cmocka_unit_test(test_assignment_round_trip_and_empty),
        cmocka_unit_test(test_assignment_truncations_and_hostile),
        cmocka_unit_test(test_mutations_never_crash),
        cmocka_unit_test(test_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
