/* Record batches (magic 2): header parsing, in-place patches and the builder.
 * See proto_batch.h. */
#include "proto_batch.h"

#include <stdarg.h>
#include <stdio.h>

#include "kc/kc_err.h"
#include "proto_compress.h"
#include "proto_crc.h"
#include "proto_record_wire.h"

/* Offsets of the header fields, from the start of the batch. */
enum {
    OFF_BASE_OFFSET = 0,
    OFF_BATCH_LENGTH = 8,
    OFF_LEADER_EPOCH = 12,
    OFF_MAGIC = 16,
    OFF_CRC = 17,
    OFF_ATTRIBUTES = 21,
    OFF_LAST_OFFSET_DELTA = 23,
    OFF_BASE_TIMESTAMP = 27,
    OFF_MAX_TIMESTAMP = 35,
    OFF_PRODUCER_ID = 43,
    OFF_PRODUCER_EPOCH = 51,
    OFF_BASE_SEQUENCE = 53,
    OFF_RECORD_COUNT = 57,
};

/* Largest batch we build or accept: batchLength is an int32. */
#define BATCH_MAX_SIZE ((size_t)INT32_MAX + PROTO_BATCH_LOG_OVERHEAD)

int proto_batch_header_parse(const void *data, size_t len, proto_batch_header_t *h, char *errstr,
                             size_t errstr_size)
{
    const uint8_t *p = data;
    if (len < PROTO_BATCH_LOG_OVERHEAD)
        return proto_errf(errstr, errstr_size, KC_ERR__PARTIAL, "batch: %zu bytes, needs 61", len);
    int32_t batch_length = (int32_t)proto_ld_be32(p + OFF_BATCH_LENGTH);
    if (batch_length < PROTO_BATCH_HEADER_SIZE - PROTO_BATCH_LOG_OVERHEAD)
        return proto_errf(errstr, errstr_size, KC_ERR__BAD_MSG,
                          "batch: batchLength %d is below the %d-byte header", batch_length,
                          PROTO_BATCH_HEADER_SIZE - PROTO_BATCH_LOG_OVERHEAD);
    if (len > OFF_MAGIC && (int8_t)p[OFF_MAGIC] != 2)
        return proto_errf(errstr, errstr_size, KC_ERR__BAD_MSG, "batch: magic %d, expected 2",
                          (int8_t)p[OFF_MAGIC]);
    if (len < PROTO_BATCH_LOG_OVERHEAD + (size_t)batch_length)
        return proto_errf(errstr, errstr_size, KC_ERR__PARTIAL, "batch: %zu of %zu bytes present",
                          len, PROTO_BATCH_LOG_OVERHEAD + (size_t)batch_length);
    h->base_offset = (int64_t)proto_ld_be64(p + OFF_BASE_OFFSET);
    h->batch_length = batch_length;
    h->partition_leader_epoch = (int32_t)proto_ld_be32(p + OFF_LEADER_EPOCH);
    h->magic = (int8_t)p[OFF_MAGIC];
    h->crc = proto_ld_be32(p + OFF_CRC);
    h->attributes = (int16_t)proto_ld_be16(p + OFF_ATTRIBUTES);
    h->last_offset_delta = (int32_t)proto_ld_be32(p + OFF_LAST_OFFSET_DELTA);
    h->base_timestamp = (int64_t)proto_ld_be64(p + OFF_BASE_TIMESTAMP);
    h->max_timestamp = (int64_t)proto_ld_be64(p + OFF_MAX_TIMESTAMP);
    h->producer_id = (int64_t)proto_ld_be64(p + OFF_PRODUCER_ID);
    h->producer_epoch = (int16_t)proto_ld_be16(p + OFF_PRODUCER_EPOCH);
    h->base_sequence = (int32_t)proto_ld_be32(p + OFF_BASE_SEQUENCE);
    h->record_count = (int32_t)proto_ld_be32(p + OFF_RECORD_COUNT);
    return 0;
}

static uint32_t batch_crc(const uint8_t *p, size_t len)
{
    return proto_crc32c(0, p + PROTO_BATCH_CRC_START, len - PROTO_BATCH_CRC_START);
}

int proto_batch_verify_crc(const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len < PROTO_BATCH_HEADER_SIZE) return KC_ERR__BAD_CRC;
    return batch_crc(p, len) == proto_ld_be32(p + OFF_CRC) ? 0 : KC_ERR__BAD_CRC;
}

void proto_batch_set_base_offset(void *data, int64_t base_offset)
{
    proto_st_be64((uint8_t *)data + OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void proto_batch_set_partition_leader_epoch(void *data, int32_t epoch)
{
    proto_st_be32((uint8_t *)data + OFF_LEADER_EPOCH, (uint32_t)epoch);
}

static void restamp_crc(uint8_t *p, size_t len)
{
    proto_st_be32(p + OFF_CRC, batch_crc(p, len));
}

/* Replaces the header bytes p[at .. at + n) with repl[0 .. n) and updates the
 * CRC without reading the records: the CRC is linear, so it changes by the
 * CRC (from a zero register) of old XOR new, carried past the len - (at + n)
 * bytes that follow them. at >= PROTO_BATCH_CRC_START. */
static void patch_header(uint8_t *p, size_t len, size_t at, const uint8_t *repl, size_t n)
{
    uint8_t diff[PROTO_BATCH_HEADER_SIZE];
    for (size_t i = 0; i < n; i++)
        diff[i] = p[at + i] ^ repl[i];
    memcpy(p + at, repl, n);
    uint32_t from_zero = ~proto_crc32c(0xffffffffu, diff, n);
    uint32_t change = proto_crc32c_combine(from_zero, 0, len - (at + n));
    proto_st_be32(p + OFF_CRC, proto_ld_be32(p + OFF_CRC) ^ change);
}

void proto_batch_set_producer(void *data, size_t len, int64_t producer_id, int16_t producer_epoch,
                              int32_t base_sequence)
{
    uint8_t *p = data;
    if (len < PROTO_BATCH_HEADER_SIZE) return;
    uint8_t f[14]; /* producerId, producerEpoch, baseSequence: adjacent */
    proto_st_be64(f, (uint64_t)producer_id);
    proto_st_be16(f + 8, (uint16_t)producer_epoch);
    proto_st_be32(f + 10, (uint32_t)base_sequence);
    patch_header(p, len, OFF_PRODUCER_ID, f, sizeof(f));
}

void proto_batch_set_log_append_time(void *data, size_t len, int64_t timestamp)
{
    uint8_t *p = data;
    if (len < PROTO_BATCH_HEADER_SIZE) return;
    /* attributes .. maxTimestamp, with lastOffsetDelta and baseTimestamp kept */
    uint8_t f[OFF_MAX_TIMESTAMP + 8 - OFF_ATTRIBUTES];
    memcpy(f, p + OFF_ATTRIBUTES, sizeof(f));
    proto_st_be16(f, proto_ld_be16(f) | PROTO_BATCH_ATTR_LOG_APPEND_TIME);
    proto_st_be64(f + (OFF_MAX_TIMESTAMP - OFF_ATTRIBUTES), (uint64_t)timestamp);
    patch_header(p, len, OFF_ATTRIBUTES, f, sizeof(f));
}

/* ---- Builder ------------------------------------------------------------------ */

int proto_batch_builder_begin(proto_batch_builder_t *b, proto_wbuf_t *out,
                              const proto_batch_params_t *params)
{
    static const proto_batch_params_t defaults = PROTO_BATCH_PARAMS_INIT;
    if (!params) params = &defaults;
    b->out = out;
    b->start = out->len;
    b->base_offset = params->base_offset;
    b->partition_leader_epoch = params->partition_leader_epoch;
    b->producer_id = params->producer_id;
    b->producer_epoch = params->producer_epoch;
    b->base_sequence = params->base_sequence;
    b->attributes = (int16_t)(params->attributes & ~PROTO_BATCH_ATTR_CODEC_MASK);
    b->ts_from_first = params->base_timestamp == PROTO_BATCH_TS_FIRST;
    b->base_timestamp = b->ts_from_first ? -1 : params->base_timestamp;
    b->max_timestamp = -1;
    b->count = 0;
    b->last_offset_delta = -1;
    b->finished = 0;
    if (proto_wbuf_skip(out, PROTO_BATCH_HEADER_SIZE) == (size_t)-1) return KC_ERR__NO_MEMORY;
    return 0;
}

static inline size_t bytes_field_size(int32_t len)
{
    return proto_zz32_size(len) + (len > 0 ? (size_t)len : 0);
}

/* Size of the headers section (count prefix included), or SIZE_MAX when a
 * header is invalid. */
static size_t headers_size(const proto_record_header_t *headers, size_t header_count)
{
    if (header_count > INT32_MAX) return SIZE_MAX;
    size_t n = proto_zz32_size((int32_t)header_count);
    for (size_t i = 0; i < header_count; i++) {
        const proto_record_header_t *hd = &headers[i];
        if (hd->key.len < 0 || hd->value.len < -1) return SIZE_MAX;
        n += bytes_field_size(hd->key.len) + bytes_field_size(hd->value.len);
    }
    return n;
}

/* Size of the record after its length prefix, or SIZE_MAX if invalid. */
static inline size_t record_body_size(int64_t ts_delta, int32_t offset_delta, int32_t key_len,
                                      int32_t value_len, const proto_record_header_t *headers,
                                      size_t header_count)
{
    if (key_len < -1 || value_len < -1) return SIZE_MAX;
    size_t hs = header_count ? headers_size(headers, header_count) : 1;
    if (hs == SIZE_MAX) return SIZE_MAX;
    return 1 + proto_zz64_size(ts_delta) + proto_zz32_size(offset_delta) +
           bytes_field_size(key_len) + bytes_field_size(value_len) + hs;
}

static inline size_t with_length_prefix(size_t body)
{
    if (body == SIZE_MAX || body > INT32_MAX) return SIZE_MAX;
    return proto_zz32_size((int32_t)body) + body;
}

size_t proto_record_size(int64_t timestamp_delta, int32_t offset_delta, int32_t key_len,
                         int32_t value_len, const proto_record_header_t *headers,
                         size_t header_count)
{
    return with_length_prefix(
        record_body_size(timestamp_delta, offset_delta, key_len, value_len, headers, header_count));
}

size_t proto_record_size_upper_bound(int32_t key_len, int32_t value_len,
                                     const proto_record_header_t *headers, size_t header_count)
{
    /* INT64_MIN and INT32_MIN take the most bytes as zigzag varints. */
    return proto_record_size(INT64_MIN, INT32_MIN, key_len, value_len, headers, header_count);
}

/* The timestamp delta the builder would use for ts; 0 when it overflows. */
static inline int ts_delta_for(const proto_batch_builder_t *b, int64_t ts, int64_t *delta)
{
    int64_t base = (b->ts_from_first && b->count == 0) ? ts : b->base_timestamp;
    return !__builtin_sub_overflow(ts, base, delta);
}

size_t proto_batch_builder_record_size(const proto_batch_builder_t *b, int64_t timestamp,
                                       int32_t key_len, int32_t value_len,
                                       const proto_record_header_t *headers, size_t header_count)
{
    int64_t d;
    if (!ts_delta_for(b, timestamp, &d)) return SIZE_MAX;
    return proto_record_size(d, b->last_offset_delta + 1, key_len, value_len, headers,
                             header_count);
}

static inline uint8_t *put_bytes_field(uint8_t *p, const void *data, int32_t len)
{
    p = proto_st_varint(p, len);
    if (len > 0) {
        memcpy(p, data, (size_t)len);
        p += len;
    }
    return p;
}

/* The producer's per-record path: sizes computed once, the length prefix
 * written first, every field stored straight into the buffer. */
static inline int append_record(proto_batch_builder_t *b, int32_t offset_delta, int64_t timestamp,
                                const void *key, int32_t key_len, const void *value,
                                int32_t value_len, const proto_record_header_t *headers,
                                size_t header_count)
{
    int64_t ts_delta;
    if (b->finished || offset_delta <= b->last_offset_delta ||
        !ts_delta_for(b, timestamp, &ts_delta))
        return KC_ERR__INVALID_ARG;
    size_t body =
        record_body_size(ts_delta, offset_delta, key_len, value_len, headers, header_count);
    if (body == SIZE_MAX) return KC_ERR__INVALID_ARG;
    size_t total = with_length_prefix(body);
    if (total == SIZE_MAX || proto_batch_builder_size(b) + total > BATCH_MAX_SIZE)
        return KC_ERR__TOO_LARGE;

    proto_wbuf_t *w = b->out;
    uint8_t *p;
    if (w->cap - w->len >= total && !w->oom) {
        p = w->data + w->len;
    } else {
        p = proto_wbuf_reserve(w, total);
        if (!p) return KC_ERR__NO_MEMORY;
    }
    p = proto_st_varint(p, (int32_t)body);
    *p++ = 0; /* attributes: unused */
    p = proto_st_varlong(p, ts_delta);
    p = proto_st_varint(p, offset_delta);
    p = put_bytes_field(p, key, key_len);
    p = put_bytes_field(p, value, value_len);
    p = proto_st_varint(p, (int32_t)header_count);
    for (size_t i = 0; i < header_count; i++) {
        p = put_bytes_field(p, headers[i].key.ptr, headers[i].key.len);
        p = put_bytes_field(p, headers[i].value.ptr, headers[i].value.len);
    }
    w->len += total;

    if (b->count == 0 && b->ts_from_first) b->base_timestamp = timestamp;
    if (timestamp > b->max_timestamp) b->max_timestamp = timestamp;
    b->count++;
    b->last_offset_delta = offset_delta;
    return 0;
}

int proto_batch_builder_append_at(proto_batch_builder_t *b, int32_t offset_delta, int64_t timestamp,
                                  const void *key, int32_t key_len, const void *value,
                                  int32_t value_len, const proto_record_header_t *headers,
                                  size_t header_count)
{
    return append_record(b, offset_delta, timestamp, key, key_len, value, value_len, headers,
                         header_count);
}

int proto_batch_builder_append(proto_batch_builder_t *b, int64_t timestamp, const void *key,
                               int32_t key_len, const void *value, int32_t value_len,
                               const proto_record_header_t *headers, size_t header_count)
{
    if (b->last_offset_delta == INT32_MAX) return KC_ERR__TOO_LARGE;
    return append_record(b, b->last_offset_delta + 1, timestamp, key, key_len, value, value_len,
                         headers, header_count);
}

/* Replaces the records section with its compressed form. */
static int compress_records(proto_batch_builder_t *b, int codec, int level, proto_wbuf_t *scratch,
                            char *errstr, size_t errstr_size)
{
    if (!scratch)
        return proto_errf(errstr, errstr_size, KC_ERR__INVALID_ARG,
                          "batch: compression needs a scratch buffer");
    size_t records_at = b->start + PROTO_BATCH_HEADER_SIZE;
    proto_wbuf_reset(scratch);
    int err = proto_compress(codec, level, b->out->data + records_at, b->out->len - records_at,
                             scratch, errstr, errstr_size);
    if (err) return err;
    if (scratch->oom)
        return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "batch: out of memory");
    b->out->len = records_at;
    proto_put_raw(b->out, scratch->data, scratch->len);
    if (b->out->oom)
        return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "batch: out of memory");
    return 0;
}

int proto_batch_builder_finish(proto_batch_builder_t *b, int codec, int level,
                               proto_wbuf_t *scratch, char *errstr, size_t errstr_size)
{
    if (b->finished)
        return proto_errf(errstr, errstr_size, KC_ERR__INVALID_ARG, "batch: already finished");
    if (b->out->oom)
        return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "batch: out of memory");
    if (codec < 0 || codec > PROTO_BATCH_ATTR_CODEC_MASK)
        return proto_errf(errstr, errstr_size, KC_ERR__INVALID_ARG, "batch: codec %d", codec);
    if (b->count == 0) codec = PROTO_CODEC_NONE;
    if (codec != PROTO_CODEC_NONE) {
        int err = compress_records(b, codec, level, scratch, errstr, errstr_size);
        if (err) return err;
    }
    size_t size = proto_batch_builder_size(b);
    if (size > BATCH_MAX_SIZE)
        return proto_errf(errstr, errstr_size, KC_ERR__TOO_LARGE, "batch: %zu bytes", size);

    uint8_t *p = b->out->data + b->start;
    int64_t base_ts = b->count ? b->base_timestamp : -1;
    proto_st_be64(p + OFF_BASE_OFFSET, (uint64_t)b->base_offset);
    proto_st_be32(p + OFF_BATCH_LENGTH, (uint32_t)(size - PROTO_BATCH_LOG_OVERHEAD));
    proto_st_be32(p + OFF_LEADER_EPOCH, (uint32_t)b->partition_leader_epoch);
    p[OFF_MAGIC] = 2;
    proto_st_be16(p + OFF_ATTRIBUTES, (uint16_t)(b->attributes | codec));
    proto_st_be32(p + OFF_LAST_OFFSET_DELTA, (uint32_t)b->last_offset_delta);
    proto_st_be64(p + OFF_BASE_TIMESTAMP, (uint64_t)base_ts);
    proto_st_be64(p + OFF_MAX_TIMESTAMP, (uint64_t)(b->count ? b->max_timestamp : -1));
    proto_st_be64(p + OFF_PRODUCER_ID, (uint64_t)b->producer_id);
    proto_st_be16(p + OFF_PRODUCER_EPOCH, (uint16_t)b->producer_epoch);
    proto_st_be32(p + OFF_BASE_SEQUENCE, (uint32_t)b->base_sequence);
    proto_st_be32(p + OFF_RECORD_COUNT, (uint32_t)b->count);
    restamp_crc(p, size);
    b->finished = 1;
    return 0;
}

/* ---- Control batches ---------------------------------------------------------- */

int proto_batch_build_control(proto_wbuf_t *out, int64_t producer_id, int16_t producer_epoch,
                              int64_t timestamp, int16_t type, int32_t coordinator_epoch)
{
    proto_batch_params_t params = PROTO_BATCH_PARAMS_INIT;
    params.producer_id = producer_id;
    params.producer_epoch = producer_epoch;
    params.attributes = PROTO_BATCH_ATTR_TRANSACTIONAL | PROTO_BATCH_ATTR_CONTROL;
    uint8_t key[4], value[6];
    proto_st_be16(key, 0);
    proto_st_be16(key + 2, (uint16_t)type);
    proto_st_be16(value, 0);
    proto_st_be32(value + 2, (uint32_t)coordinator_epoch);

    proto_batch_builder_t b;
    size_t start = out->len;
    int err = proto_batch_builder_begin(&b, out, &params);
    if (!err) err = proto_batch_builder_append(&b, timestamp, key, 4, value, 6, NULL, 0);
    if (!err) err = proto_batch_builder_finish(&b, PROTO_CODEC_NONE, -1, NULL, NULL, 0);
    if (err && !out->oom && out->len > start) out->len = start;
    return err;
}
