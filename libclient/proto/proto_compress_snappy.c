/* snappy (codec 2): one raw block on output; raw blocks or the Java (xerial
 * snappy-java) framed stream on input. */
#include <snappy-c.h>
#include <stdint.h>
#include <string.h>

#include "kc/kc_err.h"
#include "proto_compress_int.h"

/* snappy-java's stream header: magic, then int32 BE version and min-compatible
 * version. Not the official snappy framing format (ff 06 00 00 sNaPpY). */
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER_LEN 16

int proto_snappy_compress(const void *in, size_t len, proto_wbuf_t *out, char *errstr,
                          size_t errstr_size)
{
    size_t bound = snappy_max_compressed_length(len);
    uint8_t *dst = proto_wbuf_reserve(out, bound);
    if (!dst)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY, "snappy: out of memory");
    size_t clen = bound;
    snappy_status st = snappy_compress(len ? in : "", len, (char *)dst, &clen);
    if (st != SNAPPY_OK)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                   "snappy: compression failed (status %d)", (int)st);
    out->len += clen;
    return 0;
}

/* Decodes one raw block, refusing it before any allocation if its declared
 * size would pass the limit. */
static int snappy_block(const uint8_t *blk, size_t n, size_t start, size_t max_out, size_t limit,
                        proto_wbuf_t *out, char *errstr, size_t errstr_size)
{
    size_t ulen;
    if (snappy_uncompressed_length((const char *)blk, n, &ulen) != SNAPPY_OK)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                   "snappy: corrupt data (bad block length header)");
    size_t produced = out->len - start;
    if (ulen > max_out - produced)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__TOO_LARGE,
                                   "snappy: decompressed data exceeds the %zu-byte limit "
                                   "(a block declares %zu bytes)",
                                   max_out, ulen);
    if (ulen == 0) {
        if (snappy_validate_compressed_buffer((const char *)blk, n) != SNAPPY_OK)
            return proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                       "snappy: corrupt data");
        return 0;
    }
    uint8_t *dst = proto_compress_reserve(out, ulen, limit);
    if (!dst)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY,
                                   "snappy: out of memory for %zu bytes", ulen);
    size_t got = ulen;
    if (snappy_uncompress((const char *)blk, n, (char *)dst, &got) != SNAPPY_OK || got != ulen)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                   "snappy: corrupt data");
    out->len += got;
    return 0;
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int snappy_xerial(const uint8_t *in, size_t len, size_t start, size_t max_out, size_t limit,
                         proto_wbuf_t *out, char *errstr, size_t errstr_size)
{
    /* Versions are not checked: every snappy-java release writes the same
     * chunk layout, and Java's own reader accepts them all. */
    if (len < XERIAL_HEADER_LEN)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                   "snappy: corrupt data (truncated snappy-java header)");
    size_t pos = XERIAL_HEADER_LEN;
    while (pos < len) {
        if (len - pos < 4)
            return proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                       "snappy: corrupt data (truncated chunk length at %zu)", pos);
        size_t clen = load_be32(in + pos);
        pos += 4;
        if (clen > len - pos)
            return proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                       "snappy: corrupt data (chunk of %zu bytes at %zu "
                                       "runs past the end)",
                                       clen, pos - 4);
        int err = snappy_block(in + pos, clen, start, max_out, limit, out, errstr, errstr_size);
        if (err) return err;
        pos += clen;
    }
    return 0;
}

int proto_snappy_decompress(const void *in, size_t len, size_t max_out, proto_wbuf_t *out,
                            char *errstr, size_t errstr_size)
{
    const uint8_t *p = in;
    size_t start = out->len;
    size_t limit = proto_compress_limit(out, max_out);
    if (len >= sizeof(xerial_magic) && memcmp(p, xerial_magic, sizeof(xerial_magic)) == 0)
        return snappy_xerial(p, len, start, max_out, limit, out, errstr, errstr_size);
    return snappy_block(p, len, start, max_out, limit, out, errstr, errstr_size);
}
