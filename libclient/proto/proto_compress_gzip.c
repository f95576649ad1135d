/* gzip (codec 1): RFC 1952 streams through zlib. */
#include <limits.h>
#include <stdint.h>
#include <zlib.h>

#include "kc/kc_err.h"
#include "proto_compress_int.h"

/* zlib counts in uInt; feed and drain it in pieces that fit. */
static uInt clamp_uint(size_t n)
{
    return n > UINT_MAX ? UINT_MAX : (uInt)n;
}

int proto_gzip_compress(int level, const void *in, size_t len, proto_wbuf_t *out, char *errstr,
                        size_t errstr_size)
{
    int lo, hi;
    proto_codec_level_range(PROTO_CODEC_GZIP, &lo, &hi);
    if (level == -1)
        level = Z_DEFAULT_COMPRESSION;
    else if (level < lo || level > hi)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__INVALID_ARG,
                                   "gzip: level %d is outside -1 (default) and %d-%d", level, lo,
                                   hi);
    z_stream s = {0};
    /* 15 + 16: a 32 KiB window wrapped in a gzip header and trailer. */
    int ret = deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (ret != Z_OK)
        return proto_compress_fail(errstr, errstr_size,
                                   ret == Z_MEM_ERROR ? KC_ERR__NO_MEMORY : KC_ERR__COMPRESSION,
                                   "gzip: deflateInit2 failed (%d)", ret);
    /* Reserving deflateBound up front makes this a single deflate call. */
    size_t bound = len <= ULONG_MAX ? deflateBound(&s, (uLong)len) : len;
    proto_wbuf_reserve(out, bound);
    const uint8_t *p = in;
    size_t left = len;
    int err = 0;
    do {
        if (s.avail_in == 0 && left) {
            s.next_in = (Bytef *)p;
            s.avail_in = clamp_uint(left);
            p += s.avail_in;
            left -= s.avail_in;
        }
        uint8_t *dst = proto_wbuf_reserve(out, out->cap - out->len >= 64 ? 1 : 64 * 1024);
        if (!dst) {
            err = KC_ERR__NO_MEMORY;
            break;
        }
        s.next_out = dst;
        s.avail_out = clamp_uint(out->cap - out->len);
        uInt room = s.avail_out;
        ret = deflate(&s, left || s.avail_in > 0 ? Z_NO_FLUSH : Z_FINISH);
        out->len += room - s.avail_out;
        if (ret == Z_STREAM_ERROR) {
            err = proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                      "gzip: deflate failed");
            break;
        }
    } while (ret != Z_STREAM_END);
    deflateEnd(&s);
    if (err == KC_ERR__NO_MEMORY)
        return proto_compress_fail(errstr, errstr_size, err, "gzip: out of memory");
    return err;
}

static int gzip_next_member(const z_stream *s)
{
    /* Concatenated members are legal gzip (RFC 1952 2.2); anything else after
     * the end of a member is corruption. */
    return s->avail_in >= 2 && s->next_in[0] == 0x1f && s->next_in[1] == 0x8b;
}

int proto_gzip_decompress(const void *in, size_t len, size_t max_out, proto_wbuf_t *out,
                          char *errstr, size_t errstr_size)
{
    z_stream s = {0};
    /* 15 + 32: detect gzip or zlib headers automatically. */
    int ret = inflateInit2(&s, 15 + 32);
    if (ret != Z_OK)
        return proto_compress_fail(errstr, errstr_size,
                                   ret == Z_MEM_ERROR ? KC_ERR__NO_MEMORY : KC_ERR__COMPRESSION,
                                   "gzip: inflateInit2 failed (%d)", ret);
    size_t start = out->len;
    size_t limit = proto_compress_limit(out, max_out);
    const uint8_t *p = in;
    size_t left = len;
    int err = 0;
    for (;;) {
        if (s.avail_in == 0 && left) {
            s.next_in = (Bytef *)p;
            s.avail_in = clamp_uint(left);
            p += s.avail_in;
            left -= s.avail_in;
        }
        size_t room;
        uint8_t *dst = proto_compress_room(out, limit, &room);
        if (!dst) {
            err = proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY,
                                      "gzip: out of memory for the decompressed output");
            break;
        }
        s.next_out = dst;
        s.avail_out = clamp_uint(room);
        uInt avail_out = s.avail_out, avail_in = s.avail_in;
        ret = inflate(&s, Z_NO_FLUSH);
        out->len += avail_out - s.avail_out;
        if (out->len - start > max_out) {
            err =
                proto_compress_fail(errstr, errstr_size, KC_ERR__TOO_LARGE,
                                    "gzip: decompressed data exceeds the %zu-byte limit", max_out);
            break;
        }
        if (ret == Z_STREAM_END) {
            if (s.avail_in == 0 && left == 0) break;
            if (s.avail_in < 2 && left) {
                /* The next member's magic straddles two zlib-sized pieces:
                 * only possible past 4 GiB of input, so refuse rather than
                 * stitch. */
                err = proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                          "gzip: unsupported member boundary");
                break;
            }
            if (!gzip_next_member(&s)) {
                err = proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                          "gzip: corrupt data: %zu trailing bytes after the end",
                                          (size_t)s.avail_in + left);
                break;
            }
            inflateReset(&s);
            continue;
        }
        if (ret == Z_MEM_ERROR) {
            err =
                proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY, "gzip: out of memory");
            break;
        }
        if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT || ret == Z_STREAM_ERROR) {
            err = proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                      "gzip: corrupt data (%s)", s.msg ? s.msg : "inflate failed");
            break;
        }
        /* Z_OK or Z_BUF_ERROR: more input is needed, or progress was made. */
        if (s.avail_in == 0 && left == 0 && s.avail_out > 0) {
            err = proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                      "gzip: corrupt data (truncated stream)");
            break;
        }
        if (s.avail_in == avail_in && s.avail_out == avail_out) {
            err = proto_compress_fail(
                errstr, errstr_size, KC_ERR__COMPRESSION, "gzip: corrupt data (%s)",
                s.avail_in == 0 && left == 0 ? "truncated stream" : "no progress");
            break;
        }
    }
    inflateEnd(&s);
    return err;
}
