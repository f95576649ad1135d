/* A request frame as a broker reads it (without the size prefix): header,
 * then the body of whatever API key and version the header names. */
#include "fuzz_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_rbuf_t r;
    proto_req_header_t h;
    proto_rbuf_init(&r, data, size);
    if (proto_req_header_decode(&r, &h)) return 0;
    const proto_api_t *api = proto_api_find(h.api_key);
    if (!api) return 0;

    const proto_msg_desc_t *d = api->request;
    proto_arena_t arena;
    proto_arena_init(&arena);
    proto_arena_set_limit(&arena, FUZZ_ARENA_LIMIT);
    void *msg = calloc(1, d->root->size);
    FUZZ_CHECK(msg != NULL, "out of memory");
    int rc = proto_msg_decode(d, h.api_version, &r, msg, &arena);
    if (rc == 0) {
        fuzz_msg_roundtrip(d, h.api_version, msg, &h, -1, 0);
    } else {
        FUZZ_CHECK(r.err == rc && r.errstr[0], "%s v%d: error %d without a message", d->name,
                   h.api_version, rc);
    }
    free(msg);
    proto_arena_destroy(&arena);
    return 0;
}
