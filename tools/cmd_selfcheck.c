/* kc selfcheck: exercises the wire format end to end without a network, so a
 * user can see in one command that this build of kc encodes and decodes what
 * it should on this machine:
 *   - every message of every API, every version: defaults encoded, decoded,
 *     re-encoded to the same bytes;
 *   - record batches with every codec: built, parsed, every record compared;
 *   - CRC-32C, CRC-32 and murmur2 against their published vectors.
 * Exit status 0 when everything passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/kc.h"
#include "proto/proto_batch.h"
#include "proto/proto_compress.h"
#include "proto/proto_crc.h"
#include "proto/proto_msg.h"
#include "proto/proto_record.h"
#include "tools.h"

typedef struct check {
    int passed;
    int failed;
} check_t;

static void report(check_t *c, int ok, const char *fmt, const char *what)
{
    if (ok) {
        c->passed++;
        return;
    }
    c->failed++;
    fprintf(stderr, "selfcheck: FAILED: ");
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
}

/* Defaults of one message version, encoded twice with a decode in between. */
static int message_round_trip(const proto_msg_desc_t *d, int16_t v, char *err, size_t errn)
{
    void *msg = calloc(1, d->root->size), *back = calloc(1, d->root->size);
    proto_wbuf_t a = {0}, b = {0};
    proto_arena_t arena;
    proto_arena_init(&arena);
    int ok = 0;
    if (msg && back) {
        proto_msg_init(d, msg);
        if (proto_msg_encode(d, v, msg, &a, err, errn) == 0) {
            proto_rbuf_t r;
            proto_rbuf_init(&r, a.data, a.len);
            if (proto_msg_decode(d, v, &r, back, &arena) != 0)
                snprintf(err, errn, "%s", r.errstr);
            else if (proto_msg_encode(d, v, back, &b, err, errn) == 0)
                ok = a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0) &&
                     proto_rbuf_left(&r) == 0;
        }
    }
    if (!ok && !err[0]) snprintf(err, errn, "re-encoding differs");
    proto_arena_destroy(&arena);
    proto_wbuf_free(&a);
    proto_wbuf_free(&b);
    free(msg);
    free(back);
    return ok;
}

static void check_messages(check_t *c)
{
    int versions = 0, apis = 0;
    for (size_t i = 0; i < proto_api_count(); i++) {
        const proto_api_t *api = proto_api_at(i);
        apis++;
        for (int16_t v = api->min_ver; v <= api->max_ver; v++) {
            const proto_msg_desc_t *ds[2] = {api->request, api->response};
            for (int k = 0; k < 2; k++) {
                char err[256] = "", what[320];
                int ok = message_round_trip(ds[k], v, err, sizeof(err));
                snprintf(what, sizeof(what), "%s v%d: %s", ds[k]->name, v, err);
                report(c, ok, "%s", what);
            }
            versions++;
        }
    }
    printf("  messages: %d APIs, %d versions, requests and responses round-tripped\n", apis,
           versions);
}

/* 1000 records with keys, values, nulls and headers through one codec. */
static int batch_round_trip(int codec, char *err, size_t errn)
{
    enum { N = 1000 };
    proto_wbuf_t out = {0}, scratch = {0}, plain = {0};
    proto_batch_builder_t bb;
    proto_batch_params_t params = PROTO_BATCH_PARAMS_INIT;
    int ok = proto_batch_builder_begin(&bb, &out, &params) == 0;
    proto_record_header_t hdr = {proto_str_of("trace"), proto_slice_of("abc", 3)};
    for (int i = 0; ok && i < N; i++) {
        char key[32], value[64];
        int kl = snprintf(key, sizeof(key), "key-%d", i);
        int vl = snprintf(value, sizeof(value), "value-%d-%s", i, "xxxxxxxxxxxxxxxxxxxx");
        ok = proto_batch_builder_append(&bb, 1700000000000LL + i, i % 7 ? key : NULL,
                                        i % 7 ? kl : -1, value, vl, i % 3 ? NULL : &hdr,
                                        i % 3 ? 0 : 1) == 0;
    }
    if (ok) ok = proto_batch_builder_finish(&bb, codec, -1, &scratch, err, errn) == 0;
    int seen = 0;
    if (ok) {
        proto_batch_iter_t bi;
        proto_batch_view_t v;
        proto_batch_iter_init(&bi, out.data, out.len);
        while (ok && proto_batch_iter_next(&bi, &v)) {
            proto_record_iter_t ri;
            proto_record_t r;
            if (proto_record_iter_init(&ri, &v, 1, &plain, 0) != 0) {
                snprintf(err, errn, "%s", ri.errstr);
                ok = 0;
                break;
            }
            while (ok && proto_record_iter_next(&ri, &r)) {
                char value[64];
                int vl =
                    snprintf(value, sizeof(value), "value-%d-%s", seen, "xxxxxxxxxxxxxxxxxxxx");
                ok = r.offset == seen && r.timestamp == 1700000000000LL + seen &&
                     r.value.len == vl && memcmp(r.value.ptr, value, (size_t)vl) == 0 &&
                     (seen % 7 ? r.key.len > 0 : r.key.len == -1) &&
                     r.header_count == (seen % 3 ? 0 : 1);
                seen++;
            }
            if (ri.err) {
                snprintf(err, errn, "%s", ri.errstr);
                ok = 0;
            }
        }
        if (bi.err) {
            snprintf(err, errn, "%s", bi.errstr);
            ok = 0;
        }
    }
    if (ok && seen != N) {
        snprintf(err, errn, "%d of %d records came back", seen, N);
        ok = 0;
    }
    proto_wbuf_free(&out);
    proto_wbuf_free(&scratch);
    proto_wbuf_free(&plain);
    return ok;
}

static void check_batches(check_t *c)
{
    const int codecs[] = {PROTO_CODEC_NONE, PROTO_CODEC_GZIP, PROTO_CODEC_SNAPPY, PROTO_CODEC_LZ4,
                          PROTO_CODEC_ZSTD};
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        char err[256] = "", what[320];
        int ok = batch_round_trip(codecs[i], err, sizeof(err));
        snprintf(what, sizeof(what), "record batch with %s: %s", proto_codec_name(codecs[i]), err);
        report(c, ok, "%s", what);
    }
    printf("  record batches: 1000 records each with none, gzip, snappy, lz4, zstd\n");
}

static void check_hashes(check_t *c)
{
    const char *digits = "123456789";
    report(c, proto_crc32c(0, digits, 9) == 0xE3069283u, "%s", "CRC-32C vector");
    report(c, proto_crc32c_sw(0, digits, 9) == 0xE3069283u, "%s", "CRC-32C table vector");
    report(c, proto_crc32(0, digits, 9) == 0xCBF43926u, "%s", "CRC-32 vector");
    report(c, (int32_t)proto_murmur2("21", 2) == -973932308, "%s", "murmur2 vector");
    report(c, proto_murmur2("kafka", 5) == 0xd067cf64u, "%s", "murmur2 vector");
    printf("  checksums: CRC-32C (%s), CRC-32, murmur2 match their vectors\n", proto_crc32c_impl());
}

int tool_selfcheck(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: kc selfcheck\n");
        return 2;
    }
    check_t c = {0, 0};
    printf("kc %s selfcheck\n", kc_version_str());
    check_messages(&c);
    check_batches(&c);
    check_hashes(&c);
    printf("selfcheck: %d passed, %d failed\n", c.passed, c.failed);
    return c.failed ? 1 : 0;
}
