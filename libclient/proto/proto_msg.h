/* The message codec: one table-driven encoder and decoder for every Kafka
 * request and response kc speaks.
 *
 * The messages are described once, in schema/<api>.kcs. At build time
 * gen/kcs_gen.py turns the descriptions into C structs (proto_msgs.h: one
 * struct per message and nested struct) and descriptor tables
 * (proto_msgs.c). The functions here walk those tables; nothing about a
 * particular API is written by hand.
 *
 * Decoded messages borrow: strings, bytes and records point into the input
 * buffer, which must outlive the message; arrays live in a proto_arena_t.
 * Decoding stops at the end of the message and leaves the reader there, like
 * Kafka, which does not check for bytes after a request body; callers that
 * want to reject them look at proto_rbuf_left().
 */
#ifndef PROTO_MSG_H
#define PROTO_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto_arena.h"
#include "proto_buf.h"

#define PROTO_VER_MAX 0x7fff /* the open end of "N+" version ranges */

typedef enum proto_type {
    PROTO_T_BOOL = 1,
    PROTO_T_INT8,
    PROTO_T_INT16,
    PROTO_T_UINT16,
    PROTO_T_INT32,
    PROTO_T_INT64,
    PROTO_T_FLOAT64,
    PROTO_T_STRING,
    PROTO_T_BYTES,
    PROTO_T_RECORDS, /* a record set, kept as raw bytes for proto_batch */
    PROTO_T_UUID,
    PROTO_T_STRUCT,
} proto_type_t;

/* Every array field in a generated struct has this layout, with a typed v. */
typedef struct proto_array {
    void *v;
    int32_t n; /* -1 = null */
} proto_array_t;

typedef struct proto_struct_desc proto_struct_desc_t;

/* Version ranges are inclusive; lo > hi means "no version". */
typedef struct proto_field_desc {
    const char *name; /* as in the description: "TopicData" */
    uint32_t offset;  /* of the member in the C struct */
    uint8_t type;     /* proto_type_t; the element type for arrays */
    bool is_array;
    bool ignorable; /* may be dropped silently when the version lacks it */
    bool def_null;  /* default is null (strings, bytes, arrays, structs) */
    int16_t ver_lo, ver_hi;
    int16_t null_lo, null_hi;
    int16_t tag_lo, tag_hi; /* versions in which the field is tagged */
    uint32_t tag;
    int64_t def_int;                /* default of bool and integer fields */
    double def_f64;                 /* default of float64 fields */
    const char *def_str;            /* default of non-null string fields */
    const proto_struct_desc_t *sub; /* struct and struct-array fields */
} proto_field_desc_t;

struct proto_struct_desc {
    const char *name; /* "TopicProduceData" */
    uint32_t size;    /* sizeof the C struct */
    uint16_t nfields;
    uint16_t ntagged;
    const proto_field_desc_t *fields;
    const uint16_t *tag_order; /* indexes of tagged fields, ascending tags */
    int16_t min_ver;           /* first version with an entry in min_size */
    uint16_t nmin;
    const uint32_t *min_size; /* smallest encoding per version, >= 1 */
};

typedef struct proto_msg_desc {
    const char *name; /* "ProduceRequest" */
    int16_t api_key;
    int16_t min_ver, max_ver; /* the versions this codec handles */
    int16_t flex_ver;         /* first flexible version, PROTO_VER_MAX if none */
    bool is_request;
    const proto_struct_desc_t *root;
} proto_msg_desc_t;

typedef struct proto_api {
    int16_t key;
    const char *name; /* "Produce" */
    int16_t min_ver, max_ver;
    int16_t flex_ver; /* PROTO_VER_MAX if no version is flexible */
    const proto_msg_desc_t *request;
    const proto_msg_desc_t *response;
} proto_api_t;

/* The API with this key, or NULL if the codec does not know it. */
const proto_api_t *proto_api_find(int16_t api_key);
/* All APIs, ascending by key: for (i = 0; i < proto_api_count(); i++) ... */
size_t proto_api_count(void);
const proto_api_t *proto_api_at(size_t i);
/* Non-zero if version v of the API uses the flexible (KIP-482) encoding. */
static inline int proto_api_is_flexible(const proto_api_t *api, int16_t v)
{
    return v >= api->flex_ver;
}

/* Sets every field of msg to its default (the description's default, else
 * 0, empty string, empty array). Nullable structs with a null default stay
 * NULL. Use this before filling a message to encode. */
void proto_msg_init(const proto_msg_desc_t *d, void *msg);
/* The same for a nested struct, e.g. an array element before filling it. */
void proto_struct_init(const proto_struct_desc_t *s, void *out);

/* Decodes version `version` of message d from r into *out (a struct of d's
 * type). Fields the version lacks get their defaults. Returns 0, or a kc_err_t
 * with r->err and r->errstr set: KC_ERR__BAD_MSG for malformed input (the
 * message names message, version and field path), KC_ERR__UNSUPPORTED for a
 * version the codec does not handle, KC_ERR__NO_MEMORY when the arena is
 * exhausted. */
int proto_msg_decode(const proto_msg_desc_t *d, int16_t version, proto_rbuf_t *r, void *out,
                     proto_arena_t *arena);

/* Appends version `version` of *msg to w. Returns 0, or a kc_err_t with a
 * message in errstr: KC_ERR__UNSUPPORTED when a field the version lacks holds a
 * non-default value and is not ignorable (as the Java client does),
 * KC_ERR__INVALID_ARG for a null in a non-nullable field or a value that does
 * not fit the wire type, KC_ERR__NO_MEMORY when w ran out of memory. On error
 * w may hold a partial encoding. */
int proto_msg_encode(const proto_msg_desc_t *d, int16_t version, const void *msg, proto_wbuf_t *w,
                     char *errstr, size_t errstr_size);

/* Split encoding, for senders that splice record bytes in from elsewhere
 * (Fetch answering with file segments, without copying them). It encodes as
 * proto_msg_encode does, except that each non-null `records` field outside a
 * tagged field is written as its length prefix only (records->len bytes),
 * and records_fn(arg, records, at) is called with the field and the position
 * in w right after that prefix: the full message is w[0..at) + the field's
 * len bytes + the rest of w, for each call in turn (positions ascend).
 * records->ptr is neither read nor checked, so the caller may keep a token
 * there that leads to its own copy of the bytes. Inside a tagged field, whose
 * size must be known, records are written from ptr as usual. */
typedef void (*proto_records_fn)(void *arg, const proto_slice_t *records, size_t at);
int proto_msg_encode_split(const proto_msg_desc_t *d, int16_t version, const void *msg,
                           proto_wbuf_t *w, proto_records_fn records_fn, void *arg, char *errstr,
                           size_t errstr_size);

/* Shortcuts by API key: decode a request or response body of api_key at
 * version; KC_ERR__UNSUPPORTED if the key or version is unknown. */
int proto_request_decode(int16_t api_key, int16_t version, proto_rbuf_t *r, void *out,
                         proto_arena_t *arena);
int proto_response_decode(int16_t api_key, int16_t version, proto_rbuf_t *r, void *out,
                          proto_arena_t *arena);
int proto_request_encode(int16_t api_key, int16_t version, const void *msg, proto_wbuf_t *w,
                         char *errstr, size_t errstr_size);
int proto_response_encode(int16_t api_key, int16_t version, const void *msg, proto_wbuf_t *w,
                          char *errstr, size_t errstr_size);

#endif
