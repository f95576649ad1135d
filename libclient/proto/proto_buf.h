/* Byte buffers for the wire format: a growable writer and a bounded reader.
 *
 * Both carry a sticky error. Callers chain many reads or writes and check the
 * error once at the end, which keeps codec code straight-line. A reader never
 * reads past its end and never trusts a length it reads: every length is
 * checked against the bytes left before it is used.
 *
 * Fixed-width integers are big-endian. "uvarint" is the unsigned base-128
 * varint of flexible versions (no zigzag); "varint"/"varlong" are the zigzag
 * forms used inside records.
 */
#ifndef PROTO_BUF_H
#define PROTO_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A borrowed byte range. len == -1 means null (nullable strings and bytes). */
typedef struct proto_slice {
    const uint8_t *ptr;
    int32_t len;
} proto_slice_t;

typedef proto_slice_t proto_str_t;   /* UTF-8, not NUL-terminated */
typedef proto_slice_t proto_bytes_t; /* opaque bytes */

#define PROTO_NULL_SLICE ((proto_slice_t){NULL, -1})

static inline proto_slice_t proto_slice_of(const void *ptr, size_t len)
{
    return (proto_slice_t){(const uint8_t *)ptr, (int32_t)len};
}

static inline proto_str_t proto_str_of(const char *s)
{
    return s ? proto_slice_of(s, strlen(s)) : PROTO_NULL_SLICE;
}

/* Non-zero if the slice equals the C string s (a null slice equals NULL only). */
int proto_str_eq(proto_str_t a, const char *s);

typedef struct proto_uuid {
    uint8_t b[16];
} proto_uuid_t;

/* ---- Writer -------------------------------------------------------------- */

/* A growable output buffer. Initialise with {0}, or with proto_wbuf_init for a
 * size hint. A failed allocation sets `oom`; later writes are no-ops, so code
 * checks once at the end. The owner frees with proto_wbuf_free. */
typedef struct proto_wbuf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int oom;
} proto_wbuf_t;

void proto_wbuf_init(proto_wbuf_t *w, size_t cap_hint);
void proto_wbuf_free(proto_wbuf_t *w);
/* Makes room for n more bytes; returns a pointer to them (not yet counted in
 * len), or NULL on allocation failure. Use with proto_wbuf_commit. */
uint8_t *proto_wbuf_reserve(proto_wbuf_t *w, size_t n);
static inline void proto_wbuf_commit(proto_wbuf_t *w, size_t n)
{
    w->len += n;
}
/* Appends n bytes and returns their offset, so a length or CRC can be patched
 * in later with proto_put_*_at. Returns (size_t)-1 after an allocation failure. */
size_t proto_wbuf_skip(proto_wbuf_t *w, size_t n);
void proto_wbuf_reset(proto_wbuf_t *w);

void proto_put_raw(proto_wbuf_t *w, const void *p, size_t n);
void proto_put_i8(proto_wbuf_t *w, int8_t v);
void proto_put_i16(proto_wbuf_t *w, int16_t v);
void proto_put_i32(proto_wbuf_t *w, int32_t v);
void proto_put_i64(proto_wbuf_t *w, int64_t v);
void proto_put_u16(proto_wbuf_t *w, uint16_t v);
void proto_put_u32(proto_wbuf_t *w, uint32_t v);
void proto_put_f64(proto_wbuf_t *w, double v);
void proto_put_uvarint(proto_wbuf_t *w, uint32_t v);
void proto_put_varint(proto_wbuf_t *w, int32_t v);  /* zigzag */
void proto_put_varlong(proto_wbuf_t *w, int64_t v); /* zigzag */
void proto_put_uuid(proto_wbuf_t *w, const proto_uuid_t *u);
/* Classic forms: int16 length (string), int32 length (bytes); -1 = null. */
void proto_put_str(proto_wbuf_t *w, proto_str_t s);
void proto_put_bytes(proto_wbuf_t *w, proto_bytes_t b);
/* Compact forms: uvarint length+1, 0 = null. */
void proto_put_compact_str(proto_wbuf_t *w, proto_str_t s);
void proto_put_compact_bytes(proto_wbuf_t *w, proto_bytes_t b);
/* Array headers: int32 count (classic) or uvarint count+1 (compact); -1 = null. */
void proto_put_array_len(proto_wbuf_t *w, int32_t n);
void proto_put_compact_array_len(proto_wbuf_t *w, int32_t n);

/* Patch a value written earlier at byte offset `at` (from proto_wbuf_skip). */
void proto_put_i32_at(proto_wbuf_t *w, size_t at, int32_t v);
void proto_put_u32_at(proto_wbuf_t *w, size_t at, uint32_t v);

/* Size in bytes of the encodings, for pre-sizing. */
size_t proto_uvarint_size(uint32_t v);
size_t proto_varint_size(int32_t v);
size_t proto_varlong_size(int64_t v);

/* Writes a printf-style message to errstr (which may be NULL) and returns
 * err: the one-line way to fail with a reason. */
int proto_errf(char *errstr, size_t errstr_size, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- Reader -------------------------------------------------------------- */

/* A bounded reader over borrowed bytes. The first failure records `err`
 * (non-zero, a kc_err_t) and a message naming what was being read; every read
 * after that returns zero values and leaves the message alone. Slices returned
 * point into the input, which must outlive them. */
typedef struct proto_rbuf {
    const uint8_t *p;
    const uint8_t *end;
    int err;
    char errstr[160];
} proto_rbuf_t;

void proto_rbuf_init(proto_rbuf_t *r, const void *data, size_t len);
static inline size_t proto_rbuf_left(const proto_rbuf_t *r)
{
    return (size_t)(r->end - r->p);
}
/* Records an error (only the first one sticks), printf-style. */
void proto_rbuf_fail(proto_rbuf_t *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* `what` names the field for the error message ("ProduceRequest.Acks"); it may
 * be NULL where the caller reports context itself. */
const uint8_t *proto_get_raw(proto_rbuf_t *r, size_t n, const char *what);
int8_t proto_get_i8(proto_rbuf_t *r, const char *what);
int16_t proto_get_i16(proto_rbuf_t *r, const char *what);
int32_t proto_get_i32(proto_rbuf_t *r, const char *what);
int64_t proto_get_i64(proto_rbuf_t *r, const char *what);
uint16_t proto_get_u16(proto_rbuf_t *r, const char *what);
uint32_t proto_get_u32(proto_rbuf_t *r, const char *what);
double proto_get_f64(proto_rbuf_t *r, const char *what);
uint32_t proto_get_uvarint(proto_rbuf_t *r, const char *what);
int32_t proto_get_varint(proto_rbuf_t *r, const char *what);
int64_t proto_get_varlong(proto_rbuf_t *r, const char *what);
void proto_get_uuid(proto_rbuf_t *r, proto_uuid_t *out, const char *what);
proto_str_t proto_get_str(proto_rbuf_t *r, const char *what);
proto_bytes_t proto_get_bytes(proto_rbuf_t *r, const char *what);
proto_str_t proto_get_compact_str(proto_rbuf_t *r, const char *what);
proto_bytes_t proto_get_compact_bytes(proto_rbuf_t *r, const char *what);
/* Array counts are bounded by the bytes left, assuming each element takes at
 * least min_elem_size bytes (>= 1), so a hostile count fails here instead of
 * driving a huge allocation. Returns -1 for a null array. */
int32_t proto_get_array_len(proto_rbuf_t *r, size_t min_elem_size, const char *what);
int32_t proto_get_compact_array_len(proto_rbuf_t *r, size_t min_elem_size, const char *what);

#endif
