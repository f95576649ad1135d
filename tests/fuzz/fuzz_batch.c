/* Record data as a consumer or a broker meets it: the records field of a
 * Fetch response or a Produce request, magic 2 batches and legacy message
 * sets alike, compressed or not.
 *
 * Byte 0 is a flag byte, the rest the data:
 *   bit 0    check CRCs while iterating (off lets the fuzzer past them)
 *   bit 1    validate as a batch from the transaction coordinator
 *   bit 7    instead, treat the data as a compressed blob of codec (bits 4-6)
 * Decompression is bounded by FUZZ_MAX_DECOMPRESS throughout. */
#include <string.h>

#include "fuzz.h"
#include "kc/kc_err.h"
#include "proto/proto_batch.h"
#include "proto/proto_compress.h"
#include "proto/proto_legacy.h"
#include "proto/proto_record.h"

/* What iterating a record stream saw: enough to compare two streams. */
typedef struct seen {
    int err;
    int records;
    int batches;
    uint64_t digest; /* offsets, timestamps, keys, values, headers, in order */
} seen_t;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL; /* FNV-1a */
    return h;
}

static uint64_t mix_slice(uint64_t h, proto_slice_t s)
{
    h = mix(h, &s.len, sizeof(s.len));
    return s.len > 0 ? mix(h, s.ptr, (size_t)s.len) : h;
}

static void walk_record(seen_t *s, const proto_batch_view_t *v, const proto_record_t *r)
{
    s->records++;
    s->digest = mix(s->digest, &r->offset, sizeof(r->offset));
    s->digest = mix(s->digest, &r->timestamp, sizeof(r->timestamp));
    s->digest = mix_slice(s->digest, r->key);
    s->digest = mix_slice(s->digest, r->value);
    proto_header_iter_t hi;
    proto_record_header_t h;
    proto_header_iter_init(&hi, r);
    int n = 0;
    while (proto_header_iter_next(&hi, &h)) {
        s->digest = mix_slice(mix_slice(s->digest, h.key), h.value);
        n++;
    }
    FUZZ_CHECK(n == r->header_count || (r->header_count < 0 && n == 0),
               "%d headers walked, record says %d", n, (int)r->header_count);
    if (proto_batch_view_is_control(v)) {
        int16_t type;
        int32_t epoch;
        (void)proto_control_record_parse(r, &type, &epoch);
    }
}

/* Iterates every entry and record of data[0..len). */
static seen_t walk(const uint8_t *data, size_t len, int check_crc, proto_wbuf_t *scratch)
{
    seen_t s = {.digest = 0xcbf29ce484222325ULL};
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    proto_batch_iter_init(&bi, data, len);
    while (proto_batch_iter_next(&bi, &v)) {
        FUZZ_CHECK(v.data >= data && v.size <= len && v.data + v.size <= data + len,
                   "batch view outside the input");
        s.batches++;
        proto_record_iter_t ri;
        proto_record_t r;
        if (proto_record_iter_init(&ri, &v, check_crc, scratch, FUZZ_MAX_DECOMPRESS) == 0)
            while (proto_record_iter_next(&ri, &r))
                walk_record(&s, &v, &r);
        if (ri.err) {
            FUZZ_CHECK(ri.errstr[0], "record iterator error %d without a message", ri.err);
            if (!s.err) s.err = ri.err;
        }
    }
    if (bi.err) {
        FUZZ_CHECK(bi.errstr[0], "batch iterator error %d without a message", bi.err);
        if (!s.err) s.err = bi.err;
    }
    return s;
}

/* A broker's check: what it accepts, a consumer must read in full. */
static void validate(const uint8_t *data, size_t len, int from_coordinator, proto_wbuf_t *scratch)
{
    proto_batch_validate_opts_t o = {.allow_zstd = 1,
                                     .from_coordinator = from_coordinator,
                                     .decompress = 1,
                                     .scratch = scratch,
                                     .max_decompressed = FUZZ_MAX_DECOMPRESS};
    proto_batch_header_t h;
    char errstr[256] = "";
    if (proto_batch_validate(data, len, &o, &h, errstr, sizeof(errstr)) != 0) {
        FUZZ_CHECK(errstr[0], "validate failed without a message");
        return;
    }
    seen_t s = walk(data, len, 1, scratch);
    FUZZ_CHECK(s.err == 0 && s.batches == 1 && s.records == h.record_count,
               "validated batch reads back as err %d, %d batches, %d of %d records", s.err,
               s.batches, s.records, (int)h.record_count);
}

/* Legacy entries converted to magic 2 must read back as the same records. */
static void convert(const uint8_t *data, size_t len, int check_crc, const seen_t *orig,
                    proto_wbuf_t *scratch)
{
    proto_wbuf_t out = {0};
    char errstr[256] = "";
    int rc = proto_legacy_to_batches(data, len, &out, check_crc, scratch, FUZZ_MAX_DECOMPRESS,
                                     errstr, sizeof(errstr));
    if (rc == 0 && !out.oom && orig->err == 0) {
        /* Copied magic 2 batches keep their CRCs, so read back as the input was. */
        proto_wbuf_t scratch2 = {0};
        seen_t s = walk(out.data, out.len, check_crc, &scratch2);
        FUZZ_CHECK(s.err == 0 && s.records == orig->records && s.digest == orig->digest,
                   "conversion changed the records: %d -> %d (error %d)", orig->records, s.records,
                   s.err);
        proto_wbuf_free(&scratch2);
    } else if (rc) {
        FUZZ_CHECK(errstr[0], "legacy conversion failed without a message");
    }
    proto_wbuf_free(&out);
}

/* Bounded decompression of a raw blob, and compress -> decompress identity. */
static void codec(int c, const uint8_t *data, size_t len)
{
    /* Not {0}: appending 0 bytes to an empty buffer computes NULL + 0 in
     * proto_wbuf_reserve (known-bugs/fuzz_batch-wbuf-null-plus-zero). */
    proto_wbuf_t out;
    proto_wbuf_init(&out, 0);
    char errstr[256] = "";
    int rc = proto_decompress(c, data, len, FUZZ_MAX_DECOMPRESS, &out, errstr, sizeof(errstr));
    if (rc == 0)
        FUZZ_CHECK(out.len <= FUZZ_MAX_DECOMPRESS, "%zu bytes out past the limit", out.len);
    else
        FUZZ_CHECK(out.len == 0, "failed decompression left %zu bytes", out.len);
    proto_wbuf_free(&out);

    if (c < PROTO_CODEC_GZIP || c > PROTO_CODEC_ZSTD) return;
    proto_wbuf_t z, back;
    proto_wbuf_init(&z, 0);
    proto_wbuf_init(&back, 0);
    rc = proto_compress(c, -1, data, len, &z, errstr, sizeof(errstr));
    FUZZ_CHECK(rc == 0, "%s: compress failed: %s", proto_codec_name(c), errstr);
    rc = proto_decompress(c, z.data, z.len, len, &back, errstr, sizeof(errstr));
    FUZZ_CHECK(rc == 0 && back.len == len && (len == 0 || !memcmp(back.data, data, len)),
               "%s: round trip of %zu bytes failed: %s", proto_codec_name(c), len, errstr);
    proto_wbuf_free(&z);
    proto_wbuf_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t flags = data[0];
    data++;
    size--;
    if (flags & 0x80) {
        codec((flags >> 4) & 7, data, size);
        return 0;
    }
    int check_crc = flags & 1;
    proto_wbuf_t scratch = {0};
    seen_t s = walk(data, size, check_crc, &scratch);
    validate(data, size, (flags >> 1) & 1, &scratch);
    convert(data, size, check_crc, &s, &scratch);
    proto_wbuf_free(&scratch);
    return 0;
}
