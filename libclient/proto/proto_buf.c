/* Byte buffers for the wire format. See proto_buf.h. */
#include "proto_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kc/kc_err.h"

int proto_str_eq(proto_str_t a, const char *s)
{
    if (a.len < 0 || !s) return a.len < 0 && !s;
    size_t n = strlen(s);
    return (size_t)a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

/* ---- Writer -------------------------------------------------------------- */

void proto_wbuf_init(proto_wbuf_t *w, size_t cap_hint)
{
    memset(w, 0, sizeof(*w));
    if (cap_hint) proto_wbuf_reserve(w, cap_hint);
}

void proto_wbuf_free(proto_wbuf_t *w)
{
    free(w->data);
    memset(w, 0, sizeof(*w));
}

void proto_wbuf_reset(proto_wbuf_t *w)
{
    w->len = 0;
    w->oom = 0;
}

uint8_t *proto_wbuf_reserve(proto_wbuf_t *w, size_t n)
{
    if (w->oom) return NULL;
    /* An empty buffer allocates even for n == 0: NULL + 0 is undefined. */
    if (w->data && w->cap - w->len >= n) return w->data + w->len;
    if (n > SIZE_MAX / 2 - w->len) {
        w->oom = 1;
        return NULL;
    }
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n)
        cap *= 2;
    uint8_t *p = realloc(w->data, cap);
    if (!p) {
        w->oom = 1;
        return NULL;
    }
    w->data = p;
    w->cap = cap;
    return w->data + w->len;
}

size_t proto_wbuf_skip(proto_wbuf_t *w, size_t n)
{
    uint8_t *p = proto_wbuf_reserve(w, n);
    if (!p) return (size_t)-1;
    memset(p, 0, n);
    size_t at = w->len;
    w->len += n;
    return at;
}

void proto_put_raw(proto_wbuf_t *w, const void *src, size_t n)
{
    if (n == 0) return;
    uint8_t *p = proto_wbuf_reserve(w, n);
    if (!p) return;
    if (n) memcpy(p, src, n);
    w->len += n;
}

static inline void put_be(proto_wbuf_t *w, uint64_t v, int n)
{
    uint8_t *p = proto_wbuf_reserve(w, (size_t)n);
    if (!p) return;
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
    w->len += (size_t)n;
}

void proto_put_i8(proto_wbuf_t *w, int8_t v)
{
    put_be(w, (uint8_t)v, 1);
}
void proto_put_i16(proto_wbuf_t *w, int16_t v)
{
    put_be(w, (uint16_t)v, 2);
}
void proto_put_i32(proto_wbuf_t *w, int32_t v)
{
    put_be(w, (uint32_t)v, 4);
}
void proto_put_i64(proto_wbuf_t *w, int64_t v)
{
    put_be(w, (uint64_t)v, 8);
}
void proto_put_u16(proto_wbuf_t *w, uint16_t v)
{
    put_be(w, v, 2);
}
void proto_put_u32(proto_wbuf_t *w, uint32_t v)
{
    put_be(w, v, 4);
}

void proto_put_f64(proto_wbuf_t *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    put_be(w, u, 8);
}

static void put_uvarint64(proto_wbuf_t *w, uint64_t v)
{
    uint8_t *p = proto_wbuf_reserve(w, 10);
    if (!p) return;
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    w->len += n;
}

void proto_put_uvarint(proto_wbuf_t *w, uint32_t v)
{
    put_uvarint64(w, v);
}

void proto_put_varint(proto_wbuf_t *w, int32_t v)
{
    put_uvarint64(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void proto_put_varlong(proto_wbuf_t *w, int64_t v)
{
    put_uvarint64(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

size_t proto_uvarint_size(uint32_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t proto_varint_size(int32_t v)
{
    return proto_uvarint_size(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

size_t proto_varlong_size(int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 1;
    while (u >= 0x80) {
        u >>= 7;
        n++;
    }
    return n;
}

void proto_put_uuid(proto_wbuf_t *w, const proto_uuid_t *u)
{
    proto_put_raw(w, u->b, sizeof(u->b));
}

void proto_put_str(proto_wbuf_t *w, proto_str_t s)
{
    proto_put_i16(w, (int16_t)(s.len < 0 ? -1 : s.len));
    if (s.len > 0) proto_put_raw(w, s.ptr, (size_t)s.len);
}

void proto_put_bytes(proto_wbuf_t *w, proto_bytes_t b)
{
    proto_put_i32(w, b.len < 0 ? -1 : b.len);
    if (b.len > 0) proto_put_raw(w, b.ptr, (size_t)b.len);
}

void proto_put_compact_str(proto_wbuf_t *w, proto_str_t s)
{
    proto_put_uvarint(w, s.len < 0 ? 0 : (uint32_t)s.len + 1);
    if (s.len > 0) proto_put_raw(w, s.ptr, (size_t)s.len);
}

void proto_put_compact_bytes(proto_wbuf_t *w, proto_bytes_t b)
{
    proto_put_compact_str(w, b);
}

void proto_put_array_len(proto_wbuf_t *w, int32_t n)
{
    proto_put_i32(w, n < 0 ? -1 : n);
}

void proto_put_compact_array_len(proto_wbuf_t *w, int32_t n)
{
    proto_put_uvarint(w, n < 0 ? 0 : (uint32_t)n + 1);
}

static void put_be_at(proto_wbuf_t *w, size_t at, uint32_t v)
{
    if (w->oom || at == (size_t)-1 || at + 4 > w->len) return;
    w->data[at] = (uint8_t)(v >> 24);
    w->data[at + 1] = (uint8_t)(v >> 16);
    w->data[at + 2] = (uint8_t)(v >> 8);
    w->data[at + 3] = (uint8_t)v;
}

void proto_put_i32_at(proto_wbuf_t *w, size_t at, int32_t v)
{
    put_be_at(w, at, (uint32_t)v);
}

void proto_put_u32_at(proto_wbuf_t *w, size_t at, uint32_t v)
{
    put_be_at(w, at, v);
}

int proto_errf(char *errstr, size_t errstr_size, int err, const char *fmt, ...)
{
    if (errstr && errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* ---- Reader -------------------------------------------------------------- */

void proto_rbuf_init(proto_rbuf_t *r, const void *data, size_t len)
{
    static const uint8_t empty[1];
    /* A NULL buffer (an empty wbuf) must not be offset: NULL + 0 is undefined. */
    if (!data) {
        data = empty;
        len = 0;
    }
    r->p = data;
    r->end = r->p + len;
    r->err = 0;
    r->errstr[0] = '\0';
}

void proto_rbuf_fail(proto_rbuf_t *r, int err, const char *fmt, ...)
{
    if (r->err) return;
    r->err = err ? err : KC_ERR__BAD_MSG;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errstr, sizeof(r->errstr), fmt, ap);
    va_end(ap);
    r->p = r->end; /* nothing more is read after a failure */
}

const uint8_t *proto_get_raw(proto_rbuf_t *r, size_t n, const char *what)
{
    if (r->err) return NULL;
    if (proto_rbuf_left(r) < n) {
        proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: needs %zu bytes, %zu left", what ? what : "data",
                        n, proto_rbuf_left(r));
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

static inline uint64_t get_be(proto_rbuf_t *r, int n, const char *what)
{
    const uint8_t *p = proto_get_raw(r, (size_t)n, what);
    if (!p) return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

int8_t proto_get_i8(proto_rbuf_t *r, const char *what)
{
    return (int8_t)get_be(r, 1, what);
}
int16_t proto_get_i16(proto_rbuf_t *r, const char *what)
{
    return (int16_t)get_be(r, 2, what);
}
int32_t proto_get_i32(proto_rbuf_t *r, const char *what)
{
    return (int32_t)get_be(r, 4, what);
}
int64_t proto_get_i64(proto_rbuf_t *r, const char *what)
{
    return (int64_t)get_be(r, 8, what);
}
uint16_t proto_get_u16(proto_rbuf_t *r, const char *what)
{
    return (uint16_t)get_be(r, 2, what);
}
uint32_t proto_get_u32(proto_rbuf_t *r, const char *what)
{
    return (uint32_t)get_be(r, 4, what);
}

double proto_get_f64(proto_rbuf_t *r, const char *what)
{
    uint64_t u = get_be(r, 8, what);
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static uint64_t get_uvarint_bits(proto_rbuf_t *r, int max_bytes, const char *what)
{
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; i++) {
        if (r->err) return 0;
        if (r->p >= r->end) {
            proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: varint runs past the end",
                            what ? what : "varint");
            return 0;
        }
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) return v;
    }
    proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: varint longer than %d bytes", what ? what : "varint",
                    max_bytes);
    return 0;
}

uint32_t proto_get_uvarint(proto_rbuf_t *r, const char *what)
{
    uint64_t v = get_uvarint_bits(r, 5, what);
    if (v > UINT32_MAX) {
        proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: varint exceeds 32 bits", what ? what : "varint");
        return 0;
    }
    return (uint32_t)v;
}

int32_t proto_get_varint(proto_rbuf_t *r, const char *what)
{
    uint32_t u = proto_get_uvarint(r, what);
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t proto_get_varlong(proto_rbuf_t *r, const char *what)
{
    uint64_t u = get_uvarint_bits(r, 10, what);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

void proto_get_uuid(proto_rbuf_t *r, proto_uuid_t *out, const char *what)
{
    const uint8_t *p = proto_get_raw(r, sizeof(out->b), what);
    if (p)
        memcpy(out->b, p, sizeof(out->b));
    else
        memset(out->b, 0, sizeof(out->b));
}

static proto_slice_t get_sized(proto_rbuf_t *r, int64_t len, const char *what)
{
    if (r->err) return PROTO_NULL_SLICE;
    if (len < -1) {
        proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: negative length %lld", what ? what : "field",
                        (long long)len);
        return PROTO_NULL_SLICE;
    }
    if (len == -1) return PROTO_NULL_SLICE;
    if ((uint64_t)len > proto_rbuf_left(r)) {
        proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: length %lld exceeds the %zu bytes left",
                        what ? what : "field", (long long)len, proto_rbuf_left(r));
        return PROTO_NULL_SLICE;
    }
    proto_slice_t s = {r->p, (int32_t)len};
    r->p += len;
    return s;
}

proto_str_t proto_get_str(proto_rbuf_t *r, const char *what)
{
    return get_sized(r, proto_get_i16(r, what), what);
}

proto_bytes_t proto_get_bytes(proto_rbuf_t *r, const char *what)
{
    return get_sized(r, proto_get_i32(r, what), what);
}

proto_str_t proto_get_compact_str(proto_rbuf_t *r, const char *what)
{
    return get_sized(r, (int64_t)proto_get_uvarint(r, what) - 1, what);
}

proto_bytes_t proto_get_compact_bytes(proto_rbuf_t *r, const char *what)
{
    return proto_get_compact_str(r, what);
}

static int32_t check_count(proto_rbuf_t *r, int64_t n, size_t min_elem_size, const char *what)
{
    if (r->err) return 0;
    if (n < -1) {
        proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: negative array count %lld", what ? what : "array",
                        (long long)n);
        return 0;
    }
    if (min_elem_size == 0) min_elem_size = 1;
    if (n > 0 && (uint64_t)n > proto_rbuf_left(r) / min_elem_size) {
        proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: array count %lld cannot fit in the %zu bytes left",
                        what ? what : "array", (long long)n, proto_rbuf_left(r));
        return 0;
    }
    return (int32_t)n;
}

int32_t proto_get_array_len(proto_rbuf_t *r, size_t min_elem_size, const char *what)
{
    return check_count(r, proto_get_i32(r, what), min_elem_size, what);
}

int32_t proto_get_compact_array_len(proto_rbuf_t *r, size_t min_elem_size, const char *what)
{
    return check_count(r, (int64_t)proto_get_uvarint(r, what) - 1, min_elem_size, what);
}
