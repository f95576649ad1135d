/* Legacy message sets (magic 0/1): parsing, record iteration, conversion to
 * magic 2. See proto_legacy.h. */
#include "proto_legacy.h"

#include <stdarg.h>
#include <stdio.h>

#include "kc/kc_err.h"
#include "proto_batch.h"
#include "proto_compress.h"
#include "proto_crc.h"
#include "proto_record_wire.h"

int proto_legacy_msg_parse(const void *data, size_t len, proto_legacy_msg_t *m, char *errstr,
                           size_t errstr_size)
{
    const uint8_t *p = data;
    m->size = -1;
    if (len < PROTO_LEGACY_LOG_OVERHEAD)
        return proto_errf(errstr, errstr_size, KC_ERR__PARTIAL, "message: %zu bytes", len);
    m->data = p;
    m->offset = (int64_t)proto_ld_be64(p);
    m->size = (int32_t)proto_ld_be32(p + 8);
    long long off = (long long)m->offset;
    if (m->size < PROTO_LEGACY_V0_MIN_SIZE)
        return proto_errf(errstr, errstr_size, KC_ERR__BAD_MSG,
                          "message at offset %lld: size %d is too small", off, m->size);
    if (len - PROTO_LEGACY_LOG_OVERHEAD < (size_t)m->size)
        return proto_errf(errstr, errstr_size, KC_ERR__PARTIAL,
                          "message at offset %lld: %zu of %d bytes present", off,
                          len - PROTO_LEGACY_LOG_OVERHEAD, m->size);
    const uint8_t *q = p + PROTO_LEGACY_LOG_OVERHEAD;
    const uint8_t *end = q + m->size;
    m->crc = proto_ld_be32(q);
    m->magic = (int8_t)q[4];
    m->attributes = (int8_t)q[5];
    q += 6;
    if (m->magic == 1) {
        if (m->size < PROTO_LEGACY_V1_MIN_SIZE)
            return proto_errf(errstr, errstr_size, KC_ERR__BAD_MSG,
                              "message at offset %lld: size %d is too small for magic 1", off,
                              m->size);
        m->timestamp = (int64_t)proto_ld_be64(q);
        q += 8;
    } else if (m->magic == 0) {
        m->timestamp = -1;
    } else {
        return proto_errf(errstr, errstr_size, KC_ERR__BAD_MSG, "message at offset %lld: magic %d",
                          off, m->magic);
    }
    /* The minimum sizes guarantee the two 4-byte lengths are there. */
    int32_t klen = (int32_t)proto_ld_be32(q);
    q += 4;
    if (klen < -1 || klen > end - q - 4)
        return proto_errf(errstr, errstr_size, KC_ERR__BAD_MSG,
                          "message at offset %lld: key length %d does not fit the message", off,
                          klen);
    m->key = klen < 0 ? PROTO_NULL_SLICE : proto_slice_of(q, (size_t)klen);
    q += klen < 0 ? 0 : klen;
    int32_t vlen = (int32_t)proto_ld_be32(q);
    q += 4;
    if (vlen < -1 || (vlen < 0 ? 0 : vlen) != end - q)
        return proto_errf(errstr, errstr_size, KC_ERR__BAD_MSG,
                          "message at offset %lld: value length %d but %td bytes are left", off,
                          vlen, end - q);
    m->value = vlen < 0 ? PROTO_NULL_SLICE : proto_slice_of(q, (size_t)vlen);
    return 0;
}

int proto_legacy_msg_verify_crc(const proto_legacy_msg_t *m)
{
    /* The CRC covers the message from magic (after the crc field) to its end. */
    const uint8_t *start = m->data + PROTO_LEGACY_LOG_OVERHEAD + 4;
    return proto_crc32(0, start, (size_t)m->size - 4) == m->crc ? 0 : KC_ERR__BAD_CRC;
}

/* ---- Record iteration ----------------------------------------------------------- */

/* Walks a decompressed inner set to find its last offset (a magic 1 wrapper's
 * offset names the last inner message, so the first one needs it). */
static int scan_inner(proto_record_iter_t *it, int64_t *last_offset)
{
    const uint8_t *p = it->p;
    int n = 0;
    while (p < it->end) {
        size_t left = (size_t)(it->end - p);
        int32_t size = left >= PROTO_LEGACY_LOG_OVERHEAD ? (int32_t)proto_ld_be32(p + 8) : -1;
        if (size < 0 || left - PROTO_LEGACY_LOG_OVERHEAD < (size_t)size)
            return proto_record_iter_fail(it, KC_ERR__BAD_MSG,
                                          "wrapper at offset %lld: inner message %d is cut off",
                                          (long long)it->base_offset, n);
        *last_offset = (int64_t)proto_ld_be64(p);
        p += PROTO_LEGACY_LOG_OVERHEAD + (size_t)size;
        n++;
    }
    if (n == 0)
        return proto_record_iter_fail(it, KC_ERR__BAD_MSG,
                                      "wrapper at offset %lld: no inner messages",
                                      (long long)it->base_offset);
    return 1;
}

static int init_wrapper(proto_record_iter_t *it, const proto_legacy_msg_t *m, proto_wbuf_t *scratch,
                        size_t max_decompressed)
{
    long long off = (long long)m->offset;
    int codec = m->attributes & PROTO_LEGACY_ATTR_CODEC_MASK;
    if (codec > PROTO_CODEC_LZ4)
        return proto_record_iter_fail(it, KC_ERR__UNSUPPORTED,
                                      "wrapper at offset %lld: codec %d is not allowed in "
                                      "magic %d",
                                      off, codec, m->magic);
    if (m->value.len < 0)
        return proto_record_iter_fail(it, KC_ERR__BAD_MSG, "wrapper at offset %lld: null value",
                                      off);
    if (!scratch)
        return proto_record_iter_fail(it, KC_ERR__INVALID_ARG,
                                      "wrapper at offset %lld: compressed but no "
                                      "decompression buffer given",
                                      off);
    proto_wbuf_reset(scratch);
    char msg[PROTO_RECORD_ERRSTR_SIZE - 40];
    int err = proto_decompress(codec, m->value.ptr, (size_t)m->value.len,
                               max_decompressed ? max_decompressed
                                                : PROTO_RECORD_DEFAULT_MAX_DECOMPRESSED,
                               scratch, msg, sizeof(msg));
    if (!err && scratch->oom) err = KC_ERR__NO_MEMORY, snprintf(msg, sizeof(msg), "no memory");
    if (err)
        return proto_record_iter_fail(it, err, "wrapper at offset %lld: %s: %s", off,
                                      proto_codec_name(codec), msg);
    it->p = scratch->data;
    it->end = scratch->len ? scratch->data + scratch->len : it->p; /* data may be NULL */
    int64_t last = 0;
    if (!scan_inner(it, &last)) return 0;
    it->legacy.inner = 1;
    it->legacy.wrapper_timestamp = m->timestamp;
    it->legacy.log_append_time =
        m->magic == 1 && (m->attributes & PROTO_LEGACY_ATTR_LOG_APPEND_TIME) != 0;
    if (m->magic == 1) {
        it->legacy.abs_base = proto_add_wrap64(m->offset, -last);
        if (it->legacy.abs_base < 0)
            return proto_record_iter_fail(it, KC_ERR__BAD_MSG,
                                          "wrapper at offset %lld: last inner offset %lld is "
                                          "past it",
                                          off, (long long)last);
    }
    return 1;
}

int proto_legacy_iter_init(proto_record_iter_t *it, const proto_batch_view_t *v, int check_crc,
                           proto_wbuf_t *scratch, size_t max_decompressed)
{
    proto_legacy_msg_t m;
    it->legacy.abs_base = 0;
    it->legacy.wrapper_timestamp = -1;
    it->legacy.wrapper_magic = v->magic;
    it->legacy.log_append_time = 0;
    it->legacy.inner = 0;
    it->legacy.check_crc = (int8_t)(check_crc != 0);
    if (proto_legacy_msg_parse(v->data, v->size, &m, it->errstr, sizeof(it->errstr)))
        return proto_record_iter_fail(it, KC_ERR__BAD_MSG, "%s", it->errstr);
    it->base_offset = m.offset;
    if (check_crc && proto_legacy_msg_verify_crc(&m))
        return proto_record_iter_fail(it, KC_ERR__BAD_CRC,
                                      "message at offset %lld: CRC-32 mismatch (crc 0x%08x)",
                                      (long long)m.offset, m.crc);
    if ((m.attributes & PROTO_LEGACY_ATTR_CODEC_MASK) != PROTO_CODEC_NONE)
        return init_wrapper(it, &m, scratch, max_decompressed) ? 0 : it->err;
    it->p = v->data;
    it->end = v->data + PROTO_LEGACY_LOG_OVERHEAD + (size_t)m.size;
    return 0;
}

int proto_legacy_iter_next(proto_record_iter_t *it, proto_record_t *r)
{
    if (it->err || it->p >= it->end) return 0;
    proto_legacy_msg_t m;
    char msg[PROTO_RECORD_ERRSTR_SIZE - 40];
    if (proto_legacy_msg_parse(it->p, (size_t)(it->end - it->p), &m, msg, sizeof(msg)))
        return proto_record_iter_fail(it, KC_ERR__BAD_MSG, "wrapper at offset %lld: inner %s",
                                      (long long)it->base_offset, msg);
    if (it->legacy.inner) {
        long long off = (long long)it->base_offset;
        if (m.attributes & PROTO_LEGACY_ATTR_CODEC_MASK)
            return proto_record_iter_fail(it, KC_ERR__BAD_MSG,
                                          "wrapper at offset %lld: inner message at %lld is "
                                          "compressed again (nesting is one level)",
                                          off, (long long)m.offset);
        if (it->legacy.check_crc && proto_legacy_msg_verify_crc(&m))
            return proto_record_iter_fail(it, KC_ERR__BAD_CRC,
                                          "wrapper at offset %lld: inner message at %lld: "
                                          "CRC-32 mismatch",
                                          off, (long long)m.offset);
    }
    r->offset = proto_add_wrap64(it->legacy.abs_base, m.offset);
    if (it->legacy.log_append_time) {
        r->timestamp = it->legacy.wrapper_timestamp;
        r->ts_type = PROTO_TS_LOG_APPEND_TIME;
    } else if (m.magic == 0) {
        r->timestamp = -1;
        r->ts_type = PROTO_TS_NONE;
    } else {
        r->timestamp = m.timestamp;
        r->ts_type = (m.attributes & PROTO_LEGACY_ATTR_LOG_APPEND_TIME) ? PROTO_TS_LOG_APPEND_TIME
                                                                        : PROTO_TS_CREATE_TIME;
    }
    r->key = m.key;
    r->value = m.value;
    r->headers = NULL;
    r->headers_len = 0;
    r->header_count = 0;
    it->p += PROTO_LEGACY_LOG_OVERHEAD + (size_t)m.size;
    return 1;
}

/* ---- Conversion to magic 2 ------------------------------------------------------ */

/* One legacy entry (a message or a wrapper) becomes one batch. */
static int convert_entry(const proto_batch_view_t *v, proto_wbuf_t *out, int check_crc,
                         proto_wbuf_t *scratch, size_t max_decompressed, char *errstr,
                         size_t errstr_size)
{
    proto_record_iter_t it;
    proto_record_t r;
    if (proto_record_iter_init(&it, v, check_crc, scratch, max_decompressed))
        return proto_errf(errstr, errstr_size, it.err, "%s", it.errstr);
    proto_batch_params_t params = PROTO_BATCH_PARAMS_INIT;
    proto_batch_builder_t b;
    size_t start = out->len;
    int err = 0, first = 1;
    int64_t last_ts = -1;
    while (!err && proto_record_iter_next(&it, &r)) {
        last_ts = r.timestamp;
        if (first) {
            if (r.ts_type == PROTO_TS_LOG_APPEND_TIME)
                params.attributes = PROTO_BATCH_ATTR_LOG_APPEND_TIME;
            params.base_offset = r.offset;
            err = proto_batch_builder_begin(&b, out, &params);
            first = 0;
            if (err) break;
        }
        int64_t delta = (int64_t)((uint64_t)r.offset - (uint64_t)b.base_offset);
        if (delta > INT32_MAX || delta <= b.last_offset_delta) {
            err =
                proto_errf(errstr, errstr_size, KC_ERR__BAD_MSG,
                           "message at offset %lld: offsets are out of order", (long long)r.offset);
            break;
        }
        err = proto_batch_builder_append_at(&b, (int32_t)delta, r.timestamp, r.key.ptr, r.key.len,
                                            r.value.ptr, r.value.len, NULL, 0);
        if (err)
            proto_errf(errstr, errstr_size, err, "message at offset %lld: cannot convert",
                       (long long)r.offset);
    }
    if (!err && it.err) err = proto_errf(errstr, errstr_size, it.err, "%s", it.errstr);
    /* The builder's maxTimestamp starts at -1, as Java's does; a LogAppendTime
     * batch must carry the wrapper's time whatever it is, since every record
     * reads back as maxTimestamp. */
    if (!err && !first && (params.attributes & PROTO_BATCH_ATTR_LOG_APPEND_TIME))
        b.max_timestamp = last_ts;
    if (!err && !first)
        err = proto_batch_builder_finish(&b, PROTO_CODEC_NONE, -1, NULL, errstr, errstr_size);
    if (err && !out->oom) out->len = start;
    return err;
}

int proto_legacy_to_batches(const void *data, size_t len, proto_wbuf_t *out, int check_crc,
                            proto_wbuf_t *scratch, size_t max_decompressed, char *errstr,
                            size_t errstr_size)
{
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    proto_batch_iter_init(&bi, data, len);
    while (proto_batch_iter_next(&bi, &v)) {
        if (v.magic >= 2) {
            proto_put_raw(out, v.data, v.size);
            continue;
        }
        int err = convert_entry(&v, out, check_crc, scratch, max_decompressed, errstr, errstr_size);
        if (err) return err;
    }
    if (bi.err) return proto_errf(errstr, errstr_size, bi.err, "%s", bi.errstr);
    if (out->oom) return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "out of memory");
    return 0;
}
