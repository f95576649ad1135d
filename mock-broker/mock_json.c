/* kc-mock's JSON reader and writer (see mock_json.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_json.h"

typedef struct reader {
    const char *s;
    size_t len, at;
    char *errstr;
    size_t errstr_size;
    int failed;
} reader_t;

__attribute__((format(printf, 2, 3))) static int fail(reader_t *r, const char *fmt, ...)
{
    if (r->failed) return -1;
    r->failed = 1;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r->errstr && r->errstr_size)
        snprintf(r->errstr, r->errstr_size, "JSON at byte %zu: %s", r->at, msg);
    return -1;
}

static void skip_ws(reader_t *r)
{
    while (r->at < r->len) {
        char c = r->s[r->at];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
        r->at++;
    }
}

static int peek(reader_t *r)
{
    return r->at < r->len ? (unsigned char)r->s[r->at] : -1;
}

static int expect(reader_t *r, char c)
{
    skip_ws(r);
    if (peek(r) != c) return fail(r, "expected '%c'", c);
    r->at++;
    return 0;
}

static int literal(reader_t *r, const char *word)
{
    size_t n = strlen(word);
    if (r->len - r->at < n || memcmp(r->s + r->at, word, n) != 0)
        return fail(r, "unexpected character");
    r->at += n;
    return 0;
}

static int hex4(reader_t *r, unsigned *out)
{
    if (r->len - r->at < 4) return fail(r, "short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = r->s[r->at++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return fail(r, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

static void put_utf8(char *buf, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        buf[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        buf[(*n)++] = (char)(0xc0 | (cp >> 6));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        buf[(*n)++] = (char)(0xe0 | (cp >> 12));
        buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        buf[(*n)++] = (char)(0xf0 | (cp >> 18));
        buf[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static int escape(reader_t *r, char *buf, size_t *n)
{
    if (r->at >= r->len) return fail(r, "unterminated string");
    char c = r->s[r->at++];
    switch (c) {
    case '"': buf[(*n)++] = '"'; return 0;
    case '\\': buf[(*n)++] = '\\'; return 0;
    case '/': buf[(*n)++] = '/'; return 0;
    case 'b': buf[(*n)++] = '\b'; return 0;
    case 'f': buf[(*n)++] = '\f'; return 0;
    case 'n': buf[(*n)++] = '\n'; return 0;
    case 'r': buf[(*n)++] = '\r'; return 0;
    case 't': buf[(*n)++] = '\t'; return 0;
    case 'u': break;
    default: return fail(r, "unknown escape \\%c", c);
    }
    unsigned cp;
    if (hex4(r, &cp)) return -1;
    if (cp == 0) return fail(r, "\\u0000 is not allowed");
    if (cp >= 0xdc00 && cp <= 0xdfff) return fail(r, "lone low surrogate");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        unsigned lo;
        if (r->len - r->at < 2 || r->s[r->at] != '\\' || r->s[r->at + 1] != 'u')
            return fail(r, "high surrogate without its low half");
        r->at += 2;
        if (hex4(r, &lo)) return -1;
        if (lo < 0xdc00 || lo > 0xdfff) return fail(r, "bad low surrogate");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    put_utf8(buf, n, cp);
    return 0;
}

static int string(reader_t *r, char **out)
{
    *out = NULL;
    skip_ws(r);
    if (peek(r) != '"') return fail(r, "expected a string");
    r->at++;
    char *buf = malloc(MOCK_JSON_MAX_STRING + 8);
    if (!buf) return fail(r, "out of memory");
    size_t n = 0;
    for (;;) {
        if (n > MOCK_JSON_MAX_STRING) {
            free(buf);
            return fail(r, "string longer than %d bytes", MOCK_JSON_MAX_STRING);
        }
        if (r->at >= r->len) {
            free(buf);
            return fail(r, "unterminated string");
        }
        unsigned char c = (unsigned char)r->s[r->at++];
        if (c == '"') break;
        if (c < 0x20) {
            free(buf);
            return fail(r, "control character in a string");
        }
        if (c == '\\') {
            if (escape(r, buf, &n)) {
                free(buf);
                return -1;
            }
            continue;
        }
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

static int number(reader_t *r, int64_t *out)
{
    int neg = 0;
    if (peek(r) == '-') {
        neg = 1;
        r->at++;
    }
    int c = peek(r);
    if (c < '0' || c > '9') return fail(r, "expected a digit");
    if (c == '0' && r->at + 1 < r->len && r->s[r->at + 1] >= '0' && r->s[r->at + 1] <= '9')
        return fail(r, "leading zero");
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    while ((c = peek(r)) >= '0' && c <= '9') {
        unsigned d = (unsigned)(c - '0');
        if (v > (limit - d) / 10) return fail(r, "number out of range");
        v = v * 10 + d;
        r->at++;
    }
    if (c == '.' || c == 'e' || c == 'E') return fail(r, "only integers are accepted");
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static void value_free(mock_json_value_t *v)
{
    free(v->str);
    for (int i = 0; i < v->nitems; i++)
        value_free(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

static int value(reader_t *r, mock_json_value_t *v, int in_array);

static int array(reader_t *r, mock_json_value_t *v)
{
    v->type = MOCK_JSON_ARRAY;
    r->at++; /* '[' */
    skip_ws(r);
    if (peek(r) == ']') {
        r->at++;
        return 0;
    }
    int cap = 0;
    for (;;) {
        if (v->nitems == MOCK_JSON_MAX_ITEMS)
            return fail(r, "array longer than %d items", MOCK_JSON_MAX_ITEMS);
        if (v->nitems == cap) {
            cap = cap ? cap * 2 : 8;
            mock_json_value_t *items = realloc(v->items, (size_t)cap * sizeof(*items));
            if (!items) return fail(r, "out of memory");
            v->items = items;
        }
        mock_json_value_t *item = &v->items[v->nitems];
        memset(item, 0, sizeof(*item));
        if (value(r, item, 1)) return -1;
        v->nitems++;
        skip_ws(r);
        int c = peek(r);
        r->at++;
        if (c == ']') return 0;
        if (c != ',') {
            r->at--;
            return fail(r, "expected ',' or ']'");
        }
    }
}

static int value(reader_t *r, mock_json_value_t *v, int in_array)
{
    skip_ws(r);
    int c = peek(r);
    if (c == '"') {
        v->type = MOCK_JSON_STRING;
        return string(r, &v->str);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        v->type = MOCK_JSON_NUMBER;
        return number(r, &v->num);
    }
    if (in_array) return fail(r, "array items must be strings or integers");
    if (c == '[') return array(r, v);
    if (c == 't' || c == 'f') {
        v->type = MOCK_JSON_BOOL;
        v->num = c == 't';
        return literal(r, c == 't' ? "true" : "false");
    }
    if (c == 'n') {
        v->type = MOCK_JSON_NULL;
        return literal(r, "null");
    }
    if (c == '{') return fail(r, "nested objects are not accepted");
    return fail(r, c < 0 ? "unexpected end of input" : "unexpected character");
}

void mock_json_free(mock_json_t *obj)
{
    for (int i = 0; i < obj->count; i++) {
        free(obj->members[i].key);
        value_free(&obj->members[i].value);
    }
    free(obj->members);
    memset(obj, 0, sizeof(*obj));
}

const mock_json_value_t *mock_json_get(const mock_json_t *obj, const char *key)
{
    for (int i = 0; i < obj->count; i++)
        if (!strcmp(obj->members[i].key, key)) return &obj->members[i].value;
    return NULL;
}

static int members(reader_t *r, mock_json_t *out)
{
    skip_ws(r);
    if (peek(r) == '}') {
        r->at++;
        return 0;
    }
    out->members = calloc(MOCK_JSON_MAX_MEMBERS, sizeof(*out->members));
    if (!out->members) return fail(r, "out of memory");
    for (;;) {
        if (out->count == MOCK_JSON_MAX_MEMBERS)
            return fail(r, "more than %d members", MOCK_JSON_MAX_MEMBERS);
        mock_json_member_t *m = &out->members[out->count];
        size_t key_at = r->at;
        if (string(r, &m->key)) return -1;
        out->count++; /* owns the key from here, so it is freed on failure */
        for (int i = 0; i < out->count - 1; i++)
            if (!strcmp(out->members[i].key, m->key)) {
                r->at = key_at;
                return fail(r, "duplicate key \"%.40s\"", m->key);
            }
        if (expect(r, ':') || value(r, &m->value, 0)) return -1;
        skip_ws(r);
        int c = peek(r);
        if (c == '}') {
            r->at++;
            return 0;
        }
        if (c != ',') return fail(r, "expected ',' or '}'");
        r->at++;
    }
}

int mock_json_parse(const char *text, size_t len, mock_json_t *out, char *errstr,
                    size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    reader_t r = {.s = text, .len = len, .errstr = errstr, .errstr_size = errstr_size};
    int rc = expect(&r, '{');
    if (!rc) rc = members(&r, out);
    if (!rc) {
        skip_ws(&r);
        if (r.at != r.len) rc = fail(&r, "bytes after the object");
    }
    if (rc) {
        mock_json_free(out);
        return -1;
    }
    return 0;
}

/* ---- Writer ---------------------------------------------------------------------- */

static int reserve(mock_jbuf_t *b, size_t n)
{
    if (b->oom) return -1;
    if (b->len + n + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void put(mock_jbuf_t *b, const char *s, size_t n)
{
    if (reserve(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void mock_jbuf_raw(mock_jbuf_t *b, const char *s)
{
    put(b, s, strlen(s));
}

void mock_jbuf_printf(mock_jbuf_t *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof(small)) {
        put(b, small, (size_t)n);
        return;
    }
    if (reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void mock_jbuf_str(mock_jbuf_t *b, const char *s)
{
    if (!s) {
        mock_jbuf_raw(b, "null");
        return;
    }
    put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(b, e, 2);
        } else if (c < 0x20 || c == 0x7f) {
            mock_jbuf_printf(b, "\\u%04x", c);
        } else {
            put(b, (const char *)&c, 1);
        }
    }
    put(b, "\"", 1);
}

void mock_jbuf_free(mock_jbuf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}
