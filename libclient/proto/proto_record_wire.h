/* Inline byte-level helpers for the record hot paths (batch builder, record
 * and legacy iterators). Internal to libclient/proto: the general-purpose
 * readers and writers are in proto_buf.h; these exist because per-record code
 * cannot afford a function call and a sticky-error check per field.
 *
 * Readers take a cursor and a hard end, never read at or past the end, and
 * return 0 on failure (leaving the cursor alone) so the caller can name the
 * field in its own message.
 */
#ifndef PROTO_RECORD_WIRE_H
#define PROTO_RECORD_WIRE_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t proto_ld_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t proto_ld_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t proto_ld_be64(const uint8_t *p)
{
    return (uint64_t)proto_ld_be32(p) << 32 | proto_ld_be32(p + 4);
}

static inline void proto_st_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void proto_st_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void proto_st_be64(uint8_t *p, uint64_t v)
{
    proto_st_be32(p, (uint32_t)(v >> 32));
    proto_st_be32(p + 4, (uint32_t)v);
}

/* Unsigned base-128, least significant group first. Returns the byte after. */
static inline uint8_t *proto_st_uvarint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint8_t *proto_st_varint(uint8_t *p, int32_t v)
{
    return proto_st_uvarint(p, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

static inline uint8_t *proto_st_varlong(uint8_t *p, int64_t v)
{
    return proto_st_uvarint(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Bytes of the base-128 form: one per started group of 7 significant bits. */
static inline size_t proto_uvarint64_size(uint64_t v)
{
    return (size_t)(64 - __builtin_clzll(v | 1) + 6) / 7;
}

static inline size_t proto_zz32_size(int32_t v)
{
    return proto_uvarint64_size(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

static inline size_t proto_zz64_size(int64_t v)
{
    return proto_uvarint64_size(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Zigzag int32 (at most 5 bytes, at most 32 bits). */
static inline int proto_ld_varint(const uint8_t **pp, const uint8_t *end, int32_t *out)
{
    const uint8_t *p = *pp;
    uint32_t u;
    if (p < end && *p < 0x80) {
        u = *p++;
    } else if (end - p >= 2 && p[1] < 0x80) { /* lengths and deltas of up to 14 bits */
        u = (uint32_t)(p[0] & 0x7f) | (uint32_t)p[1] << 7;
        p += 2;
    } else {
        u = 0;
        for (int shift = 0;; shift += 7) {
            if (p >= end || shift > 28) return 0;
            uint8_t b = *p++;
            if (shift == 28 && b > 0x0f) return 0; /* more than 32 bits */
            u |= (uint32_t)(b & 0x7f) << shift;
            if (!(b & 0x80)) break;
        }
    }
    *out = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
    *pp = p;
    return 1;
}

/* Zigzag int64 (at most 10 bytes, at most 64 bits). */
static inline int proto_ld_varlong(const uint8_t **pp, const uint8_t *end, int64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t u;
    if (p < end && *p < 0x80) {
        u = *p++;
    } else if (end - p >= 2 && p[1] < 0x80) {
        u = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
        p += 2;
    } else {
        u = 0;
        for (int shift = 0;; shift += 7) {
            if (p >= end || shift > 63) return 0;
            uint8_t b = *p++;
            if (shift == 63 && b > 0x01) return 0; /* more than 64 bits */
            u |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80)) break;
        }
    }
    *out = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
    *pp = p;
    return 1;
}

/* Additions in two's complement without signed-overflow UB: hostile deltas
 * give garbage values, never undefined behaviour. */
static inline int64_t proto_add_wrap64(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

#endif
