/* zstd (codec 4): one frame on output; any frames on input, decoded in
 * streaming mode because Java writes them without a content size. */
#include <stdint.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "kc/kc_err.h"
#include "proto_compress_int.h"

/* Window limits for decoding. Java's streaming frames use the level's window
 * (2 MiB at the default level 3, 8 MiB at 19), so windows up to 8 MiB are
 * always accepted; past that only when the output limit is at least that big,
 * and never past zstd's own default ceiling of 128 MiB. The window is memory
 * the decoder allocates whatever the content, so it must follow the limit. */
#define ZSTD_WLOG_ALWAYS 23
#define ZSTD_WLOG_CEIL   27

int proto_zstd_compress(int level, const void *in, size_t len, proto_wbuf_t *out, char *errstr,
                        size_t errstr_size)
{
    if (level == -1)
        level = ZSTD_CLEVEL_DEFAULT;
    else if (level < 1 || level > ZSTD_maxCLevel())
        return proto_compress_fail(errstr, errstr_size, KC_ERR__INVALID_ARG,
                                   "zstd: level %d is outside -1 (default) and 1-%d", level,
                                   ZSTD_maxCLevel());
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (!cctx)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY, "zstd: out of memory");
    size_t bound = ZSTD_compressBound(len);
    uint8_t *dst = proto_wbuf_reserve(out, bound);
    size_t n = 0;
    int err = 0;
    if (!dst) {
        err = proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY, "zstd: out of memory");
    } else {
        n = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
        if (!ZSTD_isError(n)) n = ZSTD_compress2(cctx, dst, bound, len ? in : "", len);
        if (ZSTD_isError(n))
            err = proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                      "zstd: compression failed (%s)", ZSTD_getErrorName(n));
        else
            out->len += n;
    }
    ZSTD_freeCCtx(cctx);
    return err;
}

static int zstd_window_log(size_t max_out)
{
    int wlog = ZSTD_WLOG_ALWAYS;
    while (wlog < ZSTD_WLOG_CEIL && ((size_t)1 << wlog) < max_out)
        wlog++;
    return wlog;
}

static int zstd_error(size_t ret, size_t max_out, char *errstr, size_t errstr_size)
{
    switch (ZSTD_getErrorCode(ret)) {
    case ZSTD_error_frameParameter_windowTooLarge:
        return proto_compress_fail(errstr, errstr_size, KC_ERR__TOO_LARGE,
                                   "zstd: the frame's window is larger than allowed under the "
                                   "%zu-byte limit (max 2^%d bytes)",
                                   max_out, zstd_window_log(max_out));
    case ZSTD_error_memory_allocation:
        return proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY, "zstd: out of memory");
    default:
        return proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                   "zstd: corrupt data (%s)", ZSTD_getErrorName(ret));
    }
}

int proto_zstd_decompress(const void *in, size_t len, size_t max_out, proto_wbuf_t *out,
                          char *errstr, size_t errstr_size)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY, "zstd: out of memory");
    size_t ret = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, zstd_window_log(max_out));
    if (ZSTD_isError(ret)) {
        ZSTD_freeDCtx(dctx);
        return zstd_error(ret, max_out, errstr, errstr_size);
    }
    size_t start = out->len;
    size_t limit = proto_compress_limit(out, max_out);
    ZSTD_inBuffer ib = {in, len, 0};
    size_t hint = 1; /* 0 once a frame is complete */
    int err = 0;
    for (;;) {
        size_t room;
        uint8_t *dst = proto_compress_room(out, limit, &room);
        if (!dst) {
            err = proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY,
                                      "zstd: out of memory for the decompressed output");
            break;
        }
        ZSTD_outBuffer ob = {dst, room, 0};
        size_t in_before = ib.pos;
        ret = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(ret)) {
            err = zstd_error(ret, max_out, errstr, errstr_size);
            break;
        }
        hint = ret;
        out->len += ob.pos;
        if (out->len - start > max_out) {
            err =
                proto_compress_fail(errstr, errstr_size, KC_ERR__TOO_LARGE,
                                    "zstd: decompressed data exceeds the %zu-byte limit", max_out);
            break;
        }
        if (ib.pos == ib.size && (ret == 0 || ob.pos < ob.size))
            break; /* all input taken and no output held back */
        if (ob.pos == 0 && ib.pos == in_before) {
            if (ib.pos == ib.size) break;
            err = proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                      "zstd: corrupt data (decoder made no progress)");
            break;
        }
    }
    if (!err && hint != 0)
        err = proto_compress_fail(errstr, errstr_size, KC_ERR__COMPRESSION,
                                  "zstd: corrupt data (truncated frame)");
    ZSTD_freeDCtx(dctx);
    return err;
}
