/* Request and response headers. See proto_header.h. */
#include "proto_header.h"

#include "kc/kc_err.h"
#include "proto_msg.h"
#include "proto_msgs.h"

static int is_flexible(int16_t api_key, int16_t api_version)
{
    const proto_api_t *api = proto_api_find(api_key);
    if (!api) return 0;
    if (api_key == PROTO_API_API_VERSIONS && api_version > api->max_ver) return 1;
    return proto_api_is_flexible(api, api_version);
}

int proto_req_header_version(int16_t api_key, int16_t api_version)
{
    return is_flexible(api_key, api_version) ? 2 : 1;
}

int proto_resp_header_version(int16_t api_key, int16_t api_version)
{
    if (api_key == PROTO_API_API_VERSIONS) return 0;
    return is_flexible(api_key, api_version) ? 1 : 0;
}

/* Header tagged fields: none are known, so every one is skipped by size. */
static void skip_tags(proto_rbuf_t *r, const char *what)
{
    uint32_t n = proto_get_uvarint(r, what);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        proto_get_uvarint(r, what);
        uint32_t size = proto_get_uvarint(r, what);
        proto_get_raw(r, size, what);
    }
}

int proto_req_header_decode(proto_rbuf_t *r, proto_req_header_t *h)
{
    h->api_key = proto_get_i16(r, "RequestHeader.ApiKey");
    h->api_version = proto_get_i16(r, "RequestHeader.ApiVersion");
    h->correlation_id = proto_get_i32(r, "RequestHeader.CorrelationId");
    h->client_id = proto_get_str(r, "RequestHeader.ClientId");
    h->header_version = (int8_t)proto_req_header_version(h->api_key, h->api_version);
    if (h->header_version == 2) skip_tags(r, "RequestHeader tagged fields");
    return r->err;
}

void proto_req_header_encode(proto_wbuf_t *w, const proto_req_header_t *h)
{
    proto_put_i16(w, h->api_key);
    proto_put_i16(w, h->api_version);
    proto_put_i32(w, h->correlation_id);
    proto_put_str(w, h->client_id);
    if (proto_req_header_version(h->api_key, h->api_version) == 2) proto_put_uvarint(w, 0);
}

int proto_resp_header_decode(proto_rbuf_t *r, int header_version, int32_t *correlation_id)
{
    *correlation_id = proto_get_i32(r, "ResponseHeader.CorrelationId");
    if (header_version >= 1) skip_tags(r, "ResponseHeader tagged fields");
    return r->err;
}

void proto_resp_header_encode(proto_wbuf_t *w, int header_version, int32_t correlation_id)
{
    proto_put_i32(w, correlation_id);
    if (header_version >= 1) proto_put_uvarint(w, 0);
}

int proto_api_versions_response_decode(int16_t version, proto_rbuf_t *r, void *out,
                                       proto_arena_t *arena, int16_t *decoded_version)
{
    proto_rbuf_t saved = *r;
    int err = proto_msg_decode(&proto_api_versions_response_desc, version, r, out, arena);
    if (decoded_version) *decoded_version = version;
    if (!err || version == 0 || r->err == KC_ERR__NO_MEMORY) return err;
    proto_rbuf_t again = saved;
    if (proto_msg_decode(&proto_api_versions_response_desc, 0, &again, out, arena)) return err;
    *r = again;
    if (decoded_version) *decoded_version = 0;
    return 0;
}
