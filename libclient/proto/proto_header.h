/* Request and response headers.
 *
 * Request header v1: api_key int16, api_version int16, correlation_id int32,
 * client_id nullable string (int16 length, even in v2). v2 adds a tagged-field
 * section. A request uses v2 when its body version is flexible.
 * Response header v0: correlation_id int32; v1 adds a tagged-field section and
 * is used when the response body is flexible, except for ApiVersions, whose
 * responses always use v0 so that a client that does not know the broker's
 * versions yet can read them.
 */
#ifndef PROTO_HEADER_H
#define PROTO_HEADER_H

#include <stdint.h>

#include "proto_arena.h"
#include "proto_buf.h"

typedef struct proto_req_header {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    proto_str_t client_id; /* borrowed; null allowed */
    int8_t header_version; /* set by decode: 1 or 2 */
} proto_req_header_t;

/* The request header version (1 or 2) for a request of api_key at
 * api_version. Unknown keys get 1. ApiVersions above the newest known version
 * count as flexible, so their header (v2) is still read correctly and the
 * broker can answer UNSUPPORTED_VERSION. */
int proto_req_header_version(int16_t api_key, int16_t api_version);

/* The response header version (0 or 1) for a response of api_key at
 * api_version. ApiVersions is always 0. */
int proto_resp_header_version(int16_t api_key, int16_t api_version);

/* Reads api_key and api_version first, picks the header version from them,
 * then reads the rest; unknown tagged fields are skipped. client_id points
 * into r's buffer. Returns 0 or a kc_err_t (r->err/errstr set). */
int proto_req_header_decode(proto_rbuf_t *r, proto_req_header_t *h);

/* Appends h in the header version that h->api_key/api_version call for
 * (h->header_version is ignored). */
void proto_req_header_encode(proto_wbuf_t *w, const proto_req_header_t *h);

/* Response headers: header_version is 0 or 1 (see proto_resp_header_version). */
int proto_resp_header_decode(proto_rbuf_t *r, int header_version, int32_t *correlation_id);
void proto_resp_header_encode(proto_wbuf_t *w, int header_version, int32_t correlation_id);

/* Decodes an ApiVersions response body of `version`, falling back to v0 when
 * that fails: a broker that does not know the requested version answers
 * UNSUPPORTED_VERSION in a v0 body (KIP-511), and the Java client reads it the
 * same way. `out` is a proto_api_versions_response_t. *decoded_version (may be
 * NULL) says which version was read. Returns 0 or a kc_err_t (r->errstr set
 * from the first attempt). */
int proto_api_versions_response_decode(int16_t version, proto_rbuf_t *r, void *out,
                                       proto_arena_t *arena, int16_t *decoded_version);

#endif
