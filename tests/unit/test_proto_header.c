/* Request and response headers: version choice and bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kc/kc_err.h"
#include "proto_header.h"
#include "proto_msg.h"
#include "proto_msgs.h"

static void test_header_versions(void **state)
{
    (void)state;
    assert_int_equal(proto_req_header_version(PROTO_API_METADATA, 8), 1);
    assert_int_equal(proto_req_header_version(PROTO_API_METADATA, 9), 2);
    assert_int_equal(proto_req_header_version(PROTO_API_PRODUCE, 9), 2);
    assert_int_equal(proto_req_header_version(PROTO_API_SASL_HANDSHAKE, 1), 1);
    assert_int_equal(proto_req_header_version(PROTO_API_API_VERSIONS, 2), 1);
    assert_int_equal(proto_req_header_version(PROTO_API_API_VERSIONS, 3), 2);
    /* Newer than the codec knows: still flexible, so the broker can answer. */
    assert_int_equal(proto_req_header_version(PROTO_API_API_VERSIONS, 127), 2);
    assert_int_equal(proto_req_header_version(4, 0), 1); /* unknown key */

    assert_int_equal(proto_resp_header_version(PROTO_API_METADATA, 8), 0);
    assert_int_equal(proto_resp_header_version(PROTO_API_METADATA, 9), 1);
    /* ApiVersions responses always use header v0. */
    assert_int_equal(proto_resp_header_version(PROTO_API_API_VERSIONS, 3), 0);
    assert_int_equal(proto_resp_header_version(PROTO_API_API_VERSIONS, 4), 0);
    assert_int_equal(proto_resp_header_version(PROTO_API_API_VERSIONS, 0), 0);
}

/* ApiVersions v3 request, header v2, as librdkafka sends it first. */
static void test_api_versions_v3_request(void **state)
{
    (void)state;
    static const uint8_t want[] = {
        0x00, 0x12, 0x00, 0x03, /* key 18, version 3 */
        0x00, 0x00, 0x00, 0x07, /* correlation id */
        0x00, 0x02, 'k',  'c',  /* client id: int16 length even in v2 */
        0x00,                   /* header tags */
        0x03, 'k',  'c',        /* ClientSoftwareName (compact) */
        0x04, '1',  '.',  '0',  /* ClientSoftwareVersion */
        0x00,                   /* body tags */
    };
    proto_wbuf_t w = {0};
    proto_req_header_t h = {.api_key = PROTO_API_API_VERSIONS,
                            .api_version = 3,
                            .correlation_id = 7,
                            .client_id = proto_str_of("kc")};
    proto_req_header_encode(&w, &h);
    proto_api_versions_request_t req;
    proto_msg_init(&proto_api_versions_request_desc, &req);
    req.client_software_name = proto_str_of("kc");
    req.client_software_version = proto_str_of("1.0");
    char err[128];
    assert_int_equal(
        proto_msg_encode(&proto_api_versions_request_desc, 3, &req, &w, err, sizeof(err)), 0);
    assert_int_equal(w.len, sizeof(want));
    assert_memory_equal(w.data, want, sizeof(want));

    proto_rbuf_t r;
    proto_rbuf_init(&r, want, sizeof(want));
    proto_req_header_t got;
    assert_int_equal(proto_req_header_decode(&r, &got), 0);
    assert_int_equal(got.api_key, 18);
    assert_int_equal(got.api_version, 3);
    assert_int_equal(got.correlation_id, 7);
    assert_int_equal(got.header_version, 2);
    assert_true(proto_str_eq(got.client_id, "kc"));
    proto_arena_t arena;
    proto_arena_init(&arena);
    proto_api_versions_request_t body;
    assert_int_equal(proto_request_decode(got.api_key, got.api_version, &r, &body, &arena), 0);
    assert_true(proto_str_eq(body.client_software_version, "1.0"));
    assert_int_equal(proto_rbuf_left(&r), 0);
    proto_arena_destroy(&arena);
    proto_wbuf_free(&w);
}

static void test_request_header_v1_null_client_id(void **state)
{
    (void)state;
    static const uint8_t want[] = {0x00, 0x03, 0x00, 0x01, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff};
    proto_wbuf_t w = {0};
    proto_req_header_t h = {.api_key = PROTO_API_METADATA,
                            .api_version = 1,
                            .correlation_id = -2,
                            .client_id = PROTO_NULL_SLICE};
    proto_req_header_encode(&w, &h);
    assert_int_equal(w.len, sizeof(want));
    assert_memory_equal(w.data, want, sizeof(want));
    proto_rbuf_t r;
    proto_rbuf_init(&r, want, sizeof(want));
    proto_req_header_t got;
    assert_int_equal(proto_req_header_decode(&r, &got), 0);
    assert_int_equal(got.header_version, 1);
    assert_int_equal(got.client_id.len, -1);
    assert_int_equal(got.correlation_id, -2);
    proto_wbuf_free(&w);
}

static void test_request_header_skips_unknown_tags(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x00, 0x03, 0x00, 0x0c, 0,    0,    0,    1,
                                 0x00, 0x00, 0x02, 0x00, 0x01, 0xaa, 0x05, 0x00, /* two tags */
                                 0x77};                                          /* body */
    proto_rbuf_t r;
    proto_rbuf_init(&r, in, sizeof(in));
    proto_req_header_t got;
    assert_int_equal(proto_req_header_decode(&r, &got), 0);
    assert_int_equal(got.header_version, 2);
    assert_int_equal(got.client_id.len, 0);
    assert_int_equal(proto_rbuf_left(&r), 1);

    /* A tag size past the end, and every strict prefix: errors, no crash. */
    static const uint8_t bad[] = {0x00, 0x03, 0x00, 0x0c, 0, 0, 0, 1, 0x00, 0x00, 0x01, 0x00, 0x09};
    proto_rbuf_init(&r, bad, sizeof(bad));
    assert_int_equal(proto_req_header_decode(&r, &got), KC_ERR__BAD_MSG);
    for (size_t n = 0; n < sizeof(in) - 1; n++) {
        proto_rbuf_init(&r, in, n);
        assert_int_equal(proto_req_header_decode(&r, &got), KC_ERR__BAD_MSG);
    }
}

static void test_response_headers(void **state)
{
    (void)state;
    proto_wbuf_t w = {0};
    proto_resp_header_encode(&w, 0, 0x01020304);
    proto_resp_header_encode(&w, 1, 5);
    static const uint8_t want[] = {1, 2, 3, 4, 0, 0, 0, 5, 0x00};
    assert_int_equal(w.len, sizeof(want));
    assert_memory_equal(w.data, want, sizeof(want));

    proto_rbuf_t r;
    int32_t corr;
    proto_rbuf_init(&r, want, sizeof(want));
    assert_int_equal(proto_resp_header_decode(&r, 0, &corr), 0);
    assert_int_equal(corr, 0x01020304);
    assert_int_equal(proto_resp_header_decode(&r, 1, &corr), 0);
    assert_int_equal(corr, 5);
    assert_int_equal(proto_rbuf_left(&r), 0);

    static const uint8_t tagged[] = {0, 0, 0, 9, 0x01, 0x03, 0x01, 0xee};
    proto_rbuf_init(&r, tagged, sizeof(tagged));
    assert_int_equal(proto_resp_header_decode(&r, 1, &corr), 0);
    assert_int_equal(corr, 9);
    assert_int_equal(proto_rbuf_left(&r), 0);
    proto_rbuf_init(&r, tagged, 4);
    assert_int_equal(proto_resp_header_decode(&r, 1, &corr), KC_ERR__BAD_MSG);
    proto_wbuf_free(&w);
}

/* A broker that does not know ApiVersions v4 answers error 35 in a v0 body. */
static void test_api_versions_fallback_to_v0(void **state)
{
    (void)state;
    static const uint8_t v0[] = {0x00, 0x23,             /* UNSUPPORTED_VERSION */
                                 0x00, 0x00, 0x00, 0x01, /* one key (classic array) */
                                 0x00, 0x12, 0x00, 0x00, 0x00, 0x03};
    proto_arena_t arena;
    proto_arena_init(&arena);
    proto_api_versions_response_t out;
    proto_rbuf_t r;
    proto_rbuf_init(&r, v0, sizeof(v0));
    int16_t ver = -1;
    assert_int_equal(proto_api_versions_response_decode(4, &r, &out, &arena, &ver), 0);
    assert_int_equal(ver, 0);
    assert_int_equal(out.error_code, 35);
    assert_int_equal(out.api_keys.n, 1);
    assert_int_equal(out.api_keys.v[0].max_version, 3);
    assert_int_equal(proto_rbuf_left(&r), 0);

    /* The requested version is used when it decodes. */
    static const uint8_t v3[] = {0, 0, 0x01, 0, 0, 0, 0, 0x00};
    proto_rbuf_init(&r, v3, sizeof(v3));
    assert_int_equal(proto_api_versions_response_decode(3, &r, &out, &arena, &ver), 0);
    assert_int_equal(ver, 3);

    /* Neither: the first error is reported. */
    proto_rbuf_init(&r, v0, 3);
    assert_int_equal(proto_api_versions_response_decode(3, &r, &out, &arena, NULL),
                     KC_ERR__BAD_MSG);
    assert_non_null(strstr(r.errstr, "ApiVersionsResponse v3"));
    proto_arena_destroy(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_versions),
        cmocka_unit_test(test_api_versions_v3_request),
        cmocka_unit_test(test_request_header_v1_null_client_id),
        cmocka_unit_test(test_request_header_skips_unknown_tags),
        cmocka_unit_test(test_response_headers),
        cmocka_unit_test(test_api_versions_fallback_to_v0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
