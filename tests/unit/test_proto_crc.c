/* CRC-32C: known vectors, hardware against table, incremental against one-shot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/proto_crc.h"

/* A fixed xorshift stream, so failures reproduce. */
static void fill_random(uint8_t *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 24);
    }
}

/* Bit-at-a-time CRC-32C straight from the definition: the slowest and most
 * obviously right form, to check the table code against. */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t len)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
    }
    return ~c;
}

static void test_check_value(void **state)
{
    const char *s = "123456789";
    assert_int_equal(proto_crc32c(0, s, 9), 0xE3069283u);
    assert_int_equal(proto_crc32c_sw(0, s, 9), 0xE3069283u);
    assert_int_equal(proto_crc32c(0, "", 0), 0);
    assert_int_equal(proto_crc32c_sw(0, NULL, 0), 0);
    /* RFC 3720 B.4: 32 bytes of zeros and of 0xff. */
    uint8_t buf[32];
    memset(buf, 0, sizeof(buf));
    assert_int_equal(proto_crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(proto_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(proto_crc32c(0, buf, 32), 0x46DD794Eu);
}

static void test_impl_name(void **state)
{
    const char *impl = proto_crc32c_impl();
    assert_non_null(impl);
    assert_true(strcmp(impl, "avx512-vpclmulqdq") == 0 || strcmp(impl, "sse4.2") == 0 ||
                strcmp(impl, "armv8-crc") == 0 || strcmp(impl, "table") == 0);
    const proto_crc32c_impl_t *impls;
    int n = proto_crc32c_impls(&impls);
    assert_true(n >= 1);
    assert_string_equal(impls[0].name, impl); /* the one in use comes first */
    assert_string_equal(impls[n - 1].name, "table");
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) {
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= strcmp(impls[i].name, "sse4.2") == 0;
        assert_true(found);
    }
#endif
}

static void test_every_small_length(void **state)
{
    /* 1024 + 8 so each length can also start at every misalignment 0..7. */
    uint8_t *buf = malloc(1024 + 8);
    assert_non_null(buf);
    fill_random(buf, 1024 + 8, 42);
    const proto_crc32c_impl_t *impls;
    int n = proto_crc32c_impls(&impls);
    for (size_t len = 0; len <= 1024; len++) {
        for (size_t off = 0; off < 8; off++) {
            uint32_t want = crc32c_bitwise(buf + off, len);
            assert_int_equal(proto_crc32c_sw(0, buf + off, len), want);
            assert_int_equal(proto_crc32c(0, buf + off, len), want);
            for (int i = 0; i < n; i++)
                assert_int_equal(impls[i].fn(0, buf + off, len), want);
        }
    }
    free(buf);
}

static void test_large_buffers(void **state)
{
    /* Sizes around the interleaved chunk boundaries (3 x 256, 3 x 8192), the
     * folding steps (256 bytes, then 16) and a few odd large ones, each at
     * three alignments, from a zero and from a non-zero CRC. */
    const size_t sizes[] = {767,      768,          769,   1279,  1280,   1295,    3 * 8192 - 1,
                            3 * 8192, 3 * 8192 + 1, 49151, 49152, 100003, 1 << 20, (1 << 20) + 777};
    const proto_crc32c_impl_t *impls;
    int n = proto_crc32c_impls(&impls);
    size_t max = (1 << 20) + 777 + 8;
    uint8_t *buf = malloc(max);
    assert_non_null(buf);
    fill_random(buf, max, 7);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (size_t off = 0; off < 8; off += 3) {
            uint32_t sw = proto_crc32c_sw(0, buf + off, sizes[i]);
            assert_int_equal(proto_crc32c(0, buf + off, sizes[i]), sw);
            if (sizes[i] < 200000) assert_int_equal(crc32c_bitwise(buf + off, sizes[i]), sw);
            uint32_t sw_from = proto_crc32c_sw(0xDEADBEEFu, buf + off, sizes[i]);
            for (int k = 0; k < n; k++) {
                assert_int_equal(impls[k].fn(0, buf + off, sizes[i]), sw);
                assert_int_equal(impls[k].fn(0xDEADBEEFu, buf + off, sizes[i]), sw_from);
            }
        }
    }
    free(buf);
}

static void test_incremental_equals_one_shot(void **state)
{
    size_t len = 200000;
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    fill_random(buf, len, 99);
    uint32_t whole = proto_crc32c(0, buf, len);
    assert_int_equal(proto_crc32c_sw(0, buf, len), whole);
    const size_t splits[] = {0, 1, 7, 8, 255, 769, 24575, 24576, 100000, 199999, 200000};
    for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
        size_t a = splits[i];
        uint32_t c = proto_crc32c(0, buf, a);
        assert_int_equal(proto_crc32c(c, buf + a, len - a), whole);
        c = proto_crc32c_sw(0, buf, a);
        assert_int_equal(proto_crc32c_sw(c, buf + a, len - a), whole);
        /* Mixed: the implementations share the register convention. */
        c = proto_crc32c_sw(0, buf, a);
        assert_int_equal(proto_crc32c(c, buf + a, len - a), whole);
        const proto_crc32c_impl_t *impls;
        int n = proto_crc32c_impls(&impls);
        for (int k = 0; k < n; k++) {
            c = impls[k].fn(0, buf, a);
            assert_int_equal(impls[k].fn(c, buf + a, len - a), whole);
        }
    }
    /* Many small pieces of varying size. */
    uint32_t c = 0;
    size_t pos = 0, step = 1;
    while (pos < len) {
        size_t n = step < len - pos ? step : len - pos;
        c = proto_crc32c(c, buf + pos, n);
        pos += n;
        step = step * 3 % 1000 + 1;
    }
    assert_int_equal(c, whole);
    free(buf);
}

/* combine(CRC(A), CRC(B), |B|) == CRC(A||B) at every kind of split, and the
 * bitwise definition agrees, so combine is checked against no shared code. */
static void test_combine_equals_concatenation(void **state)
{
    size_t len = 70000;
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    fill_random(buf, len, 7);
    uint32_t whole = crc32c_bitwise(buf, len);
    const size_t splits[] = {0, 1, 2, 40, 61, 4095, 4096, 4097, 65536, 69999, 70000};
    for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
        size_t a = splits[i];
        uint32_t ca = proto_crc32c(0, buf, a);
        uint32_t cb = proto_crc32c(0, buf + a, len - a);
        assert_int_equal(proto_crc32c_combine(ca, cb, len - a), whole);
    }
    /* Three pieces, combined left to right. */
    uint32_t c = proto_crc32c(0, buf, 100);
    c = proto_crc32c_combine(c, proto_crc32c(0, buf + 100, 30000), 30000);
    c = proto_crc32c_combine(c, proto_crc32c(0, buf + 30100, len - 30100), len - 30100);
    assert_int_equal(c, whole);
    /* Nothing after A leaves it as it is. */
    assert_int_equal(proto_crc32c_combine(0x12345678u, 0, 0), 0x12345678u);
    free(buf);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_impl_name),
        cmocka_unit_test(test_every_small_length),
        cmocka_unit_test(test_large_buffers),
        cmocka_unit_test(test_incremental_equals_one_shot),
        cmocka_unit_test(test_combine_equals_concatenation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
