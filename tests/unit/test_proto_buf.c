/* Primitives of the wire format: fixed-width, varints, strings, arrays, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kc/kc_err.h"
#include "proto/proto_buf.h"

static void test_fixed_width_big_endian(void **state)
{
    proto_wbuf_t w = {0};
    proto_put_i8(&w, -2);
    proto_put_i16(&w, 0x0102);
    proto_put_i32(&w, -1);
    proto_put_i64(&w, 0x0102030405060708LL);
    proto_put_f64(&w, 1.5);
    assert_false(w.oom);
    const uint8_t want[] = {0xfe, 1, 2, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(w.data, want, sizeof(want));

    proto_rbuf_t r;
    proto_rbuf_init(&r, w.data, w.len);
    assert_int_equal(proto_get_i8(&r, "a"), -2);
    assert_int_equal(proto_get_i16(&r, "b"), 0x0102);
    assert_int_equal(proto_get_i32(&r, "c"), -1);
    assert_true(proto_get_i64(&r, "d") == 0x0102030405060708LL);
    assert_true(proto_get_f64(&r, "e") == 1.5);
    assert_int_equal(r.err, 0);
    assert_int_equal(proto_rbuf_left(&r), 0);
    proto_wbuf_free(&w);
}

static void test_zigzag_vectors(void **state)
{
    /* From the record format: -1 -> 01, 1 -> 02, 300 -> d8 04. */
    proto_wbuf_t w = {0};
    proto_put_varint(&w, -1);
    proto_put_varint(&w, 1);
    proto_put_varint(&w, 300);
    const uint8_t want[] = {0x01, 0x02, 0xd8, 0x04};
    assert_int_equal(w.len, sizeof(want));
    assert_memory_equal(w.data, want, sizeof(want));

    int64_t longs[] = {0, -1, 1, INT64_MIN, INT64_MAX, 1LL << 40};
    for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
        proto_wbuf_reset(&w);
        proto_put_varlong(&w, longs[i]);
        assert_int_equal(w.len, proto_varlong_size(longs[i]));
        proto_rbuf_t r;
        proto_rbuf_init(&r, w.data, w.len);
        assert_true(proto_get_varlong(&r, "v") == longs[i]);
        assert_int_equal(r.err, 0);
    }
    int32_t ints[] = {0, -1, 1, INT32_MIN, INT32_MAX, 63, -64, 64};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        proto_wbuf_reset(&w);
        proto_put_varint(&w, ints[i]);
        assert_int_equal(w.len, proto_varint_size(ints[i]));
        proto_rbuf_t r;
        proto_rbuf_init(&r, w.data, w.len);
        assert_int_equal(proto_get_varint(&r, "v"), ints[i]);
    }
    proto_wbuf_free(&w);
}

static void test_uvarint_limits(void **state)
{
    proto_wbuf_t w = {0};
    proto_put_uvarint(&w, UINT32_MAX);
    assert_int_equal(w.len, 5);
    proto_rbuf_t r;
    proto_rbuf_init(&r, w.data, w.len);
    assert_true(proto_get_uvarint(&r, "u") == UINT32_MAX);

    const uint8_t too_long[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    proto_rbuf_init(&r, too_long, sizeof(too_long));
    proto_get_uvarint(&r, "Tag");
    assert_int_equal(r.err, KC_ERR__BAD_MSG);
    assert_non_null(strstr(r.errstr, "Tag"));

    const uint8_t truncated[] = {0x80};
    proto_rbuf_init(&r, truncated, sizeof(truncated));
    proto_get_uvarint(&r, "Len");
    assert_int_equal(r.err, KC_ERR__BAD_MSG);
    proto_wbuf_free(&w);
}

static void test_strings_and_nulls(void **state)
{
    proto_wbuf_t w = {0};
    proto_put_str(&w, proto_str_of("kafka"));
    proto_put_str(&w, PROTO_NULL_SLICE);
    proto_put_compact_str(&w, proto_str_of(""));
    proto_put_compact_str(&w, PROTO_NULL_SLICE);
    proto_put_bytes(&w, proto_slice_of("\x00\x01", 2));
    proto_put_compact_bytes(&w, proto_slice_of("xyz", 3));

    proto_rbuf_t r;
    proto_rbuf_init(&r, w.data, w.len);
    assert_true(proto_str_eq(proto_get_str(&r, "a"), "kafka"));
    assert_int_equal(proto_get_str(&r, "b").len, -1);
    proto_str_t empty = proto_get_compact_str(&r, "c");
    assert_int_equal(empty.len, 0);
    assert_true(proto_str_eq(empty, ""));
    assert_int_equal(proto_get_compact_str(&r, "d").len, -1);
    proto_bytes_t b = proto_get_bytes(&r, "e");
    assert_int_equal(b.len, 2);
    assert_true(proto_str_eq(proto_get_compact_bytes(&r, "f"), "xyz"));
    assert_int_equal(r.err, 0);
    assert_int_equal(proto_rbuf_left(&r), 0);
    proto_wbuf_free(&w);
}

static void test_lengths_never_trusted(void **state)
{
    /* A string that claims 100 bytes with 3 left. */
    const uint8_t s[] = {0x00, 0x64, 'a', 'b', 'c'};
    proto_rbuf_t r;
    proto_rbuf_init(&r, s, sizeof(s));
    proto_get_str(&r, "ClientId");
    assert_int_equal(r.err, KC_ERR__BAD_MSG);
    assert_non_null(strstr(r.errstr, "ClientId"));
    /* Reads after an error return zeroes and keep the first message. */
    assert_int_equal(proto_get_i32(&r, "Other"), 0);
    assert_null(strstr(r.errstr, "Other"));

    /* An array that claims 2^31-1 elements of at least 4 bytes each. */
    const uint8_t a[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1};
    proto_rbuf_init(&r, a, sizeof(a));
    proto_get_array_len(&r, 4, "Topics");
    assert_int_equal(r.err, KC_ERR__BAD_MSG);

    const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe};
    proto_rbuf_init(&r, neg, sizeof(neg));
    proto_get_array_len(&r, 1, "Topics");
    assert_int_equal(r.err, KC_ERR__BAD_MSG);

    const uint8_t null_arr[] = {0xff, 0xff, 0xff, 0xff};
    proto_rbuf_init(&r, null_arr, sizeof(null_arr));
    assert_int_equal(proto_get_array_len(&r, 1, "Topics"), -1);
    assert_int_equal(r.err, 0);
}

static void test_patch_at(void **state)
{
    proto_wbuf_t w = {0};
    size_t at = proto_wbuf_skip(&w, 4);
    proto_put_raw(&w, "abc", 3);
    proto_put_i32_at(&w, at, (int32_t)(w.len - 4));
    proto_rbuf_t r;
    proto_rbuf_init(&r, w.data, w.len);
    assert_int_equal(proto_get_i32(&r, "size"), 3);
    proto_wbuf_free(&w);
}

static void test_error_table(void **state)
{
    assert_string_equal(kc_err_name(KC_ERR_NOT_LEADER_OR_FOLLOWER), "NOT_LEADER_OR_FOLLOWER");
    assert_string_equal(kc_err_name(KC_ERR__BAD_MSG), "BAD_MSG");
    assert_string_equal(kc_err_name((kc_err_t)32000), "UNKNOWN");
    assert_true(kc_err_is_retriable(KC_ERR_NOT_LEADER_OR_FOLLOWER));
    assert_false(kc_err_is_retriable(KC_ERR_MESSAGE_TOO_LARGE));
    assert_int_equal(KC_ERR_UNSUPPORTED_VERSION, 35);
    assert_int_equal(KC_ERR_INVALID_RECORD, 87);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_width_big_endian),
        cmocka_unit_test(test_zigzag_vectors),
        cmocka_unit_test(test_uvarint_limits),
        cmocka_unit_test(test_strings_and_nulls),
        cmocka_unit_test(test_lengths_never_trusted),
        cmocka_unit_test(test_patch_at),
        cmocka_unit_test(test_error_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
