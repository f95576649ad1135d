/* Reading records: a batch iterator over back-to-back batches (a Fetch
 * response's records, a log segment) and a record iterator over one batch.
 *
 * Both kinds of data are handled: record batches (magic 2) and legacy
 * message-set entries (magic 0/1), so a consumer sees one record type. Nothing
 * here allocates: record views point into the input, or into the caller's
 * decompression buffer for compressed data, which must outlive them.
 *
 * Errors are sticky, as in proto_rbuf_t: next() returns 0 at the end and on
 * error, and the caller tells the two apart by `err` (a kc_err_t) and reads
 * `errstr`, which names the field that was wrong.
 *
 *   proto_batch_iter_t bi;
 *   proto_batch_view_t b;
 *   proto_batch_iter_init(&bi, data, len);
 *   while (proto_batch_iter_next(&bi, &b)) {
 *       proto_record_iter_t ri;
 *       proto_record_t r;
 *       if (proto_record_iter_init(&ri, &b, check_crcs, &scratch, max)) ... ri.errstr
 *       while (proto_record_iter_next(&ri, &r)) use(r);
 *       if (ri.err) ... ri.errstr
 *   }
 *   if (bi.err) ...; if (bi.partial) the last batch was cut off (normal).
 */
#ifndef PROTO_RECORD_H
#define PROTO_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "proto_batch.h"
#include "proto_buf.h"

#define PROTO_RECORD_ERRSTR_SIZE 160

/* Default bound on decompressed bytes when the caller passes 0. */
#define PROTO_RECORD_DEFAULT_MAX_DECOMPRESSED ((size_t)64 << 20)

typedef enum proto_ts_type {
    PROTO_TS_NONE = -1, /* magic 0: no timestamp; timestamp is -1 */
    PROTO_TS_CREATE_TIME = 0,
    PROTO_TS_LOG_APPEND_TIME = 1,
} proto_ts_type_t;

/* One record, borrowed from the batch (or the decompression buffer).
 * key and value have len -1 when null, 0 when empty. Headers stay encoded:
 * walk them with proto_header_iter_t (always 0 of them for magic 0/1). */
typedef struct proto_record {
    int64_t offset;
    int64_t timestamp;
    proto_bytes_t key;
    proto_bytes_t value;
    const uint8_t *headers; /* the encoded headers after headerCount */
    size_t headers_len;
    int32_t header_count;
    int8_t ts_type; /* proto_ts_type_t */
} proto_record_t;

/* Walks a record's headers. The record iterator has already checked their
 * structure, so next() only ends, it never fails. */
typedef struct proto_header_iter {
    const uint8_t *p;
    const uint8_t *end;
    int32_t left;
} proto_header_iter_t;

void proto_header_iter_init(proto_header_iter_t *it, const proto_record_t *r);
/* 1 and *h filled (key never null; value len -1 when null), or 0 at the end. */
int proto_header_iter_next(proto_header_iter_t *it, proto_record_header_t *h);

/* ---- Batches ------------------------------------------------------------------ */

/* One entry of a record stream: a magic 2 batch, or one legacy message (an
 * uncompressed message, or a compressed wrapper holding an inner set).
 * For magic 2, h is the parsed header. For magic 0/1, h holds what the
 * message has: base_offset = the entry's offset (for a wrapper, the offset of
 * its LAST inner message), last_offset_delta = 0, magic, crc, attributes
 * (codec and timestamp type sit in the same bits), max_timestamp (magic 1),
 * record_count = -1, producer fields -1. Either way base_offset +
 * last_offset_delta + 1 is the offset after the entry. */
typedef struct proto_batch_view {
    const uint8_t *data; /* the whole entry, from its offset field */
    size_t size;
    int8_t magic;
    proto_batch_header_t h;
} proto_batch_view_t;

static inline int64_t proto_batch_view_next_offset(const proto_batch_view_t *v)
{
    return v->h.base_offset + v->h.last_offset_delta + 1;
}

static inline int proto_batch_view_codec(const proto_batch_view_t *v)
{
    return v->h.attributes & PROTO_BATCH_ATTR_CODEC_MASK;
}

static inline int proto_batch_view_is_control(const proto_batch_view_t *v)
{
    return v->magic >= 2 && (v->h.attributes & PROTO_BATCH_ATTR_CONTROL);
}

static inline int proto_batch_view_is_transactional(const proto_batch_view_t *v)
{
    return v->magic >= 2 && (v->h.attributes & PROTO_BATCH_ATTR_TRANSACTIONAL);
}

/* Iterates entries of data[0..len), borrowed for the iterator's life. */
typedef struct proto_batch_iter {
    const uint8_t *p;
    const uint8_t *end;
    int err; /* kc_err_t: KC_ERR__BAD_MSG for an impossible length or magic */
    char errstr[PROTO_RECORD_ERRSTR_SIZE];
    /* Iteration stopped at an entry cut off by the end of the data (a fetch
     * size limit): not an error. partial_size is that entry's full size when
     * its length field was present (else 0): a consumer that got nothing else
     * learns how large a fetch it needs. */
    int partial;
    size_t partial_size;
} proto_batch_iter_t;

void proto_batch_iter_init(proto_batch_iter_t *it, const void *data, size_t len);
/* 1 with *v filled; 0 at the end, at a partial entry, or on error. Checks
 * lengths and magic, not CRCs (the record iterator does). */
int proto_batch_iter_next(proto_batch_iter_t *it, proto_batch_view_t *v);

/* ---- Records ------------------------------------------------------------------ */

/* Iterates the records of one entry. For compressed data it decompresses the
 * whole records section into the caller's scratch buffer at init (scratch is
 * reset first, so one buffer serves batch after batch, but records from the
 * previous batch are then gone). The fields are private except err/errstr. */
typedef struct proto_record_iter {
    const uint8_t *p;
    const uint8_t *end;
    int64_t base_offset;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int32_t left;  /* records still to read (magic 2) */
    int32_t count; /* recordCount */
    int32_t last_offset_delta;
    int32_t prev_delta;
    int8_t magic;
    int8_t log_append_time;
    int8_t consecutive; /* require offset deltas 0, 1, 2... (broker validation) */
    int err;
    char errstr[PROTO_RECORD_ERRSTR_SIZE];
    struct {
        int64_t abs_base; /* added to inner offsets (magic 1 wrappers) */
        int64_t wrapper_timestamp;
        int8_t wrapper_magic;
        int8_t log_append_time;
        int8_t inner; /* iterating a wrapper's inner set */
        int8_t check_crc;
    } legacy;
} proto_record_iter_t;

/* Prepares to iterate v's records. check_crc verifies the CRC (check.crcs).
 * scratch receives decompressed data (may be NULL when the entry is not
 * compressed); at most max_decompressed bytes (0: the default). Returns 0 or
 * the error also left in it->err/errstr: KC_ERR__BAD_CRC, KC_ERR__BAD_MSG,
 * KC_ERR__UNSUPPORTED (unknown codec), KC_ERR__INVALID_ARG (no scratch) or the
 * decompressor's error (KC_ERR__TOO_LARGE past the bound). */
int proto_record_iter_init(proto_record_iter_t *it, const proto_batch_view_t *v, int check_crc,
                           proto_wbuf_t *scratch, size_t max_decompressed);

/* 1 with *r filled, or 0 at the end or on error (it->err). Checks every
 * length against the record and the batch, offset deltas against
 * lastOffsetDelta, and that exactly recordCount records fill the batch. */
int proto_record_iter_next(proto_record_iter_t *it, proto_record_t *r);

/* The marker in a control record (magic 2, control batch). Returns 0 with
 * *type (PROTO_CONTROL_ABORT, PROTO_CONTROL_COMMIT, or another type a newer
 * broker wrote) and *coordinator_epoch (-1 when the value does not carry
 * one), or KC_ERR__BAD_MSG when the key is not a control key. */
int proto_control_record_parse(const proto_record_t *r, int16_t *type, int32_t *coordinator_epoch);

#endif
