/* The configuration engine: one table of properties drives parsing,
 * validation, defaults, copying and the configuration reference.
 *
 * A side (client, broker) declares a settings struct whose first member is a
 * util_conf_base_t, followed by typed fields (int, int64_t, double, char *),
 * and a table with one row per property naming the field by offsetof(). Text
 * is parsed once, at set time; run-time code reads the typed fields directly,
 * so nothing is looked up by name or allocated on hot paths.
 *
 * Lifecycle: util_conf_init() fills a settings struct with the defaults (any
 * previous content is ignored); util_conf_set() changes one property, leaving
 * it untouched on failure; util_conf_clear() frees the strings it owns. A
 * settings struct is not thread-safe: configure it, then share it read-only.
 */
#ifndef UTIL_CONF_H
#define UTIL_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kc/kc_err.h"

typedef enum util_conf_type {
    UTIL_CONF_BOOL,   /* int: 0 or 1; true/false/t/f/1/0, any case */
    UTIL_CONF_INT,    /* int, within [min, max] */
    UTIL_CONF_INT64,  /* int64_t, within [min, max] */
    UTIL_CONF_DOUBLE, /* double, within [dmin, dmax] */
    UTIL_CONF_STRING, /* char *, owned; NULL when unset and no default */
    UTIL_CONF_ENUM,   /* int: the value of one of `names` (any case) */
    UTIL_CONF_FLAGS,  /* int: the OR of the values of a comma list of `names` */
    UTIL_CONF_LIST,   /* char *: a comma list, trimmed, rejoined with ","; items
                         from `names` if given */
    UTIL_CONF_ALIAS,  /* another name for the row named `alias_of` */
} util_conf_type_t;

/* Who reads a property (shown in the reference). */
enum {
    UTIL_CONF_PRODUCER = 1 << 0,
    UTIL_CONF_CONSUMER = 1 << 1,
    UTIL_CONF_CLIENT = UTIL_CONF_PRODUCER | UTIL_CONF_CONSUMER,
    UTIL_CONF_BROKER = 1 << 2,
    UTIL_CONF_MOCK = 1 << 3,
};

/* A spelling allowed for an enum, flags or list property. Several spellings
 * may share a value (synonyms); the first one is what util_conf_get() shows.
 * A spelling with `unsupported` set is recognised but rejected with that
 * reason ("not supported yet"). Arrays end with a {NULL} row. */
typedef struct util_conf_name {
    const char *name;
    int value;
    const char *unsupported;
} util_conf_name_t;

/* Extra check for string and list values, after normalisation. Returns 0, or
 * non-zero with the reason in errstr (without the property name). */
typedef int (*util_conf_check_fn)(const char *value, char *errstr, size_t errstr_size);

typedef struct util_conf_prop {
    const char *name;
    util_conf_type_t type;
    unsigned scope;   /* UTIL_CONF_PRODUCER | ... */
    size_t offset;    /* of the typed field in the settings struct */
    int64_t min, max; /* INT, INT64 */
    double dmin, dmax;
    const util_conf_name_t *names; /* ENUM, FLAGS; LIST (optional) */
    const char *def;               /* default as text; NULL: unset (0 or NULL) */
    const char *alias_of;          /* ALIAS */
    util_conf_check_fn check;      /* STRING, LIST (optional) */
    const char *meaning;           /* one line, for the reference */
} util_conf_prop_t;

typedef struct util_conf_table {
    const char *title; /* "Client configuration" */
    const char *intro; /* a paragraph for the reference, or NULL */
    const util_conf_prop_t *props;
    size_t count;
    size_t settings_size; /* sizeof the settings struct */
} util_conf_table_t;

/* Row builders for tables, so each side's table reads one line per property:
 * S is the scope, T the settings struct, f the field in it. */
#define UTIL_CONF_ROW_INT(S, T, n, f, lo, hi, d, m)                                        \
    {                                                                                      \
        .name = n, .type = UTIL_CONF_INT, .scope = S, .offset = offsetof(T, f), .min = lo, \
        .max = hi, .def = d, .meaning = m                                                  \
    }
#define UTIL_CONF_ROW_INT64(S, T, n, f, lo, hi, d, m)                                        \
    {                                                                                        \
        .name = n, .type = UTIL_CONF_INT64, .scope = S, .offset = offsetof(T, f), .min = lo, \
        .max = hi, .def = d, .meaning = m                                                    \
    }
#define UTIL_CONF_ROW_BOOL(S, T, n, f, d, m)                                               \
    {                                                                                      \
        .name = n, .type = UTIL_CONF_BOOL, .scope = S, .offset = offsetof(T, f), .def = d, \
        .meaning = m                                                                       \
    }
#define UTIL_CONF_ROW_ALIAS(S, n, to, m)                                             \
    {                                                                                \
        .name = n, .type = UTIL_CONF_ALIAS, .scope = S, .alias_of = to, .meaning = m \
    }

/* Rows a table may have: bounds the "set explicitly" bitmap. */
#define UTIL_CONF_MAX_PROPS 256

typedef struct util_conf_base {
    const util_conf_table_t *table;
    /* Bit i: row i was set by util_conf_set() (defaults do not count), so a
     * side can apply precedence rules such as Kafka's log.retention.ms over
     * log.retention.hours, or librdkafka's "adjusted unless set by the user". */
    uint64_t set_bits[UTIL_CONF_MAX_PROPS / 64];
} util_conf_base_t;

/* Applies every default to `conf` (a settings struct starting with a
 * util_conf_base_t). Fails only if the table is wrong (a default that does
 * not pass its own validation, too many rows) or on out of memory; the
 * message names the property. On failure nothing needs freeing. */
kc_err_t util_conf_init(util_conf_base_t *conf, const util_conf_table_t *table, char *errstr,
                        size_t errstr_size);

/* Frees the strings the settings own; the struct may be init'ed again. */
void util_conf_clear(util_conf_base_t *conf);

/* Deep copy of src into dst (uninitialised memory of the same struct type). */
kc_err_t util_conf_copy(util_conf_base_t *dst, const util_conf_base_t *src);

/* Validates `value` for property `name` (or an alias) and stores it. On
 * failure the setting is unchanged and errstr reads like
 * `linger.ms: "abc" is not an integer` or `no such property: foo.bar`.
 * Returns KC_ERR__NOENT for an unknown name, KC_ERR__CONF for a bad value,
 * KC_ERR__NO_MEMORY. Surrounding white space of the value is ignored. */
kc_err_t util_conf_set(util_conf_base_t *conf, const char *name, const char *value, char *errstr,
                       size_t errstr_size);

/* The value of `name` as text (canonical spelling; "" for an unset string).
 * Writes up to *size bytes including the NUL to dest (dest may be NULL) and
 * sets *size to the size needed. Returns KC_ERR__NOENT for an unknown name. */
kc_err_t util_conf_get(const util_conf_base_t *conf, const char *name, char *dest, size_t *size);

/* Checks a table for mistakes a compiler cannot see: duplicate names, alias
 * rows pointing nowhere, bounds outside the field's type, enum rows without
 * names, defaults that fail their own validation. For tests. */
kc_err_t util_conf_table_check(const util_conf_table_t *table, char *errstr, size_t errstr_size);

/* Whether `name` (or its alias) was set explicitly; 0 for an unknown name. */
int util_conf_is_set(const util_conf_base_t *conf, const char *name);

/* The row of `name`, following an alias to its target; NULL if unknown. */
const util_conf_prop_t *util_conf_find(const util_conf_table_t *table, const char *name);

/* Loads a Java .properties file into `conf`, property by property; later
 * lines win. Errors read `path:line: message`. Stops at the first error,
 * keeping what was set before it. */
kc_err_t util_conf_load_file(util_conf_base_t *conf, const char *path, char *errstr,
                             size_t errstr_size);

/* Writes the configuration reference of `table` as Markdown. Returns 0, or
 * -1 on a write error. */
int util_conf_write_markdown(FILE *out, const util_conf_table_t *table);

/* Iterates a comma list as stored for UTIL_CONF_LIST ("a,b,c"): copies the
 * next item into item (truncated to item_size) and returns a pointer past it,
 * or NULL at the end. `for (p = list; (p = util_conf_list_next(p, b, n));)` */
const char *util_conf_list_next(const char *list, char *item, size_t item_size);

#endif
