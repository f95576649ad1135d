/* Compression codecs of Kafka record batches: gzip, snappy, lz4, zstd.
 *
 * Output goes to a proto_wbuf_t (appended). Decompression is bounded: output
 * beyond `max_out` bytes is an error (KC_ERR__TOO_LARGE), never an
 * out-of-memory, so a small hostile batch cannot inflate without limit.
 */
#ifndef PROTO_COMPRESS_H
#define PROTO_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "proto_buf.h"

/* Codec numbers as in the batch attributes (bits 0-2). */
typedef enum proto_codec {
    PROTO_CODEC_NONE = 0,
    PROTO_CODEC_GZIP = 1,
    PROTO_CODEC_SNAPPY = 2,
    PROTO_CODEC_LZ4 = 3,
    PROTO_CODEC_ZSTD = 4,
} proto_codec_t;

/* "none", "gzip", "snappy", "lz4", "zstd"; NULL for an unknown number. */
const char *proto_codec_name(int codec);
/* Parses a codec name as in `compression.type`; returns -1 if unknown. */
int proto_codec_parse(const char *name);

/* Level -1 means the codec's default. Appends the compressed form of in[0..len)
 * to out: gzip as an RFC 1952 stream; snappy as one raw block (librdkafka's
 * form); lz4 as a frame with independent 64 KiB blocks and no checksums (what
 * Java reads); zstd as one frame. Returns 0 or a kc_err_t, with a message in
 * errstr (which may be NULL). */
int proto_compress(int codec, int level, const void *in, size_t len, proto_wbuf_t *out,
                   char *errstr, size_t errstr_size);

/* Appends the decompressed form of in[0..len) to out, at most max_out bytes.
 * Accepts what real producers write: gzip streams; raw snappy blocks and the
 * Java/xerial framed form; lz4 frames, including those with the old (magic 0)
 * header checksum (KAFKA-3160); zstd frames without a content size. */
int proto_decompress(int codec, const void *in, size_t len, size_t max_out, proto_wbuf_t *out,
                     char *errstr, size_t errstr_size);

#endif
