/* kc's partitioners pick the same partition as librdkafka's own partitioner
 * functions (linked from Debian's librdkafka) for the same key, for every
 * partitioner, many keys and partition counts; and Java's murmur2 choice for
 * documented keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#include "conf_client.h"
#include "producer/partitioner.h"

typedef int32_t (*rd_part_fn)(const rd_kafka_topic_t *, const void *, size_t, int32_t, void *,
                              void *);

static const struct {
    int kind;
    rd_part_fn rd;
    const char *name;
} kinds[] = {
    {CLIENT_PARTITIONER_MURMUR2, rd_kafka_msg_partitioner_murmur2, "murmur2"},
    {CLIENT_PARTITIONER_MURMUR2_RANDOM, rd_kafka_msg_partitioner_murmur2_random, "murmur2_random"},
    {CLIENT_PARTITIONER_CONSISTENT, rd_kafka_msg_partitioner_consistent, "consistent"},
    {CLIENT_PARTITIONER_CONSISTENT_RANDOM, rd_kafka_msg_partitioner_consistent_random,
     "consistent_random"},
    {CLIENT_PARTITIONER_FNV1A, rd_kafka_msg_partitioner_fnv1a, "fnv1a"},
    {CLIENT_PARTITIONER_FNV1A_RANDOM, rd_kafka_msg_partitioner_fnv1a_random, "fnv1a_random"},
};

static void test_same_as_librdkafka(void **state)
{
    const int32_t counts[] = {1, 2, 3, 6, 7, 12, 64, 100, 1000};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
            for (int i = 0; i < 2000; i++) {
                char key[64];
                /* Varied lengths, including bytes >= 0x80 (signedness bugs). */
                int len = snprintf(key, sizeof(key), "key-%d-%c", i * 7919, (char)(0x80 | i));
                len = i % 5 == 0 ? len / 2 : len;
                if (producer_partition_is_random(kinds[k].kind, key, (size_t)len)) continue;
                int32_t want = kinds[k].rd(NULL, key, (size_t)len, counts[c], NULL, NULL);
                int32_t got = producer_partition(kinds[k].kind, key, (size_t)len, counts[c], -1);
                if (got != want)
                    fail_msg("%s: key %d of %d bytes, %d partitions: kc %d, librdkafka %d",
                             kinds[k].name, i, len, counts[c], got, want);
            }
        }
    }
}

/* NULL and empty keys: deterministic kinds agree with librdkafka; random
 * kinds return the caller's sticky partition. */
static void test_null_and_empty_keys(void **state)
{
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const void *keys[2] = {NULL, ""};
        for (int e = 0; e < 2; e++) {
            int random = producer_partition_is_random(kinds[k].kind, keys[e], 0);
            int32_t got = producer_partition(kinds[k].kind, keys[e], 0, 10, 7);
            if (random) {
                assert_int_equal(got, 7);
            } else {
                int32_t want = kinds[k].rd(NULL, keys[e], 0, 10, NULL, NULL);
                if (got != want)
                    fail_msg("%s with a%s key: kc %d, librdkafka %d", kinds[k].name,
                             e ? "n empty" : " NULL", got, want);
            }
        }
    }
    /* The documented rules. */
    assert_true(producer_partition_is_random(CLIENT_PARTITIONER_CONSISTENT_RANDOM, "", 0));
    assert_false(producer_partition_is_random(CLIENT_PARTITIONER_MURMUR2_RANDOM, "", 0));
    assert_true(producer_partition_is_random(CLIENT_PARTITIONER_MURMUR2_RANDOM, NULL, 0));
    assert_int_equal(producer_partition(CLIENT_PARTITIONER_CONSISTENT, NULL, 0, 10, 5), 0);
    assert_true(producer_partition_is_random(CLIENT_PARTITIONER_RANDOM, "k", 1));
}

/* Java's DefaultPartitioner: (murmur2 & 0x7fffffff) % n, from the hash
 * vectors in TARGET.md ("21" -> -973932308, "foobar" -> -790332482). */
static void test_java_murmur2(void **state)
{
    assert_int_equal(producer_partition(CLIENT_PARTITIONER_MURMUR2, "21", 2, 1000, 0),
                     (int32_t)(((uint32_t)-973932308 & 0x7fffffff) % 1000));
    assert_int_equal(producer_partition(CLIENT_PARTITIONER_MURMUR2_RANDOM, "foobar", 6, 7, 0),
                     (int32_t)(((uint32_t)-790332482 & 0x7fffffff) % 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_librdkafka),
        cmocka_unit_test(test_null_and_empty_keys),
        cmocka_unit_test(test_java_murmur2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
