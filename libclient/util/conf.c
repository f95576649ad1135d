/* The configuration engine: set, get, defaults, copy. See conf.h. */
#include "conf.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIELD(conf, p, type)  ((type *)((char *)(conf) + (p)->offset))
#define CFIELD(conf, p, type) ((const type *)((const char *)(conf) + (p)->offset))

/* A value parsed from text, before it is stored. */
typedef struct parsed {
    int i;
    int64_t l;
    double d;
    char *s; /* owned until stored */
} parsed_t;

static void fail(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(char *errstr, size_t size, const char *fmt, ...)
{
    if (!errstr || !size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, size, fmt, ap);
    va_end(ap);
}

/* The value as the user wrote it, cut short so a pasted blob stays readable. */
static const char *shown(const char *v, size_t len, char *buf, size_t size)
{
    if (len + 1 <= size) {
        memcpy(buf, v, len);
        buf[len] = '\0';
    } else {
        snprintf(buf, size, "%.*s...", (int)(size - 4), v);
    }
    return buf;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **s, size_t *len)
{
    while (*len && is_space(**s))
        (*s)++, (*len)--;
    while (*len && is_space((*s)[*len - 1]))
        (*len)--;
}

static const util_conf_prop_t *row_find(const util_conf_table_t *t, const char *name)
{
    for (size_t i = 0; i < t->count; i++)
        if (!strcmp(t->props[i].name, name)) return &t->props[i];
    return NULL;
}

const util_conf_prop_t *util_conf_find(const util_conf_table_t *t, const char *name)
{
    const util_conf_prop_t *p = row_find(t, name);
    if (p && p->type == UTIL_CONF_ALIAS) p = row_find(t, p->alias_of);
    return p;
}

/* Levenshtein distance, bounded so a long value costs nothing. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return SIZE_MAX;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void fail_unknown(const util_conf_table_t *t, const char *name, char *errstr, size_t size)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, len = strlen(name);
    for (size_t i = 0; i < t->count; i++) {
        size_t d = edit_distance(name, t->props[i].name);
        if (d < best_d) best_d = d, best = t->props[i].name;
    }
    /* Close enough to be a typo, not a different word. */
    if (best && best_d <= 3 && best_d * 3 < len)
        fail(errstr, size, "no such property: %s (did you mean %s?)", name, best);
    else
        fail(errstr, size, "no such property: %s", name);
}

static const util_conf_name_t *name_find(const util_conf_name_t *names, const char *s, size_t len)
{
    for (const util_conf_name_t *n = names; n && n->name; n++)
        if (strlen(n->name) == len && !strncasecmp(n->name, s, len)) return n;
    return NULL;
}

static const char *name_of(const util_conf_name_t *names, int value)
{
    for (const util_conf_name_t *n = names; n && n->name; n++)
        if (n->value == value) return n->name;
    return NULL;
}

/* "-1, 0, 1, all" */
static void names_join(const util_conf_name_t *names, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (const util_conf_name_t *n = names; n && n->name && off < size; n++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? ", " : "", n->name);
}

static kc_err_t fail_not_one_of(const util_conf_prop_t *p, const char *user, const char *item,
                                size_t len, char *errstr, size_t size)
{
    char v[80], all[512];
    names_join(p->names, all, sizeof(all));
    fail(errstr, size, "%s: \"%s\" is not one of %s", user, shown(item, len, v, sizeof(v)), all);
    return KC_ERR__CONF;
}

static kc_err_t parse_int(const util_conf_prop_t *p, const char *user, const char *s, size_t len,
                          parsed_t *out, char *errstr, size_t size)
{
    char buf[32], v[80];
    size_t i = (len && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    bool digits = len > i && len < sizeof(buf);
    for (size_t k = i; digits && k < len; k++)
        digits = s[k] >= '0' && s[k] <= '9';
    if (!digits) {
        fail(errstr, size, "%s: \"%s\" is not an integer", user, shown(s, len, v, sizeof(v)));
        return KC_ERR__CONF;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    long long n = strtoll(buf, NULL, 10);
    bool overflow = errno == ERANGE;
    if ((overflow && buf[0] == '-') || (!overflow && n < p->min)) {
        fail(errstr, size, "%s: %s is below the minimum %lld", user, buf, (long long)p->min);
        return KC_ERR__CONF;
    }
    if (overflow || n > p->max) {
        fail(errstr, size, "%s: %s is above the maximum %lld", user, buf, (long long)p->max);
        return KC_ERR__CONF;
    }
    out->l = n;
    out->i = (int)n; /* in range: util_conf_table_check() keeps INT bounds within int */
    return KC_ERR_NO_ERROR;
}

static kc_err_t parse_double(const util_conf_prop_t *p, const char *user, const char *s, size_t len,
                             parsed_t *out, char *errstr, size_t size)
{
    char buf[64], v[80];
    bool ok = len > 0 && len < sizeof(buf);
    /* Plain decimal notation only: strtod would also take "inf", "nan", hex. */
    for (size_t k = 0; ok && k < len; k++)
        ok = strchr("0123456789+-.eE", s[k]) != NULL;
    char *end = NULL;
    double d = 0;
    if (ok) {
        memcpy(buf, s, len);
        buf[len] = '\0';
        d = strtod(buf, &end);
        ok = end == buf + len && isfinite(d);
    }
    if (!ok) {
        fail(errstr, size, "%s: \"%s\" is not a number", user, shown(s, len, v, sizeof(v)));
        return KC_ERR__CONF;
    }
    if (d < p->dmin) {
        fail(errstr, size, "%s: %s is below the minimum %g", user, buf, p->dmin);
        return KC_ERR__CONF;
    }
    if (d > p->dmax) {
        fail(errstr, size, "%s: %s is above the maximum %g", user, buf, p->dmax);
        return KC_ERR__CONF;
    }
    out->d = d;
    return KC_ERR_NO_ERROR;
}

static kc_err_t parse_bool(const char *user, const char *s, size_t len, parsed_t *out, char *errstr,
                           size_t size)
{
    /* librdkafka's spellings; Kafka's true/false are among them. */
    static const char *const yes[] = {"true", "t", "1"}, *const no[] = {"false", "f", "0"};
    for (int k = 0; k < 3; k++) {
        if (strlen(yes[k]) == len && !strncasecmp(s, yes[k], len)) {
            out->i = 1;
            return KC_ERR_NO_ERROR;
        }
        if (strlen(no[k]) == len && !strncasecmp(s, no[k], len)) {
            out->i = 0;
            return KC_ERR_NO_ERROR;
        }
    }
    char v[80];
    fail(errstr, size, "%s: \"%s\" is not a boolean (true or false)", user,
         shown(s, len, v, sizeof(v)));
    return KC_ERR__CONF;
}

static kc_err_t check_name(const util_conf_prop_t *p, const char *user, const char *s, size_t len,
                           const util_conf_name_t **found, char *errstr, size_t size)
{
    const util_conf_name_t *n = name_find(p->names, s, len);
    if (!n) return fail_not_one_of(p, user, s, len, errstr, size);
    if (n->unsupported) {
        fail(errstr, size, "%s: \"%s\" is %s", user, n->name, n->unsupported);
        return KC_ERR__UNSUPPORTED;
    }
    *found = n;
    return KC_ERR_NO_ERROR;
}

static kc_err_t parse_flags(const util_conf_prop_t *p, const char *user, const char *s, size_t len,
                            parsed_t *out, char *errstr, size_t size)
{
    int mask = 0;
    for (size_t start = 0; start <= len;) {
        size_t end = start;
        while (end < len && s[end] != ',')
            end++;
        const char *item = s + start;
        size_t ilen = end - start;
        trim(&item, &ilen);
        if (ilen) {
            const util_conf_name_t *n;
            kc_err_t err = check_name(p, user, item, ilen, &n, errstr, size);
            if (err) return err;
            mask |= n->value;
        }
        start = end + 1;
    }
    out->i = mask;
    return KC_ERR_NO_ERROR;
}

/* Splits, trims, checks and rejoins a comma list into out->s. */
static kc_err_t parse_list(const util_conf_prop_t *p, const char *user, const char *s, size_t len,
                           parsed_t *out, char *errstr, size_t size)
{
    char v[80];
    char *joined = malloc(len + 1);
    if (!joined) return KC_ERR__NO_MEMORY;
    size_t off = 0;
    for (size_t start = 0; len && start <= len;) {
        size_t end = start;
        while (end < len && s[end] != ',')
            end++;
        const char *item = s + start;
        size_t ilen = end - start;
        trim(&item, &ilen);
        start = end + 1;
        kc_err_t err = KC_ERR_NO_ERROR;
        if (!ilen) {
            fail(errstr, size, "%s: \"%s\" has an empty item", user, shown(s, len, v, sizeof(v)));
            err = KC_ERR__CONF;
        } else if (p->names) {
            const util_conf_name_t *n;
            err = check_name(p, user, item, ilen, &n, errstr, size);
            if (!err) item = n->name; /* canonical spelling; same length */
        }
        /* A repeated item is a mistake in every list we have (log.dirs, hosts). */
        for (size_t k = 0; !err && k < off;) {
            size_t e = k;
            while (e < off && joined[e] != ',')
                e++;
            if (e - k == ilen && !memcmp(joined + k, item, ilen)) {
                fail(errstr, size, "%s: \"%s\" is listed twice", user,
                     shown(item, ilen, v, sizeof(v)));
                err = KC_ERR__CONF;
            }
            k = e + 1;
        }
        if (err) {
            free(joined);
            return err;
        }
        if (off) joined[off++] = ',';
        memcpy(joined + off, item, ilen);
        off += ilen;
    }
    joined[off] = '\0';
    out->s = joined;
    return KC_ERR_NO_ERROR;
}

static kc_err_t parse_value(const util_conf_prop_t *p, const char *user, const char *value,
                            parsed_t *out, char *errstr, size_t size)
{
    const char *s = value ? value : "";
    size_t len = strlen(s);
    trim(&s, &len);
    memset(out, 0, sizeof(*out));
    kc_err_t err = KC_ERR_NO_ERROR;
    switch (p->type) {
    case UTIL_CONF_BOOL: return parse_bool(user, s, len, out, errstr, size);
    case UTIL_CONF_INT:
    case UTIL_CONF_INT64: return parse_int(p, user, s, len, out, errstr, size);
    case UTIL_CONF_DOUBLE: return parse_double(p, user, s, len, out, errstr, size);
    case UTIL_CONF_FLAGS: return parse_flags(p, user, s, len, out, errstr, size);
    case UTIL_CONF_ENUM: {
        const util_conf_name_t *n;
        err = check_name(p, user, s, len, &n, errstr, size);
        if (!err) out->i = n->value;
        return err;
    }
    case UTIL_CONF_STRING:
        out->s = strndup(s, len);
        if (!out->s) return KC_ERR__NO_MEMORY;
        break;
    case UTIL_CONF_LIST:
        err = parse_list(p, user, s, len, out, errstr, size);
        if (err) return err;
        break;
    case UTIL_CONF_ALIAS: return KC_ERR__INVALID_ARG;
    }
    char why[256] = "";
    if (p->check && p->check(out->s, why, sizeof(why))) {
        fail(errstr, size, "%s: %s", user, why);
        free(out->s);
        out->s = NULL;
        return KC_ERR__CONF;
    }
    return KC_ERR_NO_ERROR;
}

static void store(util_conf_base_t *conf, const util_conf_prop_t *p, parsed_t *v)
{
    switch (p->type) {
    case UTIL_CONF_BOOL:
    case UTIL_CONF_INT:
    case UTIL_CONF_ENUM:
    case UTIL_CONF_FLAGS: *FIELD(conf, p, int) = v->i; break;
    case UTIL_CONF_INT64: *FIELD(conf, p, int64_t) = v->l; break;
    case UTIL_CONF_DOUBLE: *FIELD(conf, p, double) = v->d; break;
    case UTIL_CONF_STRING:
    case UTIL_CONF_LIST:
        free(*FIELD(conf, p, char *));
        *FIELD(conf, p, char *) = v->s;
        v->s = NULL;
        break;
    case UTIL_CONF_ALIAS: break;
    }
}

static bool is_string_row(const util_conf_prop_t *p)
{
    return p->type == UTIL_CONF_STRING || p->type == UTIL_CONF_LIST;
}

kc_err_t util_conf_init(util_conf_base_t *conf, const util_conf_table_t *t, char *errstr,
                        size_t size)
{
    if (t->count > UTIL_CONF_MAX_PROPS || t->settings_size < sizeof(*conf)) {
        fail(errstr, size, "%s: table has %zu rows, at most %d fit", t->title, t->count,
             UTIL_CONF_MAX_PROPS);
        return KC_ERR__INVALID_ARG;
    }
    memset(conf, 0, t->settings_size);
    conf->table = t;
    for (size_t i = 0; i < t->count; i++) {
        const util_conf_prop_t *p = &t->props[i];
        if (p->type == UTIL_CONF_ALIAS || !p->def) continue;
        parsed_t v;
        kc_err_t err = parse_value(p, p->name, p->def, &v, errstr, size);
        if (err) {
            util_conf_clear(conf);
            return err;
        }
        store(conf, p, &v);
    }
    return KC_ERR_NO_ERROR;
}

void util_conf_clear(util_conf_base_t *conf)
{
    const util_conf_table_t *t = conf->table;
    if (!t) return;
    for (size_t i = 0; i < t->count; i++) {
        if (!is_string_row(&t->props[i])) continue;
        free(*FIELD(conf, &t->props[i], char *));
        *FIELD(conf, &t->props[i], char *) = NULL;
    }
}

kc_err_t util_conf_copy(util_conf_base_t *dst, const util_conf_base_t *src)
{
    const util_conf_table_t *t = src->table;
    memcpy(dst, src, t->settings_size);
    bool oom = false;
    for (size_t i = 0; i < t->count; i++) {
        const util_conf_prop_t *p = &t->props[i];
        if (!is_string_row(p)) continue;
        const char *s = *CFIELD(src, p, char *);
        /* After a failure, NULL the rest so clear() frees only our copies. */
        char *copy = (s && !oom) ? strdup(s) : NULL;
        if (s && !copy) oom = true;
        *FIELD(dst, p, char *) = copy;
    }
    if (oom) {
        util_conf_clear(dst);
        return KC_ERR__NO_MEMORY;
    }
    return KC_ERR_NO_ERROR;
}

kc_err_t util_conf_set(util_conf_base_t *conf, const char *name, const char *value, char *errstr,
                       size_t size)
{
    const util_conf_table_t *t = conf->table;
    const util_conf_prop_t *p = util_conf_find(t, name ? name : "");
    if (!p) {
        fail_unknown(t, name ? name : "", errstr, size);
        return KC_ERR__NOENT;
    }
    parsed_t v;
    /* Messages name the property as the user spelled it, alias or not. */
    kc_err_t err = parse_value(p, name, value, &v, errstr, size);
    if (err == KC_ERR__NO_MEMORY) fail(errstr, size, "%s: out of memory", name);
    if (err) return err;
    store(conf, p, &v);
    size_t i = (size_t)(p - t->props);
    conf->set_bits[i / 64] |= UINT64_C(1) << (i % 64);
    return KC_ERR_NO_ERROR;
}

int util_conf_is_set(const util_conf_base_t *conf, const char *name)
{
    const util_conf_prop_t *p = util_conf_find(conf->table, name);
    if (!p) return 0;
    size_t i = (size_t)(p - conf->table->props);
    return (conf->set_bits[i / 64] >> (i % 64)) & 1;
}

/* The value as text: either the stored string or tmp. */
static const char *format_value(const util_conf_base_t *conf, const util_conf_prop_t *p, char *tmp,
                                size_t size)
{
    const char *s;
    switch (p->type) {
    case UTIL_CONF_BOOL: return *CFIELD(conf, p, int) ? "true" : "false";
    case UTIL_CONF_INT: snprintf(tmp, size, "%d", *CFIELD(conf, p, int)); return tmp;
    case UTIL_CONF_INT64:
        snprintf(tmp, size, "%lld", (long long)*CFIELD(conf, p, int64_t));
        return tmp;
    case UTIL_CONF_DOUBLE: snprintf(tmp, size, "%g", *CFIELD(conf, p, double)); return tmp;
    case UTIL_CONF_ENUM: s = name_of(p->names, *CFIELD(conf, p, int)); return s ? s : "";
    case UTIL_CONF_FLAGS: {
        /* Greedy in table order, so "all" (listed first) shows as "all". */
        int left = *CFIELD(conf, p, int);
        size_t off = 0;
        tmp[0] = '\0';
        for (const util_conf_name_t *n = p->names; left && n->name && off < size; n++) {
            if (!n->value || (n->value & ~*CFIELD(conf, p, int)) || !(n->value & left)) continue;
            off += (size_t)snprintf(tmp + off, size - off, "%s%s", off ? "," : "", n->name);
            left &= ~n->value;
        }
        return tmp;
    }
    case UTIL_CONF_STRING:
    case UTIL_CONF_LIST: s = *CFIELD(conf, p, char *); return s ? s : "";
    case UTIL_CONF_ALIAS: break;
    }
    return "";
}

kc_err_t util_conf_get(const util_conf_base_t *conf, const char *name, char *dest, size_t *size)
{
    const util_conf_prop_t *p = util_conf_find(conf->table, name);
    if (!p) return KC_ERR__NOENT;
    char tmp[1024];
    const char *s = format_value(conf, p, tmp, sizeof(tmp));
    size_t need = strlen(s) + 1;
    if (dest && *size) {
        size_t n = need <= *size ? need - 1 : *size - 1;
        memcpy(dest, s, n);
        dest[n] = '\0';
    }
    *size = need;
    return KC_ERR_NO_ERROR;
}

const char *util_conf_list_next(const char *list, char *item, size_t item_size)
{
    if (!list || !*list) return NULL;
    const char *end = strchr(list, ',');
    size_t len = end ? (size_t)(end - list) : strlen(list);
    if (item_size) {
        size_t n = len < item_size ? len : item_size - 1;
        memcpy(item, list, n);
        item[n] = '\0';
    }
    return end ? end + 1 : list + len;
}

static size_t field_size(const util_conf_prop_t *p)
{
    switch (p->type) {
    case UTIL_CONF_INT64: return sizeof(int64_t);
    case UTIL_CONF_DOUBLE: return sizeof(double);
    case UTIL_CONF_STRING:
    case UTIL_CONF_LIST: return sizeof(char *);
    default: return sizeof(int);
    }
}

kc_err_t util_conf_table_check(const util_conf_table_t *t, char *errstr, size_t size)
{
    if (t->count > UTIL_CONF_MAX_PROPS) {
        fail(errstr, size, "%zu rows, at most %d fit", t->count, UTIL_CONF_MAX_PROPS);
        return KC_ERR__INVALID_ARG;
    }
    for (size_t i = 0; i < t->count; i++) {
        const util_conf_prop_t *p = &t->props[i];
        const char *why = NULL;
        for (size_t j = 0; j < i && !why; j++)
            if (!strcmp(p->name, t->props[j].name)) why = "appears twice";
        if (why) {
        } else if (p->type != UTIL_CONF_ALIAS && (!p->meaning || !*p->meaning)) {
            why = "has no meaning";
        } else if (p->type == UTIL_CONF_ALIAS) {
            const util_conf_prop_t *to = p->alias_of ? row_find(t, p->alias_of) : NULL;
            if (!to || to->type == UTIL_CONF_ALIAS) why = "is an alias of no property";
        } else if ((p->type == UTIL_CONF_ENUM || p->type == UTIL_CONF_FLAGS) &&
                   (!p->names || !p->names[0].name)) {
            why = "lists no allowed names";
        } else if ((p->type == UTIL_CONF_INT && (p->min < INT_MIN || p->max > INT_MAX)) ||
                   ((p->type == UTIL_CONF_INT || p->type == UTIL_CONF_INT64) && p->min > p->max) ||
                   (p->type == UTIL_CONF_DOUBLE && !(p->dmin <= p->dmax))) {
            why = "has bounds that do not fit its type";
        } else if (p->type != UTIL_CONF_ALIAS && p->offset + field_size(p) > t->settings_size) {
            why = "lives outside the settings struct";
        } else if (p->type != UTIL_CONF_ALIAS && p->offset < sizeof(util_conf_base_t)) {
            why = "overlaps the base of the settings struct";
        }
        if (why) {
            fail(errstr, size, "%s %s", p->name, why);
            return KC_ERR__INVALID_ARG;
        }
        if (p->type != UTIL_CONF_ALIAS && p->def) {
            parsed_t v;
            char inner[256];
            kc_err_t err = parse_value(p, p->name, p->def, &v, inner, sizeof(inner));
            if (err) {
                fail(errstr, size, "default of %s", inner);
                return err;
            }
            free(v.s);
        }
    }
    return KC_ERR_NO_ERROR;
}
