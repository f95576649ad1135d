/* Checksums and partitioner hashes.
 *
 * CRC-32C (Castagnoli) covers record batches (magic 2); CRC-32 (IEEE, zlib's)
 * covers legacy messages (magic 0/1) and is librdkafka's "consistent"
 * partitioner hash. murmur2 is the Java client's partitioner hash; FNV-1a is
 * librdkafka's fnv1a partitioner hash.
 */
#ifndef PROTO_CRC_H
#define PROTO_CRC_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C, continuing from `crc` (start with 0). "123456789" -> 0xE3069283.
 * Uses AVX-512 VPCLMULQDQ or SSE4.2 (x86-64), or the ARMv8 CRC extension,
 * when the CPU has them, chosen once at first use; a table elsewhere. */
uint32_t proto_crc32c(uint32_t crc, const void *data, size_t len);
/* The CRC-32C of A||B from crc_a = CRC-32C(A), crc_b = CRC-32C(B) and B's
 * length, without reading either: O(log len_b) small multiplications. With
 * crc_b = 0 it carries crc_a over len_b zero bytes, which is how a batch's
 * CRC follows a patched header field without reading the records. */
uint32_t proto_crc32c_combine(uint32_t crc_a, uint32_t crc_b, size_t len_b);
/* The implementation in use: "avx512-vpclmulqdq", "sse4.2", "armv8-crc" or
 * "table". */
const char *proto_crc32c_impl(void);
/* Every implementation this CPU runs, best (the one in use) first, so tests
 * check each and bench_crc times each. Returns how many. */
typedef uint32_t (*proto_crc32c_fn)(uint32_t crc, const void *data, size_t len);
typedef struct proto_crc32c_impl {
    const char *name;
    proto_crc32c_fn fn;
} proto_crc32c_impl_t;
int proto_crc32c_impls(const proto_crc32c_impl_t **impls);
/* The portable table implementation, for tests and benchmarks to compare. */
uint32_t proto_crc32c_sw(uint32_t crc, const void *data, size_t len);

/* CRC-32 (IEEE 802.3, zlib), continuing from `crc` (start with 0).
 * "123456789" -> 0xCBF43926. */
uint32_t proto_crc32(uint32_t crc, const void *data, size_t len);

/* Java-compatible murmur2 (Kafka's DefaultPartitioner): returns the uint32
 * hash; partition = (hash & 0x7fffffff) % partition_count. */
uint32_t proto_murmur2(const void *key, size_t len);

/* 32-bit FNV-1a (offset basis 0x811c9dc5, prime 0x01000193). */
uint32_t proto_fnv1a(const void *key, size_t len);

#endif
