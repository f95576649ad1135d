/* What a broker checks in the records of a Produce request before it appends
 * them. See proto_batch_validate() in proto_batch.h. */
#include <stdarg.h>
#include <stdio.h>

#include "kc/kc_err.h"
#include "proto_batch.h"
#include "proto_compress.h"
#include "proto_crc.h"
#include "proto_record.h"

static int check_framing(const uint8_t *p, size_t len, proto_batch_header_t *h, char *errstr,
                         size_t errstr_size)
{
    if (len <= PROTO_BATCH_MAGIC_OFFSET)
        return proto_errf(errstr, errstr_size, KC_ERR_CORRUPT_MESSAGE,
                          "records: %zu bytes is too short for a batch", len);
    int magic = (int8_t)p[PROTO_BATCH_MAGIC_OFFSET];
    if (magic != 2)
        return proto_errf(errstr, errstr_size, KC_ERR_INVALID_RECORD,
                          "magic %d: Produce v3 and later take magic 2 batches only", magic);
    char msg[128];
    int err = proto_batch_header_parse(p, len, h, msg, sizeof(msg));
    if (err)
        return proto_errf(errstr, errstr_size, KC_ERR_CORRUPT_MESSAGE, "%s%s", msg,
                          err == KC_ERR__PARTIAL ? " (batchLength is larger than the data)" : "");
    if (proto_batch_size(h) != len)
        return proto_errf(errstr, errstr_size, KC_ERR_INVALID_RECORD,
                          "records: %zu bytes after the first batch (one batch per partition)",
                          len - proto_batch_size(h));
    if (proto_batch_verify_crc(p, len))
        return proto_errf(errstr, errstr_size, KC_ERR_CORRUPT_MESSAGE,
                          "batch: crc 0x%08x does not match the data", h->crc);
    return 0;
}

static int check_fields(const proto_batch_header_t *h, const proto_batch_validate_opts_t *o,
                        char *errstr, size_t errstr_size)
{
    int codec = h->attributes & PROTO_BATCH_ATTR_CODEC_MASK;
    if (codec > PROTO_CODEC_ZSTD || (codec == PROTO_CODEC_ZSTD && !o->allow_zstd))
        return proto_errf(errstr, errstr_size, KC_ERR_UNSUPPORTED_COMPRESSION_TYPE,
                          "attributes: codec %d is not accepted here", codec);
    if (h->record_count <= 0)
        return proto_errf(errstr, errstr_size, KC_ERR_INVALID_RECORD,
                          "recordCount %d: must be >= 1", h->record_count);
    if ((int64_t)h->last_offset_delta + 1 != h->record_count)
        return proto_errf(errstr, errstr_size, KC_ERR_INVALID_RECORD,
                          "lastOffsetDelta %d does not match recordCount %d", h->last_offset_delta,
                          h->record_count);
    if ((h->attributes & PROTO_BATCH_ATTR_CONTROL) && !o->from_coordinator)
        return proto_errf(errstr, errstr_size, KC_ERR_INVALID_RECORD,
                          "attributes: clients may not write control batches");
    if (!o->from_coordinator && h->producer_id >= 0 &&
        (h->producer_epoch < 0 || h->base_sequence < 0))
        return proto_errf(
            errstr, errstr_size, KC_ERR_INVALID_RECORD,
            "producerId %lld with producerEpoch %d and baseSequence %d: an idempotent "
            "batch needs both",
            (long long)h->producer_id, h->producer_epoch, h->base_sequence);
    if (h->producer_id < -1)
        return proto_errf(errstr, errstr_size, KC_ERR_INVALID_RECORD, "producerId %lld is invalid",
                          (long long)h->producer_id);
    if ((h->attributes & PROTO_BATCH_ATTR_TRANSACTIONAL) && h->producer_id < 0)
        return proto_errf(errstr, errstr_size, KC_ERR_INVALID_RECORD,
                          "attributes: a transactional batch needs a producerId");
    return 0;
}

/* Walks every record: lengths, offset deltas 0..n-1, exactly recordCount. */
static int walk_records(const uint8_t *p, size_t len, const proto_batch_header_t *h,
                        const proto_batch_validate_opts_t *o, char *errstr, size_t errstr_size)
{
    proto_batch_view_t v = {.data = p, .size = len, .magic = 2, .h = *h};
    proto_record_iter_t it;
    proto_record_t r;
    if (proto_record_iter_init(&it, &v, 0, o->scratch, o->max_decompressed)) {
        /* A batch that will not decompress is corrupt; a missing scratch
         * buffer or no memory is ours to report as it is. */
        int err = it.err == KC_ERR__INVALID_ARG || it.err == KC_ERR__NO_MEMORY
                      ? it.err
                      : KC_ERR_CORRUPT_MESSAGE;
        return proto_errf(errstr, errstr_size, err, "%s", it.errstr);
    }
    it.consecutive = 1;
    while (proto_record_iter_next(&it, &r)) {
    }
    if (it.err) return proto_errf(errstr, errstr_size, KC_ERR_CORRUPT_MESSAGE, "%s", it.errstr);
    return 0;
}

int proto_batch_validate(const void *data, size_t len, const proto_batch_validate_opts_t *opts,
                         proto_batch_header_t *h_out, char *errstr, size_t errstr_size)
{
    static const proto_batch_validate_opts_t none = {0};
    const proto_batch_validate_opts_t *o = opts ? opts : &none;
    proto_batch_header_t h;
    int err = check_framing(data, len, &h, errstr, errstr_size);
    if (!err) err = check_fields(&h, o, errstr, errstr_size);
    if (!err && ((h.attributes & PROTO_BATCH_ATTR_CODEC_MASK) == PROTO_CODEC_NONE || o->decompress))
        err = walk_records(data, len, &h, o, errstr, errstr_size);
    if (h_out && !err) *h_out = h;
    return err;
}
