/* Record batches (magic 2): the unit of data in Produce, Fetch and the log.
 *
 * Layout (all big-endian), 61-byte header then the records:
 *   baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 |
 *   crc u32 | attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 |
 *   maxTimestamp i64 | producerId i64 | producerEpoch i16 | baseSequence i32 |
 *   recordCount i32 | records...
 * batchLength counts the bytes after itself; the CRC-32C covers attributes to
 * the end, so the broker can patch baseOffset and partitionLeaderEpoch without
 * re-checksumming.
 *
 * This header has the write side (the builder, control batches, in-place
 * patches) and the broker's validation. The read side (batch and record
 * iterators) is in proto_record.h; legacy message sets in proto_legacy.h.
 */
#ifndef PROTO_BATCH_H
#define PROTO_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "proto_buf.h"

#define PROTO_BATCH_HEADER_SIZE  61
#define PROTO_BATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength */
#define PROTO_BATCH_CRC_OFFSET   17 /* the crc field */
#define PROTO_BATCH_CRC_START    21 /* attributes: first byte the CRC covers */
#define PROTO_BATCH_MAGIC_OFFSET 16 /* also where legacy messages keep theirs */

#define PROTO_BATCH_ATTR_CODEC_MASK      0x07
#define PROTO_BATCH_ATTR_LOG_APPEND_TIME 0x08
#define PROTO_BATCH_ATTR_TRANSACTIONAL   0x10
#define PROTO_BATCH_ATTR_CONTROL         0x20
#define PROTO_BATCH_ATTR_DELETE_HORIZON  0x40

/* The smallest record: length 1 byte + attributes, timestampDelta,
 * offsetDelta, keyLength, valueLength, headerCount of 1 byte each. */
#define PROTO_RECORD_MIN_SIZE 7

typedef struct proto_batch_header {
    int64_t base_offset;
    int32_t batch_length; /* bytes after this field: total size - 12 */
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
} proto_batch_header_t;

/* Parses the batch header at data[0..len). Returns 0; KC_ERR__PARTIAL when
 * fewer than PROTO_BATCH_HEADER_SIZE bytes, or fewer than the whole batch
 * (12 + batch_length), are present; KC_ERR__BAD_MSG (with errstr, which may be
 * NULL) when magic is not 2 or the lengths are impossible. Checks no CRC. */
int proto_batch_header_parse(const void *data, size_t len, proto_batch_header_t *h, char *errstr,
                             size_t errstr_size);

/* Total size of the batch whose header is h: 12 + batch_length. */
static inline size_t proto_batch_size(const proto_batch_header_t *h)
{
    return PROTO_BATCH_LOG_OVERHEAD + (size_t)h->batch_length;
}

/* 0 if the CRC-32C of the whole batch at data[0..len) (len = its total size)
 * matches its crc field, else KC_ERR__BAD_CRC. */
int proto_batch_verify_crc(const void *data, size_t len);

/* Patch fields outside the CRC in place (the broker assigns offsets). */
void proto_batch_set_base_offset(void *data, int64_t base_offset);
void proto_batch_set_partition_leader_epoch(void *data, int32_t epoch);

/* Patch fields inside the CRC and update it for the change, without reading
 * the records (proto_crc32c_combine): a megabyte batch costs the same as a
 * small one, and a CRC that was wrong stays wrong. data[0..len) is one whole
 * batch. set_producer re-stamps a batch for a retry after an epoch bump;
 * set_log_append_time is the broker's message.timestamp.type=LogAppendTime. */
void proto_batch_set_producer(void *data, size_t len, int64_t producer_id, int16_t producer_epoch,
                              int32_t base_sequence);
void proto_batch_set_log_append_time(void *data, size_t len, int64_t timestamp);

/* ---- Building ------------------------------------------------------------- */

/* A record header as the application gives it: key is UTF-8 and never null;
 * value may be null (len -1). The record iterators yield the same type. */
typedef struct proto_record_header {
    proto_str_t key;
    proto_bytes_t value;
} proto_record_header_t;

/* base_timestamp value meaning "the first appended record's timestamp". */
#define PROTO_BATCH_TS_FIRST INT64_MIN

typedef struct proto_batch_params {
    int64_t base_offset;            /* 0 from a producer; the broker assigns */
    int32_t partition_leader_epoch; /* -1 from a producer */
    int64_t producer_id;            /* -1 unless idempotent */
    int16_t producer_epoch;         /* -1 unless idempotent */
    int32_t base_sequence;          /* -1 unless idempotent */
    int16_t attributes;     /* TRANSACTIONAL, CONTROL, LOG_APPEND_TIME; the codec comes at finish */
    int64_t base_timestamp; /* PROTO_BATCH_TS_FIRST, or a fixed base */
} proto_batch_params_t;

#define PROTO_BATCH_PARAMS_INIT                                                                  \
    {                                                                                            \
        .base_offset = 0, .partition_leader_epoch = -1, .producer_id = -1, .producer_epoch = -1, \
        .base_sequence = -1, .attributes = 0, .base_timestamp = PROTO_BATCH_TS_FIRST             \
    }

/* Appends one batch straight into a caller's buffer.
 *
 * Lifecycle: begin() reserves the 61-byte header at the end of `out`; each
 * append() encodes one record after it (no per-record allocation beyond the
 * buffer's own growth); finish() compresses the records if asked, fills the
 * header and the CRC. The batch is then out->data[start .. start + size), with
 * proto_batch_builder_size() giving size. Nothing else may be written to `out`
 * between begin() and finish(). The builder holds no memory of its own: drop
 * it at any time (the bytes already in `out` stay there; truncate out->len to
 * `start` to discard them).
 *
 * producer_id, producer_epoch and base_sequence may be changed in the struct
 * until finish(), since a producer assigns sequences when it sends. */
typedef struct proto_batch_builder {
    proto_wbuf_t *out;
    size_t start; /* offset of the batch in out */
    int64_t base_offset;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int32_t partition_leader_epoch;
    int32_t base_sequence;
    int32_t count;
    int32_t last_offset_delta; /* -1 before the first record */
    int16_t producer_epoch;
    int16_t attributes;
    int ts_from_first; /* base_timestamp is taken from the first record */
    int finished;
} proto_batch_builder_t;

/* Returns 0, or KC_ERR__NO_MEMORY when `out` cannot grow. */
int proto_batch_builder_begin(proto_batch_builder_t *b, proto_wbuf_t *out,
                              const proto_batch_params_t *params);

/* Appends a record with the next offset delta. key/value with a length of -1
 * are null (the pointer is then ignored); headers may be NULL when
 * header_count is 0. Nothing is borrowed past the call. Returns 0;
 * KC_ERR__INVALID_ARG (a length below -1, a null header key, a timestamp so
 * far from the base that the delta overflows, or append after finish);
 * KC_ERR__TOO_LARGE when the batch would pass 2 GiB; KC_ERR__NO_MEMORY. On
 * error nothing is appended. */
int proto_batch_builder_append(proto_batch_builder_t *b, int64_t timestamp, const void *key,
                               int32_t key_len, const void *value, int32_t value_len,
                               const proto_record_header_t *headers, size_t header_count);

/* The same with an explicit offset delta, which must be above the last one
 * (compacted or converted data keeps its gaps). */
int proto_batch_builder_append_at(proto_batch_builder_t *b, int32_t offset_delta, int64_t timestamp,
                                  const void *key, int32_t key_len, const void *value,
                                  int32_t value_len, const proto_record_header_t *headers,
                                  size_t header_count);

/* Closes the batch. codec is a proto_codec_t (level -1 = the codec's default);
 * with a codec other than none the records are compressed through `scratch`,
 * a caller-owned buffer reused from batch to batch (its contents are
 * clobbered; it may be NULL for PROTO_CODEC_NONE). An empty batch gets
 * baseTimestamp = maxTimestamp = -1 and lastOffsetDelta -1, and is never
 * compressed. Returns 0 or a kc_err_t with a message in errstr (may be NULL):
 * KC_ERR__NO_MEMORY, a compression error, KC_ERR__TOO_LARGE. */
int proto_batch_builder_finish(proto_batch_builder_t *b, int codec, int level,
                               proto_wbuf_t *scratch, char *errstr, size_t errstr_size);

/* Bytes the batch takes now in `out`: the header plus the records so far
 * (uncompressed until finish; the final size after it). */
static inline size_t proto_batch_builder_size(const proto_batch_builder_t *b)
{
    return b->out->len - b->start;
}

/* Exact encoded size of one record, its length prefix included. */
size_t proto_record_size(int64_t timestamp_delta, int32_t offset_delta, int32_t key_len,
                         int32_t value_len, const proto_record_header_t *headers,
                         size_t header_count);

/* Exact bytes that appending this record to b would add: a producer checks
 * proto_batch_builder_size(b) + this against batch.size before appending. */
size_t proto_batch_builder_record_size(const proto_batch_builder_t *b, int64_t timestamp,
                                       int32_t key_len, int32_t value_len,
                                       const proto_record_header_t *headers, size_t header_count);

/* An upper bound for a record in any batch (largest possible deltas), for
 * sizing a new batch before it exists. Add PROTO_BATCH_HEADER_SIZE. */
size_t proto_record_size_upper_bound(int32_t key_len, int32_t value_len,
                                     const proto_record_header_t *headers, size_t header_count);

/* ---- Control batches (transaction markers) --------------------------------- */

#define PROTO_CONTROL_ABORT  0
#define PROTO_CONTROL_COMMIT 1

/* Appends a whole control batch (transactional + control, one record, no
 * compression, baseSequence -1) to out: key = int16 version 0 + int16 type,
 * value = int16 version 0 + int32 coordinator epoch. Returns 0 or
 * KC_ERR__NO_MEMORY. */
int proto_batch_build_control(proto_wbuf_t *out, int64_t producer_id, int16_t producer_epoch,
                              int64_t timestamp, int16_t type, int32_t coordinator_epoch);

/* ---- Broker-side validation --------------------------------------------------- */

typedef struct proto_batch_validate_opts {
    int allow_zstd; /* Produce v7 and later */
    /* The batch comes from the transaction coordinator (a marker), not a
     * client: control batches are allowed and the client-only producer
     * checks are skipped. */
    int from_coordinator;
    int decompress;          /* also walk the records of compressed batches */
    proto_wbuf_t *scratch;   /* for decompress; clobbered */
    size_t max_decompressed; /* bound for decompress (0: 64 MiB) */
} proto_batch_validate_opts_t;

/* Checks the records of one partition in a Produce request (v3+): exactly one
 * magic 2 batch filling data[0..len), its CRC, a known codec, counts and
 * offsets that agree (recordCount >= 1 and lastOffsetDelta = recordCount - 1),
 * producer fields (a client's idempotent batch has an epoch and a
 * sequence; a transactional one has a producer id; control batches only from
 * the coordinator), and -- when uncompressed, or compressed with
 * opts->decompress -- that every record is well formed, with offset deltas
 * 0..n-1 and exactly recordCount records. opts may be NULL (all zero).
 * Fills *h (may be NULL). Returns 0 or the Kafka error a broker answers with:
 * KC_ERR_CORRUPT_MESSAGE (sizes, CRC, record structure),
 * KC_ERR_INVALID_RECORD (magic, counts, offsets, producer fields, control),
 * KC_ERR_UNSUPPORTED_COMPRESSION_TYPE, or a decompression error; errstr (may
 * be NULL) says which field was wrong. */
int proto_batch_validate(const void *data, size_t len, const proto_batch_validate_opts_t *opts,
                         proto_batch_header_t *h, char *errstr, size_t errstr_size);

#endif
