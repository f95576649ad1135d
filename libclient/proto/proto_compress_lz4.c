/* lz4 (codec 3): the LZ4 frame format, as Java writes and reads it, plus the
 * old Kafka header checksum (KAFKA-3160) on input. */
#include <lz4frame.h>
#include <stdint.h>
#include <string.h>

#include "kc/kc_err.h"
#include "proto_compress_int.h"

/* ---- XXH32, for the frame header checksum -------------------------------- */

#define XXH_P1 0x9E3779B1u
#define XXH_P2 0x85EBCA77u
#define XXH_P3 0xC2B2AE3Du
#define XXH_P4 0x27D4EB2Fu
#define XXH_P5 0x165667B1u

static inline uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t xxh_round(uint32_t acc, uint32_t lane)
{
    return rotl32(acc + lane * XXH_P2, 13) * XXH_P1;
}

uint32_t proto_xxh32(const void *data, size_t len, uint32_t seed)
{
    const uint8_t *p = data;
    const uint8_t *end = p + len;
    uint32_t h;
    if (len >= 16) {
        uint32_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2, v3 = seed, v4 = seed - XXH_P1;
        while (end - p >= 16) {
            v1 = xxh_round(v1, le32(p));
            v2 = xxh_round(v2, le32(p + 4));
            v3 = xxh_round(v3, le32(p + 8));
            v4 = xxh_round(v4, le32(p + 12));
            p += 16;
        }
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = seed + XXH_P5;
    }
    h += (uint32_t)len;
    while (end - p >= 4) {
        h = rotl32(h + le32(p) * XXH_P3, 17) * XXH_P4;
        p += 4;
    }
    while (p < end)
        h = rotl32(h + *p++ * XXH_P5, 11) * XXH_P1;
    h ^= h >> 15;
    h *= XXH_P2;
    h ^= h >> 13;
    h *= XXH_P3;
    h ^= h >> 16;
    return h;
}

/* ---- Compression --------------------------------------------------------- */

int proto_lz4_compress(int level, const void *in, size_t len, proto_wbuf_t *out, char *errstr,
                       size_t errstr_size)
{
    int lo, hi;
    proto_codec_level_range(PROTO_CODEC_LZ4, &lo, &hi);
    if (level == -1)
        level = 0; /* liblz4's fast mode, as librdkafka uses */
    else if (level < lo || level > hi)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__INVALID_ARG,
                                   "lz4: level %d is outside -1 (default) and %d-%d", level, lo,
                                   hi);
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    /* Java's KafkaLZ4BlockInputStream reads only independent blocks; it
     * writes 64 KiB blocks without content size or checksums, and so do we. */
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    prefs.frameInfo.frameType = LZ4F_frame;
    prefs.frameInfo.contentSize = 0;
    prefs.compressionLevel = level;
    size_t bound = LZ4F_compressFrameBound(len, &prefs);
    uint8_t *dst = proto_wbuf_reserve(out, bound);
    if (!dst)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY, "lz4: out of memory");
    size_t n = LZ4F_compressFrame(dst, bound, len ? in : "", len, &prefs);
    if (LZ4F_isError(n))
        return proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                   "lz4: compression failed (%s)", LZ4F_getErrorName(n));
    out->len += n;
    return 0;
}

/* ---- Decompression ------------------------------------------------------- */

/* Kafka before 0.10 (KAFKA-3160) computed the header checksum byte over the
 * 4 magic bytes too. If the frame's HC matches that form and not the right
 * one, copies the header into `fixed` with the right HC and returns its
 * length; returns 0 when the header needs no fixing (or is not a frame: the
 * decoder reports that). */
static size_t lz4_fix_kafka3160(const uint8_t *in, size_t len, uint8_t *fixed)
{
    if (len < 7 || le32(in) != 0x184D2204u) return 0;
    uint8_t flg = in[4];
    size_t hlen = 4 + 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0) + 1;
    if (len < hlen) return 0;
    uint8_t hc = in[hlen - 1];
    uint8_t right = (uint8_t)(proto_xxh32(in + 4, hlen - 5, 0) >> 8);
    if (hc == right) return 0;
    uint8_t old = (uint8_t)(proto_xxh32(in, hlen - 1, 0) >> 8);
    if (hc != old) return 0;
    memcpy(fixed, in, hlen);
    fixed[hlen - 1] = right;
    return hlen;
}

typedef struct lz4_run {
    LZ4F_dctx *dctx;
    proto_wbuf_t *out;
    size_t start, max_out, limit;
    size_t hint; /* last LZ4F_decompress result: 0 once a frame is complete */
    char *errstr;
    size_t errstr_size;
} lz4_run_t;

/* Feeds one piece of input through the decoder, draining all output. */
static int lz4_feed(lz4_run_t *r, const uint8_t *src, size_t src_left)
{
    for (;;) {
        size_t room;
        uint8_t *dst = proto_compress_room(r->out, r->limit, &room);
        if (!dst)
            return proto_compress_fail(r->errstr, r->errstr_size, KC_ERR__NO_MEMORY,
                                       "lz4: out of memory for the decompressed output");
        size_t dst_size = room, src_size = src_left;
        size_t ret = LZ4F_decompress(r->dctx, dst, &dst_size, src, &src_size, NULL);
        if (LZ4F_isError(ret))
            return proto_compress_fail(r->errstr, r->errstr_size, KC_ERR__COMPRESSION,
                                       "lz4: corrupt data (%s)", LZ4F_getErrorName(ret));
        r->out->len += dst_size;
        src += src_size;
        src_left -= src_size;
        r->hint = ret;
        if (r->out->len - r->start > r->max_out)
            return proto_compress_fail(r->errstr, r->errstr_size, KC_ERR__TOO_LARGE,
                                       "lz4: decompressed data exceeds the %zu-byte limit",
                                       r->max_out);
        if (src_left == 0 && (ret == 0 || dst_size < room))
            return 0; /* all input taken and no output held back */
        if (src_size == 0 && dst_size == 0) {
            if (src_left == 0) return 0; /* the decoder wants more input */
            return proto_compress_fail(r->errstr, r->errstr_size, KC_ERR__COMPRESSION,
                                       "lz4: corrupt data (decoder made no progress)");
        }
    }
}

int proto_lz4_decompress(const void *in, size_t len, size_t max_out, proto_wbuf_t *out,
                         char *errstr, size_t errstr_size)
{
    lz4_run_t r = {.out = out,
                   .start = out->len,
                   .max_out = max_out,
                   .limit = proto_compress_limit(out, max_out),
                   .hint = 1,
                   .errstr = errstr,
                   .errstr_size = errstr_size};
    LZ4F_errorCode_t e = LZ4F_createDecompressionContext(&r.dctx, LZ4F_VERSION);
    if (LZ4F_isError(e))
        return proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY,
                                   "lz4: cannot create a decompression context (%s)",
                                   LZ4F_getErrorName(e));
    const uint8_t *p = in;
    uint8_t fixed[LZ4F_HEADER_SIZE_MAX];
    size_t hlen = lz4_fix_kafka3160(p, len, fixed);
    int err = 0;
    if (hlen) {
        err = lz4_feed(&r, fixed, hlen);
        p += hlen;
        len -= hlen;
    }
    if (!err && len) err = lz4_feed(&r, p, len);
    if (!err && r.hint != 0)
        err = proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                  "lz4: corrupt data (truncated frame)");
    LZ4F_freeDecompressionContext(r.dctx);
    return err;
}
