/* Internals shared by the codec files (proto_compress_*.c). Not for callers
 * outside the compression code, except tests. */
#ifndef PROTO_COMPRESS_INT_H
#define PROTO_COMPRESS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "proto_compress.h"

/* Writes a message into errstr (which may be NULL) and returns err. */
int proto_compress_fail(char *errstr, size_t errstr_size, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The absolute length that out may reach while appending at most max_out
 * bytes, plus one: decoders are given room for that one extra byte so that
 * filling it proves the output is too large. */
size_t proto_compress_limit(const proto_wbuf_t *out, size_t max_out);

/* Makes room for exactly n more bytes in out without letting its capacity
 * pass `limit` (an absolute length; out->len + n must not exceed it). Growth
 * is geometric below the limit. Returns NULL and sets out->oom on failure. */
uint8_t *proto_compress_reserve(proto_wbuf_t *out, size_t n, size_t limit);

/* Makes some room (at least one byte, usually much more) below `limit` for a
 * streaming decoder and stores its size in *room. Returns NULL on allocation
 * failure or when out->len has reached limit. */
uint8_t *proto_compress_room(proto_wbuf_t *out, size_t limit, size_t *room);

/* Each codec appends to out; on error the caller (proto_compress /
 * proto_decompress) cuts out back to its length at entry. */
int proto_gzip_compress(int level, const void *in, size_t len, proto_wbuf_t *out, char *errstr,
                        size_t errstr_size);
int proto_gzip_decompress(const void *in, size_t len, size_t max_out, proto_wbuf_t *out,
                          char *errstr, size_t errstr_size);
int proto_snappy_compress(const void *in, size_t len, proto_wbuf_t *out, char *errstr,
                          size_t errstr_size);
int proto_snappy_decompress(const void *in, size_t len, size_t max_out, proto_wbuf_t *out,
                            char *errstr, size_t errstr_size);
int proto_lz4_compress(int level, const void *in, size_t len, proto_wbuf_t *out, char *errstr,
                       size_t errstr_size);
int proto_lz4_decompress(const void *in, size_t len, size_t max_out, proto_wbuf_t *out,
                         char *errstr, size_t errstr_size);
int proto_zstd_compress(int level, const void *in, size_t len, proto_wbuf_t *out, char *errstr,
                        size_t errstr_size);
int proto_zstd_decompress(const void *in, size_t len, size_t max_out, proto_wbuf_t *out,
                          char *errstr, size_t errstr_size);

/* XXH32 (the checksum of LZ4 frame headers). */
uint32_t proto_xxh32(const void *data, size_t len, uint32_t seed);

#endif
