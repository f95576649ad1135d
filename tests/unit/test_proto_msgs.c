/* Round trips for every message and version the codec handles.
 *
 * For each API, request and response, and each version: fill a message with
 * pseudo-random values valid for that version (by walking the descriptors, so
 * a new API is covered without new test code), encode, decode, re-encode and
 * compare the bytes. Every strict prefix of each encoding must then fail to
 * decode (each prefix is copied into its own allocation, so ASan sees any read
 * past it). Default-initialised messages must round-trip too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kc/kc_err.h"
#include "proto_msg.h"
#include "proto_msgs.h"

#define ITERATIONS     24
#define MAX_FILL_DEPTH 6

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static unsigned long n_roundtrips, n_prefixes, n_versions;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static const char *const strings[] = {"",
                                      "a",
                                      "topic-1",
                                      "consumer-group",
                                      "\xc3\xbcml\xc3\xa4ut",
                                      "a-rather-longer-string-with-dashes-0123456789"};
static const uint8_t blob[64] = {0x00, 0x01, 0x02, 0xff, 0x80, 0x7f, 0x10, 0x20, 0x30,
                                 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0};

static bool in_range(int16_t v, int16_t lo, int16_t hi)
{
    return v >= lo && v <= hi;
}

typedef struct filler {
    int16_t ver;
    proto_arena_t *arena;
} filler_t;

static void fill_struct(filler_t *fl, const proto_struct_desc_t *s, void *out, int depth);

static void fill_value(filler_t *fl, const proto_field_desc_t *f, void *p, bool nullable, int depth)
{
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: *(bool *)p = rnd() & 1; break;
    case PROTO_T_INT8: *(int8_t *)p = (int8_t)rnd(); break;
    case PROTO_T_INT16: *(int16_t *)p = (int16_t)rnd(); break;
    case PROTO_T_UINT16: *(uint16_t *)p = (uint16_t)rnd(); break;
    case PROTO_T_INT32: *(int32_t *)p = (int32_t)rnd(); break;
    case PROTO_T_INT64: *(int64_t *)p = (int64_t)(((uint64_t)rnd() << 32) ^ rnd()); break;
    case PROTO_T_FLOAT64: *(double *)p = (double)(int32_t)rnd() / 7.0; break;
    case PROTO_T_UUID:
        for (int i = 0; i < 16; i++)
            ((proto_uuid_t *)p)->b[i] = (uint8_t)rnd();
        break;
    case PROTO_T_STRING:
        if (nullable && rnd() % 4 == 0)
            *(proto_str_t *)p = PROTO_NULL_SLICE;
        else
            *(proto_str_t *)p = proto_str_of(strings[rnd() % (sizeof(strings) / sizeof(*strings))]);
        break;
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS:
        if (nullable && rnd() % 4 == 0)
            *(proto_bytes_t *)p = PROTO_NULL_SLICE;
        else
            *(proto_bytes_t *)p = proto_slice_of(blob, rnd() % sizeof(blob));
        break;
    case PROTO_T_STRUCT:
        if (f->def_null && !f->is_array) {
            if (nullable && rnd() % 3 == 0) {
                *(void **)p = NULL;
                break;
            }
            void *sub = proto_arena_alloc(fl->arena, f->sub->size);
            assert_non_null(sub);
            *(void **)p = sub;
            p = sub;
        }
        fill_struct(fl, f->sub, p, depth + 1);
        break;
    }
}

static size_t elem_size(const proto_field_desc_t *f)
{
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: return sizeof(bool);
    case PROTO_T_INT8: return 1;
    case PROTO_T_INT16:
    case PROTO_T_UINT16: return 2;
    case PROTO_T_INT32: return 4;
    case PROTO_T_INT64:
    case PROTO_T_FLOAT64: return 8;
    case PROTO_T_STRING:
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS: return sizeof(proto_slice_t);
    case PROTO_T_UUID: return sizeof(proto_uuid_t);
    case PROTO_T_STRUCT: return f->sub->size;
    }
    return 0;
}

static void fill_struct(filler_t *fl, const proto_struct_desc_t *s, void *out, int depth)
{
    proto_struct_init(s, out);
    for (uint16_t i = 0; i < s->nfields; i++) {
        const proto_field_desc_t *f = &s->fields[i];
        if (!in_range(fl->ver, f->ver_lo, f->ver_hi)) continue;
        /* Leave some fields at their default, so "omit default tagged
         * fields" and default handling get exercised too. */
        if (rnd() % 8 == 0) continue;
        bool nullable = in_range(fl->ver, f->null_lo, f->null_hi);
        void *p = (uint8_t *)out + f->offset;
        if (!f->is_array) {
            fill_value(fl, f, p, nullable, depth);
            continue;
        }
        proto_array_t a = {NULL, 0};
        if (nullable && rnd() % 4 == 0) {
            a.n = -1;
        } else {
            a.n = depth < MAX_FILL_DEPTH ? (int32_t)(rnd() % 4) : 0;
            size_t es = elem_size(f);
            a.v = proto_arena_alloc(fl->arena, es * (size_t)a.n + 1);
            assert_non_null(a.v);
            for (int32_t j = 0; j < a.n; j++)
                fill_value(fl, f, (uint8_t *)a.v + (size_t)j * es, false, depth);
        }
        memcpy(p, &a, sizeof(a));
    }
}

/* Every strict prefix must fail, and reading must stay inside the prefix. */
static void check_prefixes(const proto_msg_desc_t *d, int16_t ver, const uint8_t *buf, size_t len,
                           void *scratch)
{
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, buf, n);
        proto_arena_t arena;
        proto_arena_init(&arena);
        proto_rbuf_t r;
        proto_rbuf_init(&r, copy, n);
        int err = proto_msg_decode(d, ver, &r, scratch, &arena);
        n_prefixes++;
        if (err == 0)
            fail_msg("%s v%d: the %zu-byte prefix of a %zu-byte encoding decoded", d->name, ver, n,
                     len);
        assert_int_equal(err, KC_ERR__BAD_MSG);
        assert_true(strstr(r.errstr, d->name) == r.errstr);
        proto_arena_destroy(&arena);
        free(copy);
    }
}

/* encode -> decode -> encode, comparing bytes; returns the first encoding. */
static void roundtrip(const proto_msg_desc_t *d, int16_t ver, const void *msg, proto_wbuf_t *w1,
                      void *scratch)
{
    char err[256];
    n_roundtrips++;
    proto_wbuf_reset(w1);
    int rc = proto_msg_encode(d, ver, msg, w1, err, sizeof(err));
    if (rc) fail_msg("%s v%d: encode failed: %s", d->name, ver, err);

    proto_arena_t arena;
    proto_arena_init(&arena);
    proto_rbuf_t r;
    proto_rbuf_init(&r, w1->data, w1->len);
    rc = proto_msg_decode(d, ver, &r, scratch, &arena);
    if (rc) fail_msg("%s v%d: decode failed: %s", d->name, ver, r.errstr);
    assert_int_equal(proto_rbuf_left(&r), 0);

    proto_wbuf_t w2 = {0};
    rc = proto_msg_encode(d, ver, scratch, &w2, err, sizeof(err));
    if (rc) fail_msg("%s v%d: re-encode failed: %s", d->name, ver, err);
    if (w2.len != w1->len || (w1->len && memcmp(w1->data, w2.data, w1->len) != 0))
        fail_msg("%s v%d: re-encoding differs (%zu vs %zu bytes)", d->name, ver, w1->len, w2.len);
    proto_wbuf_free(&w2);
    proto_arena_destroy(&arena);
}

static void run_message(const proto_msg_desc_t *d)
{
    void *msg = calloc(1, d->root->size);
    void *scratch = calloc(1, d->root->size);
    assert_non_null(msg);
    assert_non_null(scratch);
    proto_wbuf_t w = {0};
    for (int16_t ver = d->min_ver; ver <= d->max_ver; ver++) {
        n_versions++;
        /* Defaults first: an initialised message encodes in every version. */
        proto_msg_init(d, msg);
        roundtrip(d, ver, msg, &w, scratch);
        check_prefixes(d, ver, w.data, w.len, scratch);
        for (int it = 0; it < ITERATIONS; it++) {
            proto_arena_t arena;
            proto_arena_init(&arena);
            filler_t fl = {ver, &arena};
            fill_struct(&fl, d->root, msg, 0);
            roundtrip(d, ver, msg, &w, scratch);
            if (it < 6) check_prefixes(d, ver, w.data, w.len, scratch);
            proto_arena_destroy(&arena);
        }
    }
    proto_wbuf_free(&w);
    free(msg);
    free(scratch);
}

static void test_api(void **state)
{
    const proto_api_t *api = *state;
    assert_int_equal(api->request->api_key, api->key);
    assert_int_equal(api->response->api_key, api->key);
    assert_true(api->request->is_request);
    assert_false(api->response->is_request);
    run_message(api->request);
    run_message(api->response);
}

int main(void)
{
    size_t n = proto_api_count();
    struct CMUnitTest *tests = calloc(n, sizeof(*tests));
    char(*names)[64] = calloc(n, sizeof(*names));
    if (!tests || !names) return 1;
    for (size_t i = 0; i < n; i++) {
        const proto_api_t *api = proto_api_at(i);
        snprintf(names[i], sizeof(names[i]), "roundtrip_%s_v%d_%d", api->name, api->min_ver,
                 api->max_ver);
        tests[i] = (struct CMUnitTest){names[i], test_api, NULL, NULL, (void *)api};
    }
    int rc = _cmocka_run_group_tests("proto_msgs", tests, n, NULL, NULL);
    print_message("%lu message versions, %lu round trips, %lu truncated decodes\n", n_versions,
                  n_roundtrips, n_prefixes);
    free(tests);
    free(names);
    return rc;
}
