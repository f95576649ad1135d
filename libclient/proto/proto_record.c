/* Batch and record iterators. See proto_record.h.
 *
 * The record loop is the consumer's hot path: it reads fields with the inline
 * helpers of proto_record_wire.h and formats a message only on failure. */
#include "proto_record.h"

#include <stdarg.h>
#include <stdio.h>

#include "kc/kc_err.h"
#include "proto_compress.h"
#include "proto_crc.h"
#include "proto_legacy.h"
#include "proto_record_wire.h"

static void set_err(int *err, char *errstr, int code, const char *fmt, va_list ap)
{
    if (*err) return;
    *err = code;
    vsnprintf(errstr, PROTO_RECORD_ERRSTR_SIZE, fmt, ap);
}

static int batch_fail(proto_batch_iter_t *it, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int batch_fail(proto_batch_iter_t *it, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_err(&it->err, it->errstr, code, fmt, ap);
    va_end(ap);
    it->p = it->end;
    return 0;
}

int proto_record_iter_fail(proto_record_iter_t *it, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_err(&it->err, it->errstr, code, fmt, ap);
    va_end(ap);
    it->p = it->end;
    it->left = 0;
    return 0;
}

/* ---- Headers ------------------------------------------------------------------ */

void proto_header_iter_init(proto_header_iter_t *it, const proto_record_t *r)
{
    it->p = r->headers;
    it->end = r->headers ? r->headers + r->headers_len : NULL;
    it->left = r->header_count > 0 ? r->header_count : 0;
}

int proto_header_iter_next(proto_header_iter_t *it, proto_record_header_t *h)
{
    int32_t klen, vlen;
    if (it->left <= 0) return 0;
    /* The record iterator checked these; the checks here only keep a
     * hand-made proto_record_t from reading out of bounds. */
    if (!proto_ld_varint(&it->p, it->end, &klen) || klen < 0 || klen > it->end - it->p) goto end;
    h->key = proto_slice_of(it->p, (size_t)klen);
    it->p += klen;
    if (!proto_ld_varint(&it->p, it->end, &vlen) || vlen < -1 || vlen > it->end - it->p) goto end;
    h->value = vlen < 0 ? PROTO_NULL_SLICE : proto_slice_of(it->p, (size_t)vlen);
    it->p += vlen < 0 ? 0 : vlen;
    it->left--;
    return 1;
end:
    it->left = 0;
    return 0;
}

/* ---- Batches ------------------------------------------------------------------ */

void proto_batch_iter_init(proto_batch_iter_t *it, const void *data, size_t len)
{
    it->p = data;
    it->end = len ? it->p + len : it->p; /* NULL + 0 is undefined */
    it->err = 0;
    it->errstr[0] = '\0';
    it->partial = 0;
    it->partial_size = 0;
}

static int min_entry_size(int magic)
{
    switch (magic) {
    case 0: return PROTO_LEGACY_V0_MIN_SIZE;
    case 1: return PROTO_LEGACY_V1_MIN_SIZE;
    default: return PROTO_BATCH_HEADER_SIZE - PROTO_BATCH_LOG_OVERHEAD;
    }
}

static int legacy_view(proto_batch_iter_t *it, const uint8_t *p, size_t total,
                       proto_batch_view_t *v)
{
    proto_legacy_msg_t m;
    char msg[PROTO_RECORD_ERRSTR_SIZE];
    if (proto_legacy_msg_parse(p, total, &m, msg, sizeof(msg)))
        return batch_fail(it, KC_ERR__BAD_MSG, "%s", msg);
    proto_batch_header_t *h = &v->h;
    h->base_offset = m.offset;
    h->batch_length = m.size;
    h->partition_leader_epoch = -1;
    h->magic = m.magic;
    h->crc = m.crc;
    h->attributes = (int16_t)(uint8_t)m.attributes;
    h->last_offset_delta = 0;
    h->base_timestamp = m.timestamp;
    h->max_timestamp = m.timestamp;
    h->producer_id = -1;
    h->producer_epoch = -1;
    h->base_sequence = -1;
    h->record_count = -1;
    return 1;
}

int proto_batch_iter_next(proto_batch_iter_t *it, proto_batch_view_t *v)
{
    if (it->err || it->partial || it->p == it->end) return 0;
    const uint8_t *p = it->p;
    size_t left = (size_t)(it->end - p);
    if (left < PROTO_BATCH_LOG_OVERHEAD) {
        it->partial = 1;
        return 0;
    }
    int64_t offset = (int64_t)proto_ld_be64(p);
    int32_t size = (int32_t)proto_ld_be32(p + 8);
    if (size < PROTO_LEGACY_V0_MIN_SIZE)
        return batch_fail(it, KC_ERR__BAD_MSG, "batch at offset %lld: length %d is too small",
                          (long long)offset, size);
    size_t total = PROTO_BATCH_LOG_OVERHEAD + (size_t)size;
    if (left > PROTO_BATCH_MAGIC_OFFSET) {
        int magic = (int8_t)p[PROTO_BATCH_MAGIC_OFFSET];
        if (magic < 0 || magic > 2)
            return batch_fail(it, KC_ERR__BAD_MSG, "batch at offset %lld: unknown magic %d",
                              (long long)offset, magic);
        if (size < min_entry_size(magic))
            return batch_fail(it, KC_ERR__BAD_MSG,
                              "batch at offset %lld: length %d is below the %d bytes of a "
                              "magic %d header",
                              (long long)offset, size, min_entry_size(magic), magic);
    }
    if (total > left) {
        it->partial = 1;
        it->partial_size = total;
        return 0;
    }
    v->data = p;
    v->size = total;
    v->magic = (int8_t)p[PROTO_BATCH_MAGIC_OFFSET];
    if (v->magic == 2) {
        if (proto_batch_header_parse(p, total, &v->h, it->errstr, sizeof(it->errstr)))
            return batch_fail(it, KC_ERR__BAD_MSG, "%s", it->errstr);
    } else if (!legacy_view(it, p, total, v)) {
        return 0;
    }
    it->p = p + total;
    return 1;
}

/* ---- Records ------------------------------------------------------------------ */

static int records_init_v2(proto_record_iter_t *it, const proto_batch_view_t *v, int check_crc,
                           proto_wbuf_t *scratch, size_t max_decompressed)
{
    const proto_batch_header_t *h = &v->h;
    long long bo = (long long)h->base_offset;
    if (v->size < PROTO_BATCH_HEADER_SIZE)
        return proto_record_iter_fail(it, KC_ERR__BAD_MSG, "batch at offset %lld: %zu bytes", bo,
                                      v->size);
    if (check_crc) {
        uint32_t crc =
            proto_crc32c(0, v->data + PROTO_BATCH_CRC_START, v->size - PROTO_BATCH_CRC_START);
        if (crc != h->crc)
            return proto_record_iter_fail(it, KC_ERR__BAD_CRC,
                                          "batch at offset %lld: crc is 0x%08x but the data "
                                          "gives 0x%08x",
                                          bo, h->crc, crc);
    }
    if (h->record_count < 0)
        return proto_record_iter_fail(it, KC_ERR__BAD_MSG,
                                      "batch at offset %lld: recordCount %d is negative", bo,
                                      h->record_count);
    const uint8_t *records = v->data + PROTO_BATCH_HEADER_SIZE;
    size_t records_len = v->size - PROTO_BATCH_HEADER_SIZE;
    int codec = h->attributes & PROTO_BATCH_ATTR_CODEC_MASK;
    if (codec != PROTO_CODEC_NONE) {
        if (codec > PROTO_CODEC_ZSTD)
            return proto_record_iter_fail(it, KC_ERR__UNSUPPORTED,
                                          "batch at offset %lld: unknown codec %d", bo, codec);
        if (!scratch)
            return proto_record_iter_fail(it, KC_ERR__INVALID_ARG,
                                          "batch at offset %lld: compressed (%s) but no "
                                          "decompression buffer given",
                                          bo, proto_codec_name(codec));
        proto_wbuf_reset(scratch);
        char msg[PROTO_RECORD_ERRSTR_SIZE - 40];
        int err = proto_decompress(codec, records, records_len,
                                   max_decompressed ? max_decompressed
                                                    : PROTO_RECORD_DEFAULT_MAX_DECOMPRESSED,
                                   scratch, msg, sizeof(msg));
        if (!err && scratch->oom) err = KC_ERR__NO_MEMORY, snprintf(msg, sizeof(msg), "no memory");
        if (err)
            return proto_record_iter_fail(it, err, "batch at offset %lld: %s: %s", bo,
                                          proto_codec_name(codec), msg);
        records = scratch->data;
        records_len = scratch->len;
    }
    it->p = records;
    it->end = records_len ? records + records_len : records; /* scratch may be NULL */
    if ((size_t)h->record_count > records_len / PROTO_RECORD_MIN_SIZE)
        return proto_record_iter_fail(it, KC_ERR__BAD_MSG,
                                      "batch at offset %lld: recordCount %d cannot fit in %zu "
                                      "bytes of records",
                                      bo, h->record_count, records_len);
    it->left = h->record_count;
    it->count = h->record_count;
    it->base_offset = h->base_offset;
    it->base_timestamp = h->base_timestamp;
    it->max_timestamp = h->max_timestamp;
    it->last_offset_delta = h->last_offset_delta;
    it->log_append_time = (h->attributes & PROTO_BATCH_ATTR_LOG_APPEND_TIME) != 0;
    return 0;
}

int proto_record_iter_init(proto_record_iter_t *it, const proto_batch_view_t *v, int check_crc,
                           proto_wbuf_t *scratch, size_t max_decompressed)
{
    it->p = it->end = NULL;
    it->left = it->count = 0;
    it->prev_delta = -1;
    it->last_offset_delta = -1;
    it->magic = v->magic;
    it->consecutive = 0;
    it->err = 0;
    it->errstr[0] = '\0';
    if (v->magic < 2)
        proto_legacy_iter_init(it, v, check_crc, scratch, max_decompressed);
    else
        records_init_v2(it, v, check_crc, scratch, max_decompressed);
    return it->err;
}

/* The failure paths of the record loop, out of line to keep the loop small. */
__attribute__((noinline, cold)) static int record_fail(proto_record_iter_t *it, const char *field,
                                                       const char *problem, long long value)
{
    return proto_record_iter_fail(
        it, KC_ERR__BAD_MSG, "batch at offset %lld, record %d: %s %s (%lld)",
        (long long)it->base_offset, it->count - it->left, field, problem, value);
}

__attribute__((noinline, cold)) static int records_end(proto_record_iter_t *it)
{
    if (it->err) return 0;
    if (it->left > 0)
        return proto_record_iter_fail(it, KC_ERR__BAD_MSG,
                                      "batch at offset %lld: recordCount is %d but the records "
                                      "end after %d",
                                      (long long)it->base_offset, it->count, it->count - it->left);
    if (it->p != it->end)
        return proto_record_iter_fail(it, KC_ERR__BAD_MSG,
                                      "batch at offset %lld: %td bytes of trailing data after "
                                      "the %d records of recordCount",
                                      (long long)it->base_offset, it->end - it->p, it->count);
    return 0;
}

/* Reads a bytes field (varint length, -1 = null) within [p, end). */
static inline int read_bytes(const uint8_t **pp, const uint8_t *end, proto_bytes_t *out,
                             int32_t *len)
{
    if (!proto_ld_varint(pp, end, len)) return 0;
    if (*len < -1 || *len > end - *pp) return 0;
    if (*len < 0) {
        *out = PROTO_NULL_SLICE;
    } else {
        out->ptr = *pp;
        out->len = *len;
        *pp += *len;
    }
    return 1;
}

int proto_record_iter_next(proto_record_iter_t *it, proto_record_t *r)
{
    if (it->magic < 2) return proto_legacy_iter_next(it, r);
    if (it->left <= 0 || it->p == it->end) return records_end(it);

    const uint8_t *p = it->p;
    int32_t len;
    if (!proto_ld_varint(&p, it->end, &len)) return record_fail(it, "length", "is malformed", 0);
    if (len < PROTO_RECORD_MIN_SIZE - 1 || len > it->end - p)
        return record_fail(it, "length", "does not fit the batch", len);
    const uint8_t *end = p + len;
    p++; /* attributes: unused */

    int64_t ts_delta;
    int32_t delta, n = 0;
    if (!proto_ld_varlong(&p, end, &ts_delta))
        return record_fail(it, "timestampDelta", "is malformed", 0);
    if (!proto_ld_varint(&p, end, &delta)) return record_fail(it, "offsetDelta", "is malformed", 0);
    if (delta <= it->prev_delta || delta > it->last_offset_delta ||
        (it->consecutive && delta != it->prev_delta + 1))
        return record_fail(it, "offsetDelta", "is out of order or past lastOffsetDelta", delta);
    if (!read_bytes(&p, end, &r->key, &n))
        return record_fail(it, "keyLength", "does not fit the record", n);
    if (!read_bytes(&p, end, &r->value, &n))
        return record_fail(it, "valueLength", "does not fit the record", n);
    if (!proto_ld_varint(&p, end, &n) || n < 0 || n > end - p)
        return record_fail(it, "headerCount", "is malformed or too large", n);
    r->headers = p;
    r->header_count = n;
    for (int32_t i = 0; i < n; i++) {
        proto_bytes_t s;
        int32_t hl = 0;
        if (!read_bytes(&p, end, &s, &hl) || hl < 0)
            return record_fail(it, "header keyLength", "does not fit the record", hl);
        if (!read_bytes(&p, end, &s, &hl))
            return record_fail(it, "header valueLength", "does not fit the record", hl);
    }
    r->headers_len = (size_t)(p - r->headers);
    if (p != end) return record_fail(it, "length", "leaves bytes after the headers", end - p);

    r->offset = proto_add_wrap64(it->base_offset, delta);
    r->timestamp =
        it->log_append_time ? it->max_timestamp : proto_add_wrap64(it->base_timestamp, ts_delta);
    r->ts_type = it->log_append_time ? PROTO_TS_LOG_APPEND_TIME : PROTO_TS_CREATE_TIME;
    it->prev_delta = delta;
    it->left--;
    it->p = end;
    return 1;
}

int proto_control_record_parse(const proto_record_t *r, int16_t *type, int32_t *coordinator_epoch)
{
    if (r->key.len < 4 || (int16_t)proto_ld_be16(r->key.ptr) < 0) return KC_ERR__BAD_MSG;
    *type = (int16_t)proto_ld_be16(r->key.ptr + 2);
    *coordinator_epoch = -1;
    if (r->value.len >= 6 && (int16_t)proto_ld_be16(r->value.ptr) >= 0)
        *coordinator_epoch = (int32_t)proto_ld_be32(r->value.ptr + 2);
    return 0;
}
