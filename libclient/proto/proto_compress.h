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
 * errstr (which may be NULL).
 *
 * Levels: gzip 0-9 (default 6); lz4 0-12 (default 0, liblz4's fast mode; 3 and
 * up use LZ4HC); zstd 1-22 (default 3); snappy ignores the level. Any other
 * level is KC_ERR__INVALID_ARG. On any error out is left as it was at entry
 * (KC_ERR__NO_MEMORY also leaves out->oom set). Thread-safe: no shared state. */
int proto_compress(int codec, int level, const void *in, size_t len, proto_wbuf_t *out,
                   char *errstr, size_t errstr_size);

/* The levels proto_compress() takes for codec besides -1 (its default):
 * gzip 0-9, lz4 0-12, zstd 1-22 (the linked libzstd's maximum), snappy 0
 * (it has no levels; proto_compress ignores the argument). Returns 0, or -1
 * for "none" and unknown codecs, which have no levels. */
int proto_codec_level_range(int codec, int *min, int *max);

/* Appends the decompressed form of in[0..len) to out, at most max_out bytes.
 * Accepts what real producers write: gzip streams; raw snappy blocks and the
 * Java/xerial framed form; lz4 frames, including those with the old (magic 0)
 * header checksum (KAFKA-3160); zstd frames without a content size.
 *
 * max_out counts only the bytes this call appends. Output past it is
 * KC_ERR__TOO_LARGE, found while decoding: this call never grows out's
 * capacity past its length at entry + max_out + 1, whatever the input
 * claims. Corrupt or truncated input (including trailing bytes after a gzip,
 * lz4 or zstd stream) is KC_ERR__COMPRESSION with a message naming the codec;
 * an unknown codec number is KC_ERR_UNSUPPORTED_COMPRESSION_TYPE. On any
 * error out is cut back to its length at entry.
 *
 * Also accepted: concatenated gzip members, lz4 frames and zstd frames. The
 * KAFKA-3160 header is accepted whatever the batch's magic (the codec cannot
 * see it), but only when its checksum matches the old form exactly. A zstd
 * frame's window (memory the decoder needs whatever the content) may be up to
 * 8 MiB, or up to max_out rounded up to a power of two, at most 128 MiB;
 * a larger window is KC_ERR__TOO_LARGE. */
int proto_decompress(int codec, const void *in, size_t len, size_t max_out, proto_wbuf_t *out,
                     char *errstr, size_t errstr_size);

#endif
