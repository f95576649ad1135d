/* CRC-32 (IEEE) and the partitioner hashes murmur2 and FNV-1a. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proto/proto_crc.h"

static uint32_t murmur2_str(const char *s)
{
    return proto_murmur2(s, strlen(s));
}

static void test_murmur2_java_vectors(void **state)
{
    /* From the Kafka protocol notes, section 8 (Java gives them as int32);
     * also confirmed with kafka-python's murmur2 by vectors/partition_vectors.py. */
    assert_int_equal((int32_t)murmur2_str("21"), -973932308);
    assert_int_equal((int32_t)murmur2_str("foobar"), -790332482);
    assert_int_equal((int32_t)murmur2_str("abc"), 479470107);
    assert_int_equal((int32_t)murmur2_str(""), 275646681);
    assert_int_equal(proto_murmur2(NULL, 0), 0x106e08d9u);
    /* The notes give "kafka" in unsigned hex form: 0xd067cf64 = -798503068. */
    assert_int_equal(murmur2_str("kafka"), 0xd067cf64u);
    assert_int_equal((int32_t)murmur2_str("kafka"), -798503068);
}

static void test_murmur2_tail_bytes_are_unsigned(void **state)
{
    /* Java masks each byte with 0xff; a sign-extending port would differ for
     * bytes >= 0x80 in both the words and the 1-3 byte tail. Values from
     * kafka-python's murmur2 (kafka.partitioner.default). */
    const uint8_t k1[] = {0xff};
    const uint8_t k5[] = {0x80, 0x81, 0xfe, 0xff, 0x90};
    assert_int_equal(proto_murmur2(k1, 1), 0xed6f615bu);
    assert_int_equal(proto_murmur2(k5, 5), 0xefef1124u);
}

static void test_crc32_ieee(void **state)
{
    assert_int_equal(proto_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(proto_crc32(0, "", 0), 0);
    /* Continuing from a previous value equals one pass. */
    uint32_t c = proto_crc32(0, "1234", 4);
    assert_int_equal(proto_crc32(c, "56789", 5), 0xCBF43926u);
}

static void test_fnv1a_vectors(void **state)
{
    /* The standard 32-bit FNV-1a test vectors. */
    assert_int_equal(proto_fnv1a("", 0), 0x811c9dc5u);
    assert_int_equal(proto_fnv1a("a", 1), 0xe40c292cu);
    assert_int_equal(proto_fnv1a("foobar", 6), 0xbf9cf968u);
}

static void test_partition_choice_table(void **state)
{
    /* Partitions for keys "key0".."key9" over 6 partitions, computed by
     * tests/unit/vectors/partition_vectors.py: a Python murmur2 written from
     * the protocol notes and checked against kafka-python's, Python's
     * zlib.crc32, and FNV-1a from its definition.
     *   Java DefaultPartitioner: (murmur2(key) & 0x7fffffff) % 6
     *   librdkafka consistent:   crc32(key) % 6
     *   librdkafka fnv1a:        fnv1a(key) % 6 */
    static const struct {
        int java, rdkafka_crc, rdkafka_fnv;
    } want[10] = {
        {4, 2, 0}, {2, 4, 5}, {5, 4, 4}, {1, 0, 3}, {3, 3, 4},
        {1, 1, 3}, {0, 1, 2}, {3, 5, 1}, {1, 2, 2}, {5, 2, 1},
    };
    for (int i = 0; i < 10; i++) {
        char key[8];
        int n = snprintf(key, sizeof(key), "key%d", i);
        assert_int_equal((proto_murmur2(key, (size_t)n) & 0x7fffffff) % 6, want[i].java);
        assert_int_equal(proto_crc32(0, key, (size_t)n) % 6, want[i].rdkafka_crc);
        assert_int_equal(proto_fnv1a(key, (size_t)n) % 6, want[i].rdkafka_fnv);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_murmur2_java_vectors),
        cmocka_unit_test(test_murmur2_tail_bytes_are_unsigned),
        cmocka_unit_test(test_crc32_ieee),
        cmocka_unit_test(test_fnv1a_vectors),
        cmocka_unit_test(test_partition_choice_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
