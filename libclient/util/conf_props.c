/* Java .properties parsing. See conf_props.h. */
#include "conf_props.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define PROPS_MAX_FILE (16u << 20)

typedef struct reader {
    const char *p, *end;
    int line;
} reader_t;

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

static void skip_blanks(reader_t *r)
{
    while (r->p < r->end && is_blank(*r->p))
        r->p++;
}

static bool at_eol(const reader_t *r)
{
    return r->p == r->end || *r->p == '\n' || *r->p == '\r';
}

static void skip_eol(reader_t *r)
{
    if (r->p < r->end && *r->p == '\r') r->p++;
    if (r->p < r->end && *r->p == '\n') r->p++;
    r->line++;
}

/* Appends one logical line to buf (escapes kept, continuation backslashes
 * dropped). Returns its length, or -1 on a NUL byte. */
static long read_logical(reader_t *r, char *buf)
{
    size_t len = 0;
    for (;;) {
        size_t slashes = 0;
        for (; !at_eol(r); r->p++) {
            if (!*r->p) return -1;
            slashes = *r->p == '\\' ? slashes + 1 : 0;
            buf[len++] = *r->p;
        }
        bool eof = r->p == r->end;
        if (!eof) skip_eol(r);
        if (slashes % 2 == 0) break;
        len--; /* the backslash that joins the lines */
        if (eof) break;
        skip_blanks(r);
    }
    return (long)len;
}

static int hex4(const char *s, size_t n, unsigned *out)
{
    if (n < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *dst, uint32_t cp)
{
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xc0 | cp >> 6);
        dst[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xe0 | cp >> 12);
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        dst[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    dst[0] = (char)(0xf0 | cp >> 18);
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    dst[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes \uXXXX at s (after the "\u"), joining a surrogate pair. Returns the
 * characters consumed, or 0 with a reason. */
static size_t unescape_u(const char *s, size_t n, uint32_t *cp, const char **why)
{
    unsigned hi, lo;
    if (hex4(s, n, &hi)) return *why = "malformed \\uXXXX escape", 0;
    if (hi == 0) return *why = "\\u0000 is not allowed", 0;
    if (hi >= 0xdc00 && hi <= 0xdfff) return *why = "lone low surrogate in \\uXXXX escape", 0;
    if (hi < 0xd800 || hi > 0xdbff) {
        *cp = hi;
        return 4;
    }
    if (n < 10 || s[4] != '\\' || s[5] != 'u' || hex4(s + 6, n - 6, &lo) || lo < 0xdc00 ||
        lo > 0xdfff)
        return *why = "high surrogate in \\uXXXX escape without its low half", 0;
    *cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
    return 10;
}

/* Writes the unescaped s[0..n) to dst as a C string (never longer than n). */
static int unescape(const char *s, size_t n, char *dst, const char **why)
{
    size_t o = 0;
    for (size_t k = 0; k < n;) {
        char c = s[k++];
        if (c != '\\') {
            dst[o++] = c;
            continue;
        }
        if (k == n) break; /* a lone trailing backslash at end of file */
        c = s[k++];
        switch (c) {
        case 't': dst[o++] = '\t'; break;
        case 'n': dst[o++] = '\n'; break;
        case 'r': dst[o++] = '\r'; break;
        case 'f': dst[o++] = '\f'; break;
        case 'u': {
            uint32_t cp;
            size_t used = unescape_u(s + k, n - k, &cp, why);
            if (!used) return -1;
            k += used;
            o += put_utf8(dst + o, cp);
            break;
        }
        default: dst[o++] = c; break;
        }
    }
    dst[o] = '\0';
    return 0;
}

/* Key ends at the first unescaped '=', ':' or blank; then blanks, at most one
 * '=' or ':', and blanks again precede the value. */
static size_t split(const char *s, size_t n, size_t *value_at)
{
    size_t i = 0;
    while (i < n && s[i] != '=' && s[i] != ':' && !is_blank(s[i]))
        i += s[i] == '\\' ? 2 : 1;
    size_t key_end = i < n ? i : n, j = key_end;
    while (j < n && is_blank(s[j]))
        j++;
    if (j < n && (s[j] == '=' || s[j] == ':')) j++;
    while (j < n && is_blank(s[j]))
        j++;
    *value_at = j;
    return key_end;
}

kc_err_t util_conf_props_parse(const char *origin, const char *text, size_t len,
                               util_conf_props_cb cb, void *opaque, char *errstr,
                               size_t errstr_size)
{
    /* One buffer for the raw logical line, the key and the value: none is
     * longer than the text, as unescaping only shrinks. */
    char *line = malloc(3 * (len + 1));
    if (!line) {
        snprintf(errstr, errstr_size, "%s: out of memory", origin);
        return KC_ERR__NO_MEMORY;
    }
    char *key = line + len + 1, *value = key + len + 1;
    reader_t r = {text, text + len, 1};
    kc_err_t err = KC_ERR_NO_ERROR;
    while (!err && r.p < r.end) {
        skip_blanks(&r);
        if (at_eol(&r)) {
            if (r.p < r.end) skip_eol(&r);
            continue;
        }
        if (*r.p == '#' || *r.p == '!') {
            while (!at_eol(&r))
                r.p++;
            if (r.p < r.end) skip_eol(&r);
            continue;
        }
        int at = r.line;
        long n = read_logical(&r, line);
        const char *why = NULL;
        size_t value_at = 0, key_len = 0;
        if (n < 0) {
            why = "NUL byte in the file";
        } else {
            key_len = split(line, (size_t)n, &value_at);
            if (!unescape(line, key_len, key, &why))
                unescape(line + value_at, (size_t)n - value_at, value, &why);
        }
        if (why) {
            snprintf(errstr, errstr_size, "%s:%d: %s", origin, at, why);
            err = KC_ERR__CONF;
            break;
        }
        char reason[512] = "";
        int rc = cb(opaque, key, value, at, reason, sizeof(reason));
        if (rc) {
            snprintf(errstr, errstr_size, "%s:%d: %s", origin, at, reason);
            err = rc < 0 ? (kc_err_t)rc : KC_ERR__CONF;
        }
    }
    free(line);
    return err;
}

kc_err_t util_conf_props_parse_file(const char *path, util_conf_props_cb cb, void *opaque,
                                    char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return KC_ERR__IO;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    kc_err_t err = KC_ERR_NO_ERROR;
    while (buf) {
        if (len == cap) {
            char *bigger = cap >= PROPS_MAX_FILE ? NULL : realloc(buf, cap * 2);
            if (!bigger) {
                err = cap >= PROPS_MAX_FILE ? KC_ERR__TOO_LARGE : KC_ERR__NO_MEMORY;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    if (!buf)
        err = KC_ERR__NO_MEMORY;
    else if (!err && ferror(f))
        err = KC_ERR__IO;
    fclose(f);
    if (err == KC_ERR__TOO_LARGE)
        snprintf(errstr, errstr_size, "%s: larger than %u MiB", path, PROPS_MAX_FILE >> 20);
    else if (err)
        snprintf(errstr, errstr_size, "%s: %s", path,
                 err == KC_ERR__IO ? "read error" : "out of memory");
    else
        err = util_conf_props_parse(path, buf, len, cb, opaque, errstr, errstr_size);
    free(buf);
    return err;
}

static int set_one(void *opaque, const char *key, const char *value, int line, char *errstr,
                   size_t errstr_size)
{
    kc_err_t err = util_conf_set(opaque, key, value, errstr, errstr_size);
    return err;
}

kc_err_t util_conf_load_file(util_conf_base_t *conf, const char *path, char *errstr,
                             size_t errstr_size)
{
    return util_conf_props_parse_file(path, set_one, conf, errstr, errstr_size);
}
