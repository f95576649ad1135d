/* Legacy message sets (magic 0/1): hand-made byte vectors, sets written by
 * kafka-python (tests/fixtures/records, decoded there by kafka-python too),
 * wrappers and their offset rules, corruption, and conversion to magic 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kc/kc_err.h"
#include "proto/proto_batch.h"
#include "proto/proto_compress.h"
#include "proto/proto_crc.h"
#include "proto/proto_legacy.h"
#include "proto/proto_record.h"

/* ---- Hand-made vectors ---------------------------------------------------------- */

/* Magic 1, offset 7, CreateTime 1000, key "k", value "v". The CRC-32 was
 * computed with Python's zlib.crc32 over magic..end (01 00 00..03e8 ...). */
static const uint8_t hand_v1[] = {
    0,    0,    0,    0,    0,   0, 0,    7,    /* offset */
    0,    0,    0,    24,                       /* size */
    0xe4, 0xe3, 0x21, 0xbc,                     /* crc */
    1,    0,                                    /* magic, attributes */
    0,    0,    0,    0,    0,   0, 0x03, 0xe8, /* timestamp 1000 */
    0,    0,    0,    1,    'k',                /* key */
    0,    0,    0,    1,    'v',                /* value */
};

/* Magic 0, offset 8, key null, value "abc"; CRC-32 from zlib.crc32 as above. */
static const uint8_t hand_v0[] = {
    0,    0,    0,    0,    0,   0,   0,   8, /* offset */
    0,    0,    0,    17,                     /* size */
    0x43, 0xdc, 0x3f, 0xaf,                   /* crc */
    0,    0,                                  /* magic, attributes */
    0xff, 0xff, 0xff, 0xff,                   /* key null */
    0,    0,    0,    3,    'a', 'b', 'c',
};

static int collect(const uint8_t *data, size_t len, int check_crc, proto_record_t *out, int max,
                   char *msg)
{
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    static proto_wbuf_t scratch[8];
    int n = 0, b = 0;
    msg[0] = '\0';
    proto_batch_iter_init(&bi, data, len);
    while (proto_batch_iter_next(&bi, &v)) {
        /* One scratch per entry, so records of earlier entries stay valid. */
        proto_wbuf_t *s = &scratch[b++ % 8];
        proto_record_iter_t ri;
        proto_record_t r;
        if (proto_record_iter_init(&ri, &v, check_crc, s, 0)) {
            strcpy(msg, ri.errstr);
            return ri.err;
        }
        while (proto_record_iter_next(&ri, &r))
            if (n < max) out[n++] = r;
        if (ri.err) {
            strcpy(msg, ri.errstr);
            return ri.err;
        }
    }
    if (bi.err) strcpy(msg, bi.errstr);
    return bi.err ? bi.err : n;
}

static void test_hand_vectors(void **state)
{
    uint8_t set[sizeof(hand_v1) + sizeof(hand_v0)];
    memcpy(set, hand_v1, sizeof(hand_v1));
    memcpy(set + sizeof(hand_v1), hand_v0, sizeof(hand_v0));
    proto_record_t r[4];
    char msg[PROTO_RECORD_ERRSTR_SIZE];
    assert_int_equal(collect(set, sizeof(set), 1, r, 4, msg), 2);
    assert_int_equal(r[0].offset, 7);
    assert_int_equal(r[0].timestamp, 1000);
    assert_int_equal(r[0].ts_type, PROTO_TS_CREATE_TIME);
    assert_int_equal(r[0].key.len, 1);
    assert_memory_equal(r[0].key.ptr, "k", 1);
    assert_memory_equal(r[0].value.ptr, "v", 1);
    assert_int_equal(r[0].header_count, 0);
    assert_int_equal(r[1].offset, 8);
    assert_int_equal(r[1].timestamp, -1);
    assert_int_equal(r[1].ts_type, PROTO_TS_NONE);
    assert_int_equal(r[1].key.len, -1);
    assert_null(r[1].key.ptr);
    assert_int_equal(r[1].value.len, 3);

    /* The batch view of a legacy entry. */
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    proto_batch_iter_init(&bi, set, sizeof(set));
    assert_int_equal(proto_batch_iter_next(&bi, &v), 1);
    assert_int_equal(v.magic, 1);
    assert_int_equal(v.size, sizeof(hand_v1));
    assert_int_equal(v.h.crc, 0xe4e321bcu);
    assert_int_equal(v.h.max_timestamp, 1000);
    assert_int_equal(proto_batch_view_next_offset(&v), 8);
    assert_int_equal(proto_batch_view_codec(&v), 0);
    assert_false(proto_batch_view_is_control(&v));

    /* One flipped bit anywhere the CRC covers. */
    for (size_t i = 16; i < sizeof(hand_v1); i++) {
        uint8_t bad[sizeof(hand_v1)];
        memcpy(bad, hand_v1, sizeof(bad));
        bad[i] ^= 0x04;
        int rc = collect(bad, sizeof(bad), 1, r, 4, msg);
        assert_true(rc == KC_ERR__BAD_CRC || rc == KC_ERR__BAD_MSG);
        /* Flips in the timestamp, key or value leave it well formed. */
        if ((i >= 18 && i < 26) || i == 30 || i == 35) assert_int_equal(rc, KC_ERR__BAD_CRC);
    }
    /* Without check.crcs a corrupt value reads through. */
    uint8_t bad[sizeof(hand_v1)];
    memcpy(bad, hand_v1, sizeof(bad));
    bad[sizeof(bad) - 1] = 'w';
    assert_int_equal(collect(bad, sizeof(bad), 1, r, 4, msg), KC_ERR__BAD_CRC);
    assert_non_null(strstr(msg, "offset 7"));
    assert_int_equal(collect(bad, sizeof(bad), 0, r, 4, msg), 1);
}

static void test_malformed_messages(void **state)
{
    proto_legacy_msg_t m;
    char msg[160];
    uint8_t b[sizeof(hand_v1)];
    for (size_t n = 0; n < sizeof(hand_v1); n++)
        assert_int_equal(proto_legacy_msg_parse(hand_v1, n, &m, msg, sizeof(msg)), KC_ERR__PARTIAL);
    assert_int_equal(proto_legacy_msg_parse(hand_v1, sizeof(hand_v1), &m, msg, sizeof(msg)), 0);
    assert_int_equal(proto_legacy_msg_verify_crc(&m), 0);

    memcpy(b, hand_v1, sizeof(b));
    b[29] = 2; /* key length 2: the value length no longer fits */
    assert_int_equal(proto_legacy_msg_parse(b, sizeof(b), &m, msg, sizeof(msg)), KC_ERR__BAD_MSG);
    assert_non_null(strstr(msg, "value length"));
    memcpy(b, hand_v1, sizeof(b));
    b[29] = 9; /* key length 9: past the message */
    assert_int_equal(proto_legacy_msg_parse(b, sizeof(b), &m, msg, sizeof(msg)), KC_ERR__BAD_MSG);
    assert_non_null(strstr(msg, "key length 9"));
    memcpy(b, hand_v1, sizeof(b));
    b[34] = 0; /* value length 0 leaves a byte over */
    assert_int_equal(proto_legacy_msg_parse(b, sizeof(b), &m, msg, sizeof(msg)), KC_ERR__BAD_MSG);
    memcpy(b, hand_v1, sizeof(b));
    b[11] = 15; /* size 15: too small for magic 1 */
    assert_int_equal(proto_legacy_msg_parse(b, sizeof(b), &m, msg, sizeof(msg)), KC_ERR__BAD_MSG);
    assert_non_null(strstr(msg, "magic 1"));
    memcpy(b, hand_v1, sizeof(b));
    b[16] = 3;
    assert_int_equal(proto_legacy_msg_parse(b, sizeof(b), &m, msg, sizeof(msg)), KC_ERR__BAD_MSG);
}

/* ---- Builders for cases no producer writes ---------------------------------------- */

static void put_msg(proto_wbuf_t *w, int64_t offset, int magic, int attrs, int64_t ts,
                    const void *key, int32_t klen, const void *val, int32_t vlen)
{
    proto_put_i64(w, offset);
    size_t size_at = proto_wbuf_skip(w, 4);
    size_t crc_at = proto_wbuf_skip(w, 4);
    proto_put_i8(w, (int8_t)magic);
    proto_put_i8(w, (int8_t)attrs);
    if (magic == 1) proto_put_i64(w, ts);
    proto_put_i32(w, klen);
    if (klen > 0) proto_put_raw(w, key, (size_t)klen);
    proto_put_i32(w, vlen);
    if (vlen > 0) proto_put_raw(w, val, (size_t)vlen);
    proto_put_i32_at(w, size_at, (int32_t)(w->len - crc_at));
    proto_put_u32_at(w, crc_at, proto_crc32(0, w->data + crc_at + 4, w->len - crc_at - 4));
}

static void put_wrapper(proto_wbuf_t *w, int64_t offset, int magic, int attrs, int64_t ts,
                        const proto_wbuf_t *inner)
{
    proto_wbuf_t z = {0};
    assert_int_equal(proto_compress(attrs & 7, -1, inner->data, inner->len, &z, NULL, 0), 0);
    put_msg(w, offset, magic, attrs, ts, NULL, -1, z.data, (int32_t)z.len);
    proto_wbuf_free(&z);
}

static void test_wrapper_offsets_and_timestamps(void **state)
{
    proto_wbuf_t inner = {0}, w = {0};
    /* Magic 1: relative inner offsets 0..2, wrapper at the last absolute one. */
    for (int i = 0; i < 3; i++)
        put_msg(&inner, i, 1, 0, 100 + i, "k", 1, "v", 1);
    put_wrapper(&w, 52, 1, PROTO_CODEC_GZIP, 999, &inner);
    /* Magic 0: inner offsets absolute. */
    proto_wbuf_reset(&inner);
    for (int i = 0; i < 2; i++)
        put_msg(&inner, 53 + i, 0, 0, 0, "k", 1, NULL, -1);
    put_wrapper(&w, 54, 0, PROTO_CODEC_GZIP, 0, &inner);
    /* Magic 1 LogAppendTime: the wrapper's timestamp for every inner message. */
    proto_wbuf_reset(&inner);
    for (int i = 0; i < 2; i++)
        put_msg(&inner, i, 1, 0, 100 + i, NULL, -1, "v", 1);
    put_wrapper(&w, 56, 1, PROTO_CODEC_GZIP | PROTO_LEGACY_ATTR_LOG_APPEND_TIME, 777, &inner);

    proto_record_t r[16];
    char msg[PROTO_RECORD_ERRSTR_SIZE];
    assert_int_equal(collect(w.data, w.len, 1, r, 16, msg), 7);
    const int64_t want_off[] = {50, 51, 52, 53, 54, 55, 56};
    const int64_t want_ts[] = {100, 101, 102, -1, -1, 777, 777};
    const int want_type[] = {0, 0, 0, -1, -1, 1, 1};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(r[i].offset, want_off[i]);
        assert_int_equal(r[i].timestamp, want_ts[i]);
        assert_int_equal(r[i].ts_type, want_type[i]);
    }
    assert_int_equal(r[3].value.len, -1);
    proto_wbuf_free(&inner);
    proto_wbuf_free(&w);
}

static void expect_bad(const proto_wbuf_t *w, int want, const char *text)
{
    proto_record_t r[8];
    char msg[PROTO_RECORD_ERRSTR_SIZE];
    int rc = collect(w->data, w->len, 1, r, 8, msg);
    if (rc != want || !strstr(msg, text))
        fail_msg("got %d \"%s\", wanted %d with \"%s\"", rc, msg, want, text);
}

static void test_bad_wrappers(void **state)
{
    proto_wbuf_t inner = {0}, nested = {0}, w = {0};
    /* Nested compression. */
    put_msg(&inner, 0, 1, 0, 1, "k", 1, "v", 1);
    put_wrapper(&nested, 0, 1, PROTO_CODEC_GZIP, 1, &inner);
    put_wrapper(&w, 0, 1, PROTO_CODEC_GZIP, 1, &nested);
    expect_bad(&w, KC_ERR__BAD_MSG, "one level");
    /* An inner message with a bad CRC. */
    proto_wbuf_reset(&inner);
    put_msg(&inner, 0, 1, 0, 1, "k", 1, "v", 1);
    inner.data[inner.len - 1] = 'x';
    proto_wbuf_reset(&w);
    put_wrapper(&w, 0, 1, PROTO_CODEC_GZIP, 1, &inner);
    expect_bad(&w, KC_ERR__BAD_CRC, "inner message at 0");
    /* An inner message cut off. */
    proto_wbuf_reset(&inner);
    put_msg(&inner, 0, 1, 0, 1, "k", 1, "v", 1);
    inner.len -= 3;
    proto_wbuf_reset(&w);
    put_wrapper(&w, 0, 1, PROTO_CODEC_GZIP, 1, &inner);
    expect_bad(&w, KC_ERR__BAD_MSG, "cut off");
    /* No inner messages at all. */
    proto_wbuf_reset(&inner);
    proto_wbuf_reset(&w);
    put_wrapper(&w, 0, 1, PROTO_CODEC_GZIP, 1, &inner);
    expect_bad(&w, KC_ERR__BAD_MSG, "no inner messages");
    /* A wrapper offset smaller than its last relative offset. */
    proto_wbuf_reset(&inner);
    for (int i = 0; i < 3; i++)
        put_msg(&inner, i, 1, 0, 1, "k", 1, "v", 1);
    proto_wbuf_reset(&w);
    put_wrapper(&w, 1, 1, PROTO_CODEC_GZIP, 1, &inner);
    expect_bad(&w, KC_ERR__BAD_MSG, "past it");
    /* A null wrapper value, zstd (magic 2 only) and an unknown codec. */
    proto_wbuf_reset(&w);
    put_msg(&w, 0, 1, PROTO_CODEC_GZIP, 1, NULL, -1, NULL, -1);
    expect_bad(&w, KC_ERR__BAD_MSG, "null value");
    proto_wbuf_reset(&w);
    put_msg(&w, 0, 1, PROTO_CODEC_ZSTD, 1, NULL, -1, "x", 1);
    expect_bad(&w, KC_ERR__UNSUPPORTED, "codec 4");
    proto_wbuf_reset(&w);
    put_msg(&w, 0, 0, 7, 1, NULL, -1, "x", 1);
    expect_bad(&w, KC_ERR__UNSUPPORTED, "codec 7");
    /* Garbage where the compressed set should be. */
    proto_wbuf_reset(&w);
    put_msg(&w, 0, 1, PROTO_CODEC_GZIP, 1, NULL, -1, "not gzip", 8);
    expect_bad(&w, KC_ERR__COMPRESSION, "gzip");
    /* The decompression bound. */
    proto_wbuf_reset(&inner);
    static uint8_t big[4096];
    put_msg(&inner, 0, 1, 0, 1, NULL, -1, big, sizeof(big));
    proto_wbuf_reset(&w);
    put_wrapper(&w, 0, 1, PROTO_CODEC_GZIP, 1, &inner);
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    proto_batch_iter_init(&bi, w.data, w.len);
    assert_int_equal(proto_batch_iter_next(&bi, &v), 1);
    proto_record_iter_t ri;
    assert_int_equal(proto_record_iter_init(&ri, &v, 1, &nested, 1000), KC_ERR__TOO_LARGE);
    assert_int_equal(proto_record_iter_init(&ri, &v, 1, NULL, 0), KC_ERR__INVALID_ARG);
    proto_wbuf_free(&inner);
    proto_wbuf_free(&nested);
    proto_wbuf_free(&w);
}

static void test_partial_trailing_message(void **state)
{
    uint8_t set[2 * sizeof(hand_v1)];
    memcpy(set, hand_v1, sizeof(hand_v1));
    memcpy(set + sizeof(hand_v1), hand_v1, sizeof(hand_v1));
    for (size_t cut = sizeof(hand_v1); cut < sizeof(set); cut++) {
        uint8_t *d = malloc(cut);
        memcpy(d, set, cut);
        proto_batch_iter_t bi;
        proto_batch_view_t v;
        proto_batch_iter_init(&bi, d, cut);
        assert_int_equal(proto_batch_iter_next(&bi, &v), 1);
        assert_int_equal(proto_batch_iter_next(&bi, &v), 0);
        assert_int_equal(bi.err, 0);
        assert_int_equal(bi.partial, cut > sizeof(hand_v1));
        free(d);
    }
}

/* ---- Fixtures written by kafka-python ------------------------------------------ */

static uint8_t *read_file(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/records/%s", KC_TEST_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static void show(char *out, proto_slice_t s)
{
    if (s.len < 0) {
        strcpy(out, "-");
    } else if (s.len == 0) {
        strcpy(out, ".");
    } else {
        for (int32_t i = 0; i < s.len; i++)
            sprintf(out + 2 * i, "%02x", s.ptr[i]);
    }
}

/* Decodes data and compares each record with kafka-python's line for it.
 * `converted`: magic 2 has no "no timestamp" type, so converted magic 0
 * records come back as CreateTime -1, which kafka-python shows as type -1. */
static void compare_with_expected(const uint8_t *data, size_t len, const char *expected,
                                  int converted)
{
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    proto_wbuf_t scratch = {0};
    char line[4096], key[512], value[2048];
    const char *exp = expected;
    int n = 0;
    proto_batch_iter_init(&bi, data, len);
    while (proto_batch_iter_next(&bi, &v)) {
        proto_record_iter_t ri;
        proto_record_t r;
        if (proto_record_iter_init(&ri, &v, 1, &scratch, 0)) fail_msg("init: %s", ri.errstr);
        while (proto_record_iter_next(&ri, &r)) {
            show(key, r.key);
            show(value, r.value);
            int ts_type = r.ts_type;
            if (converted && ts_type == PROTO_TS_CREATE_TIME && r.timestamp == -1)
                ts_type = PROTO_TS_NONE;
            snprintf(line, sizeof(line), "%lld %lld %d %s %s\n", (long long)r.offset,
                     (long long)r.timestamp, ts_type, key, value);
            const char *nl = strchr(exp, '\n');
            if (!nl) fail_msg("record %d beyond the expected ones: %s", n, line);
            if ((size_t)(nl + 1 - exp) != strlen(line) || memcmp(exp, line, strlen(line)) != 0)
                fail_msg("record %d:\n got  %s want %.*s", n, line, (int)(nl + 1 - exp), exp);
            exp = nl + 1;
            n++;
        }
        if (ri.err) fail_msg("record %d: %s", n, ri.errstr);
    }
    assert_int_equal(bi.err, 0);
    assert_int_equal(bi.partial, 0);
    assert_string_equal(exp, "");
    assert_true(n > 0);
    proto_wbuf_free(&scratch);
}

static const char *const fixtures[] = {
    "v0_plain",  "v1_plain", "v0_gzip",          "v1_gzip", "v1_gzip_log_append",
    "v1_snappy", "v1_lz4",   "v0_lz4_kafka3160", "mixed",
};

static void test_kafka_python_fixtures(void **state)
{
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        char name[128];
        size_t len, elen;
        snprintf(name, sizeof(name), "%s.bin", fixtures[i]);
        uint8_t *data = read_file(name, &len);
        snprintf(name, sizeof(name), "%s.expected", fixtures[i]);
        char *expected = (char *)read_file(name, &elen);
        print_message("fixture %s\n", fixtures[i]);
        compare_with_expected(data, len, expected, 0);
        free(data);
        free(expected);
    }
}

static void test_convert_to_batches(void **state)
{
    proto_wbuf_t out = {0}, scratch = {0};
    char msg[160];
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        char name[128];
        size_t len, elen;
        snprintf(name, sizeof(name), "%s.bin", fixtures[i]);
        uint8_t *data = read_file(name, &len);
        snprintf(name, sizeof(name), "%s.expected", fixtures[i]);
        char *expected = (char *)read_file(name, &elen);
        proto_wbuf_reset(&out);
        int rc = proto_legacy_to_batches(data, len, &out, 1, &scratch, 0, msg, sizeof(msg));
        if (rc) fail_msg("%s: %s", fixtures[i], msg);
        /* Only magic 2 comes out, and it says the same. */
        proto_batch_iter_t bi;
        proto_batch_view_t v;
        proto_batch_iter_init(&bi, out.data, out.len);
        while (proto_batch_iter_next(&bi, &v)) {
            assert_int_equal(v.magic, 2);
            assert_int_equal(proto_batch_verify_crc(v.data, v.size), 0);
        }
        compare_with_expected(out.data, out.len, expected, 1);
        free(data);
        free(expected);
    }
    /* A bad CRC stops the conversion, and nothing of that entry is left. */
    uint8_t bad[sizeof(hand_v1)];
    memcpy(bad, hand_v1, sizeof(bad));
    bad[sizeof(bad) - 1] = 'w';
    proto_wbuf_reset(&out);
    assert_int_equal(
        proto_legacy_to_batches(bad, sizeof(bad), &out, 1, &scratch, 0, msg, sizeof(msg)),
        KC_ERR__BAD_CRC);
    assert_int_equal(out.len, 0);
    proto_wbuf_free(&out);
    proto_wbuf_free(&scratch);
}

/* A LogAppendTime message keeps its time through conversion even when it is
 * below -1 (the builder's maxTimestamp starts at -1). Found by fuzz_batch. */
static void test_convert_negative_log_append_time(void **state)
{
    proto_wbuf_t in = {0}, out = {0};
    put_msg(&in, 5, 1, PROTO_LEGACY_ATTR_LOG_APPEND_TIME, -5, "k", 1, "v", 1);
    proto_record_t r[2];
    char msg[PROTO_RECORD_ERRSTR_SIZE];
    assert_int_equal(collect(in.data, in.len, 1, r, 2, msg), 1);
    assert_int_equal(r[0].timestamp, -5);
    assert_int_equal(r[0].ts_type, PROTO_TS_LOG_APPEND_TIME);
    assert_int_equal(proto_legacy_to_batches(in.data, in.len, &out, 1, NULL, 0, msg, sizeof(msg)),
                     0);
    assert_int_equal(collect(out.data, out.len, 1, r, 2, msg), 1);
    assert_int_equal(r[0].offset, 5);
    assert_int_equal(r[0].timestamp, -5);
    assert_int_equal(r[0].ts_type, PROTO_TS_LOG_APPEND_TIME);
    proto_wbuf_free(&in);
    proto_wbuf_free(&out);
}

/* Nothing to read, even from a buffer that was never allocated. */
static void test_empty_input(void **state)
{
    proto_wbuf_t empty = {0}, out = {0};
    proto_record_t r[1];
    char msg[PROTO_RECORD_ERRSTR_SIZE];
    assert_int_equal(collect(empty.data, empty.len, 1, r, 1, msg), 0);
    assert_int_equal(
        proto_legacy_to_batches(empty.data, empty.len, &out, 1, NULL, 0, msg, sizeof(msg)), 0);
    assert_int_equal(out.len, 0);
}

/* Every cut of a kafka-python stream ends cleanly: whole entries decode,
 * the cut one is partial. */
static void test_fixture_truncations(void **state)
{
    size_t len;
    uint8_t *data = read_file("mixed.bin", &len);
    proto_wbuf_t scratch = {0};
    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t *d = malloc(cut ? cut : 1);
        memcpy(d, data, cut);
        proto_batch_iter_t bi;
        proto_batch_view_t v;
        size_t used = 0;
        proto_batch_iter_init(&bi, d, cut);
        while (proto_batch_iter_next(&bi, &v)) {
            proto_record_iter_t ri;
            proto_record_t r;
            assert_int_equal(proto_record_iter_init(&ri, &v, 1, &scratch, 0), 0);
            while (proto_record_iter_next(&ri, &r)) {
            }
            assert_int_equal(ri.err, 0);
            used += v.size;
        }
        assert_int_equal(bi.err, 0);
        assert_int_equal(bi.partial, used < cut);
        free(d);
    }
    free(data);
    proto_wbuf_free(&scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_vectors),
        cmocka_unit_test(test_malformed_messages),
        cmocka_unit_test(test_wrapper_offsets_and_timestamps),
        cmocka_unit_test(test_bad_wrappers),
        cmocka_unit_test(test_partial_trailing_message),
        cmocka_unit_test(test_kafka_python_fixtures),
        cmocka_unit_test(test_convert_to_batches),
        cmocka_unit_test(test_fixture_truncations),
        cmocka_unit_test(test_convert_negative_log_append_time),
        cmocka_unit_test(test_empty_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
