/* kc-mock's JSON: a strict, bounded reader for one flat object per line,
 * and a writer for the answers.
 *
 * The reader takes exactly one object whose values are strings, integers,
 * true/false/null, or arrays of strings and integers; anything else (nested
 * objects, fractions, exponents, duplicate keys, bytes after the object,
 * control characters or invalid UTF-8 escapes in strings) is refused with a
 * message saying what and where. Limits keep a hostile line cheap: at most
 * MOCK_JSON_MAX_MEMBERS members, MOCK_JSON_MAX_ITEMS items per array and
 * MOCK_JSON_MAX_STRING bytes per string. */
#ifndef MOCK_JSON_H
#define MOCK_JSON_H

#include <stddef.h>
#include <stdint.h>

#define MOCK_JSON_MAX_MEMBERS 64
#define MOCK_JSON_MAX_ITEMS   10000
#define MOCK_JSON_MAX_STRING  4096

typedef enum mock_json_type {
    MOCK_JSON_NULL,
    MOCK_JSON_BOOL,
    MOCK_JSON_NUMBER,
    MOCK_JSON_STRING,
    MOCK_JSON_ARRAY,
} mock_json_type_t;

typedef struct mock_json_value {
    mock_json_type_t type;
    int64_t num;                   /* NUMBER; BOOL as 0/1 */
    char *str;                     /* STRING: decoded, NUL-terminated (no NUL inside) */
    struct mock_json_value *items; /* ARRAY: strings and numbers only */
    int nitems;
} mock_json_value_t;

typedef struct mock_json_member {
    char *key;
    mock_json_value_t value;
} mock_json_member_t;

typedef struct mock_json {
    mock_json_member_t *members;
    int count;
} mock_json_t;

/* Parses text[0..len). Returns 0, or -1 with errstr (out holds nothing to
 * free). On success free out with mock_json_free(). */
int mock_json_parse(const char *text, size_t len, mock_json_t *out, char *errstr,
                    size_t errstr_size);
void mock_json_free(mock_json_t *obj);
/* The member's value, or NULL. Borrowed from obj. */
const mock_json_value_t *mock_json_get(const mock_json_t *obj, const char *key);

/* ---- Writer --------------------------------------------------------------------- */

/* A growing text buffer with a sticky out-of-memory flag. */
typedef struct mock_jbuf {
    char *p;
    size_t len, cap;
    int oom;
} mock_jbuf_t;

void mock_jbuf_raw(mock_jbuf_t *b, const char *s);
void mock_jbuf_printf(mock_jbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quoted and escaped; NULL writes null. */
void mock_jbuf_str(mock_jbuf_t *b, const char *s);
void mock_jbuf_free(mock_jbuf_t *b);

#endif
