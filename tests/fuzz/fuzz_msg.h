/* The message-codec oracle shared by fuzz_request and fuzz_response: whatever
 * decodes must encode, and the encoding must decode back to a message that
 * encodes to the same bytes. (The input itself need not come back byte for
 * byte: unknown tagged fields, non-minimal varints or a bool byte of 2 are
 * accepted on the way in and written canonically on the way out.) */
#ifndef KC_FUZZ_MSG_H
#define KC_FUZZ_MSG_H

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proto/proto_header.h"
#include "proto/proto_msg.h"

/* Encodes header + body of d at version; header_version < 0 means a request
 * header h, else a response header of that version with correlation id corr. */
static inline int fuzz_encode(const proto_msg_desc_t *d, int16_t version, const void *msg,
                              const proto_req_header_t *h, int header_version, int32_t corr,
                              proto_wbuf_t *w, char *errstr, size_t errstr_size)
{
    if (header_version < 0)
        proto_req_header_encode(w, h);
    else
        proto_resp_header_encode(w, header_version, corr);
    return proto_msg_encode(d, version, msg, w, errstr, errstr_size);
}

static inline void fuzz_msg_roundtrip(const proto_msg_desc_t *d, int16_t version, const void *msg,
                                      const proto_req_header_t *h, int header_version, int32_t corr)
{
    char errstr[256] = "";
    proto_wbuf_t w1 = {0}, w2 = {0};
    int rc = fuzz_encode(d, version, msg, h, header_version, corr, &w1, errstr, sizeof(errstr));
    FUZZ_CHECK(rc == 0 && !w1.oom, "%s v%d decoded but does not encode: %d %s", d->name, version,
               rc, errstr);

    proto_rbuf_t r;
    proto_req_header_t h2 = {0};
    int32_t corr2 = 0;
    proto_rbuf_init(&r, w1.data, w1.len);
    rc = header_version < 0 ? proto_req_header_decode(&r, &h2)
                            : proto_resp_header_decode(&r, header_version, &corr2);
    FUZZ_CHECK(rc == 0, "%s v%d: own header does not decode: %s", d->name, version, r.errstr);

    proto_arena_t arena;
    proto_arena_init(&arena);
    void *msg2 = calloc(1, d->root->size);
    FUZZ_CHECK(msg2 != NULL, "out of memory");
    rc = proto_msg_decode(d, version, &r, msg2, &arena);
    FUZZ_CHECK(rc == 0, "%s v%d: own encoding does not decode: %s", d->name, version, r.errstr);
    FUZZ_CHECK(proto_rbuf_left(&r) == 0, "%s v%d: %zu bytes of own encoding left", d->name, version,
               proto_rbuf_left(&r));

    rc = fuzz_encode(d, version, msg2, &h2, header_version, corr2, &w2, errstr, sizeof(errstr));
    FUZZ_CHECK(rc == 0 && w2.len == w1.len && memcmp(w1.data, w2.data, w1.len) == 0,
               "%s v%d: encode(decode(encode(x))) differs from encode(x) (%zu vs %zu bytes)",
               d->name, version, w2.len, w1.len);
    free(msg2);
    proto_arena_destroy(&arena);
    proto_wbuf_free(&w1);
    proto_wbuf_free(&w2);
}

#endif
