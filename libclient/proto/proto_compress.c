/* Codec names, dispatch, and the bounded output buffer the decoders share. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "kc/kc_err.h"
#include "proto_compress_int.h"

static const char *const codec_names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
#define CODEC_COUNT ((int)(sizeof(codec_names) / sizeof(codec_names[0])))

const char *proto_codec_name(int codec)
{
    return codec >= 0 && codec < CODEC_COUNT ? codec_names[codec] : NULL;
}

int proto_codec_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < CODEC_COUNT; i++) {
        if (strcmp(name, codec_names[i]) == 0) return i;
    }
    return -1;
}

int proto_compress_fail(char *errstr, size_t errstr_size, int err, const char *fmt, ...)
{
    if (errstr && errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

size_t proto_compress_limit(const proto_wbuf_t *out, size_t max_out)
{
    if (max_out >= SIZE_MAX - 1 - out->len) return SIZE_MAX - 1;
    return out->len + max_out + 1;
}

/* The first allocation step for decoders: big enough that small batches need
 * one allocation, small enough not to matter when the output turns out tiny. */
#define ROOM_MIN_STEP (64 * 1024)

uint8_t *proto_compress_reserve(proto_wbuf_t *out, size_t n, size_t limit)
{
    if (out->oom) return NULL;
    if (out->cap - out->len >= n) return out->data + out->len;
    /* proto_wbuf_reserve would double past the limit, so grow here. The
     * storage is malloc'd (proto_buf.c), which makes realloc safe. */
    size_t want = out->len + n;
    size_t cap = out->cap * 2;
    if (cap < out->len + ROOM_MIN_STEP) cap = out->len + ROOM_MIN_STEP;
    if (cap > limit) cap = limit;
    if (cap < want) cap = want;
    uint8_t *p = realloc(out->data, cap);
    if (!p) {
        out->oom = 1;
        return NULL;
    }
    out->data = p;
    out->cap = cap;
    return out->data + out->len;
}

uint8_t *proto_compress_room(proto_wbuf_t *out, size_t limit, size_t *room)
{
    *room = 0;
    if (out->len >= limit) return NULL;
    size_t left = limit - out->len;
    /* Use what is already there unless it is too little to be worth a call. */
    size_t n = left < 4096 ? left : 4096;
    uint8_t *p = proto_compress_reserve(out, n, limit);
    if (!p) return NULL;
    size_t avail = out->cap - out->len;
    *room = avail < left ? avail : left;
    return p;
}

static int copy_bounded(const void *in, size_t len, size_t max_out, proto_wbuf_t *out, char *errstr,
                        size_t errstr_size)
{
    if (len > max_out)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__TOO_LARGE,
                                   "uncompressed data of %zu bytes exceeds the %zu-byte limit", len,
                                   max_out);
    proto_put_raw(out, in, len);
    return 0;
}

int proto_codec_level_range(int codec, int *min, int *max)
{
    switch (codec) {
    case PROTO_CODEC_GZIP: *min = 0, *max = 9; return 0;
    case PROTO_CODEC_SNAPPY: *min = 0, *max = 0; return 0;
    case PROTO_CODEC_LZ4: *min = 0, *max = 12; return 0; /* LZ4HC_CLEVEL_MAX */
    case PROTO_CODEC_ZSTD: *min = 1, *max = ZSTD_maxCLevel(); return 0;
    default: return -1;
    }
}

int proto_compress(int codec, int level, const void *in, size_t len, proto_wbuf_t *out,
                   char *errstr, size_t errstr_size)
{
    if (errstr && errstr_size) errstr[0] = '\0';
    if (out->oom)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY,
                                   "output buffer is in an out-of-memory state");
    size_t start = out->len;
    int err;
    switch (codec) {
    case PROTO_CODEC_NONE:
        proto_put_raw(out, in, len);
        err = 0;
        break;
    case PROTO_CODEC_GZIP:
        err = proto_gzip_compress(level, in, len, out, errstr, errstr_size);
        break;
    case PROTO_CODEC_SNAPPY: err = proto_snappy_compress(in, len, out, errstr, errstr_size); break;
    case PROTO_CODEC_LZ4: err = proto_lz4_compress(level, in, len, out, errstr, errstr_size); break;
    case PROTO_CODEC_ZSTD:
        err = proto_zstd_compress(level, in, len, out, errstr, errstr_size);
        break;
    default:
        return proto_compress_fail(errstr, errstr_size, KC_ERR__INVALID_ARG,
                                   "unknown compression codec %d", codec);
    }
    if (!err && out->oom)
        err = proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY,
                                  "%s: out of memory for the compressed output",
                                  proto_codec_name(codec));
    if (err && out->len > start) out->len = start;
    return err;
}

int proto_decompress(int codec, const void *in, size_t len, size_t max_out, proto_wbuf_t *out,
                     char *errstr, size_t errstr_size)
{
    if (errstr && errstr_size) errstr[0] = '\0';
    if (out->oom)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY,
                                   "output buffer is in an out-of-memory state");
    size_t start = out->len;
    int err;
    switch (codec) {
    case PROTO_CODEC_NONE: err = copy_bounded(in, len, max_out, out, errstr, errstr_size); break;
    case PROTO_CODEC_GZIP:
        err = proto_gzip_decompress(in, len, max_out, out, errstr, errstr_size);
        break;
    case PROTO_CODEC_SNAPPY:
        err = proto_snappy_decompress(in, len, max_out, out, errstr, errstr_size);
        break;
    case PROTO_CODEC_LZ4:
        err = proto_lz4_decompress(in, len, max_out, out, errstr, errstr_size);
        break;
    case PROTO_CODEC_ZSTD:
        err = proto_zstd_decompress(in, len, max_out, out, errstr, errstr_size);
        break;
    default:
        return proto_compress_fail(errstr, errstr_size, KC_ERR_UNSUPPORTED_COMPRESSION_TYPE,
                                   "unknown compression codec %d", codec);
    }
    if (!err && out->oom)
        err = proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY,
                                  "%s: out of memory for the decompressed output",
                                  proto_codec_name(codec));
    if (!err && out->len - start > max_out) /* a decoder's duty; checked once more here */
        err = proto_compress_fail(errstr, errstr_size, KC_ERR__TOO_LARGE,
                                  "%s: decompressed data exceeds the %zu-byte limit",
                                  proto_codec_name(codec), max_out);
    if (err && out->len > start) out->len = start;
    return err;
}
