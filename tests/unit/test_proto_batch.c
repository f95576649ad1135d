/* Record batch v2, write side: the builder against a hand-computed byte
 * vector, header parsing, in-place patches, size estimates, control batches
 * and the broker's validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kc/kc_err.h"
#include "proto/proto_batch.h"
#include "proto/proto_compress.h"
#include "proto/proto_crc.h"
#include "proto/proto_record.h"

#define BASE_TS 1700000000000LL /* 0x0000018bcfe56800 */

/* Two records, one header, no producer id, built from the spec by hand:
 *   record 0: ts = base, key "k1", value "v1", no headers
 *     14 | 00 attrs | 00 tsDelta | 00 offsetDelta | 04 "k1" | 04 "v1" | 00 headers
 *   record 1: ts = base + 5, key null, value "hello", header h=x
 *     1e | 00 | 0a tsDelta 5 | 02 offsetDelta 1 | 01 key null | 0a "hello" |
 *     02 one header | 02 "h" | 02 "x"
 * The CRC-32C 0x32deae19 over attributes..end was computed with a bit-wise
 * CRC-32C in /usr/bin/python3 (poly 0x82F63B78 reflected, init and xorout
 * 0xffffffff, checked against "123456789" -> 0xe3069283); kafka-python's
 * DefaultRecordBatchBuilder produces the same bytes except that it writes
 * partitionLeaderEpoch 0 where producers write -1 (outside the CRC). */
static const uint8_t hand_batch[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,                 /* baseOffset 0 */
    0x00, 0x00, 0x00, 0x4c,                                         /* batchLength 76 */
    0xff, 0xff, 0xff, 0xff,                                         /* partitionLeaderEpoch -1 */
    0x02,                                                           /* magic */
    0x32, 0xde, 0xae, 0x19,                                         /* crc */
    0x00, 0x00,                                                     /* attributes */
    0x00, 0x00, 0x00, 0x01,                                         /* lastOffsetDelta 1 */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,                 /* baseTimestamp */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x05,                 /* maxTimestamp */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,                 /* producerId -1 */
    0xff, 0xff,                                                     /* producerEpoch -1 */
    0xff, 0xff, 0xff, 0xff,                                         /* baseSequence -1 */
    0x00, 0x00, 0x00, 0x02,                                         /* recordCount 2 */
    0x14, 0x00, 0x00, 0x00, 0x04, 'k',  '1',  0x04, 'v', '1', 0x00, /* record 0 */
    0x1e, 0x00, 0x0a, 0x02, 0x01, 0x0a, 'h',  'e',  'l', 'l', 'o',  /* record 1 ... */
    0x02, 0x02, 'h',  0x02, 'x',
};

static void build_hand_batch(proto_wbuf_t *w)
{
    proto_batch_builder_t b;
    proto_record_header_t hd = {proto_str_of("h"), proto_slice_of("x", 1)};
    assert_int_equal(proto_batch_builder_begin(&b, w, NULL), 0);
    assert_int_equal(proto_batch_builder_append(&b, BASE_TS, "k1", 2, "v1", 2, NULL, 0), 0);
    assert_int_equal(proto_batch_builder_append(&b, BASE_TS + 5, NULL, -1, "hello", 5, &hd, 1), 0);
    assert_int_equal(proto_batch_builder_finish(&b, PROTO_CODEC_NONE, -1, NULL, NULL, 0), 0);
}

/* Recomputes the CRC after a test patched a covered field. */
static void recrc(uint8_t *p, size_t len)
{
    uint32_t c = proto_crc32c(0, p + PROTO_BATCH_CRC_START, len - PROTO_BATCH_CRC_START);
    p[17] = (uint8_t)(c >> 24);
    p[18] = (uint8_t)(c >> 16);
    p[19] = (uint8_t)(c >> 8);
    p[20] = (uint8_t)c;
}

static void test_hand_vector_byte_for_byte(void **state)
{
    proto_wbuf_t w = {0};
    build_hand_batch(&w);
    assert_int_equal(w.len, sizeof(hand_batch));
    assert_memory_equal(w.data, hand_batch, sizeof(hand_batch));
    assert_int_equal(proto_batch_verify_crc(hand_batch, sizeof(hand_batch)), 0);

    proto_batch_header_t h;
    assert_int_equal(proto_batch_header_parse(hand_batch, sizeof(hand_batch), &h, NULL, 0), 0);
    assert_int_equal(h.base_offset, 0);
    assert_int_equal(h.batch_length, 76);
    assert_int_equal(h.partition_leader_epoch, -1);
    assert_int_equal(h.magic, 2);
    assert_int_equal(h.crc, 0x32deae19u);
    assert_int_equal(h.attributes, 0);
    assert_int_equal(h.last_offset_delta, 1);
    assert_true(h.base_timestamp == BASE_TS);
    assert_true(h.max_timestamp == BASE_TS + 5);
    assert_true(h.producer_id == -1);
    assert_int_equal(h.producer_epoch, -1);
    assert_int_equal(h.base_sequence, -1);
    assert_int_equal(h.record_count, 2);
    assert_int_equal(proto_batch_size(&h), sizeof(hand_batch));
    proto_wbuf_free(&w);
}

static void test_builder_appends_after_existing_bytes(void **state)
{
    /* A batch starts wherever the buffer ends: a producer packs several. */
    proto_wbuf_t w = {0};
    proto_put_raw(&w, "prefix", 6);
    build_hand_batch(&w);
    build_hand_batch(&w);
    assert_int_equal(w.len, 6 + 2 * sizeof(hand_batch));
    assert_memory_equal(w.data + 6, hand_batch, sizeof(hand_batch));
    assert_memory_equal(w.data + 6 + sizeof(hand_batch), hand_batch, sizeof(hand_batch));
    proto_wbuf_free(&w);
}

static void test_header_parse_limits(void **state)
{
    proto_batch_header_t h;
    char err[128];
    for (size_t n = 0; n < sizeof(hand_batch); n++) {
        int rc = proto_batch_header_parse(hand_batch, n, &h, err, sizeof(err));
        assert_int_equal(rc, KC_ERR__PARTIAL);
    }
    uint8_t b[sizeof(hand_batch)];
    memcpy(b, hand_batch, sizeof(b));
    b[16] = 1;
    assert_int_equal(proto_batch_header_parse(b, sizeof(b), &h, err, sizeof(err)), KC_ERR__BAD_MSG);
    assert_non_null(strstr(err, "magic 1"));
    memcpy(b, hand_batch, sizeof(b));
    b[11] = 48; /* batchLength below the header */
    assert_int_equal(proto_batch_header_parse(b, sizeof(b), &h, err, sizeof(err)), KC_ERR__BAD_MSG);
    assert_non_null(strstr(err, "batchLength"));
    memcpy(b, hand_batch, sizeof(b));
    b[8] = 0x80; /* negative batchLength */
    assert_int_equal(proto_batch_header_parse(b, sizeof(b), &h, NULL, 0), KC_ERR__BAD_MSG);
}

static void test_crc_and_patches(void **state)
{
    uint8_t b[sizeof(hand_batch)];
    memcpy(b, hand_batch, sizeof(b));
    /* Outside the CRC: the broker patches these without re-checksumming. */
    proto_batch_set_base_offset(b, 0x0102030405060708LL);
    proto_batch_set_partition_leader_epoch(b, 7);
    assert_int_equal(proto_batch_verify_crc(b, sizeof(b)), 0);
    proto_batch_header_t h;
    assert_int_equal(proto_batch_header_parse(b, sizeof(b), &h, NULL, 0), 0);
    assert_true(h.base_offset == 0x0102030405060708LL);
    assert_int_equal(h.partition_leader_epoch, 7);

    /* Any covered byte changes the CRC. */
    for (size_t i = PROTO_BATCH_CRC_START; i < sizeof(b); i++) {
        b[i] ^= 0x01;
        assert_int_equal(proto_batch_verify_crc(b, sizeof(b)), KC_ERR__BAD_CRC);
        b[i] ^= 0x01;
    }
    b[18] ^= 0x40; /* the crc field itself */
    assert_int_equal(proto_batch_verify_crc(b, sizeof(b)), KC_ERR__BAD_CRC);
    assert_int_equal(proto_batch_verify_crc(b, 20), KC_ERR__BAD_CRC);
}

static void test_restamp_producer_and_log_append_time(void **state)
{
    uint8_t b[sizeof(hand_batch)];
    memcpy(b, hand_batch, sizeof(b));
    proto_batch_set_producer(b, sizeof(b), 4242, 3, 100);
    assert_int_equal(proto_batch_verify_crc(b, sizeof(b)), 0);
    proto_batch_header_t h;
    assert_int_equal(proto_batch_header_parse(b, sizeof(b), &h, NULL, 0), 0);
    assert_true(h.producer_id == 4242);
    assert_int_equal(h.producer_epoch, 3);
    assert_int_equal(h.base_sequence, 100);

    proto_batch_set_log_append_time(b, sizeof(b), 1800000000000LL);
    assert_int_equal(proto_batch_verify_crc(b, sizeof(b)), 0);
    assert_int_equal(proto_batch_header_parse(b, sizeof(b), &h, NULL, 0), 0);
    assert_true(h.attributes & PROTO_BATCH_ATTR_LOG_APPEND_TIME);
    assert_true(h.max_timestamp == 1800000000000LL);
}

/* The header patches update the CRC without reading the records: on a
 * batch of a megabyte they must give what a full recompute gives. */
static void test_restamp_large_batch(void **state)
{
    proto_wbuf_t w = {0};
    proto_batch_builder_t b;
    assert_int_equal(proto_batch_builder_begin(&b, &w, NULL), 0);
    uint8_t value[1000];
    for (int i = 0; i < 1000; i++) {
        for (size_t k = 0; k < sizeof(value); k++)
            value[k] = (uint8_t)(i + k * 7);
        assert_int_equal(
            proto_batch_builder_append(&b, BASE_TS + i, NULL, -1, value, sizeof(value), NULL, 0),
            0);
    }
    assert_int_equal(proto_batch_builder_finish(&b, PROTO_CODEC_NONE, -1, NULL, NULL, 0), 0);
    size_t n = proto_batch_builder_size(&b);
    proto_batch_set_producer(w.data, n, 0x0102030405060708LL, 0x1234, 0x7eadbeef);
    assert_int_equal(proto_batch_verify_crc(w.data, n), 0);
    proto_batch_set_producer(w.data, n, -1, -1, -1);
    assert_int_equal(proto_batch_verify_crc(w.data, n), 0);
    proto_batch_set_log_append_time(w.data, n, 1800000000123LL);
    assert_int_equal(proto_batch_verify_crc(w.data, n), 0);
    proto_batch_header_t h;
    assert_int_equal(proto_batch_header_parse(w.data, n, &h, NULL, 0), 0);
    assert_true(h.max_timestamp == 1800000000123LL);
    assert_true(h.base_timestamp == BASE_TS);
    assert_int_equal(h.last_offset_delta, 999);
    assert_true(h.producer_id == -1);
    /* A patch keeps a wrong CRC wrong: it never vouches for bytes it did not read. */
    w.data[n - 1] ^= 1;
    proto_batch_set_log_append_time(w.data, n, 1800000000124LL);
    assert_int_equal(proto_batch_verify_crc(w.data, n), KC_ERR__BAD_CRC);
    proto_wbuf_free(&w);
    (void)state;
}

static void test_empty_batch(void **state)
{
    proto_wbuf_t w = {0}, scratch = {0};
    proto_batch_builder_t b;
    assert_int_equal(proto_batch_builder_begin(&b, &w, NULL), 0);
    /* An empty batch is never compressed, so no scratch is needed. */
    assert_int_equal(proto_batch_builder_finish(&b, PROTO_CODEC_GZIP, -1, NULL, NULL, 0), 0);
    assert_int_equal(w.len, PROTO_BATCH_HEADER_SIZE);
    proto_batch_header_t h;
    assert_int_equal(proto_batch_header_parse(w.data, w.len, &h, NULL, 0), 0);
    assert_int_equal(h.record_count, 0);
    assert_int_equal(h.last_offset_delta, -1);
    assert_true(h.base_timestamp == -1 && h.max_timestamp == -1);
    assert_int_equal(h.attributes, 0);
    assert_int_equal(proto_batch_verify_crc(w.data, w.len), 0);
    /* Finishing twice or appending after finish is refused. */
    assert_int_equal(proto_batch_builder_finish(&b, 0, -1, NULL, NULL, 0), KC_ERR__INVALID_ARG);
    assert_int_equal(proto_batch_builder_append(&b, 1, NULL, -1, NULL, -1, NULL, 0),
                     KC_ERR__INVALID_ARG);
    proto_wbuf_free(&w);
    proto_wbuf_free(&scratch);
}

static void test_params_are_written(void **state)
{
    proto_wbuf_t w = {0};
    proto_batch_params_t p = PROTO_BATCH_PARAMS_INIT;
    p.base_offset = 500;
    p.partition_leader_epoch = 9;
    p.producer_id = 77;
    p.producer_epoch = 2;
    p.base_sequence = 1000;
    p.attributes = PROTO_BATCH_ATTR_TRANSACTIONAL | 0x3; /* the codec bits are ignored */
    p.base_timestamp = 2000;
    proto_batch_builder_t b;
    assert_int_equal(proto_batch_builder_begin(&b, &w, &p), 0);
    /* Earlier than the base: a negative delta, and max stays the largest. */
    assert_int_equal(proto_batch_builder_append(&b, 1500, "a", 1, "b", 1, NULL, 0), 0);
    assert_int_equal(proto_batch_builder_append(&b, 2500, "a", 1, "b", 1, NULL, 0), 0);
    assert_int_equal(proto_batch_builder_append(&b, 2100, "a", 1, "b", 1, NULL, 0), 0);
    b.base_sequence = 1234; /* a producer assigns the sequence when it sends */
    assert_int_equal(proto_batch_builder_finish(&b, PROTO_CODEC_NONE, -1, NULL, NULL, 0), 0);
    proto_batch_header_t h;
    assert_int_equal(proto_batch_header_parse(w.data, w.len, &h, NULL, 0), 0);
    assert_int_equal(h.base_offset, 500);
    assert_int_equal(h.partition_leader_epoch, 9);
    assert_true(h.producer_id == 77);
    assert_int_equal(h.producer_epoch, 2);
    assert_int_equal(h.base_sequence, 1234);
    assert_int_equal(h.attributes, PROTO_BATCH_ATTR_TRANSACTIONAL);
    assert_true(h.base_timestamp == 2000);
    assert_true(h.max_timestamp == 2500);
    assert_int_equal(h.record_count, 3);
    assert_int_equal(h.last_offset_delta, 2);
    proto_wbuf_free(&w);
}

static void test_size_estimates_are_exact(void **state)
{
    proto_wbuf_t w = {0};
    proto_batch_params_t p = PROTO_BATCH_PARAMS_INIT;
    p.base_timestamp = 0;
    proto_batch_builder_t b;
    assert_int_equal(proto_batch_builder_begin(&b, &w, &p), 0);
    static uint8_t big[20000];
    proto_record_header_t hd[3] = {
        {proto_str_of("trace"), proto_slice_of(big, 300)},
        {proto_str_of("nul"), PROTO_NULL_SLICE},
        {proto_str_of(""), proto_slice_of(big, 0)},
    };
    const int64_t tss[] = {0, -1, 1LL << 40, -(1LL << 50), 63, 64};
    const int32_t lens[] = {-1, 0, 1, 63, 64, 8191, 8192, 20000};
    int i = 0;
    for (size_t t = 0; t < 6; t++) {
        for (size_t k = 0; k < 8; k++) {
            int32_t vl = lens[(k + t) % 8];
            size_t nh = (size_t)(i % 4);
            size_t before = proto_batch_builder_size(&b);
            size_t want = proto_batch_builder_record_size(&b, tss[t], lens[k], vl, hd, nh);
            assert_true(want <= proto_record_size_upper_bound(lens[k], vl, hd, nh));
            assert_int_equal(want, proto_record_size(tss[t], i, lens[k], vl, hd, nh));
            assert_int_equal(proto_batch_builder_append(&b, tss[t], big, lens[k], big, vl, hd, nh),
                             0);
            assert_int_equal(proto_batch_builder_size(&b) - before, want);
            i++;
        }
    }
    assert_int_equal(proto_batch_builder_finish(&b, PROTO_CODEC_NONE, -1, NULL, NULL, 0), 0);
    assert_int_equal(proto_batch_validate(w.data, w.len, NULL, NULL, NULL, 0), 0);
    proto_wbuf_free(&w);
}

static void test_append_rejects_bad_arguments(void **state)
{
    proto_wbuf_t w = {0};
    proto_batch_builder_t b;
    assert_int_equal(proto_batch_builder_begin(&b, &w, NULL), 0);
    size_t len0 = w.len;
    proto_record_header_t nullkey = {PROTO_NULL_SLICE, proto_slice_of("v", 1)};
    assert_int_equal(proto_batch_builder_append(&b, 1, "k", -2, NULL, -1, NULL, 0),
                     KC_ERR__INVALID_ARG);
    assert_int_equal(proto_batch_builder_append(&b, 1, NULL, -1, "v", -5, NULL, 0),
                     KC_ERR__INVALID_ARG);
    assert_int_equal(proto_batch_builder_append(&b, 1, NULL, -1, NULL, -1, &nullkey, 1),
                     KC_ERR__INVALID_ARG);
    assert_int_equal(w.len, len0);
    assert_int_equal(proto_batch_builder_append(&b, INT64_MAX, NULL, -1, NULL, -1, NULL, 0), 0);
    /* INT64_MIN - INT64_MAX overflows the timestamp delta. */
    assert_int_equal(proto_batch_builder_append(&b, INT64_MIN, NULL, -1, NULL, -1, NULL, 0),
                     KC_ERR__INVALID_ARG);
    /* Explicit offset deltas must climb. */
    assert_int_equal(proto_batch_builder_append_at(&b, 0, 1, NULL, -1, NULL, -1, NULL, 0),
                     KC_ERR__INVALID_ARG);
    assert_int_equal(proto_batch_builder_append_at(&b, 10, 1, NULL, -1, NULL, -1, NULL, 0), 0);
    assert_int_equal(b.last_offset_delta, 10);
    assert_int_equal(b.count, 2);
    proto_wbuf_free(&w);
}

static void test_control_batch(void **state)
{
    proto_wbuf_t w = {0};
    assert_int_equal(proto_batch_build_control(&w, 99, 4, 5000, PROTO_CONTROL_COMMIT, 17), 0);
    proto_batch_header_t h;
    assert_int_equal(proto_batch_header_parse(w.data, w.len, &h, NULL, 0), 0);
    assert_int_equal(h.attributes, PROTO_BATCH_ATTR_TRANSACTIONAL | PROTO_BATCH_ATTR_CONTROL);
    assert_true(h.producer_id == 99);
    assert_int_equal(h.producer_epoch, 4);
    assert_int_equal(h.base_sequence, -1);
    assert_int_equal(h.record_count, 1);
    assert_int_equal(proto_batch_verify_crc(w.data, w.len), 0);

    /* The record: key 00 00 00 01, value 00 00 00 00 00 11. */
    const uint8_t rec[] = {0x20, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01,
                           0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x00};
    assert_int_equal(w.len, PROTO_BATCH_HEADER_SIZE + sizeof(rec));
    assert_memory_equal(w.data + PROTO_BATCH_HEADER_SIZE, rec, sizeof(rec));

    proto_batch_iter_t bi;
    proto_batch_view_t v;
    proto_batch_iter_init(&bi, w.data, w.len);
    assert_int_equal(proto_batch_iter_next(&bi, &v), 1);
    assert_true(proto_batch_view_is_control(&v));
    proto_record_iter_t ri;
    proto_record_t r;
    assert_int_equal(proto_record_iter_init(&ri, &v, 1, NULL, 0), 0);
    assert_int_equal(proto_record_iter_next(&ri, &r), 1);
    int16_t type;
    int32_t epoch;
    assert_int_equal(proto_control_record_parse(&r, &type, &epoch), 0);
    assert_int_equal(type, PROTO_CONTROL_COMMIT);
    assert_int_equal(epoch, 17);
    assert_true(r.timestamp == 5000);
    assert_int_equal(proto_record_iter_next(&ri, &r), 0);
    assert_int_equal(ri.err, 0);

    /* Controlled by a coordinator only. */
    char err[160];
    assert_int_equal(proto_batch_validate(w.data, w.len, NULL, NULL, err, sizeof(err)),
                     KC_ERR_INVALID_RECORD);
    assert_non_null(strstr(err, "control"));
    proto_batch_validate_opts_t o = {.from_coordinator = 1};
    assert_int_equal(proto_batch_validate(w.data, w.len, &o, NULL, err, sizeof(err)), 0);

    /* A key that is not a control key. */
    proto_record_t bad = r;
    bad.key = proto_slice_of("ab", 2);
    assert_int_equal(proto_control_record_parse(&bad, &type, &epoch), KC_ERR__BAD_MSG);
    proto_wbuf_free(&w);
}

/* ---- Validation --------------------------------------------------------------- */

static void expect_invalid(const uint8_t *data, size_t len, const proto_batch_validate_opts_t *o,
                           int want_err, const char *want_text)
{
    char err[200] = "";
    int rc = proto_batch_validate(data, len, o, NULL, err, sizeof(err));
    if (rc != want_err || !strstr(err, want_text))
        fail_msg("validate: got %d \"%s\", wanted %d with \"%s\"", rc, err, want_err, want_text);
}

static void test_validate_accepts_and_fills_header(void **state)
{
    proto_batch_header_t h;
    assert_int_equal(proto_batch_validate(hand_batch, sizeof(hand_batch), NULL, &h, NULL, 0), 0);
    assert_int_equal(h.record_count, 2);
}

static void test_validate_framing(void **state)
{
    uint8_t b[sizeof(hand_batch) + 4];
    memcpy(b, hand_batch, sizeof(hand_batch));
    expect_invalid(b, 10, NULL, KC_ERR_CORRUPT_MESSAGE, "too short");
    expect_invalid(b, sizeof(hand_batch) - 1, NULL, KC_ERR_CORRUPT_MESSAGE, "batchLength");
    expect_invalid(b, sizeof(b), NULL, KC_ERR_INVALID_RECORD, "one batch");
    b[16] = 1;
    expect_invalid(b, sizeof(hand_batch), NULL, KC_ERR_INVALID_RECORD, "magic 1");
    memcpy(b, hand_batch, sizeof(hand_batch));
    b[sizeof(hand_batch) - 1] ^= 1;
    expect_invalid(b, sizeof(hand_batch), NULL, KC_ERR_CORRUPT_MESSAGE, "crc");
}

static void test_validate_fields(void **state)
{
    uint8_t b[sizeof(hand_batch)];
    const size_t n = sizeof(b);
#define PATCH(off, val)           \
    do {                          \
        memcpy(b, hand_batch, n); \
        b[off] = (uint8_t)(val);  \
        recrc(b, n);              \
    } while (0)
    PATCH(22, 5);
    expect_invalid(b, n, NULL, KC_ERR_UNSUPPORTED_COMPRESSION_TYPE, "codec 5");
    PATCH(22, 4);
    expect_invalid(b, n, NULL, KC_ERR_UNSUPPORTED_COMPRESSION_TYPE, "codec 4");
    PATCH(60, 0); /* recordCount 0 */
    expect_invalid(b, n, NULL, KC_ERR_INVALID_RECORD, "recordCount 0");
    PATCH(26, 2); /* lastOffsetDelta 2 with 2 records */
    expect_invalid(b, n, NULL, KC_ERR_INVALID_RECORD, "lastOffsetDelta 2");
    PATCH(50, 5); /* producerId 0xff..05: below -1 */
    expect_invalid(b, n, NULL, KC_ERR_INVALID_RECORD, "producerId");
    PATCH(22, PROTO_BATCH_ATTR_TRANSACTIONAL);
    expect_invalid(b, n, NULL, KC_ERR_INVALID_RECORD, "transactional");
#undef PATCH
    /* An idempotent batch needs an epoch and a sequence. */
    memcpy(b, hand_batch, n);
    proto_batch_set_producer(b, n, 5, 0, -1);
    expect_invalid(b, n, NULL, KC_ERR_INVALID_RECORD, "baseSequence -1");
    proto_batch_set_producer(b, n, 5, 0, 0);
    assert_int_equal(proto_batch_validate(b, n, NULL, NULL, NULL, 0), 0);
}

static void test_validate_records(void **state)
{
    uint8_t b[sizeof(hand_batch)];
    const size_t n = sizeof(b);
    /* recordCount 3, lastOffsetDelta 2: consistent, but only two records. */
    memcpy(b, hand_batch, n);
    b[60] = 3;
    b[26] = 2;
    recrc(b, n);
    expect_invalid(b, n, NULL, KC_ERR_CORRUPT_MESSAGE, "recordCount is 3");
    /* Record 1's offsetDelta 1 -> 3: a gap a client never writes. */
    memcpy(b, hand_batch, n);
    b[61 + 11 + 3] = 0x06;
    recrc(b, n);
    expect_invalid(b, n, NULL, KC_ERR_CORRUPT_MESSAGE, "offsetDelta");
    /* Record 0's key length 2 -> 3: the fields no longer fit its length. */
    memcpy(b, hand_batch, n);
    b[61 + 4] = 0x06;
    recrc(b, n);
    expect_invalid(b, n, NULL, KC_ERR_CORRUPT_MESSAGE, "record 0");
}

static void test_validate_compressed(void **state)
{
    proto_wbuf_t w = {0}, scratch = {0};
    proto_batch_builder_t b;
    assert_int_equal(proto_batch_builder_begin(&b, &w, NULL), 0);
    for (int i = 0; i < 50; i++)
        assert_int_equal(proto_batch_builder_append(&b, 1000 + i, "key", 3, "value", 5, NULL, 0),
                         0);
    assert_int_equal(proto_batch_builder_finish(&b, PROTO_CODEC_ZSTD, -1, &scratch, NULL, 0), 0);
    expect_invalid(w.data, w.len, NULL, KC_ERR_UNSUPPORTED_COMPRESSION_TYPE, "codec 4");
    proto_batch_validate_opts_t o = {.allow_zstd = 1};
    assert_int_equal(proto_batch_validate(w.data, w.len, &o, NULL, NULL, 0), 0);
    o.decompress = 1;
    o.scratch = &scratch;
    assert_int_equal(proto_batch_validate(w.data, w.len, &o, NULL, NULL, 0), 0);
    /* Claim one record more (header only): caught only by decompressing. */
    w.data[60] = 51;
    w.data[26] = 50;
    recrc(w.data, w.len);
    o.decompress = 0;
    assert_int_equal(proto_batch_validate(w.data, w.len, &o, NULL, NULL, 0), 0);
    o.decompress = 1;
    expect_invalid(w.data, w.len, &o, KC_ERR_CORRUPT_MESSAGE, "recordCount is 51");
    o.max_decompressed = 100;
    expect_invalid(w.data, w.len, &o, KC_ERR_CORRUPT_MESSAGE, "zstd");
    proto_wbuf_free(&w);
    proto_wbuf_free(&scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_vector_byte_for_byte),
        cmocka_unit_test(test_builder_appends_after_existing_bytes),
        cmocka_unit_test(test_header_parse_limits),
        cmocka_unit_test(test_crc_and_patches),
        cmocka_unit_test(test_restamp_producer_and_log_append_time),
        cmocka_unit_test(test_restamp_large_batch),
        cmocka_unit_test(test_empty_batch),
        cmocka_unit_test(test_params_are_written),
        cmocka_unit_test(test_size_estimates_are_exact),
        cmocka_unit_test(test_append_rejects_bad_arguments),
        cmocka_unit_test(test_control_batch),
        cmocka_unit_test(test_validate_accepts_and_fills_header),
        cmocka_unit_test(test_validate_framing),
        cmocka_unit_test(test_validate_fields),
        cmocka_unit_test(test_validate_records),
        cmocka_unit_test(test_validate_compressed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
