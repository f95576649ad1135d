/* A response as a client reads it: the client knows which request it sent,
 * so the first 4 bytes (api key, version; big-endian int16s) stand for that
 * knowledge, and the rest is the response header and body. A key the codec
 * does not know, or a version outside its range, is folded into a known one
 * so that no input is wasted. */
#include "fuzz_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || proto_api_count() == 0) return 0;
    int16_t key = (int16_t)(data[0] << 8 | data[1]);
    uint16_t vraw = (uint16_t)(data[2] << 8 | data[3]);
    const proto_api_t *api = proto_api_find(key);
    if (!api) api = proto_api_at((uint16_t)key % proto_api_count());
    int16_t version = (int16_t)vraw;
    if (version < api->min_ver || version > api->max_ver)
        version = (int16_t)(api->min_ver + vraw % (api->max_ver - api->min_ver + 1));

    const proto_msg_desc_t *d = api->response;
    int hv = proto_resp_header_version(api->key, version);
    proto_rbuf_t r;
    int32_t corr;
    proto_rbuf_init(&r, data + 4, size - 4);
    if (proto_resp_header_decode(&r, hv, &corr)) return 0;

    proto_arena_t arena;
    proto_arena_init(&arena);
    proto_arena_set_limit(&arena, FUZZ_ARENA_LIMIT);
    void *msg = calloc(1, d->root->size);
    FUZZ_CHECK(msg != NULL, "out of memory");
    int rc = proto_msg_decode(d, version, &r, msg, &arena);
    if (rc == 0) {
        fuzz_msg_roundtrip(d, version, msg, NULL, hv, corr);
    } else {
        FUZZ_CHECK(r.err == rc && r.errstr[0], "%s v%d: error %d without a message", d->name,
                   version, rc);
    }
    free(msg);
    proto_arena_destroy(&arena);
    return 0;
}
