/* zstd (codec 4): one frame on output; any frames on input, decoded in
 * streaming mode because Java writes them without a content size. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
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

/* Contexts are kept per thread: creating one costs about 20 us, more than
 * compressing a small batch. They are freed when the thread exits. */
typedef struct zstd_ctxs {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
} zstd_ctxs_t;

static pthread_key_t zstd_key;
static pthread_once_t zstd_key_once = PTHREAD_ONCE_INIT;
static int zstd_key_ok;

static void zstd_ctxs_free(void *p)
{
    zstd_ctxs_t *c = p;
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    free(c);
}

static void zstd_key_create(void)
{
    zstd_key_ok = pthread_key_create(&zstd_key, zstd_ctxs_free) == 0;
}

/* This thread's contexts, or NULL if thread-specific storage is unavailable
 * (callers then make a context for the call). */
static zstd_ctxs_t *zstd_thread_ctxs(void)
{
    pthread_once(&zstd_key_once, zstd_key_create);
    if (!zstd_key_ok) return NULL;
    zstd_ctxs_t *c = pthread_getspecific(zstd_key);
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (c && pthread_setspecific(zstd_key, c) != 0) {
            free(c);
            c = NULL;
        }
    }
    return c;
}

static ZSTD_CCtx *zstd_cctx_get(void)
{
    zstd_ctxs_t *c = zstd_thread_ctxs();
    if (!c) return ZSTD_createCCtx();
    if (!c->cctx)
        c->cctx = ZSTD_createCCtx();
    else
        ZSTD_CCtx_reset(c->cctx, ZSTD_reset_session_and_parameters);
    return c->cctx;
}

static void zstd_cctx_put(ZSTD_CCtx *cctx)
{
    zstd_ctxs_t *c = zstd_thread_ctxs();
    if (!c || c->cctx != cctx) ZSTD_freeCCtx(cctx);
}

static ZSTD_DCtx *zstd_dctx_get(void)
{
    zstd_ctxs_t *c = zstd_thread_ctxs();
    if (!c) return ZSTD_createDCtx();
    if (!c->dctx)
        c->dctx = ZSTD_createDCtx();
    else
        ZSTD_DCtx_reset(c->dctx, ZSTD_reset_session_and_parameters);
    return c->dctx;
}

static void zstd_dctx_put(ZSTD_DCtx *dctx)
{
    zstd_ctxs_t *c = zstd_thread_ctxs();
    if (!c || c->dctx != dctx) ZSTD_freeDCtx(dctx);
}

int proto_zstd_compress(int level, const void *in, size_t len, proto_wbuf_t *out, char *errstr,
                        size_t errstr_size)
{
    int lo, hi;
    proto_codec_level_range(PROTO_CODEC_ZSTD, &lo, &hi);
    if (level == -1)
        level = ZSTD_CLEVEL_DEFAULT;
    else if (level < lo || level > hi)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__INVALID_ARG,
                                   "zstd: level %d is outside -1 (default) and %d-%d", level, lo,
                                   hi);
    ZSTD_CCtx *cctx = zstd_cctx_get();
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
    zstd_cctx_put(cctx);
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
    ZSTD_DCtx *dctx = zstd_dctx_get();
    if (!dctx)
        return proto_compress_fail(errstr, errstr_size, KC_ERR__NO_MEMORY, "zstd: out of memory");
    size_t ret = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, zstd_window_log(max_out));
    if (ZSTD_isError(ret)) {
        zstd_dctx_put(dctx);
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
    zstd_dctx_put(dctx);
    return err;
}
