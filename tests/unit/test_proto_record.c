/* Record batch v2, read side: build -> parse round trips (every codec), the
 * batch iterator on partial data, and hostile input: bad CRCs, lying
 * lengths and counts, varint overflow, every truncation, random flips. */
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
#include "proto/proto_record.h"
#include "proto/proto_record_wire.h"

/* The n-th test record: key, value and headers vary with n, so null, empty
 * and non-empty all occur, and timestamps go down as well as up. */
typedef struct gen_rec {
    int64_t ts;
    char key[32];
    int32_t key_len; /* -1: null */
    char value[300];
    int32_t value_len;
    proto_record_header_t hdrs[3];
    size_t nh;
} gen_rec_t;

static void gen(int n, gen_rec_t *g)
{
    g->ts = 1700000000000LL + (n % 7) * 1000 - (n % 3) * 5000;
    g->key_len = n % 5 == 0 ? -1 : n % 5 == 1 ? 0 : snprintf(g->key, sizeof(g->key), "key-%d", n);
    for (size_t i = 0; i < sizeof(g->value); i++)
        g->value[i] = (char)('a' + (n + (int)i) % 26);
    if (n % 6 == 0) {
        g->value_len = -1;
    } else if (n % 6 == 1) {
        g->value_len = 0;
    } else {
        g->value_len = 20 + n % 250;
        for (int i = 0; i < g->value_len; i++)
            g->value[i] = (char)('a' + (n + i) % 26);
    }
    g->nh = (size_t)(n % 4);
    static const char *names[] = {"trace-id", "", "x"};
    for (size_t i = 0; i < g->nh; i++) {
        g->hdrs[i].key = proto_str_of(names[i]);
        g->hdrs[i].value =
            (n + (int)i) % 3 == 0 ? PROTO_NULL_SLICE : proto_slice_of(g->value, (size_t)(i + 1));
    }
}

static void build(proto_wbuf_t *w, int nrec, int codec, proto_wbuf_t *scratch,
                  const proto_batch_params_t *p)
{
    proto_batch_builder_t b;
    gen_rec_t g;
    assert_int_equal(proto_batch_builder_begin(&b, w, p), 0);
    for (int i = 0; i < nrec; i++) {
        gen(i, &g);
        assert_int_equal(proto_batch_builder_append(&b, g.ts, g.key, g.key_len, g.value,
                                                    g.value_len, g.hdrs, g.nh),
                         0);
    }
    char err[160] = "";
    int rc = proto_batch_builder_finish(&b, codec, -1, scratch, err, sizeof(err));
    if (rc) fail_msg("finish codec %d: %d %s", codec, rc, err);
}

static void check_slice(proto_slice_t s, const void *want, int32_t want_len)
{
    assert_int_equal(s.len, want_len);
    if (want_len < 0) assert_null(s.ptr);
    if (want_len > 0) assert_memory_equal(s.ptr, want, (size_t)want_len);
}

/* Parses one batch at data and checks it holds gen(0..nrec-1) at base. */
static void check_batch(const uint8_t *data, size_t len, int nrec, int64_t base,
                        proto_wbuf_t *scratch)
{
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    proto_batch_iter_init(&bi, data, len);
    assert_int_equal(proto_batch_iter_next(&bi, &v), 1);
    assert_int_equal(v.magic, 2);
    assert_int_equal(v.size, len);
    assert_int_equal(v.h.record_count, nrec);
    proto_record_iter_t ri;
    proto_record_t r;
    if (proto_record_iter_init(&ri, &v, 1, scratch, 0)) fail_msg("init: %s", ri.errstr);
    gen_rec_t g;
    int i = 0;
    while (proto_record_iter_next(&ri, &r)) {
        gen(i, &g);
        assert_true(r.offset == base + i);
        assert_true(r.timestamp == g.ts);
        assert_int_equal(r.ts_type, PROTO_TS_CREATE_TIME);
        check_slice(r.key, g.key, g.key_len);
        check_slice(r.value, g.value, g.value_len);
        assert_int_equal(r.header_count, (int)g.nh);
        proto_header_iter_t hi;
        proto_record_header_t h;
        proto_header_iter_init(&hi, &r);
        size_t j = 0;
        while (proto_header_iter_next(&hi, &h)) {
            assert_true(j < g.nh);
            check_slice(h.key, g.hdrs[j].key.ptr, g.hdrs[j].key.len);
            check_slice(h.value, g.hdrs[j].value.ptr, g.hdrs[j].value.len);
            j++;
        }
        assert_int_equal(j, g.nh);
        i++;
    }
    if (ri.err) fail_msg("record %d: %s", i, ri.errstr);
    assert_int_equal(i, nrec);
    assert_int_equal(proto_batch_iter_next(&bi, &v), 0);
    assert_int_equal(bi.err, 0);
    assert_int_equal(bi.partial, 0);
}

static void test_round_trip_counts(void **state)
{
    const int counts[] = {0, 1, 2, 7, 1000};
    proto_wbuf_t w = {0};
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        proto_wbuf_reset(&w);
        build(&w, counts[c], PROTO_CODEC_NONE, NULL, NULL);
        check_batch(w.data, w.len, counts[c], 0, NULL);
        /* The broker patches the base offset; records follow it. */
        proto_batch_set_base_offset(w.data, 123456789);
        check_batch(w.data, w.len, counts[c], 123456789, NULL);
    }
    proto_wbuf_free(&w);
}

static void test_round_trip_every_codec(void **state)
{
    const int codecs[] = {PROTO_CODEC_GZIP, PROTO_CODEC_SNAPPY, PROTO_CODEC_LZ4, PROTO_CODEC_ZSTD};
    proto_wbuf_t w = {0}, cscratch = {0}, dscratch = {0};
    for (size_t c = 0; c < 4; c++) {
        for (int nrec = 1; nrec <= 2000; nrec *= 20) {
            proto_wbuf_reset(&w);
            build(&w, nrec, codecs[c], &cscratch, NULL);
            proto_batch_header_t h;
            assert_int_equal(proto_batch_header_parse(w.data, w.len, &h, NULL, 0), 0);
            assert_int_equal(h.attributes & PROTO_BATCH_ATTR_CODEC_MASK, codecs[c]);
            assert_int_equal(proto_batch_verify_crc(w.data, w.len), 0);
            check_batch(w.data, w.len, nrec, 0, &dscratch);
        }
    }
    /* Compressible records do compress. */
    proto_wbuf_reset(&w);
    build(&w, 2000, PROTO_CODEC_NONE, NULL, NULL);
    size_t plain = w.len;
    proto_wbuf_reset(&w);
    build(&w, 2000, PROTO_CODEC_LZ4, &cscratch, NULL);
    assert_true(w.len < plain / 2);
    proto_wbuf_free(&w);
    proto_wbuf_free(&cscratch);
    proto_wbuf_free(&dscratch);
}

static void test_compressed_needs_scratch_and_bound(void **state)
{
    proto_wbuf_t w = {0}, scratch = {0};
    build(&w, 100, PROTO_CODEC_GZIP, &scratch, NULL);
    proto_batch_view_t v = {.data = w.data, .size = w.len, .magic = 2};
    assert_int_equal(proto_batch_header_parse(w.data, w.len, &v.h, NULL, 0), 0);
    proto_record_iter_t ri;
    assert_int_equal(proto_record_iter_init(&ri, &v, 1, NULL, 0), KC_ERR__INVALID_ARG);
    assert_int_equal(proto_record_iter_init(&ri, &v, 1, &scratch, 64), KC_ERR__TOO_LARGE);
    assert_non_null(strstr(ri.errstr, "gzip"));
    proto_record_t r;
    assert_int_equal(proto_record_iter_next(&ri, &r), 0);
    /* Finish with a codec but no scratch buffer. */
    proto_batch_builder_t b;
    proto_wbuf_reset(&w);
    assert_int_equal(proto_batch_builder_begin(&b, &w, NULL), 0);
    assert_int_equal(proto_batch_builder_append(&b, 1, "k", 1, "v", 1, NULL, 0), 0);
    assert_int_equal(proto_batch_builder_finish(&b, PROTO_CODEC_GZIP, -1, NULL, NULL, 0),
                     KC_ERR__INVALID_ARG);
    /* A failed compression leaves the batch open and intact: finish it plain. */
    char err[160];
    assert_int_equal(
        proto_batch_builder_finish(&b, PROTO_CODEC_GZIP, 99, &scratch, err, sizeof(err)),
        KC_ERR__INVALID_ARG);
    assert_int_equal(proto_batch_builder_finish(&b, PROTO_CODEC_NONE, -1, NULL, NULL, 0), 0);
    proto_batch_view_t pv = {.data = w.data, .size = w.len, .magic = 2};
    assert_int_equal(proto_batch_header_parse(w.data, w.len, &pv.h, NULL, 0), 0);
    assert_int_equal(proto_record_iter_init(&ri, &pv, 1, NULL, 0), 0);
    assert_int_equal(proto_record_iter_next(&ri, &r), 1);
    assert_memory_equal(r.value.ptr, "v", 1);
    proto_wbuf_free(&w);
    proto_wbuf_free(&scratch);
}

static void test_log_append_time_uses_max_timestamp(void **state)
{
    proto_wbuf_t w = {0};
    build(&w, 10, PROTO_CODEC_NONE, NULL, NULL);
    proto_batch_set_log_append_time(w.data, w.len, 42);
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    proto_batch_iter_init(&bi, w.data, w.len);
    assert_int_equal(proto_batch_iter_next(&bi, &v), 1);
    proto_record_iter_t ri;
    proto_record_t r;
    assert_int_equal(proto_record_iter_init(&ri, &v, 1, NULL, 0), 0);
    int n = 0;
    while (proto_record_iter_next(&ri, &r)) {
        assert_true(r.timestamp == 42);
        assert_int_equal(r.ts_type, PROTO_TS_LOG_APPEND_TIME);
        n++;
    }
    assert_int_equal(n, 10);
    assert_int_equal(ri.err, 0);
    proto_wbuf_free(&w);
}

static void test_batch_iterator_partial_trailing_batch(void **state)
{
    proto_wbuf_t w = {0};
    build(&w, 3, PROTO_CODEC_NONE, NULL, NULL);
    size_t one = w.len;
    build(&w, 5, PROTO_CODEC_NONE, NULL, NULL);
    size_t two = w.len;
    build(&w, 7, PROTO_CODEC_NONE, NULL, NULL);
    size_t all = w.len;
    for (size_t cut = two; cut <= all; cut++) {
        /* An exact-size copy, so ASan sees any read past the cut. */
        uint8_t *data = malloc(cut ? cut : 1);
        memcpy(data, w.data, cut);
        proto_batch_iter_t bi;
        proto_batch_view_t v;
        proto_batch_iter_init(&bi, data, cut);
        assert_int_equal(proto_batch_iter_next(&bi, &v), 1);
        assert_int_equal(v.size, one);
        assert_int_equal(v.h.record_count, 3);
        assert_int_equal(proto_batch_iter_next(&bi, &v), 1);
        assert_int_equal(v.h.record_count, 5);
        assert_true(proto_batch_view_next_offset(&v) == 5);
        int got = proto_batch_iter_next(&bi, &v);
        assert_int_equal(bi.err, 0);
        if (cut == all) {
            assert_int_equal(got, 1);
            assert_int_equal(v.h.record_count, 7);
            assert_int_equal(proto_batch_iter_next(&bi, &v), 0);
            assert_int_equal(bi.partial, 0);
        } else {
            assert_int_equal(got, 0);
            assert_int_equal(bi.partial, cut > two);
            /* Once the length field is in, the full size is known. */
            assert_int_equal(bi.partial_size, cut - two >= 12 ? all - two : 0);
            assert_int_equal(proto_batch_iter_next(&bi, &v), 0);
        }
        free(data);
    }
    proto_wbuf_free(&w);
}

static void test_batch_iterator_rejects_impossible_entries(void **state)
{
    uint8_t b[80] = {0};
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    b[11] = 5; /* length 5: smaller than any entry */
    proto_batch_iter_init(&bi, b, sizeof(b));
    assert_int_equal(proto_batch_iter_next(&bi, &v), 0);
    assert_int_equal(bi.err, KC_ERR__BAD_MSG);
    assert_non_null(strstr(bi.errstr, "length 5"));
    b[11] = 60;
    b[16] = 3; /* unknown magic */
    proto_batch_iter_init(&bi, b, sizeof(b));
    assert_int_equal(proto_batch_iter_next(&bi, &v), 0);
    assert_non_null(strstr(bi.errstr, "magic 3"));
    b[11] = 30;
    b[16] = 2; /* a magic 2 batch of 42 bytes */
    proto_batch_iter_init(&bi, b, sizeof(b));
    assert_int_equal(proto_batch_iter_next(&bi, &v), 0);
    assert_int_equal(bi.err, KC_ERR__BAD_MSG);
    b[8] = 0xff; /* a negative length */
    proto_batch_iter_init(&bi, b, sizeof(b));
    assert_int_equal(proto_batch_iter_next(&bi, &v), 0);
    assert_int_equal(bi.err, KC_ERR__BAD_MSG);
    /* Nothing at all is a clean end. */
    proto_batch_iter_init(&bi, b, 0);
    assert_int_equal(proto_batch_iter_next(&bi, &v), 0);
    assert_int_equal(bi.err, 0);
    assert_int_equal(bi.partial, 0);
}

/* Iterates data[0..len) fully; returns the record iterator's error (or the
 * batch iterator's) and copies its message. */
static int parse_all(const uint8_t *data, size_t len, int check_crc, int *nrec, char *msg)
{
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    proto_wbuf_t scratch = {0};
    int err = 0;
    *nrec = 0;
    msg[0] = '\0';
    proto_batch_iter_init(&bi, data, len);
    while (!err && proto_batch_iter_next(&bi, &v)) {
        proto_record_iter_t ri;
        proto_record_t r;
        proto_record_iter_init(&ri, &v, check_crc, &scratch, 1 << 20);
        while (proto_record_iter_next(&ri, &r)) {
            /* Touch every byte, so ASan checks the slices. */
            volatile uint8_t sink = 0;
            for (int32_t i = 0; i < r.key.len; i++)
                sink ^= r.key.ptr[i];
            for (int32_t i = 0; i < r.value.len; i++)
                sink ^= r.value.ptr[i];
            proto_header_iter_t hi;
            proto_record_header_t h;
            proto_header_iter_init(&hi, &r);
            while (proto_header_iter_next(&hi, &h))
                for (int32_t i = 0; i < h.value.len; i++)
                    sink ^= h.value.ptr[i];
            (void)sink;
            (*nrec)++;
        }
        err = ri.err;
        if (err) strcpy(msg, ri.errstr);
    }
    if (!err && bi.err) {
        err = bi.err;
        strcpy(msg, bi.errstr);
    }
    proto_wbuf_free(&scratch);
    return err;
}

static void expect_bad(const uint8_t *data, size_t len, int want_err, const char *want_text)
{
    int n;
    char msg[PROTO_RECORD_ERRSTR_SIZE];
    int err = parse_all(data, len, 1, &n, msg);
    if (err != want_err || !strstr(msg, want_text))
        fail_msg("got %d \"%s\", wanted %d with \"%s\"", err, msg, want_err, want_text);
}

/* A fresh copy of a two-record batch with a patch at `at`, re-CRC'd. */
static size_t patched(uint8_t *out, size_t at, const uint8_t *bytes, size_t n)
{
    proto_wbuf_t w = {0};
    proto_batch_builder_t b;
    proto_record_header_t hd = {proto_str_of("h"), PROTO_NULL_SLICE};
    assert_int_equal(proto_batch_builder_begin(&b, &w, NULL), 0);
    assert_int_equal(proto_batch_builder_append(&b, 10, "k1", 2, "v1", 2, NULL, 0), 0);
    assert_int_equal(proto_batch_builder_append(&b, 12, NULL, -1, "hello", 5, &hd, 1), 0);
    assert_int_equal(proto_batch_builder_finish(&b, 0, -1, NULL, NULL, 0), 0);
    memcpy(out, w.data, w.len);
    size_t len = w.len;
    proto_wbuf_free(&w);
    memcpy(out + at, bytes, n);
    uint32_t c = proto_crc32c(0, out + PROTO_BATCH_CRC_START, len - PROTO_BATCH_CRC_START);
    out[17] = (uint8_t)(c >> 24);
    out[18] = (uint8_t)(c >> 16);
    out[19] = (uint8_t)(c >> 8);
    out[20] = (uint8_t)c;
    return len;
}

/* Record 0 is at 61: len 14 | 00 | tsd 00 | od 00 | 04 k1 | 04 v1 | 00 headers.
 * Record 1 is at 72: len 1c | 00 | tsd 04 | od 02 | 01 | 0a hello | 02 | 02 h | 01. */
#define R0 61
#define R1 72

static void test_lying_lengths(void **state)
{
    uint8_t b[128];
    size_t n;
    int nrec;
    char msg[PROTO_RECORD_ERRSTR_SIZE];
    n = patched(b, 0, (const uint8_t[]){0}, 0);
    assert_int_equal(parse_all(b, n, 1, &nrec, msg), 0);
    assert_int_equal(nrec, 2);

    n = patched(b, R0, (const uint8_t[]){0x7e}, 1); /* record length 63: past the end */
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 0: length does not fit the batch");
    n = patched(b, R0, (const uint8_t[]){0x12}, 1); /* record length 9: one short */
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 0: headerCount");
    n = patched(b, R0, (const uint8_t[]){0x16}, 1); /* length 11: one byte left over */
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 0: length leaves bytes after the headers");
    n = patched(b, R0 + 4, (const uint8_t[]){0x40}, 1); /* key length 32 */
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 0: keyLength");
    n = patched(b, R0 + 4, (const uint8_t[]){0x03}, 1); /* key length -2 */
    expect_bad(b, n, KC_ERR__BAD_MSG, "keyLength does not fit the record (-2)");
    n = patched(b, R0 + 7, (const uint8_t[]){0x08}, 1); /* value length 4 */
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 0: valueLength");
    n = patched(b, R1 + 12, (const uint8_t[]){0x01}, 1); /* header key null */
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 1: header keyLength");
    n = patched(b, R1 + 14, (const uint8_t[]){0x04}, 1); /* header value length 2 */
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 1: header valueLength");
    n = patched(b, R1 + 11, (const uint8_t[]){0x7f}, 1); /* headerCount -64 */
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 1: headerCount");
    n = patched(b, R1 + 3, (const uint8_t[]){0x04}, 1); /* offsetDelta 2 > lastOffsetDelta */
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 1: offsetDelta");
    n = patched(b, R1 + 3, (const uint8_t[]){0x00}, 1); /* offsetDelta 0 again */
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 1: offsetDelta");
}

static void test_lying_counts(void **state)
{
    uint8_t b[128];
    size_t n;
    n = patched(b, 57, (const uint8_t[]){0, 0, 0, 3}, 4);
    expect_bad(b, n, KC_ERR__BAD_MSG, "recordCount is 3 but the records end after 2");
    n = patched(b, 57, (const uint8_t[]){0, 0, 0, 1}, 4);
    expect_bad(b, n, KC_ERR__BAD_MSG, "trailing data after the 1 records");
    n = patched(b, 57, (const uint8_t[]){0xff, 0xff, 0xff, 0xff}, 4);
    expect_bad(b, n, KC_ERR__BAD_MSG, "recordCount -1 is negative");
    n = patched(b, 57, (const uint8_t[]){0x10, 0, 0, 0}, 4);
    expect_bad(b, n, KC_ERR__BAD_MSG, "cannot fit");
    n = patched(b, 21, (const uint8_t[]){0, 6}, 2); /* codec 6 */
    expect_bad(b, n, KC_ERR__UNSUPPORTED, "codec 6");
}

static void test_varint_overflow(void **state)
{
    uint8_t b[128];
    size_t n;
    /* Record length as 5 bytes with more than 32 bits: ff ff ff ff 1f. */
    n = patched(b, R0, (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x1f}, 5);
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 0: length is malformed");
    /* A varint still continuing at the end of the batch. */
    n = patched(b, R1 + 10, (const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x80, 0x80}, 6);
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 1");
    /* A timestampDelta varlong of 11 bytes. */
    static const uint8_t long_ts[] = {0x1c, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    n = patched(b, R1, long_ts, sizeof(long_ts));
    expect_bad(b, n, KC_ERR__BAD_MSG, "record 1: timestampDelta is malformed");
}

static void test_crc_checked_only_when_asked(void **state)
{
    proto_wbuf_t w = {0};
    build(&w, 20, PROTO_CODEC_NONE, NULL, NULL);
    /* Flip a byte inside record 2's value: still well formed, CRC wrong. */
    proto_batch_view_t v = {.data = w.data, .size = w.len, .magic = 2};
    assert_int_equal(proto_batch_header_parse(w.data, w.len, &v.h, NULL, 0), 0);
    proto_record_iter_t ri;
    proto_record_t r;
    assert_int_equal(proto_record_iter_init(&ri, &v, 1, NULL, 0), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(proto_record_iter_next(&ri, &r), 1);
    assert_true(r.value.len > 0);
    w.data[r.value.ptr - w.data] ^= 0x20;
    int nrec;
    char msg[PROTO_RECORD_ERRSTR_SIZE];
    assert_int_equal(parse_all(w.data, w.len, 1, &nrec, msg), KC_ERR__BAD_CRC);
    assert_non_null(strstr(msg, "crc"));
    assert_int_equal(nrec, 0);
    assert_int_equal(parse_all(w.data, w.len, 0, &nrec, msg), 0);
    assert_int_equal(nrec, 20);
    proto_wbuf_free(&w);
}

/* Every prefix of a valid stream either ends cleanly as partial or is a
 * complete batch; every batch whose batchLength is cut to n (and re-CRC'd)
 * fails cleanly. Run under ASan, this is the bounds proof. */
static void test_every_truncation(void **state)
{
    const int codecs[] = {PROTO_CODEC_NONE, PROTO_CODEC_GZIP, PROTO_CODEC_SNAPPY, PROTO_CODEC_LZ4,
                          PROTO_CODEC_ZSTD};
    proto_wbuf_t w = {0}, scratch = {0};
    for (size_t c = 0; c < 5; c++) {
        proto_wbuf_reset(&w);
        build(&w, 12, codecs[c], &scratch, NULL);
        for (size_t cut = 0; cut < w.len; cut++) {
            uint8_t *d = malloc(cut ? cut : 1);
            memcpy(d, w.data, cut);
            int nrec;
            char msg[PROTO_RECORD_ERRSTR_SIZE];
            proto_batch_iter_t bi;
            proto_batch_view_t v;
            proto_batch_iter_init(&bi, d, cut);
            assert_int_equal(proto_batch_iter_next(&bi, &v), 0);
            assert_int_equal(bi.err, 0);
            assert_int_equal(bi.partial, cut > 0);
            if (cut >= PROTO_BATCH_HEADER_SIZE) {
                /* Claim the cut length is the batch: the records must fail. */
                uint32_t bl = (uint32_t)(cut - 12);
                d[8] = (uint8_t)(bl >> 24);
                d[9] = (uint8_t)(bl >> 16);
                d[10] = (uint8_t)(bl >> 8);
                d[11] = (uint8_t)bl;
                uint32_t crc = proto_crc32c(0, d + 21, cut - 21);
                d[17] = (uint8_t)(crc >> 24);
                d[18] = (uint8_t)(crc >> 16);
                d[19] = (uint8_t)(crc >> 8);
                d[20] = (uint8_t)crc;
                int err = parse_all(d, cut, 1, &nrec, msg);
                if (err == 0) fail_msg("codec %d cut %zu parsed %d records", codecs[c], cut, nrec);
                assert_true(nrec < 12);
                assert_true(strlen(msg) > 0);
            }
            free(d);
        }
    }
    proto_wbuf_free(&w);
    proto_wbuf_free(&scratch);
}

/* Random byte flips in an uncompressed batch, CRC not checked: the parser
 * must stay in bounds and either succeed or say why. */
static void test_random_corruption_stays_in_bounds(void **state)
{
    proto_wbuf_t w = {0};
    build(&w, 30, PROTO_CODEC_NONE, NULL, NULL);
    uint8_t *d = malloc(w.len);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 20000; round++) {
        memcpy(d, w.data, w.len);
        for (int k = 0; k < 1 + round % 4; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t at = PROTO_BATCH_HEADER_SIZE + (size_t)(x % (w.len - PROTO_BATCH_HEADER_SIZE));
            d[at] ^= (uint8_t)(x >> 32) | 1;
        }
        int nrec;
        char msg[PROTO_RECORD_ERRSTR_SIZE];
        int err = parse_all(d, w.len, 0, &nrec, msg);
        assert_true(err == 0 || strlen(msg) > 0);
        assert_true(nrec <= 30);
    }
    free(d);
    proto_wbuf_free(&w);
}

static void test_many_batches_in_a_stream(void **state)
{
    proto_wbuf_t w = {0}, scratch = {0};
    const int codecs[] = {PROTO_CODEC_NONE, PROTO_CODEC_GZIP, PROTO_CODEC_SNAPPY, PROTO_CODEC_LZ4,
                          PROTO_CODEC_ZSTD};
    int64_t next = 0;
    for (int i = 0; i < 10; i++) {
        size_t at = w.len;
        build(&w, i + 1, codecs[i % 5], &scratch, NULL);
        proto_batch_set_base_offset(w.data + at, next);
        next += i + 1;
    }
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    proto_record_iter_t ri;
    proto_record_t r;
    proto_batch_iter_init(&bi, w.data, w.len);
    int64_t want = 0;
    while (proto_batch_iter_next(&bi, &v)) {
        assert_int_equal(proto_record_iter_init(&ri, &v, 1, &scratch, 0), 0);
        while (proto_record_iter_next(&ri, &r))
            assert_true(r.offset == want++);
        assert_int_equal(ri.err, 0);
        assert_true(proto_batch_view_next_offset(&v) == want);
    }
    assert_int_equal(bi.err, 0);
    assert_true(want == next);
    proto_wbuf_free(&w);
    proto_wbuf_free(&scratch);
}

/* The zigzag varint readers against the writers, at every encoded length
 * (the 1- and 2-byte fast paths and the loop), cut short, and too long. */
static void test_varint_readers(void **state)
{
    (void)state;
    static const int64_t vals[] = {0,
                                   1,
                                   -1,
                                   63,
                                   -64,
                                   64,
                                   -65,
                                   8191,
                                   -8192,
                                   8192,
                                   -8193,
                                   1048575,
                                   -1048576,
                                   1048576,
                                   INT32_MAX,
                                   INT32_MIN,
                                   (int64_t)INT32_MAX + 1,
                                   INT64_MAX,
                                   INT64_MIN};
    uint8_t buf[16];
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        int64_t v = vals[i];
        size_t n = (size_t)(proto_st_varlong(buf, v) - buf);
        assert_int_equal(n, proto_zz64_size(v));
        const uint8_t *p = buf;
        int64_t got;
        assert_true(proto_ld_varlong(&p, buf + n, &got));
        assert_true(got == v);
        assert_ptr_equal(p, buf + n);
        for (size_t cut = 0; cut < n; cut++) { /* every truncation fails, reads nothing */
            p = buf;
            assert_false(proto_ld_varlong(&p, buf + cut, &got));
        }
        if (v < INT32_MIN || v > INT32_MAX) continue;
        n = (size_t)(proto_st_varint(buf, (int32_t)v) - buf);
        assert_int_equal(n, proto_zz32_size((int32_t)v));
        int32_t got32;
        p = buf;
        assert_true(proto_ld_varint(&p, buf + n, &got32));
        assert_int_equal(got32, v);
        assert_ptr_equal(p, buf + n);
        for (size_t cut = 0; cut < n; cut++) {
            p = buf;
            assert_false(proto_ld_varint(&p, buf + cut, &got32));
        }
    }
    /* Six bytes, or five whose last carries bits past 32: not an int32. */
    const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    const uint8_t wide[] = {0xff, 0xff, 0xff, 0xff, 0x1f};
    const uint8_t *p = six;
    int32_t v32;
    assert_false(proto_ld_varint(&p, six + sizeof(six), &v32));
    p = wide;
    assert_false(proto_ld_varint(&p, wide + sizeof(wide), &v32));
    /* Eleven bytes are too many for an int64. */
    uint8_t eleven[11];
    memset(eleven, 0x80, 10);
    eleven[10] = 0x01;
    int64_t v64;
    p = eleven;
    assert_false(proto_ld_varlong(&p, eleven + sizeof(eleven), &v64));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_readers),
        cmocka_unit_test(test_round_trip_counts),
        cmocka_unit_test(test_round_trip_every_codec),
        cmocka_unit_test(test_compressed_needs_scratch_and_bound),
        cmocka_unit_test(test_log_append_time_uses_max_timestamp),
        cmocka_unit_test(test_batch_iterator_partial_trailing_batch),
        cmocka_unit_test(test_batch_iterator_rejects_impossible_entries),
        cmocka_unit_test(test_lying_lengths),
        cmocka_unit_test(test_lying_counts),
        cmocka_unit_test(test_varint_overflow),
        cmocka_unit_test(test_crc_checked_only_when_asked),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_random_corruption_stays_in_bounds),
        cmocka_unit_test(test_many_batches_in_a_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
