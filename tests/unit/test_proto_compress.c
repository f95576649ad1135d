/* Compression codecs: round trips, the forms real producers write (xerial
 * snappy, KAFKA-3160 lz4), bounded decompression and corrupt input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>
#include <cmocka.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "kc/kc_err.h"
#include "proto/proto_compress.h"
#include "proto/proto_compress_int.h"

static const int codecs[] = {PROTO_CODEC_NONE, PROTO_CODEC_GZIP, PROTO_CODEC_SNAPPY,
                             PROTO_CODEC_LZ4, PROTO_CODEC_ZSTD};
#define NCODECS ((int)(sizeof(codecs) / sizeof(codecs[0])))
static const int real_codecs[] = {PROTO_CODEC_GZIP, PROTO_CODEC_SNAPPY, PROTO_CODEC_LZ4,
                                  PROTO_CODEC_ZSTD};
#define NREAL ((int)(sizeof(real_codecs) / sizeof(real_codecs[0])))

#define MIB (1024 * 1024)

static void fill_random(uint8_t *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 24);
    }
}

/* Text-like data: repeated words with a counter, so every codec shrinks it. */
static void fill_compressible(uint8_t *buf, size_t len)
{
    size_t pos = 0;
    unsigned i = 0;
    while (pos < len) {
        char word[64];
        int n = snprintf(word, sizeof(word), "record-%u value=%u;", i, i % 97);
        for (int k = 0; k < n && pos < len; k++)
            buf[pos++] = (uint8_t)word[k];
        i++;
    }
}

static void compress_ok(int codec, int level, const void *in, size_t len, proto_wbuf_t *out)
{
    char err[256];
    int rc = proto_compress(codec, level, in, len, out, err, sizeof(err));
    if (rc)
        fail_msg("%s level %d compress of %zu bytes: %d %s", proto_codec_name(codec), level, len,
                 rc, err);
}

static void round_trip(int codec, int level, const uint8_t *in, size_t len)
{
    proto_wbuf_t z = {0}, d = {0};
    compress_ok(codec, level, in, len, &z);
    char err[256];
    int rc = proto_decompress(codec, z.data, z.len, len, &d, err, sizeof(err));
    if (rc)
        fail_msg("%s level %d decompress of %zu bytes: %d %s", proto_codec_name(codec), level, len,
                 rc, err);
    assert_int_equal(d.len, len);
    if (len) assert_memory_equal(d.data, in, len);
    proto_wbuf_free(&z);
    proto_wbuf_free(&d);
}

static void test_codec_names(void **state)
{
    const char *names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(proto_codec_name(i), names[i]);
        assert_int_equal(proto_codec_parse(names[i]), i);
    }
    assert_null(proto_codec_name(5));
    assert_null(proto_codec_name(-1));
    assert_int_equal(proto_codec_parse("producer"), -1);
    assert_int_equal(proto_codec_parse("GZIP"), -1);
    assert_int_equal(proto_codec_parse(""), -1);
    assert_int_equal(proto_codec_parse(NULL), -1);
}

static void test_round_trip_small(void **state)
{
    const char *hello = "hello, kafka";
    for (int c = 0; c < NCODECS; c++) {
        round_trip(codecs[c], -1, (const uint8_t *)"", 0);
        round_trip(codecs[c], -1, NULL, 0);
        round_trip(codecs[c], -1, (const uint8_t *)hello, strlen(hello));
        round_trip(codecs[c], -1, (const uint8_t *)"x", 1);
    }
}

static void test_round_trip_1mib(void **state)
{
    uint8_t *rnd = malloc(MIB), *txt = malloc(MIB);
    assert_non_null(rnd);
    assert_non_null(txt);
    fill_random(rnd, MIB, 1);
    fill_compressible(txt, MIB);
    for (int c = 0; c < NCODECS; c++) {
        round_trip(codecs[c], -1, rnd, MIB);
        round_trip(codecs[c], -1, txt, MIB);
        /* Lengths off the block sizes (64 KiB lz4, 32 KiB xerial, ...). */
        round_trip(codecs[c], -1, txt + 3, MIB - 12345);
    }
    /* Compressible data really shrinks (catches a codec silently storing). */
    for (int c = 0; c < NREAL; c++) {
        proto_wbuf_t z = {0};
        compress_ok(real_codecs[c], -1, txt, MIB, &z);
        if (z.len >= MIB / 3)
            fail_msg("%s: 1 MiB of text only shrank to %zu", proto_codec_name(real_codecs[c]),
                     z.len);
        proto_wbuf_free(&z);
    }
    free(rnd);
    free(txt);
}

static void test_levels(void **state)
{
    uint8_t buf[100000];
    fill_compressible(buf, sizeof(buf));
    const struct {
        int codec, lo, hi;
    } ranges[] = {
        {PROTO_CODEC_GZIP, 0, 9},
        {PROTO_CODEC_LZ4, 0, 12},
        {PROTO_CODEC_ZSTD, 1, 22},
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        int codec = ranges[i].codec;
        for (int level = ranges[i].lo; level <= ranges[i].hi; level++)
            round_trip(codec, level, buf, sizeof(buf));
        proto_wbuf_t z = {0};
        char err[256];
        assert_int_equal(proto_compress(codec, ranges[i].hi + 1, buf, 10, &z, err, sizeof(err)),
                         KC_ERR__INVALID_ARG);
        assert_non_null(strstr(err, proto_codec_name(codec)));
        assert_int_equal(proto_compress(codec, -2, buf, 10, &z, err, sizeof(err)),
                         KC_ERR__INVALID_ARG);
        assert_int_equal(z.len, 0);
        proto_wbuf_free(&z);
    }
    /* snappy has no levels and ignores the argument. */
    round_trip(PROTO_CODEC_SNAPPY, 99, buf, sizeof(buf));
}

static void test_unknown_codec(void **state)
{
    proto_wbuf_t z = {0};
    char err[128];
    assert_int_equal(proto_compress(5, -1, "a", 1, &z, err, sizeof(err)), KC_ERR__INVALID_ARG);
    assert_int_equal(proto_decompress(7, "a", 1, 10, &z, err, sizeof(err)),
                     KC_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    assert_int_equal(z.len, 0);
    /* errstr may be NULL. */
    assert_int_equal(proto_decompress(7, "a", 1, 10, &z, NULL, 0),
                     KC_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    proto_wbuf_free(&z);
}

static void test_appends_and_limit_counts_new_bytes(void **state)
{
    uint8_t buf[5000];
    fill_compressible(buf, sizeof(buf));
    for (int c = 0; c < NCODECS; c++) {
        proto_wbuf_t z = {0}, d = {0};
        proto_put_raw(&z, "prefix", 6);
        compress_ok(codecs[c], -1, buf, sizeof(buf), &z);
        assert_memory_equal(z.data, "prefix", 6);
        proto_put_raw(&d, "0123456789", 10);
        char err[256];
        /* Exactly the size fits, whatever is already in the buffer. */
        assert_int_equal(
            proto_decompress(codecs[c], z.data + 6, z.len - 6, sizeof(buf), &d, err, sizeof(err)),
            0);
        assert_int_equal(d.len, 10 + sizeof(buf));
        assert_memory_equal(d.data + 10, buf, sizeof(buf));
        /* One byte less is too large, and the buffer is left as it was. */
        d.len = 10;
        assert_int_equal(proto_decompress(codecs[c], z.data + 6, z.len - 6, sizeof(buf) - 1, &d,
                                          err, sizeof(err)),
                         KC_ERR__TOO_LARGE);
        assert_int_equal(d.len, 10);
        assert_memory_equal(d.data, "0123456789", 10);
        assert_non_null(strstr(err, "limit"));
        proto_wbuf_free(&z);
        proto_wbuf_free(&d);
    }
}

/* ---- snappy: the Java (xerial) framed form ------------------------------ */

static void put_be32(proto_wbuf_t *w, uint32_t v)
{
    proto_put_u32(w, v);
}

static void xerial_header(proto_wbuf_t *w)
{
    static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    proto_put_raw(w, magic, 8);
    put_be32(w, 1); /* version */
    put_be32(w, 1); /* min compatible version */
}

static void xerial_chunk(proto_wbuf_t *w, const uint8_t *in, size_t len)
{
    size_t bound = snappy_max_compressed_length(len);
    char *tmp = malloc(bound);
    assert_non_null(tmp);
    size_t clen = bound;
    assert_int_equal(snappy_compress((const char *)in, len, tmp, &clen), SNAPPY_OK);
    put_be32(w, (uint32_t)clen);
    proto_put_raw(w, tmp, clen);
    free(tmp);
}

/* A stream as snappy-java writes it: 32 KiB of input per chunk. */
static void xerial_build(proto_wbuf_t *w, const uint8_t *in, size_t len, size_t chunk)
{
    xerial_header(w);
    for (size_t pos = 0; pos < len; pos += chunk)
        xerial_chunk(w, in + pos, len - pos < chunk ? len - pos : chunk);
}

static void test_snappy_xerial_frames(void **state)
{
    size_t len = 100000;
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    fill_compressible(buf, len);
    fill_random(buf + 50000, 1000, 3);
    proto_wbuf_t x = {0}, d = {0};
    xerial_build(&x, buf, len, 32 * 1024);
    char err[256];
    assert_int_equal(proto_decompress(PROTO_CODEC_SNAPPY, x.data, x.len, len, &d, err, sizeof(err)),
                     0);
    assert_int_equal(d.len, len);
    assert_memory_equal(d.data, buf, len);

    /* The limit applies across chunks. */
    proto_wbuf_reset(&d);
    assert_int_equal(
        proto_decompress(PROTO_CODEC_SNAPPY, x.data, x.len, len - 1, &d, err, sizeof(err)),
        KC_ERR__TOO_LARGE);
    assert_int_equal(d.len, 0);

    /* Truncated anywhere inside the chunk list or header: a clean error. */
    const size_t cuts[] = {x.len - 1, x.len - 100, 16 + 3, 12, 9};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        proto_wbuf_reset(&d);
        assert_int_equal(
            proto_decompress(PROTO_CODEC_SNAPPY, x.data, cuts[i], len, &d, err, sizeof(err)),
            KC_ERR__COMPRESSION);
        assert_non_null(strstr(err, "snappy"));
        assert_int_equal(d.len, 0);
    }
    /* A header with no chunks is an empty payload. */
    proto_wbuf_reset(&d);
    assert_int_equal(proto_decompress(PROTO_CODEC_SNAPPY, x.data, 16, len, &d, err, sizeof(err)),
                     0);
    assert_int_equal(d.len, 0);

    /* A chunk length running past the end. */
    proto_wbuf_t bad = {0};
    xerial_header(&bad);
    put_be32(&bad, 1000);
    proto_put_raw(&bad, "abc", 3);
    assert_int_equal(
        proto_decompress(PROTO_CODEC_SNAPPY, bad.data, bad.len, len, &d, err, sizeof(err)),
        KC_ERR__COMPRESSION);
    proto_wbuf_free(&bad);
    proto_wbuf_free(&x);
    proto_wbuf_free(&d);
    free(buf);
}

static void test_snappy_declared_length_checked_first(void **state)
{
    /* A raw block whose header claims 100 MB: refused before allocating. */
    uint8_t blk[16] = {0};
    uint32_t claim = 100u * 1000 * 1000;
    size_t n = 0;
    while (claim >= 0x80) {
        blk[n++] = (uint8_t)(claim | 0x80);
        claim >>= 7;
    }
    blk[n++] = (uint8_t)claim;
    proto_wbuf_t d = {0};
    char err[256];
    assert_int_equal(
        proto_decompress(PROTO_CODEC_SNAPPY, blk, sizeof(blk), MIB, &d, err, sizeof(err)),
        KC_ERR__TOO_LARGE);
    assert_true(d.cap == 0);
    /* Same inside a xerial chunk. */
    proto_wbuf_t x = {0};
    xerial_header(&x);
    put_be32(&x, sizeof(blk));
    proto_put_raw(&x, blk, sizeof(blk));
    assert_int_equal(proto_decompress(PROTO_CODEC_SNAPPY, x.data, x.len, MIB, &d, err, sizeof(err)),
                     KC_ERR__TOO_LARGE);
    assert_true(d.cap == 0);
    proto_wbuf_free(&x);
    proto_wbuf_free(&d);
}

/* ---- lz4 ----------------------------------------------------------------- */

static void test_xxh32_vectors(void **state)
{
    /* Published XXH32 values (seed 0). */
    assert_int_equal(proto_xxh32("", 0, 0), 0x02CC5D05u);
    assert_int_equal(proto_xxh32("a", 1, 0), 0x550D7456u);
    assert_int_equal(proto_xxh32("abc", 3, 0), 0x32D153FFu);
    const char *fox = "The quick brown fox jumps over the lazy dog";
    assert_int_equal(proto_xxh32(fox, strlen(fox), 0), 0xE85EA4DEu);
}

static size_t lz4_header_len(const uint8_t *frame)
{
    uint8_t flg = frame[4];
    return 4 + 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0) + 1;
}

static void test_lz4_frame_is_what_java_reads(void **state)
{
    uint8_t buf[200000];
    fill_compressible(buf, sizeof(buf));
    proto_wbuf_t z = {0};
    compress_ok(PROTO_CODEC_LZ4, -1, buf, sizeof(buf), &z);
    /* Magic, then FLG: version 01, block independence set, no block
     * checksum, no content size, no content checksum, no dict id. */
    const uint8_t magic[4] = {0x04, 0x22, 0x4d, 0x18};
    assert_memory_equal(z.data, magic, 4);
    assert_int_equal(z.data[4], 0x60);
    /* BD: 64 KiB maximum block size. */
    assert_int_equal(z.data[5], 0x40);
    /* The HC liblz4 wrote agrees with our XXH32 over the descriptor. */
    assert_int_equal(z.data[6], (uint8_t)(proto_xxh32(z.data + 4, 2, 0) >> 8));
    proto_wbuf_free(&z);
}

static void test_lz4_kafka3160_header_checksum(void **state)
{
    uint8_t buf[150000];
    fill_compressible(buf, sizeof(buf));
    proto_wbuf_t z = {0}, d = {0};
    compress_ok(PROTO_CODEC_LZ4, -1, buf, sizeof(buf), &z);
    size_t hlen = lz4_header_len(z.data);
    /* Old Kafka: XXH32 over magic + descriptor, second byte. */
    uint8_t old = (uint8_t)(proto_xxh32(z.data, hlen - 1, 0) >> 8);
    assert_true(old != z.data[hlen - 1]); /* or this test proves nothing */
    uint8_t right = z.data[hlen - 1];
    z.data[hlen - 1] = old;
    char err[256];
    assert_int_equal(
        proto_decompress(PROTO_CODEC_LZ4, z.data, z.len, sizeof(buf), &d, err, sizeof(err)), 0);
    assert_int_equal(d.len, sizeof(buf));
    assert_memory_equal(d.data, buf, sizeof(buf));
    /* The input is left untouched (the fix is made on a copy). */
    assert_int_equal(z.data[hlen - 1], old);

    /* liblz4 alone rejects it: the fix-up is what makes it work. */
    LZ4F_dctx *dctx;
    assert_false(LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)));
    uint8_t tmp[1024];
    size_t dsz = sizeof(tmp), ssz = z.len;
    assert_true(LZ4F_isError(LZ4F_decompress(dctx, tmp, &dsz, z.data, &ssz, NULL)));
    LZ4F_freeDecompressionContext(dctx);

    /* A HC that is neither form is still corruption. */
    uint8_t wrong = (uint8_t)(right ^ 0x5a);
    if (wrong == old) wrong ^= 0x01;
    z.data[hlen - 1] = wrong;
    proto_wbuf_reset(&d);
    assert_int_equal(
        proto_decompress(PROTO_CODEC_LZ4, z.data, z.len, sizeof(buf), &d, err, sizeof(err)),
        KC_ERR__COMPRESSION);
    assert_non_null(strstr(err, "lz4"));
    assert_int_equal(d.len, 0);
    proto_wbuf_free(&z);
    proto_wbuf_free(&d);
}

static void test_lz4_other_producers_frames(void **state)
{
    /* Linked blocks, checksums and a content size are all valid LZ4 frames
     * (kafka-python's lz4 module writes some of them). */
    uint8_t buf[300000];
    fill_compressible(buf, sizeof(buf));
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockMode = LZ4F_blockLinked;
    prefs.frameInfo.blockSizeID = LZ4F_max256KB;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
    prefs.frameInfo.contentSize = sizeof(buf);
    size_t bound = LZ4F_compressFrameBound(sizeof(buf), &prefs);
    uint8_t *frame = malloc(bound);
    assert_non_null(frame);
    size_t n = LZ4F_compressFrame(frame, bound, buf, sizeof(buf), &prefs);
    assert_false(LZ4F_isError(n));
    proto_wbuf_t d = {0};
    char err[256];
    assert_int_equal(proto_decompress(PROTO_CODEC_LZ4, frame, n, sizeof(buf), &d, err, sizeof(err)),
                     0);
    assert_int_equal(d.len, sizeof(buf));
    assert_memory_equal(d.data, buf, sizeof(buf));
    /* With the content checksum on, a flipped byte in the data is caught. */
    frame[n / 2] ^= 0x10;
    proto_wbuf_reset(&d);
    assert_int_equal(proto_decompress(PROTO_CODEC_LZ4, frame, n, sizeof(buf), &d, err, sizeof(err)),
                     KC_ERR__COMPRESSION);
    free(frame);
    proto_wbuf_free(&d);
}

/* ---- zstd ---------------------------------------------------------------- */

static void test_zstd_streaming_frame_without_content_size(void **state)
{
    /* As Java (zstd-jni's output stream) writes: no content size. */
    uint8_t buf[300000];
    fill_compressible(buf, sizeof(buf));
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    assert_non_null(cctx);
    size_t cap = ZSTD_compressBound(sizeof(buf));
    uint8_t *z = malloc(cap);
    assert_non_null(z);
    ZSTD_outBuffer ob = {z, cap, 0};
    /* Fed in pieces so the frame cannot carry a content size. */
    for (size_t pos = 0; pos < sizeof(buf); pos += 10000) {
        ZSTD_inBuffer ib = {buf + pos, 10000, 0};
        while (ib.pos < ib.size)
            assert_false(ZSTD_isError(ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_continue)));
    }
    ZSTD_inBuffer empty = {NULL, 0, 0};
    size_t left;
    do {
        left = ZSTD_compressStream2(cctx, &ob, &empty, ZSTD_e_end);
        assert_false(ZSTD_isError(left));
    } while (left);
    ZSTD_freeCCtx(cctx);
    assert_true(ZSTD_getFrameContentSize(z, ob.pos) == ZSTD_CONTENTSIZE_UNKNOWN);

    proto_wbuf_t d = {0};
    char err[256];
    assert_int_equal(
        proto_decompress(PROTO_CODEC_ZSTD, z, ob.pos, sizeof(buf), &d, err, sizeof(err)), 0);
    assert_int_equal(d.len, sizeof(buf));
    assert_memory_equal(d.data, buf, sizeof(buf));
    proto_wbuf_reset(&d);
    assert_int_equal(
        proto_decompress(PROTO_CODEC_ZSTD, z, ob.pos, sizeof(buf) - 1, &d, err, sizeof(err)),
        KC_ERR__TOO_LARGE);
    free(z);
    proto_wbuf_free(&d);
}

/* ---- Bombs: tiny input, huge output -------------------------------------- */

#define BOMB_SIZE (100u * 1000 * 1000)

/* Streams 100 MB of zeros through a compressor without holding them. */
static void gzip_bomb(proto_wbuf_t *out)
{
    static const uint8_t zeros[64 * 1024];
    z_stream s = {0};
    assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t fed = 0;
    int ret;
    do {
        if (s.avail_in == 0 && fed < BOMB_SIZE) {
            s.next_in = (Bytef *)zeros;
            s.avail_in = sizeof(zeros);
            fed += sizeof(zeros);
        }
        uint8_t *dst = proto_wbuf_reserve(out, 64 * 1024);
        assert_non_null(dst);
        s.next_out = dst;
        s.avail_out = 64 * 1024;
        ret = deflate(&s, fed < BOMB_SIZE || s.avail_in ? Z_NO_FLUSH : Z_FINISH);
        out->len += 64 * 1024 - s.avail_out;
    } while (ret != Z_STREAM_END);
    deflateEnd(&s);
}

static void zstd_bomb(proto_wbuf_t *out)
{
    static const uint8_t zeros[64 * 1024];
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    assert_non_null(cctx);
    size_t fed = 0, left = 1;
    while (fed < BOMB_SIZE || left) {
        ZSTD_inBuffer ib = {zeros, fed < BOMB_SIZE ? sizeof(zeros) : 0, 0};
        uint8_t *dst = proto_wbuf_reserve(out, 64 * 1024);
        assert_non_null(dst);
        ZSTD_outBuffer ob = {dst, 64 * 1024, 0};
        left = ZSTD_compressStream2(cctx, &ob, &ib,
                                    fed + ib.size < BOMB_SIZE ? ZSTD_e_continue : ZSTD_e_end);
        assert_false(ZSTD_isError(left));
        fed += ib.pos;
        out->len += ob.pos;
    }
    ZSTD_freeCCtx(cctx);
}

static void lz4_bomb(proto_wbuf_t *out)
{
    /* lz4 tops out near 255:1, so 8 MB of zeros is enough against 1 MB. */
    size_t n = 8 * MIB;
    uint8_t *zeros = calloc(1, n);
    assert_non_null(zeros);
    compress_ok(PROTO_CODEC_LZ4, -1, zeros, n, out);
    free(zeros);
}

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void check_bomb(int codec, const proto_wbuf_t *bomb)
{
    size_t limit = 1000 * 1000;
    proto_wbuf_t d = {0};
    char err[256];
    long rss0 = max_rss_kib();
    int rc = proto_decompress(codec, bomb->data, bomb->len, limit, &d, err, sizeof(err));
    long rss1 = max_rss_kib();
    assert_int_equal(rc, KC_ERR__TOO_LARGE);
    assert_non_null(strstr(err, proto_codec_name(codec)));
    assert_int_equal(d.len, 0);
    /* The output buffer never grew past the limit (plus the probe byte). */
    assert_true(d.cap <= limit + 1);
    /* Nor did anything else: the peak RSS rose by far less than the 100 MB a
     * full inflate would touch. */
    assert_true(rss1 - rss0 < 40 * 1024);
    proto_wbuf_free(&d);
}

static void test_bombs_refused(void **state)
{
    proto_wbuf_t g = {0}, z = {0}, l = {0};
    gzip_bomb(&g);
    zstd_bomb(&z);
    lz4_bomb(&l);
    /* gzip cannot beat ~1:1030, so its bomb is ~100 KB; zstd's is a few KB. */
    assert_true(g.len < 200 * 1000);
    assert_true(z.len < 10 * 1000);
    check_bomb(PROTO_CODEC_GZIP, &g);
    check_bomb(PROTO_CODEC_ZSTD, &z);
    check_bomb(PROTO_CODEC_LZ4, &l);
    proto_wbuf_free(&g);
    proto_wbuf_free(&z);
    proto_wbuf_free(&l);
}

/* ---- Truncated and corrupt input ----------------------------------------- */

static void test_truncated_input(void **state)
{
    uint8_t buf[100000];
    fill_compressible(buf, sizeof(buf));
    fill_random(buf + 20000, 5000, 5);
    for (int c = 0; c < NREAL; c++) {
        int codec = real_codecs[c];
        proto_wbuf_t z = {0}, d = {0};
        compress_ok(codec, -1, buf, sizeof(buf), &z);
        const size_t cuts[] = {0, 1, 2, 5, 10, z.len / 3, z.len / 2, z.len - 4, z.len - 1};
        for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
            char err[256] = "";
            proto_wbuf_reset(&d);
            int rc = proto_decompress(codec, z.data, cuts[i], sizeof(buf), &d, err, sizeof(err));
            if (rc != KC_ERR__COMPRESSION)
                fail_msg("%s cut at %zu of %zu: rc %d (%s)", proto_codec_name(codec), cuts[i],
                         z.len, rc, err);
            assert_non_null(strstr(err, proto_codec_name(codec)));
            assert_int_equal(d.len, 0);
        }
        proto_wbuf_free(&z);
        proto_wbuf_free(&d);
    }
}

static void test_corrupt_input(void **state)
{
    uint8_t buf[100000];
    fill_compressible(buf, sizeof(buf));
    for (int c = 0; c < NREAL; c++) {
        int codec = real_codecs[c];
        proto_wbuf_t z = {0}, d = {0};
        compress_ok(codec, -1, buf, sizeof(buf), &z);
        char err[256];
        /* A broken header is always detected. */
        z.data[0] ^= 0xff;
        int rc = proto_decompress(codec, z.data, z.len, sizeof(buf), &d, err, sizeof(err));
        assert_int_equal(rc, KC_ERR__COMPRESSION);
        assert_non_null(strstr(err, proto_codec_name(codec)));
        assert_int_equal(d.len, 0);
        z.data[0] ^= 0xff;
        /* Flipped bytes elsewhere: zstd and lz4 frames without checksums may
         * decode to different bytes, but every codec must fail cleanly or
         * stay within the limit, never crash or overrun. */
        for (size_t pos = 1; pos < z.len; pos += 1 + z.len / 97) {
            for (int bit = 0; bit < 8; bit += 3) {
                z.data[pos] ^= (uint8_t)(1u << bit);
                proto_wbuf_reset(&d);
                rc = proto_decompress(codec, z.data, z.len, sizeof(buf), &d, err, sizeof(err));
                assert_true(rc == 0 || rc == KC_ERR__COMPRESSION || rc == KC_ERR__TOO_LARGE);
                if (rc)
                    assert_int_equal(d.len, 0);
                else
                    assert_true(d.len <= sizeof(buf));
                /* gzip carries a CRC-32 of the content: never a silent change. */
                if (codec == PROTO_CODEC_GZIP && rc == 0)
                    assert_memory_equal(d.data, buf, sizeof(buf));
                z.data[pos] ^= (uint8_t)(1u << bit);
            }
        }
        /* Trailing garbage after a complete stream. */
        proto_put_raw(&z, "garbage!", 8);
        proto_wbuf_reset(&d);
        rc = proto_decompress(codec, z.data, z.len, sizeof(buf), &d, err, sizeof(err));
        if (codec != PROTO_CODEC_SNAPPY) /* a raw block has no end marker to check */
            assert_int_equal(rc, KC_ERR__COMPRESSION);
        proto_wbuf_free(&z);
        proto_wbuf_free(&d);
    }
}

static void test_random_garbage(void **state)
{
    uint8_t junk[4096];
    for (uint64_t seed = 1; seed < 200; seed++) {
        size_t len = (size_t)(seed * 37 % sizeof(junk));
        fill_random(junk, len, seed);
        for (int c = 0; c < NREAL; c++) {
            proto_wbuf_t d = {0};
            int rc = proto_decompress(real_codecs[c], junk, len, 65536, &d, NULL, 0);
            assert_true(rc == 0 || rc == KC_ERR__COMPRESSION || rc == KC_ERR__TOO_LARGE);
            proto_wbuf_free(&d);
        }
    }
}

static void test_gzip_concatenated_members(void **state)
{
    const char *a = "first member;", *b = "second member";
    proto_wbuf_t z = {0}, d = {0};
    compress_ok(PROTO_CODEC_GZIP, -1, a, strlen(a), &z);
    compress_ok(PROTO_CODEC_GZIP, 1, b, strlen(b), &z);
    char err[256];
    assert_int_equal(proto_decompress(PROTO_CODEC_GZIP, z.data, z.len, 100, &d, err, sizeof(err)),
                     0);
    assert_int_equal(d.len, strlen(a) + strlen(b));
    assert_memory_equal(d.data, "first member;second member", d.len);
    proto_wbuf_free(&z);
    proto_wbuf_free(&d);
}

/* ---- Blobs written by kafka-python (tests/fixtures/compress) ------------- */

static uint8_t *read_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/compress/%s", KC_TEST_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void test_kafka_python_fixtures(void **state)
{
    static const struct {
        const char *file;
        int codec;
    } blobs[] = {
        {"gzip.bin", PROTO_CODEC_GZIP},         {"snappy_xerial.bin", PROTO_CODEC_SNAPPY},
        {"snappy_raw.bin", PROTO_CODEC_SNAPPY}, {"lz4.bin", PROTO_CODEC_LZ4},
        {"lz4_old_kafka.bin", PROTO_CODEC_LZ4}, {"zstd.bin", PROTO_CODEC_ZSTD},
    };
    size_t plen;
    uint8_t *payload = read_fixture("payload.txt", &plen);
    assert_true(plen > 65536);
    for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
        size_t len;
        uint8_t *blob = read_fixture(blobs[i].file, &len);
        proto_wbuf_t d = {0};
        char err[256];
        int rc = proto_decompress(blobs[i].codec, blob, len, plen, &d, err, sizeof(err));
        if (rc) fail_msg("%s: %d %s", blobs[i].file, rc, err);
        assert_int_equal(d.len, plen);
        assert_memory_equal(d.data, payload, plen);
        proto_wbuf_reset(&d);
        assert_int_equal(
            proto_decompress(blobs[i].codec, blob, len, plen - 1, &d, err, sizeof(err)),
            KC_ERR__TOO_LARGE);
        proto_wbuf_free(&d);
        free(blob);
    }
    free(payload);
}

/* ---- Threads: codecs keep per-thread state (zstd contexts) --------------- */

static void *codec_worker(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    uint8_t *buf = malloc(50000);
    if (!buf) return (void *)1;
    uintptr_t bad = 0;
    for (int round = 0; round < 20 && !bad; round++) {
        fill_compressible(buf, 50000);
        fill_random(buf + round * 1000, 500, seed + (uint64_t)round);
        for (int c = 0; c < NREAL && !bad; c++) {
            proto_wbuf_t z = {0}, d = {0};
            if (proto_compress(real_codecs[c], -1, buf, 50000, &z, NULL, 0) ||
                proto_decompress(real_codecs[c], z.data, z.len, 50000, &d, NULL, 0) ||
                d.len != 50000 || memcmp(d.data, buf, 50000) != 0)
                bad = 1;
            proto_wbuf_free(&z);
            proto_wbuf_free(&d);
        }
    }
    free(buf);
    return (void *)bad;
}

static void test_concurrent_threads(void **state)
{
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, codec_worker, (void *)(i + 1)), 0);
    for (int i = 0; i < 4; i++) {
        void *ret;
        assert_int_equal(pthread_join(t[i], &ret), 0);
        assert_null(ret);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bombs_refused),
        cmocka_unit_test(test_codec_names),
        cmocka_unit_test(test_round_trip_small),
        cmocka_unit_test(test_round_trip_1mib),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_unknown_codec),
        cmocka_unit_test(test_appends_and_limit_counts_new_bytes),
        cmocka_unit_test(test_snappy_xerial_frames),
        cmocka_unit_test(test_snappy_declared_length_checked_first),
        cmocka_unit_test(test_xxh32_vectors),
        cmocka_unit_test(test_lz4_frame_is_what_java_reads),
        cmocka_unit_test(test_lz4_kafka3160_header_checksum),
        cmocka_unit_test(test_lz4_other_producers_frames),
        cmocka_unit_test(test_zstd_streaming_frame_without_content_size),
        cmocka_unit_test(test_truncated_input),
        cmocka_unit_test(test_corrupt_input),
        cmocka_unit_test(test_random_garbage),
        cmocka_unit_test(test_gzip_concatenated_members),
        cmocka_unit_test(test_kafka_python_fixtures),
        cmocka_unit_test(test_concurrent_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
