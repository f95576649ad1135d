/* The codec against bytes real clients and a real broker put on the wire
 * (tests/fixtures/wire, see its README): every captured frame decodes at its
 * captured version, its key fields match what the capture tool read from it
 * independently (MANIFEST.tsv), record sets inside parse with the record
 * iterators, and re-encoding the decoded message gives the same bytes. The
 * only exceptions are frames listed in `malformed`, which no codec should
 * accept whole. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kc/kc_err.h"
#include "proto/proto_header.h"
#include "proto/proto_msg.h"
#include "proto/proto_record.h"
#include "proto_msgs.h"

#define WIRE_DIR   KC_TEST_FIXTURES "/wire"
#define MAX_TOPICS 8

/* Frames a real peer sent that are not valid at their version. The codec must
 * notice (fail, or leave bytes unread) while still reading the error code a
 * client needs to fall back. */
static const struct {
    const char *client, *file, *why;
    int error_code;
} malformed[] = {
    /* librdkafka 2.0.2's mock answers ApiVersions v3 (above its max, 2) with
     * error 35 in a body that is neither v0 nor v3: the key count is written
     * as one byte holding N instead of the compact N+1, and the tagged-field
     * bytes are missing. librdkafka then retries with v0. */
    {"kcat", "001-resp-ApiVersions-v3.bin", "mock's hand-written flexible ApiVersions", 35},
    {"confluent", "001-resp-ApiVersions-v3.bin", "mock's hand-written flexible ApiVersions", 35},
};

/* ---- reading the fixtures ---------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
            fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* One MANIFEST.tsv line. */
typedef struct row {
    char file[96];
    char kind[8];
    int api_key, api_version;
    int32_t correlation_id;
    char client_id[96];
    char topics[128];     /* comma-separated, or "-" */
    int batches, records; /* -1 when "-" */
} row_t;

static int parse_row(char *line, row_t *r)
{
    char *col[9];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(line, "\t\n", &save); tok && n < 9;
         tok = strtok_r(NULL, "\t\n", &save))
        col[n++] = tok;
    if (n != 9) return -1;
    snprintf(r->file, sizeof(r->file), "%s", col[0]);
    snprintf(r->kind, sizeof(r->kind), "%s", col[1]);
    r->api_key = atoi(col[2]);
    r->api_version = atoi(col[3]);
    r->correlation_id = (int32_t)atol(col[4]);
    snprintf(r->client_id, sizeof(r->client_id), "%s", col[5]);
    snprintf(r->topics, sizeof(r->topics), "%s", col[6]);
    r->batches = strcmp(col[7], "-") ? atoi(col[7]) : -1;
    r->records = strcmp(col[8], "-") ? atoi(col[8]) : -1;
    return 0;
}

/* ---- walking a decoded message through its descriptors ---------------------- */

typedef struct found {
    char topics[MAX_TOPICS][64];
    int ntopics;
    int batches, records;
    int record_sets;
    char err[256]; /* first record-level problem */
} found_t;

static size_t value_size(const proto_field_desc_t *f)
{
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: return sizeof(_Bool);
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

static int is_topic_name(const proto_struct_desc_t *s, const proto_field_desc_t *f)
{
    if (f->type != PROTO_T_STRING) return 0;
    if (!strcmp(f->name, "Topic") || !strcmp(f->name, "TopicName")) return 1;
    return !strcmp(f->name, "Name") && strstr(s->name, "Topic") != NULL;
}

static void add_topic(found_t *fd, proto_str_t s)
{
    if (s.len < 0) return;
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)s.len, (const char *)s.ptr);
    for (int i = 0; i < fd->ntopics; i++)
        if (!strcmp(fd->topics[i], name)) return;
    if (fd->ntopics < MAX_TOPICS) snprintf(fd->topics[fd->ntopics++], 64, "%s", name);
}

/* Batches and records of one records field, every record read and every CRC
 * checked; decompression bounded. */
static void count_records(found_t *fd, proto_bytes_t recs)
{
    if (recs.len <= 0) return;
    fd->record_sets++;
    proto_wbuf_t scratch = {0};
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    proto_batch_iter_init(&bi, recs.ptr, (size_t)recs.len);
    while (proto_batch_iter_next(&bi, &v)) {
        proto_record_iter_t ri;
        proto_record_t r;
        fd->batches++;
        if (proto_record_iter_init(&ri, &v, 1, &scratch, 1 << 20) == 0)
            while (proto_record_iter_next(&ri, &r))
                fd->records++;
        if (ri.err && !fd->err[0])
            snprintf(fd->err, sizeof(fd->err), "record iterator: %s", ri.errstr);
    }
    if (bi.err && !fd->err[0]) snprintf(fd->err, sizeof(fd->err), "batch iterator: %s", bi.errstr);
    proto_wbuf_free(&scratch);
}

static void walk_struct(const proto_struct_desc_t *s, const void *base, int16_t ver, found_t *fd);

static void walk_value(const proto_struct_desc_t *s, const proto_field_desc_t *f, const void *p,
                       int16_t ver, found_t *fd)
{
    if (is_topic_name(s, f)) {
        proto_str_t str;
        memcpy(&str, p, sizeof(str));
        add_topic(fd, str);
    } else if (f->type == PROTO_T_RECORDS) {
        proto_bytes_t b;
        memcpy(&b, p, sizeof(b));
        count_records(fd, b);
    } else if (f->type == PROTO_T_STRUCT) {
        walk_struct(f->sub, p, ver, fd);
    }
}

static void walk_struct(const proto_struct_desc_t *s, const void *base, int16_t ver, found_t *fd)
{
    for (uint16_t i = 0; i < s->nfields; i++) {
        const proto_field_desc_t *f = &s->fields[i];
        if (ver < f->ver_lo || ver > f->ver_hi) continue;
        const uint8_t *p = (const uint8_t *)base + f->offset;
        if (f->is_array) {
            proto_array_t a;
            memcpy(&a, p, sizeof(a));
            for (int32_t k = 0; k < a.n; k++)
                walk_value(s, f, (const uint8_t *)a.v + (size_t)k * value_size(f), ver, fd);
        } else if (f->type == PROTO_T_STRUCT && f->def_null) {
            const void *sub;
            memcpy(&sub, p, sizeof(sub));
            if (sub) walk_struct(f->sub, sub, ver, fd);
        } else {
            walk_value(s, f, p, ver, fd);
        }
    }
}

/* ---- checking one frame ------------------------------------------------------- */

typedef struct ctx {
    const char *client;
    int failures;
    int frames, reencoded_equal;
} ctx_t;

static void fail_frame(ctx_t *c, const row_t *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_frame(ctx_t *c, const row_t *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    print_error("%s/%s: %s\n", c->client, r->file, msg);
    c->failures++;
}

static int malformed_index(const ctx_t *c, const row_t *r)
{
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
        if (!strcmp(malformed[i].client, c->client) && !strcmp(malformed[i].file, r->file))
            return (int)i;
    return -1;
}

/* A known-malformed ApiVersions answer: the codec must not take it whole, yet
 * its leading error code must come through. */
static void check_malformed(ctx_t *c, const row_t *r, int m, int rc, const proto_rbuf_t *rb,
                            const void *msg)
{
    if (rc == 0 && proto_rbuf_left(rb) == 0)
        fail_frame(c, r, "known malformed (%s) but decoded cleanly", malformed[m].why);
    if (r->api_key == PROTO_API_API_VERSIONS) {
        const proto_api_versions_response_t *av = msg;
        if (av->error_code != malformed[m].error_code)
            fail_frame(c, r, "error code %d, expected %d", av->error_code, malformed[m].error_code);
    }
}

static void check_topics_and_records(ctx_t *c, const row_t *r, const found_t *fd)
{
    for (int i = 0; i < fd->ntopics; i++)
        if (strcmp(fd->topics[i], "fixtures"))
            fail_frame(c, r, "unexpected topic name '%s'", fd->topics[i]);
    if (fd->err[0]) fail_frame(c, r, "%s", fd->err);
    if (strcmp(r->topics, "-")) {
        /* The capture tool's list, each name once. */
        char want[128];
        snprintf(want, sizeof(want), "%s", r->topics);
        int nwant = 0;
        for (char *save = NULL, *t = strtok_r(want, ",", &save); t;
             t = strtok_r(NULL, ",", &save)) {
            int seen = 0;
            for (int i = 0; i < fd->ntopics; i++)
                seen |= !strcmp(fd->topics[i], t);
            if (!seen) fail_frame(c, r, "topic '%s' not decoded", t);
            nwant++;
        }
        if (fd->ntopics > nwant)
            fail_frame(c, r, "%d topics decoded, %d expected", fd->ntopics, nwant);
    }
    if (r->batches >= 0 && (fd->batches != r->batches || fd->records != r->records))
        fail_frame(c, r, "%d batches / %d records decoded, capture counted %d / %d", fd->batches,
                   fd->records, r->batches, r->records);
}

static void check_reencode(ctx_t *c, const row_t *r, const uint8_t *frame, size_t len,
                           const proto_wbuf_t *w, int rc, const char *errstr)
{
    int same = rc == 0 && !w->oom && w->len == len && !memcmp(w->data, frame, len);
    if (same) {
        c->reencoded_equal++;
        return;
    }
    if (rc) {
        fail_frame(c, r, "re-encode failed: %s (%s)", kc_err_name(rc), errstr);
        return;
    }
    size_t at = 0;
    while (at < len && at < w->len && frame[at] == w->data[at])
        at++;
    fail_frame(c, r, "re-encoded %zu bytes differ from the %zu captured, first at byte %zu", w->len,
               len, at);
}

static void check_request(ctx_t *c, const row_t *r, const uint8_t *frame, size_t len)
{
    proto_rbuf_t rb;
    proto_req_header_t h;
    proto_rbuf_init(&rb, frame, len);
    if (proto_req_header_decode(&rb, &h)) {
        fail_frame(c, r, "header: %s", rb.errstr);
        return;
    }
    char cid[96];
    snprintf(cid, sizeof(cid), "%.*s", h.client_id.len < 0 ? 1 : (int)h.client_id.len,
             h.client_id.len < 0 ? "-" : (const char *)h.client_id.ptr);
    if (h.api_key != r->api_key || h.api_version != r->api_version ||
        h.correlation_id != r->correlation_id || strcmp(cid, r->client_id))
        fail_frame(c, r, "header says key %d v%d corr %d client '%s'", h.api_key, h.api_version,
                   (int)h.correlation_id, cid);

    const proto_api_t *api = proto_api_find(h.api_key);
    if (!api) {
        fail_frame(c, r, "API key %d unknown to the codec", h.api_key);
        return;
    }
    proto_arena_t arena;
    proto_arena_init(&arena);
    void *msg = calloc(1, api->request->root->size);
    assert_non_null(msg);
    if (proto_request_decode(h.api_key, h.api_version, &rb, msg, &arena)) {
        fail_frame(c, r, "body: %s", rb.errstr);
    } else {
        if (proto_rbuf_left(&rb))
            fail_frame(c, r, "%zu bytes left after the body", proto_rbuf_left(&rb));
        found_t fd = {0};
        walk_struct(api->request->root, msg, h.api_version, &fd);
        check_topics_and_records(c, r, &fd);

        proto_wbuf_t w = {0};
        char errstr[256] = "";
        proto_req_header_encode(&w, &h);
        int rc = proto_request_encode(h.api_key, h.api_version, msg, &w, errstr, sizeof(errstr));
        check_reencode(c, r, frame, len, &w, rc, errstr);
        proto_wbuf_free(&w);
    }
    free(msg);
    proto_arena_destroy(&arena);
}

static void check_response(ctx_t *c, const row_t *r, const uint8_t *frame, size_t len)
{
    int16_t key = (int16_t)r->api_key, ver = (int16_t)r->api_version;
    const proto_api_t *api = proto_api_find(key);
    if (!api) {
        fail_frame(c, r, "API key %d unknown to the codec", key);
        return;
    }
    proto_rbuf_t rb;
    int32_t corr = 0;
    int hv = proto_resp_header_version(key, ver);
    proto_rbuf_init(&rb, frame, len);
    if (proto_resp_header_decode(&rb, hv, &corr)) {
        fail_frame(c, r, "header: %s", rb.errstr);
        return;
    }
    if (corr != r->correlation_id) fail_frame(c, r, "correlation id %d", (int)corr);

    proto_arena_t arena;
    proto_arena_init(&arena);
    void *msg = calloc(1, api->response->root->size);
    assert_non_null(msg);
    int rc = proto_response_decode(key, ver, &rb, msg, &arena);
    int m = malformed_index(c, r);
    if (m >= 0) {
        check_malformed(c, r, m, rc, &rb, msg);
    } else if (rc) {
        fail_frame(c, r, "body: %s", rb.errstr);
    } else {
        if (proto_rbuf_left(&rb))
            fail_frame(c, r, "%zu bytes left after the body", proto_rbuf_left(&rb));
        found_t fd = {0};
        walk_struct(api->response->root, msg, ver, &fd);
        check_topics_and_records(c, r, &fd);

        proto_wbuf_t w = {0};
        char errstr[256] = "";
        proto_resp_header_encode(&w, hv, corr);
        rc = proto_response_encode(key, ver, msg, &w, errstr, sizeof(errstr));
        check_reencode(c, r, frame, len, &w, rc, errstr);
        proto_wbuf_free(&w);
    }
    free(msg);
    proto_arena_destroy(&arena);
}

/* ---- one client folder -------------------------------------------------------- */

static int count_bin_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        n += l > 4 && !strcmp(e->d_name + l - 4, ".bin");
    }
    closedir(d);
    return n;
}

static void check_client(const char *client, int min_frames)
{
    char dir[512], path[700], line[1024];
    snprintf(dir, sizeof(dir), "%s/%s", WIRE_DIR, client);
    snprintf(path, sizeof(path), "%s/MANIFEST.tsv", dir);
    FILE *mf = fopen(path, "r");
    assert_non_null(mf);
    ctx_t c = {.client = client};
    while (fgets(line, sizeof(line), mf)) {
        row_t r;
        if (line[0] == '#') continue;
        assert_int_equal(parse_row(line, &r), 0);
        snprintf(path, sizeof(path), "%s/%s", dir, r.file);
        size_t len = 0;
        uint8_t *buf = read_file(path, &len);
        assert_non_null(buf);
        c.frames++;
        /* Frames are stored whole: the size prefix must match the file. */
        uint32_t size = len >= 4 ? (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
                                       (uint32_t)buf[2] << 8 | buf[3]
                                 : 0;
        if (len < 4 || size != len - 4)
            fail_frame(&c, &r, "size prefix %u for a %zu-byte file", (unsigned)size, len);
        else if (!strcmp(r.kind, "req"))
            check_request(&c, &r, buf + 4, len - 4);
        else
            check_response(&c, &r, buf + 4, len - 4);
        free(buf);
    }
    fclose(mf);
    print_message("%s: %d frames, %d re-encode byte for byte\n", client, c.frames,
                  c.reencoded_equal);
    assert_int_equal(count_bin_files(dir), c.frames);
    assert_true(c.frames >= min_frames);
    assert_int_equal(c.failures, 0);
}

static void test_kcat(void **state)
{
    check_client("kcat", 12);
}

static void test_kafka_python(void **state)
{
    check_client("kafka-python", 24);
}

static void test_confluent(void **state)
{
    check_client("confluent", 10);
}

static void test_kafkajs(void **state)
{
    check_client("kafkajs", 24);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kcat),
        cmocka_unit_test(test_kafka_python),
        cmocka_unit_test(test_confluent),
        cmocka_unit_test(test_kafkajs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
