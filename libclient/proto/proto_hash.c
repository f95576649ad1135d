/* CRC-32 (zlib) and the partitioner hashes: murmur2 (Java) and FNV-1a. */
#include <stdint.h>
#include <zlib.h>

#include "proto_crc.h"

uint32_t proto_crc32(uint32_t crc, const void *data, size_t len)
{
    /* crc32_z takes a size_t length, so no chunking is needed for > 4 GiB. */
    return (uint32_t)crc32_z(crc, data, len);
}

static inline uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t proto_murmur2(const void *key, size_t len)
{
    /* Java's Utils.murmur2: the seed is mixed with the length as a Java int,
     * words are little-endian, and every product wraps at 32 bits. */
    const uint32_t m = 0x5bd1e995;
    const uint8_t *p = key;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t n = len;

    while (n >= 4) {
        uint32_t k = load_le32(p);
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
        p += 4;
        n -= 4;
    }
    switch (n) {
    case 3: h ^= (uint32_t)p[2] << 16; /* fall through */
    case 2: h ^= (uint32_t)p[1] << 8;  /* fall through */
    case 1:
        h ^= p[0];
        h *= m;
        break;
    default: break;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

uint32_t proto_fnv1a(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x01000193u;
    }
    return h;
}
