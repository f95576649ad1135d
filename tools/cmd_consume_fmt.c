/* kc consume's -f format (see cmd_consume_fmt.h). The string is compiled
 * into literal runs and fields once, so a record costs a handful of
 * fwrite()s and no parsing. */
#include "cmd_consume_fmt.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct fmt_op {
    char field;      /* 0 for a literal run, else the letter after '%' */
    size_t off, len; /* the literal run in tool_fmt.lit */
} fmt_op_t;

struct tool_fmt {
    size_t op_cnt;
    fmt_op_t *ops;
    char *lit; /* literal text, escapes resolved (may hold NUL bytes) */
};

static const char fmt_fields[] = "kshpotTKS";

static void add_lit(tool_fmt_t *f, size_t *lit_len, char c)
{
    if (f->op_cnt == 0 || f->ops[f->op_cnt - 1].field != 0)
        f->ops[f->op_cnt++] = (fmt_op_t){.field = 0, .off = *lit_len, .len = 0};
    f->lit[(*lit_len)++] = c;
    f->ops[f->op_cnt - 1].len++;
}

static int escape_char(char c, char *out)
{
    switch (c) {
    case 'n': *out = '\n'; return 0;
    case 't': *out = '\t'; return 0;
    case 'r': *out = '\r'; return 0;
    case '\\': *out = '\\'; return 0;
    case '0': *out = '\0'; return 0;
    default: return -1;
    }
}

tool_fmt_t *tool_fmt_new(const char *fmt, char *err, size_t err_size)
{
    size_t n = strlen(fmt);
    tool_fmt_t *f = calloc(1, sizeof(*f));
    if (f) {
        /* At most one op and one literal byte per format byte. */
        f->ops = calloc(n + 1, sizeof(*f->ops));
        f->lit = malloc(n + 1);
    }
    if (!f || !f->ops || !f->lit) {
        snprintf(err, err_size, "out of memory");
        tool_fmt_destroy(f);
        return NULL;
    }
    size_t lit_len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = fmt[i];
        if (c == '%') {
            char k = fmt[i + 1];
            if (k == '%') {
                add_lit(f, &lit_len, '%');
            } else if (k && strchr(fmt_fields, k)) {
                f->ops[f->op_cnt++] = (fmt_op_t){.field = k};
            } else {
                snprintf(err, err_size,
                         "unknown format field '%%%.1s' (want one of %%k %%s %%h %%p "
                         "%%o %%t %%T %%K %%S %%%%)",
                         k ? &fmt[i + 1] : "");
                tool_fmt_destroy(f);
                return NULL;
            }
            i++;
        } else if (c == '\\') {
            char out;
            if (!fmt[i + 1] || escape_char(fmt[i + 1], &out)) {
                snprintf(err, err_size, "unknown escape '\\%.1s' (want \\n \\t \\r \\\\ \\0)",
                         fmt[i + 1] ? &fmt[i + 1] : "");
                tool_fmt_destroy(f);
                return NULL;
            }
            add_lit(f, &lit_len, out);
            i++;
        } else {
            add_lit(f, &lit_len, c);
        }
    }
    return f;
}

void tool_fmt_destroy(tool_fmt_t *f)
{
    if (!f) return;
    free(f->ops);
    free(f->lit);
    free(f);
}

static void write_headers(const kc_message_t *m, FILE *out)
{
    for (size_t i = 0; i < m->header_cnt; i++) {
        const kc_header_t *h = &m->headers[i];
        if (i) fputc(',', out);
        fputs(h->name, out);
        if (h->value) {
            fputc('=', out);
            fwrite(h->value, 1, h->value_len, out);
        }
    }
}

static void write_len(const void *p, size_t len, FILE *out)
{
    if (p)
        fprintf(out, "%zu", len);
    else
        fputs("-1", out);
}

void tool_fmt_write(const tool_fmt_t *f, const kc_message_t *m, FILE *out)
{
    for (size_t i = 0; i < f->op_cnt; i++) {
        const fmt_op_t *op = &f->ops[i];
        switch (op->field) {
        case 0: fwrite(f->lit + op->off, 1, op->len, out); break;
        case 'k':
            if (m->key) fwrite(m->key, 1, m->key_len, out);
            break;
        case 's':
            if (m->value) fwrite(m->value, 1, m->value_len, out);
            break;
        case 'h': write_headers(m, out); break;
        case 'p': fprintf(out, "%" PRId32, m->partition); break;
        case 'o': fprintf(out, "%" PRId64, m->offset); break;
        case 't': fputs(m->topic ? m->topic : "", out); break;
        case 'T':
            fprintf(out, "%" PRId64,
                    m->timestamp_type == KC_TIMESTAMP_NONE ? (int64_t)-1 : m->timestamp_ms);
            break;
        case 'K': write_len(m->key, m->key_len, out); break;
        case 'S': write_len(m->value, m->value_len, out); break;
        default: break;
        }
    }
}
