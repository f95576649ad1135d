/* The configuration reference, written from a property table as Markdown, so
 * docs/ cannot drift from the code. See conf.h. */
#include <stdio.h>
#include <string.h>

#include "conf.h"

static const char *type_name(util_conf_type_t type)
{
    switch (type) {
    case UTIL_CONF_BOOL: return "boolean";
    case UTIL_CONF_INT: return "integer";
    case UTIL_CONF_INT64: return "integer (64-bit)";
    case UTIL_CONF_DOUBLE: return "number";
    case UTIL_CONF_STRING: return "string";
    case UTIL_CONF_ENUM: return "enum";
    case UTIL_CONF_FLAGS: return "flags (comma list)";
    case UTIL_CONF_LIST: return "list (comma separated)";
    case UTIL_CONF_ALIAS: return "alias";
    }
    return "?";
}

/* A table cell: '|' would end it early. */
static void cell(FILE *out, const char *s)
{
    fputs(" ", out);
    for (; s && *s; s++) {
        if (*s == '|') fputc('\\', out);
        fputc(*s, out);
    }
    fputs(" |", out);
}

static void scope_cell(FILE *out, unsigned scope)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{UTIL_CONF_PRODUCER, "P"},
                 {UTIL_CONF_CONSUMER, "C"},
                 {UTIL_CONF_BROKER, "broker"},
                 {UTIL_CONF_MOCK, "mock"}};
    char buf[64] = "";
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (scope & names[i].bit)
            snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? ", " : "",
                     names[i].name);
    cell(out, buf);
}

static void range_cell(FILE *out, const util_conf_prop_t *p)
{
    char buf[1024] = "";
    size_t off = 0;
    switch (p->type) {
    case UTIL_CONF_BOOL: snprintf(buf, sizeof(buf), "true, false"); break;
    case UTIL_CONF_INT:
    case UTIL_CONF_INT64:
        snprintf(buf, sizeof(buf), "%lld .. %lld", (long long)p->min, (long long)p->max);
        break;
    case UTIL_CONF_DOUBLE: snprintf(buf, sizeof(buf), "%g .. %g", p->dmin, p->dmax); break;
    case UTIL_CONF_ENUM:
    case UTIL_CONF_FLAGS:
    case UTIL_CONF_LIST:
        for (const util_conf_name_t *n = p->names; n && n->name && off < sizeof(buf); n++)
            off +=
                (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s%s%s%s", off ? ", " : "",
                                 n->name, n->unsupported ? " (" : "",
                                 n->unsupported ? n->unsupported : "", n->unsupported ? ")" : "");
        break;
    case UTIL_CONF_STRING:
    case UTIL_CONF_ALIAS: break;
    }
    cell(out, buf);
}

int util_conf_write_markdown(FILE *out, const util_conf_table_t *t)
{
    unsigned scopes = 0;
    for (size_t i = 0; i < t->count; i++)
        scopes |= t->props[i].scope;
    fprintf(out, "# %s\n\n", t->title);
    if (t->intro) fprintf(out, "%s\n\n", t->intro);
    if (scopes & UTIL_CONF_CLIENT)
        fprintf(out, "*Used by*: P = producer, C = consumer%s.\n\n",
                scopes & UTIL_CONF_MOCK ? ", mock = the built-in mock cluster" : "");
    fprintf(out, "| Property | Used by | Type | Range | Default | Meaning |\n");
    fprintf(out, "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < t->count; i++) {
        const util_conf_prop_t *p = &t->props[i];
        char buf[256];
        fputs("|", out);
        snprintf(buf, sizeof(buf), "`%s`", p->name);
        cell(out, buf);
        scope_cell(out, p->scope);
        cell(out, type_name(p->type));
        range_cell(out, p);
        if (p->def && *p->def)
            snprintf(buf, sizeof(buf), "`%s`", p->def);
        else
            buf[0] = '\0';
        cell(out, buf);
        if (p->type == UTIL_CONF_ALIAS) {
            snprintf(buf, sizeof(buf), "Alias of `%s`.%s%s", p->alias_of, p->meaning ? " " : "",
                     p->meaning ? p->meaning : "");
            cell(out, buf);
        } else {
            cell(out, p->meaning);
        }
        fputs("\n", out);
    }
    return ferror(out) ? -1 : 0;
}
