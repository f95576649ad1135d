/* The table-driven message codec. See proto_msg.h.
 *
 * Both directions walk a proto_struct_desc_t field by field. A field takes
 * part in version v when v is in its version range; in flexible versions a
 * field in its tagged range goes to the tagged-field section at the end of
 * its struct instead of the body.
 */
#include "proto_msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kc/kc_err.h"
#include "proto_msgs.h"

/* Descriptions nest a few levels deep; the path stack only feeds messages. */
#define MAX_DEPTH 16

typedef struct path_elem {
    const char *name;
    int32_t index; /* array element, or -1 */
} path_elem_t;

typedef struct walk {
    const proto_msg_desc_t *msg;
    int16_t ver;
    bool flex;
    int depth;
    path_elem_t path[MAX_DEPTH];
    /* decode */
    proto_rbuf_t *r;
    proto_arena_t *arena;
    bool annotated;
    /* encode */
    proto_wbuf_t *w;
    proto_records_fn records_fn; /* split encoding: records are the caller's */
    void *records_arg;
    int tag_depth; /* inside a tagged field (whose size must be known) */
    int err;
    char *errstr;
    size_t errstr_size;
} walk_t;

static inline bool in_range(int16_t v, int16_t lo, int16_t hi)
{
    return v >= lo && v <= hi;
}

static inline bool f_present(const walk_t *k, const proto_field_desc_t *f)
{
    return in_range(k->ver, f->ver_lo, f->ver_hi);
}

static inline bool f_tagged(const walk_t *k, const proto_field_desc_t *f)
{
    return k->flex && in_range(k->ver, f->tag_lo, f->tag_hi);
}

static inline bool f_nullable(const walk_t *k, const proto_field_desc_t *f)
{
    return in_range(k->ver, f->null_lo, f->null_hi);
}

static size_t elem_size(const proto_field_desc_t *f)
{
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: return sizeof(bool);
    case PROTO_T_INT8: return sizeof(int8_t);
    case PROTO_T_INT16: return sizeof(int16_t);
    case PROTO_T_UINT16: return sizeof(uint16_t);
    case PROTO_T_INT32: return sizeof(int32_t);
    case PROTO_T_INT64: return sizeof(int64_t);
    case PROTO_T_FLOAT64: return sizeof(double);
    case PROTO_T_STRING:
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS: return sizeof(proto_slice_t);
    case PROTO_T_UUID: return sizeof(proto_uuid_t);
    case PROTO_T_STRUCT: return f->sub->size;
    }
    return 0;
}

/* Smallest wire size of one array element, so a count can be checked
 * against the bytes left before anything is allocated. */
static size_t wire_min(const walk_t *k, const proto_field_desc_t *f)
{
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL:
    case PROTO_T_INT8: return 1;
    case PROTO_T_INT16:
    case PROTO_T_UINT16: return 2;
    case PROTO_T_INT32: return 4;
    case PROTO_T_INT64:
    case PROTO_T_FLOAT64: return 8;
    case PROTO_T_UUID: return 16;
    case PROTO_T_STRING: return k->flex ? 1 : 2;
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS: return k->flex ? 1 : 4;
    case PROTO_T_STRUCT: {
        const proto_struct_desc_t *s = f->sub;
        int i = k->ver - s->min_ver;
        return i >= 0 && i < s->nmin ? s->min_size[i] : 1;
    }
    }
    return 1;
}

static inline void *field_ptr(const void *base, const proto_field_desc_t *f)
{
    return (uint8_t *)base + f->offset;
}

static proto_array_t get_array(const void *p)
{
    proto_array_t a;
    memcpy(&a, p, sizeof(a));
    return a;
}

static void set_array(void *p, void *v, int32_t n)
{
    proto_array_t a = {v, n};
    memcpy(p, &a, sizeof(a));
}

static void *get_ptr(const void *p)
{
    void *v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* ---- Defaults ------------------------------------------------------------ */

static void struct_defaults(const proto_struct_desc_t *s, void *out);

static void scalar_default(const proto_field_desc_t *f, void *p)
{
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: *(bool *)p = f->def_int != 0; break;
    case PROTO_T_INT8: *(int8_t *)p = (int8_t)f->def_int; break;
    case PROTO_T_INT16: *(int16_t *)p = (int16_t)f->def_int; break;
    case PROTO_T_UINT16: *(uint16_t *)p = (uint16_t)f->def_int; break;
    case PROTO_T_INT32: *(int32_t *)p = (int32_t)f->def_int; break;
    case PROTO_T_INT64: *(int64_t *)p = f->def_int; break;
    case PROTO_T_FLOAT64: *(double *)p = f->def_f64; break;
    case PROTO_T_STRING:
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS:
        *(proto_slice_t *)p = f->def_null ? PROTO_NULL_SLICE
                                          : proto_slice_of(f->def_str ? f->def_str : "",
                                                           f->def_str ? strlen(f->def_str) : 0);
        break;
    case PROTO_T_UUID: memset(p, 0, sizeof(proto_uuid_t)); break;
    case PROTO_T_STRUCT:
        if (f->def_null)
            memset(p, 0, sizeof(void *));
        else
            struct_defaults(f->sub, p);
        break;
    }
}

static void struct_defaults(const proto_struct_desc_t *s, void *out)
{
    memset(out, 0, s->size);
    for (uint16_t i = 0; i < s->nfields; i++) {
        const proto_field_desc_t *f = &s->fields[i];
        if (f->is_array)
            set_array(field_ptr(out, f), NULL, f->def_null ? -1 : 0);
        else
            scalar_default(f, field_ptr(out, f));
    }
}

void proto_msg_init(const proto_msg_desc_t *d, void *msg)
{
    struct_defaults(d->root, msg);
}

void proto_struct_init(const proto_struct_desc_t *s, void *out)
{
    struct_defaults(s, out);
}

static bool struct_is_default(const proto_struct_desc_t *s, const void *v);

static bool slice_eq(proto_slice_t a, proto_slice_t b)
{
    if (a.len < 0 || b.len < 0) return a.len < 0 && b.len < 0;
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static bool is_default(const proto_field_desc_t *f, const void *p)
{
    if (f->is_array) return get_array(p).n == (f->def_null ? -1 : 0);
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: return *(const bool *)p == (f->def_int != 0);
    case PROTO_T_INT8: return *(const int8_t *)p == (int8_t)f->def_int;
    case PROTO_T_INT16: return *(const int16_t *)p == (int16_t)f->def_int;
    case PROTO_T_UINT16: return *(const uint16_t *)p == (uint16_t)f->def_int;
    case PROTO_T_INT32: return *(const int32_t *)p == (int32_t)f->def_int;
    case PROTO_T_INT64: return *(const int64_t *)p == f->def_int;
    case PROTO_T_FLOAT64: return memcmp(p, &f->def_f64, sizeof(double)) == 0;
    case PROTO_T_STRING:
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS: {
        proto_slice_t d = PROTO_NULL_SLICE;
        if (!f->def_null)
            d = proto_slice_of(f->def_str ? f->def_str : "", f->def_str ? strlen(f->def_str) : 0);
        return slice_eq(*(const proto_slice_t *)p, d);
    }
    case PROTO_T_UUID: {
        static const proto_uuid_t zero;
        return memcmp(p, &zero, sizeof(zero)) == 0;
    }
    case PROTO_T_STRUCT:
        if (f->def_null) return get_ptr(p) == NULL;
        return struct_is_default(f->sub, p);
    }
    return true;
}

static bool struct_is_default(const proto_struct_desc_t *s, const void *v)
{
    for (uint16_t i = 0; i < s->nfields; i++)
        if (!is_default(&s->fields[i], field_ptr(v, &s->fields[i]))) return false;
    return true;
}

/* ---- Error paths --------------------------------------------------------- */

static void path_push(walk_t *k, const char *name, int32_t index)
{
    if (k->depth < MAX_DEPTH) k->path[k->depth] = (path_elem_t){name, index};
    k->depth++;
}

static void path_pop(walk_t *k)
{
    k->depth--;
}

/* "TopicData[0].PartitionData[2]." for the current position. */
static size_t path_format(const walk_t *k, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    int depth = k->depth < MAX_DEPTH ? k->depth : MAX_DEPTH;
    for (int i = 0; i < depth && n < size; i++) {
        const path_elem_t *e = &k->path[i];
        int m = e->index >= 0 ? snprintf(buf + n, size - n, "%s[%d].", e->name, (int)e->index)
                              : snprintf(buf + n, size - n, "%s.", e->name);
        if (m < 0) break;
        n += (size_t)m;
    }
    return n < size ? n : size - 1;
}

/* Prefixes the reader's first error with message, version and path. */
static void annotate(walk_t *k)
{
    if (k->annotated || !k->r->err) return;
    k->annotated = true;
    char path[128], msg[sizeof(k->r->errstr)];
    path_format(k, path, sizeof(path));
    if (snprintf(msg, sizeof(msg), "%s v%d: %s%s", k->msg->name, k->ver, path, k->r->errstr) >=
        (int)sizeof(msg))
        msg[sizeof(msg) - 2] = '~'; /* mark the cut */
    memcpy(k->r->errstr, msg, sizeof(msg));
}

static void enc_fail(walk_t *k, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void enc_fail(walk_t *k, int err, const char *fmt, ...)
{
    if (k->err) return;
    k->err = err;
    if (!k->errstr || !k->errstr_size) return;
    char path[128], what[160];
    path_format(k, path, sizeof(path));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(k->errstr, k->errstr_size, "%s v%d: %s%s", k->msg->name, k->ver, path, what);
}

/* ---- Decoding ------------------------------------------------------------ */

static void decode_struct(walk_t *k, const proto_struct_desc_t *s, void *out);

static proto_slice_t read_slice(walk_t *k, const proto_field_desc_t *f)
{
    proto_rbuf_t *r = k->r;
    proto_slice_t v;
    if (f->type == PROTO_T_STRING)
        v = k->flex ? proto_get_compact_str(r, f->name) : proto_get_str(r, f->name);
    else
        v = k->flex ? proto_get_compact_bytes(r, f->name) : proto_get_bytes(r, f->name);
    if (!r->err && v.len < 0 && !f_nullable(k, f))
        proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: null in a non-nullable field", f->name);
    return v;
}

/* One value of type f->type (an array element when f is an array). */
static void decode_value(walk_t *k, const proto_field_desc_t *f, void *p, bool nullable_struct)
{
    proto_rbuf_t *r = k->r;
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: *(bool *)p = proto_get_i8(r, f->name) != 0; break;
    case PROTO_T_INT8: *(int8_t *)p = proto_get_i8(r, f->name); break;
    case PROTO_T_INT16: *(int16_t *)p = proto_get_i16(r, f->name); break;
    case PROTO_T_UINT16: *(uint16_t *)p = proto_get_u16(r, f->name); break;
    case PROTO_T_INT32: *(int32_t *)p = proto_get_i32(r, f->name); break;
    case PROTO_T_INT64: *(int64_t *)p = proto_get_i64(r, f->name); break;
    case PROTO_T_FLOAT64: *(double *)p = proto_get_f64(r, f->name); break;
    case PROTO_T_UUID: proto_get_uuid(r, (proto_uuid_t *)p, f->name); break;
    case PROTO_T_STRING:
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS: *(proto_slice_t *)p = read_slice(k, f); break;
    case PROTO_T_STRUCT:
        if (nullable_struct) {
            /* A nullable struct is prefixed by a marker byte: -1 null, 1 present. */
            int8_t marker = proto_get_i8(r, f->name);
            if (r->err || marker < 0) break;
            void *sub = proto_arena_alloc(k->arena, f->sub->size);
            if (!sub) {
                proto_rbuf_fail(r, KC_ERR__NO_MEMORY, "%s: out of memory", f->name);
                break;
            }
            memcpy(p, &sub, sizeof(sub));
            p = sub;
        }
        path_push(k, f->name, -1);
        decode_struct(k, f->sub, p);
        path_pop(k);
        break;
    }
}

static void decode_array(walk_t *k, const proto_field_desc_t *f, void *p)
{
    proto_rbuf_t *r = k->r;
    size_t min = wire_min(k, f);
    int32_t n = k->flex ? proto_get_compact_array_len(r, min, f->name)
                        : proto_get_array_len(r, min, f->name);
    if (r->err) return;
    if (n < 0) {
        if (!f_nullable(k, f))
            proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: null in a non-nullable array", f->name);
        set_array(p, NULL, -1);
        return;
    }
    size_t esize = elem_size(f);
    uint8_t *v = NULL;
    if (n > 0) {
        if ((size_t)n > SIZE_MAX / esize || !(v = proto_arena_alloc(k->arena, (size_t)n * esize))) {
            proto_rbuf_fail(r, KC_ERR__NO_MEMORY, "%s: no memory for %d elements", f->name, (int)n);
            return;
        }
    }
    set_array(p, v, n);
    for (int32_t i = 0; i < n && !r->err; i++) {
        if (f->type == PROTO_T_STRUCT) {
            path_push(k, f->name, i);
            decode_struct(k, f->sub, v + (size_t)i * esize);
            path_pop(k);
        } else {
            decode_value(k, f, v + (size_t)i * esize, false);
        }
    }
}

static void decode_field(walk_t *k, const proto_field_desc_t *f, void *base)
{
    void *p = field_ptr(base, f);
    if (f->is_array)
        decode_array(k, f, p);
    else
        decode_value(k, f, p, f->type == PROTO_T_STRUCT && f->def_null && f_nullable(k, f));
    annotate(k);
}

static const proto_field_desc_t *find_tag(const walk_t *k, const proto_struct_desc_t *s,
                                          uint32_t tag)
{
    for (uint16_t i = 0; i < s->ntagged; i++) {
        const proto_field_desc_t *f = &s->fields[s->tag_order[i]];
        if (f->tag == tag && f_present(k, f) && f_tagged(k, f)) return f;
    }
    return NULL;
}

static void decode_tags(walk_t *k, const proto_struct_desc_t *s, void *out)
{
    proto_rbuf_t *r = k->r;
    uint32_t count = proto_get_uvarint(r, "tagged field count");
    for (uint32_t i = 0; i < count && !r->err; i++) {
        uint32_t tag = proto_get_uvarint(r, "tag");
        uint32_t size = proto_get_uvarint(r, "tagged field size");
        if (r->err) break;
        if (size > proto_rbuf_left(r)) {
            proto_rbuf_fail(r, KC_ERR__BAD_MSG, "tag %u: size %u exceeds the %zu bytes left", tag,
                            size, proto_rbuf_left(r));
            break;
        }
        const uint8_t *end = r->p + size, *outer_end = r->end;
        const proto_field_desc_t *f = find_tag(k, s, tag);
        if (f) {
            /* The field must fit in its declared size; bytes it leaves unread
             * are skipped, so a peer may extend a tagged struct. */
            r->end = end;
            decode_field(k, f, out);
            r->end = outer_end;
        }
        if (r->err) break;
        r->p = end;
    }
    annotate(k);
}

static void decode_struct(walk_t *k, const proto_struct_desc_t *s, void *out)
{
    struct_defaults(s, out);
    if (k->depth > MAX_DEPTH) {
        proto_rbuf_fail(k->r, KC_ERR__BAD_MSG, "nested too deeply");
        return;
    }
    for (uint16_t i = 0; i < s->nfields && !k->r->err; i++) {
        const proto_field_desc_t *f = &s->fields[i];
        if (!f_present(k, f) || f_tagged(k, f)) continue;
        decode_field(k, f, out);
    }
    if (k->flex && !k->r->err) decode_tags(k, s, out);
}

static int check_version(const proto_msg_desc_t *d, int16_t version, char *buf, size_t size)
{
    if (version >= d->min_ver && version <= d->max_ver) return 0;
    if (buf && size)
        snprintf(buf, size, "%s v%d: unsupported version (the codec handles v%d-%d)", d->name,
                 version, d->min_ver, d->max_ver);
    return KC_ERR__UNSUPPORTED;
}

int proto_msg_decode(const proto_msg_desc_t *d, int16_t version, proto_rbuf_t *r, void *out,
                     proto_arena_t *arena)
{
    if (r->err) return r->err;
    char buf[sizeof(r->errstr)];
    if (check_version(d, version, buf, sizeof(buf))) {
        proto_rbuf_fail(r, KC_ERR__UNSUPPORTED, "%s", buf);
        return r->err;
    }
    walk_t k = {.msg = d, .ver = version, .flex = version >= d->flex_ver, .r = r, .arena = arena};
    decode_struct(&k, d->root, out);
    annotate(&k);
    return r->err;
}

/* ---- Encoding ------------------------------------------------------------ */

static void encode_struct(walk_t *k, const proto_struct_desc_t *s, const void *in);

static void write_slice(walk_t *k, const proto_field_desc_t *f, proto_slice_t v)
{
    if (v.len < -1 || (v.len > 0 && !v.ptr)) {
        enc_fail(k, KC_ERR__INVALID_ARG, "%s: invalid slice (length %d)", f->name, (int)v.len);
        return;
    }
    if (v.len == -1 && !f_nullable(k, f)) {
        enc_fail(k, KC_ERR__INVALID_ARG, "%s: null in a field that is not nullable in this version",
                 f->name);
        return;
    }
    if (f->type == PROTO_T_STRING) {
        if (v.len > INT16_MAX) {
            enc_fail(k, KC_ERR__INVALID_ARG, "%s: string of %d bytes exceeds 32767", f->name,
                     (int)v.len);
            return;
        }
        if (k->flex)
            proto_put_compact_str(k->w, v);
        else
            proto_put_str(k->w, v);
    } else if (k->flex) {
        proto_put_compact_bytes(k->w, v);
    } else {
        proto_put_bytes(k->w, v);
    }
}

/* Split encoding: only the length prefix goes to w; the caller appends the
 * bytes themselves at the reported position. A tagged field needs its whole
 * size up front, so inside one the bytes are written as usual. */
static void write_records(walk_t *k, const proto_field_desc_t *f, const proto_slice_t *v)
{
    if (!k->records_fn || k->tag_depth || v->len < 0) {
        write_slice(k, f, *v);
        return;
    }
    if (k->flex)
        proto_put_uvarint(k->w, (uint32_t)v->len + 1);
    else
        proto_put_i32(k->w, v->len);
    if (!k->w->oom) k->records_fn(k->records_arg, v, k->w->len);
}

static void encode_value(walk_t *k, const proto_field_desc_t *f, const void *p,
                         bool nullable_struct)
{
    proto_wbuf_t *w = k->w;
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: proto_put_i8(w, *(const bool *)p ? 1 : 0); break;
    case PROTO_T_INT8: proto_put_i8(w, *(const int8_t *)p); break;
    case PROTO_T_INT16: proto_put_i16(w, *(const int16_t *)p); break;
    case PROTO_T_UINT16: proto_put_u16(w, *(const uint16_t *)p); break;
    case PROTO_T_INT32: proto_put_i32(w, *(const int32_t *)p); break;
    case PROTO_T_INT64: proto_put_i64(w, *(const int64_t *)p); break;
    case PROTO_T_FLOAT64: proto_put_f64(w, *(const double *)p); break;
    case PROTO_T_UUID: proto_put_uuid(w, (const proto_uuid_t *)p); break;
    case PROTO_T_STRING:
    case PROTO_T_BYTES: write_slice(k, f, *(const proto_slice_t *)p); break;
    case PROTO_T_RECORDS: write_records(k, f, (const proto_slice_t *)p); break;
    case PROTO_T_STRUCT:
        if (nullable_struct) {
            p = get_ptr(p);
            proto_put_i8(w, p ? 1 : -1);
            if (!p) break;
        } else if (f->def_null && !get_ptr(p)) {
            /* A pointer field in a version where the struct is not nullable. */
            enc_fail(k, KC_ERR__INVALID_ARG,
                     "%s: null in a field that is not nullable in this "
                     "version",
                     f->name);
            break;
        } else if (f->def_null) {
            p = get_ptr(p);
        }
        path_push(k, f->name, -1);
        encode_struct(k, f->sub, p);
        path_pop(k);
        break;
    }
}

static void encode_field(walk_t *k, const proto_field_desc_t *f, const void *base)
{
    const void *p = field_ptr(base, f);
    if (!f->is_array) {
        encode_value(k, f, p, f->type == PROTO_T_STRUCT && f->def_null && f_nullable(k, f));
        return;
    }
    proto_array_t a = get_array(p);
    if (a.n < -1 || (a.n > 0 && !a.v)) {
        enc_fail(k, KC_ERR__INVALID_ARG, "%s: invalid array (n = %d)", f->name, (int)a.n);
        return;
    }
    if (a.n == -1 && !f_nullable(k, f)) {
        enc_fail(k, KC_ERR__INVALID_ARG,
                 "%s: null in an array that is not nullable in this "
                 "version",
                 f->name);
        return;
    }
    if (k->flex)
        proto_put_compact_array_len(k->w, a.n);
    else
        proto_put_array_len(k->w, a.n);
    size_t esize = elem_size(f);
    for (int32_t i = 0; i < a.n && !k->err; i++) {
        path_push(k, f->name, i);
        const uint8_t *e = (const uint8_t *)a.v + (size_t)i * esize;
        if (f->type == PROTO_T_STRUCT)
            encode_struct(k, f->sub, e);
        else
            encode_value(k, f, e, false);
        path_pop(k);
    }
}

/* Writes a tagged field as tag, size, payload. The payload is written first
 * and then moved up to make room for its size, which is known only after. */
static void encode_tagged(walk_t *k, const proto_field_desc_t *f, const void *base)
{
    proto_wbuf_t *w = k->w;
    proto_put_uvarint(w, f->tag);
    size_t start = w->len;
    k->tag_depth++;
    encode_field(k, f, base);
    k->tag_depth--;
    if (w->oom || k->err) return;
    size_t len = w->len - start;
    if (len > UINT32_MAX) {
        enc_fail(k, KC_ERR__INVALID_ARG, "%s: tagged field too large", f->name);
        return;
    }
    size_t vlen = proto_uvarint_size((uint32_t)len);
    if (!proto_wbuf_reserve(w, vlen)) return;
    memmove(w->data + start + vlen, w->data + start, len);
    size_t end = w->len + vlen;
    w->len = start;
    proto_put_uvarint(w, (uint32_t)len);
    w->len = end;
}

static void encode_struct(walk_t *k, const proto_struct_desc_t *s, const void *in)
{
    if (k->depth > MAX_DEPTH) {
        enc_fail(k, KC_ERR__INVALID_ARG, "nested too deeply");
        return;
    }
    uint32_t ntags = 0;
    for (uint16_t i = 0; i < s->nfields && !k->err; i++) {
        const proto_field_desc_t *f = &s->fields[i];
        if (!f_present(k, f)) {
            if (!f->ignorable && !is_default(f, field_ptr(in, f)))
                enc_fail(k, KC_ERR__UNSUPPORTED,
                         "%s: field not supported in this version and "
                         "not at its default",
                         f->name);
            continue;
        }
        if (f_tagged(k, f)) {
            ntags += !is_default(f, field_ptr(in, f));
            continue;
        }
        encode_field(k, f, in);
    }
    if (!k->flex || k->err) return;
    proto_put_uvarint(k->w, ntags);
    for (uint16_t i = 0; i < s->ntagged && ntags && !k->err; i++) {
        const proto_field_desc_t *f = &s->fields[s->tag_order[i]];
        if (f_present(k, f) && f_tagged(k, f) && !is_default(f, field_ptr(in, f)))
            encode_tagged(k, f, in);
    }
}

int proto_msg_encode_split(const proto_msg_desc_t *d, int16_t version, const void *msg,
                           proto_wbuf_t *w, proto_records_fn records_fn, void *arg, char *errstr,
                           size_t errstr_size)
{
    if (errstr && errstr_size) errstr[0] = '\0';
    int err = check_version(d, version, errstr, errstr_size);
    if (err) return err;
    walk_t k = {.msg = d,
                .ver = version,
                .flex = version >= d->flex_ver,
                .w = w,
                .records_fn = records_fn,
                .records_arg = arg,
                .errstr = errstr,
                .errstr_size = errstr_size};
    encode_struct(&k, d->root, msg);
    if (!k.err && w->oom) enc_fail(&k, KC_ERR__NO_MEMORY, "out of memory");
    return k.err;
}

int proto_msg_encode(const proto_msg_desc_t *d, int16_t version, const void *msg, proto_wbuf_t *w,
                     char *errstr, size_t errstr_size)
{
    return proto_msg_encode_split(d, version, msg, w, NULL, NULL, errstr, errstr_size);
}

/* ---- Registry ------------------------------------------------------------ */

size_t proto_api_count(void)
{
    return proto_api_table_len;
}

const proto_api_t *proto_api_at(size_t i)
{
    return i < proto_api_table_len ? &proto_api_table[i] : NULL;
}

const proto_api_t *proto_api_find(int16_t api_key)
{
    size_t lo = 0, hi = proto_api_table_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (proto_api_table[mid].key == api_key) return &proto_api_table[mid];
        if (proto_api_table[mid].key < api_key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const proto_msg_desc_t *lookup(int16_t api_key, bool request, char *buf, size_t size)
{
    const proto_api_t *api = proto_api_find(api_key);
    if (!api) {
        if (buf && size) snprintf(buf, size, "unknown API key %d", api_key);
        return NULL;
    }
    return request ? api->request : api->response;
}

static int decode_by_key(int16_t api_key, bool request, int16_t version, proto_rbuf_t *r, void *out,
                         proto_arena_t *arena)
{
    if (r->err) return r->err;
    char buf[sizeof(r->errstr)];
    const proto_msg_desc_t *d = lookup(api_key, request, buf, sizeof(buf));
    if (!d) {
        proto_rbuf_fail(r, KC_ERR__UNSUPPORTED, "%s", buf);
        return r->err;
    }
    return proto_msg_decode(d, version, r, out, arena);
}

int proto_request_decode(int16_t api_key, int16_t version, proto_rbuf_t *r, void *out,
                         proto_arena_t *arena)
{
    return decode_by_key(api_key, true, version, r, out, arena);
}

int proto_response_decode(int16_t api_key, int16_t version, proto_rbuf_t *r, void *out,
                          proto_arena_t *arena)
{
    return decode_by_key(api_key, false, version, r, out, arena);
}

int proto_request_encode(int16_t api_key, int16_t version, const void *msg, proto_wbuf_t *w,
                         char *errstr, size_t errstr_size)
{
    const proto_msg_desc_t *d = lookup(api_key, true, errstr, errstr_size);
    return d ? proto_msg_encode(d, version, msg, w, errstr, errstr_size) : KC_ERR__UNSUPPORTED;
}

int proto_response_encode(int16_t api_key, int16_t version, const void *msg, proto_wbuf_t *w,
                          char *errstr, size_t errstr_size)
{
    const proto_msg_desc_t *d = lookup(api_key, false, errstr, errstr_size);
    return d ? proto_msg_encode(d, version, msg, w, errstr, errstr_size) : KC_ERR__UNSUPPORTED;
}
