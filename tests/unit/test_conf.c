/* The configuration engine and the .properties parser, on a small table of
 * their own so each behaviour is pinned down apart from the real tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc/kc_err.h"
#include "util/conf.h"
#include "util/conf_props.h"

typedef struct test_conf {
    util_conf_base_t base;
    int flag;
    int count;
    int64_t bytes;
    double ratio;
    char *name;
    int acks;
    int debug;
    char *hosts;
    char *strategies;
    char *checked;
    int unset_int;
} test_conf_t;

static const util_conf_name_t acks_names[] = {
    {"-1", -1, NULL}, {"0", 0, NULL}, {"1", 1, NULL}, {"all", -1, NULL}, {NULL, 0, NULL}};
static const util_conf_name_t debug_names[] = {
    {"all", 7, NULL}, {"broker", 1, NULL}, {"topic", 2, NULL}, {"msg", 4, NULL}, {NULL, 0, NULL}};
static const util_conf_name_t strategy_names[] = {{"range", 0, NULL},
                                                  {"roundrobin", 0, NULL},
                                                  {"cooperative-sticky", 0, NULL},
                                                  {"magic", 0, "not supported yet"},
                                                  {NULL, 0, NULL}};

static int check_no_x(const char *value, char *errstr, size_t size)
{
    if (!strchr(value, 'x')) return 0;
    snprintf(errstr, size, "must not contain an x");
    return -1;
}

#define ROW(n, t, field, ...)                                                     \
    {                                                                             \
        .name = n, .type = t, .offset = offsetof(test_conf_t, field), __VA_ARGS__ \
    }

static const util_conf_prop_t test_props[] = {
    ROW("t.flag", UTIL_CONF_BOOL, flag, .def = "false", .meaning = "A flag."),
    ROW("t.count", UTIL_CONF_INT, count, .min = 14, .max = 1000, .def = "100",
        .meaning = "A count."),
    ROW("t.bytes", UTIL_CONF_INT64, bytes, .min = -1, .max = INT64_MAX, .def = "-1",
        .meaning = "Bytes."),
    ROW("t.ratio", UTIL_CONF_DOUBLE, ratio, .dmin = 0, .dmax = 1, .def = "0.5",
        .meaning = "A ratio."),
    ROW("t.name", UTIL_CONF_STRING, name, .def = "kc", .meaning = "A name | with a pipe."),
    ROW("t.acks", UTIL_CONF_ENUM, acks, .names = acks_names, .def = "all", .meaning = "Acks."),
    ROW("t.debug", UTIL_CONF_FLAGS, debug, .names = debug_names, .meaning = "Debug contexts."),
    ROW("t.hosts", UTIL_CONF_LIST, hosts, .meaning = "Hosts."),
    ROW("t.strategies", UTIL_CONF_LIST, strategies, .names = strategy_names,
        .def = "range,roundrobin", .meaning = "Strategies."),
    ROW("t.checked", UTIL_CONF_STRING, checked, .check = check_no_x, .meaning = "Checked."),
    ROW("t.unset", UTIL_CONF_INT, unset_int, .min = -1, .max = 10, .meaning = "No default."),
    {.name = "t.old.count", .type = UTIL_CONF_ALIAS, .alias_of = "t.count"},
};

static const util_conf_table_t test_table = {
    .title = "Test configuration",
    .intro = "For tests.",
    .props = test_props,
    .count = sizeof(test_props) / sizeof(test_props[0]),
    .settings_size = sizeof(test_conf_t),
};

static test_conf_t *conf_new(void)
{
    test_conf_t *c = malloc(sizeof(*c));
    char err[256];
    assert_int_equal(util_conf_init(&c->base, &test_table, err, sizeof(err)), 0);
    return c;
}

static void conf_free(test_conf_t *c)
{
    util_conf_clear(&c->base);
    free(c);
}

/* Sets name=value and expects failure with exactly `want` as the message. */
static void expect_reject(test_conf_t *c, const char *name, const char *value, const char *want)
{
    char err[256] = "";
    assert_int_not_equal(util_conf_set(&c->base, name, value, err, sizeof(err)), 0);
    assert_string_equal(err, want);
}

static void expect_get(test_conf_t *c, const char *name, const char *want)
{
    char buf[256];
    size_t size = sizeof(buf);
    assert_int_equal(util_conf_get(&c->base, name, buf, &size), 0);
    assert_string_equal(buf, want);
    assert_int_equal(size, strlen(want) + 1);
}

static void set_ok(test_conf_t *c, const char *name, const char *value)
{
    char err[256] = "";
    kc_err_t rc = util_conf_set(&c->base, name, value, err, sizeof(err));
    if (rc) fail_msg("%s=%s: %s", name, value, err);
}

static void test_table_is_sound(void **state)
{
    char err[256] = "";
    assert_int_equal(util_conf_table_check(&test_table, err, sizeof(err)), 0);
}

static void test_table_check_finds_mistakes(void **state)
{
    char err[256];
    util_conf_prop_t rows[2] = {test_props[1], test_props[1]};
    util_conf_table_t t = test_table;
    t.props = rows;
    t.count = 2;
    assert_int_not_equal(util_conf_table_check(&t, err, sizeof(err)), 0);
    assert_string_equal(err, "t.count appears twice");

    rows[1].name = "t.other";
    rows[1].def = "5";
    assert_int_not_equal(util_conf_table_check(&t, err, sizeof(err)), 0);
    assert_string_equal(err, "default of t.other: 5 is below the minimum 14");

    rows[1] = (util_conf_prop_t){.name = "t.a", .type = UTIL_CONF_ALIAS, .alias_of = "t.nope"};
    assert_int_not_equal(util_conf_table_check(&t, err, sizeof(err)), 0);
    assert_string_equal(err, "t.a is an alias of no property");

    rows[1] = test_props[1];
    rows[1].name = "t.big";
    rows[1].max = INT64_MAX;
    assert_int_not_equal(util_conf_table_check(&t, err, sizeof(err)), 0);
    assert_string_equal(err, "t.big has bounds that do not fit its type");

    rows[1] = test_props[1];
    rows[1].name = "t.far";
    rows[1].offset = sizeof(test_conf_t);
    assert_int_not_equal(util_conf_table_check(&t, err, sizeof(err)), 0);
    assert_string_equal(err, "t.far lives outside the settings struct");
}

static void test_defaults(void **state)
{
    test_conf_t *c = conf_new();
    assert_int_equal(c->flag, 0);
    assert_int_equal(c->count, 100);
    assert_true(c->bytes == -1);
    assert_true(c->ratio == 0.5);
    assert_string_equal(c->name, "kc");
    assert_int_equal(c->acks, -1);
    assert_int_equal(c->debug, 0);
    assert_null(c->hosts);
    assert_string_equal(c->strategies, "range,roundrobin");
    assert_int_equal(c->unset_int, 0);
    assert_false(util_conf_is_set(&c->base, "t.count"));
    assert_false(util_conf_is_set(&c->base, "t.unset"));
    expect_get(c, "t.hosts", "");
    expect_get(c, "t.acks", "-1");
    expect_get(c, "t.ratio", "0.5");
    conf_free(c);
}

static void test_set_and_get_each_type(void **state)
{
    test_conf_t *c = conf_new();
    set_ok(c, "t.flag", "TRUE");
    assert_int_equal(c->flag, 1);
    set_ok(c, "t.flag", "f");
    assert_int_equal(c->flag, 0);
    set_ok(c, "t.flag", "1");
    expect_get(c, "t.flag", "true");
    set_ok(c, "t.count", " 14 ");
    assert_int_equal(c->count, 14);
    set_ok(c, "t.count", "+1000");
    expect_get(c, "t.count", "1000");
    set_ok(c, "t.bytes", "9223372036854775807");
    assert_true(c->bytes == INT64_MAX);
    expect_get(c, "t.bytes", "9223372036854775807");
    set_ok(c, "t.ratio", "0.25");
    assert_true(c->ratio == 0.25);
    set_ok(c, "t.name", "  my name ");
    assert_string_equal(c->name, "my name");
    set_ok(c, "t.name", "");
    assert_string_equal(c->name, "");
    set_ok(c, "t.acks", "0");
    assert_int_equal(c->acks, 0);
    set_ok(c, "t.acks", "ALL");
    assert_int_equal(c->acks, -1);
    expect_get(c, "t.acks", "-1");
    set_ok(c, "t.unset", "-1");
    assert_true(util_conf_is_set(&c->base, "t.unset"));
    conf_free(c);
}

static void test_flags(void **state)
{
    test_conf_t *c = conf_new();
    set_ok(c, "t.debug", "broker, MSG");
    assert_int_equal(c->debug, 5);
    expect_get(c, "t.debug", "broker,msg");
    set_ok(c, "t.debug", "topic,broker,msg");
    expect_get(c, "t.debug", "all");
    set_ok(c, "t.debug", "");
    assert_int_equal(c->debug, 0);
    expect_get(c, "t.debug", "");
    expect_reject(c, "t.debug", "broker,cgrp",
                  "t.debug: \"cgrp\" is not one of all, broker, topic, msg");
    conf_free(c);
}

static void test_lists(void **state)
{
    test_conf_t *c = conf_new();
    set_ok(c, "t.hosts", " a:1 ,b:2,  c ");
    assert_string_equal(c->hosts, "a:1,b:2,c");
    char item[8];
    const char *p = c->hosts;
    assert_non_null(p = util_conf_list_next(p, item, sizeof(item)));
    assert_string_equal(item, "a:1");
    assert_non_null(p = util_conf_list_next(p, item, sizeof(item)));
    assert_string_equal(item, "b:2");
    assert_non_null(p = util_conf_list_next(p, item, sizeof(item)));
    assert_string_equal(item, "c");
    assert_null(util_conf_list_next(p, item, sizeof(item)));

    set_ok(c, "t.strategies", "RoundRobin, range");
    assert_string_equal(c->strategies, "roundrobin,range");
    expect_reject(c, "t.hosts", "a,,b", "t.hosts: \"a,,b\" has an empty item");
    expect_reject(c, "t.hosts", "a,b,a", "t.hosts: \"a\" is listed twice");
    expect_reject(c, "t.strategies", "range,sticky",
                  "t.strategies: \"sticky\" is not one of range, roundrobin, cooperative-sticky, "
                  "magic");
    expect_reject(c, "t.strategies", "magic", "t.strategies: \"magic\" is not supported yet");
    assert_string_equal(c->hosts, "a:1,b:2,c");
    assert_string_equal(c->strategies, "roundrobin,range");
    set_ok(c, "t.hosts", "");
    assert_string_equal(c->hosts, "");
    conf_free(c);
}

static void test_rejections_name_property_and_reason(void **state)
{
    test_conf_t *c = conf_new();
    expect_reject(c, "t.count", "abc", "t.count: \"abc\" is not an integer");
    expect_reject(c, "t.count", "", "t.count: \"\" is not an integer");
    expect_reject(c, "t.count", "12.5", "t.count: \"12.5\" is not an integer");
    expect_reject(c, "t.count", "0x10", "t.count: \"0x10\" is not an integer");
    expect_reject(c, "t.count", "10", "t.count: 10 is below the minimum 14");
    expect_reject(c, "t.count", "1001", "t.count: 1001 is above the maximum 1000");
    expect_reject(c, "t.count", "99999999999999999999",
                  "t.count: 99999999999999999999 is above the maximum 1000");
    expect_reject(c, "t.bytes", "-99999999999999999999",
                  "t.bytes: -99999999999999999999 is below the minimum -1");
    expect_reject(c, "t.bytes", "99999999999999999999",
                  "t.bytes: 99999999999999999999 is above the maximum 9223372036854775807");
    expect_reject(c, "t.ratio", "1.5", "t.ratio: 1.5 is above the maximum 1");
    expect_reject(c, "t.ratio", "nan", "t.ratio: \"nan\" is not a number");
    expect_reject(c, "t.ratio", "1e999", "t.ratio: \"1e999\" is not a number");
    expect_reject(c, "t.flag", "yes", "t.flag: \"yes\" is not a boolean (true or false)");
    expect_reject(c, "t.acks", "2", "t.acks: \"2\" is not one of -1, 0, 1, all");
    expect_reject(c, "t.checked", "box", "t.checked: must not contain an x");
    /* An alias is named as the user spelled it. */
    expect_reject(c, "t.old.count", "abc", "t.old.count: \"abc\" is not an integer");
    /* A long bad value is cut short in the message. */
    char longv[300];
    memset(longv, 'z', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    char err[256];
    assert_int_not_equal(util_conf_set(&c->base, "t.count", longv, err, sizeof(err)), 0);
    assert_true(strstr(err, "...\" is not an integer") != NULL);
    /* Nothing changed. */
    assert_int_equal(c->count, 100);
    assert_false(util_conf_is_set(&c->base, "t.count"));
    conf_free(c);
}

static void test_unknown_property(void **state)
{
    test_conf_t *c = conf_new();
    char err[256];
    assert_int_equal(util_conf_set(&c->base, "foo.bar", "1", err, sizeof(err)), KC_ERR__NOENT);
    assert_string_equal(err, "no such property: foo.bar");
    assert_int_equal(util_conf_set(&c->base, "t.cuont", "1", err, sizeof(err)), KC_ERR__NOENT);
    assert_string_equal(err, "no such property: t.cuont (did you mean t.count?)");
    assert_int_equal(util_conf_set(&c->base, "t_flag", "1", err, sizeof(err)), KC_ERR__NOENT);
    assert_string_equal(err, "no such property: t_flag (did you mean t.flag?)");
    size_t size = 8;
    assert_int_equal(util_conf_get(&c->base, "foo.bar", NULL, &size), KC_ERR__NOENT);
    assert_false(util_conf_is_set(&c->base, "foo.bar"));
    conf_free(c);
}

static void test_alias(void **state)
{
    test_conf_t *c = conf_new();
    set_ok(c, "t.old.count", "20");
    assert_int_equal(c->count, 20);
    assert_true(util_conf_is_set(&c->base, "t.count"));
    assert_true(util_conf_is_set(&c->base, "t.old.count"));
    expect_get(c, "t.old.count", "20");
    set_ok(c, "t.count", "30"); /* later wins, whichever name */
    expect_get(c, "t.old.count", "30");
    assert_ptr_equal(util_conf_find(&test_table, "t.old.count"),
                     util_conf_find(&test_table, "t.count"));
    conf_free(c);
}

static void test_get_sizes(void **state)
{
    test_conf_t *c = conf_new();
    set_ok(c, "t.name", "abcdef");
    size_t size = 0;
    assert_int_equal(util_conf_get(&c->base, "t.name", NULL, &size), 0);
    assert_int_equal(size, 7);
    char small[4];
    size = sizeof(small);
    assert_int_equal(util_conf_get(&c->base, "t.name", small, &size), 0);
    assert_string_equal(small, "abc");
    assert_int_equal(size, 7);
    conf_free(c);
}

static void test_copy_is_deep(void **state)
{
    test_conf_t *c = conf_new();
    set_ok(c, "t.hosts", "a,b");
    set_ok(c, "t.count", "42");
    test_conf_t *d = malloc(sizeof(*d));
    assert_int_equal(util_conf_copy(&d->base, &c->base), 0);
    assert_int_equal(d->count, 42);
    assert_true(util_conf_is_set(&d->base, "t.count"));
    assert_ptr_not_equal(d->hosts, c->hosts);
    set_ok(c, "t.hosts", "z");
    assert_string_equal(d->hosts, "a,b");
    conf_free(c);
    assert_string_equal(d->name, "kc");
    conf_free(d);
}

/* --- .properties parsing --- */

typedef struct pairs {
    char text[2048];
    size_t len;
    int fail_at; /* key index to fail on, or -1 */
    int seen;
} pairs_t;

static int collect(void *opaque, const char *key, const char *value, int line, char *errstr,
                   size_t size)
{
    pairs_t *p = opaque;
    if (p->seen++ == p->fail_at) {
        snprintf(errstr, size, "%s: refused", key);
        return KC_ERR__INVALID_ARG;
    }
    p->len += (size_t)snprintf(p->text + p->len, sizeof(p->text) - p->len, "%d[%s]=[%s]\n", line,
                               key, value);
    return 0;
}

static const char *parse(const char *text, pairs_t *p, kc_err_t want)
{
    static char err[256];
    memset(p, 0, sizeof(*p));
    p->fail_at = -1;
    err[0] = '\0';
    assert_int_equal(
        util_conf_props_parse("t.properties", text, strlen(text), collect, p, err, sizeof(err)),
        want);
    return want ? err : p->text;
}

static void test_props_basic_forms(void **state)
{
    pairs_t p;
    const char *in = "# comment\n"
                     "! also a comment\n"
                     "\n"
                     "   \t\n"
                     "a=1\n"
                     "b = 2\n"
                     "  c:3\n"
                     "d : 4\n"
                     "e 5\n"
                     "f\t=\t 6  \n"
                     "g\n"
                     "h=\n"
                     "i==x\n"
                     "j=a=b:c\n"
                     "  # indented comment\n"
                     "k=#not a comment";
    assert_string_equal(parse(in, &p, 0), "5[a]=[1]\n"
                                          "6[b]=[2]\n"
                                          "7[c]=[3]\n"
                                          "8[d]=[4]\n"
                                          "9[e]=[5]\n"
                                          "10[f]=[6  ]\n"
                                          "11[g]=[]\n"
                                          "12[h]=[]\n"
                                          "13[i]=[=x]\n"
                                          "14[j]=[a=b:c]\n"
                                          "16[k]=[#not a comment]\n");
}

static void test_props_line_endings(void **state)
{
    pairs_t p;
    assert_string_equal(parse("a=1\r\nb=2\rc=3\n\r\nd=4\r", &p, 0),
                        "1[a]=[1]\n2[b]=[2]\n3[c]=[3]\n5[d]=[4]\n");
}

static void test_props_continuations(void **state)
{
    pairs_t p;
    const char *in = "listeners=PLAINTEXT://a:1,\\\n"
                     "          PLAINTEXT://b:2\n"
                     "two=x\\\\\n"
                     "three=y\\\\\\\n"
                     "   z\n"
                     "# comment \\\n"
                     "after=comment\n"
                     "long=1\\\r\n"
                     "  2\\\n"
                     "  # 3 is not a comment\n"
                     "end=\\\n"
                     "\n"
                     "last=eof\\";
    assert_string_equal(parse(in, &p, 0), "1[listeners]=[PLAINTEXT://a:1,PLAINTEXT://b:2]\n"
                                          "3[two]=[x\\]\n"
                                          "4[three]=[y\\z]\n"
                                          "7[after]=[comment]\n"
                                          "8[long]=[12# 3 is not a comment]\n"
                                          "11[end]=[]\n"
                                          "13[last]=[eof]\n");
}

static void test_props_escapes(void **state)
{
    pairs_t p;
    const char *in = "key\\ with\\ spaces=v\n"
                     "k\\=eq\\:colon = a\\tb\\nc\\rd\\fe\n"
                     "u=\\u00e9\\u20AC\\uD83D\\uDE00\n"
                     "other=\\q\\#\\!\\\\";
    assert_string_equal(parse(in, &p, 0), "1[key with spaces]=[v]\n"
                                          "2[k=eq:colon]=[a\tb\nc\rd\fe]\n"
                                          "3[u]=[\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80]\n"
                                          "4[other]=[q#!\\]\n");
}

static void test_props_errors_name_file_and_line(void **state)
{
    pairs_t p;
    assert_string_equal(parse("a=1\n\nb=\\u12G4\n", &p, KC_ERR__CONF),
                        "t.properties:3: malformed \\uXXXX escape");
    assert_string_equal(parse("b=\\u12", &p, KC_ERR__CONF),
                        "t.properties:1: malformed \\uXXXX escape");
    assert_string_equal(parse("x=1\nb=\\uD83Dx", &p, KC_ERR__CONF),
                        "t.properties:2: high surrogate in \\uXXXX escape without its low half");
    assert_string_equal(parse("b=\\uDE00", &p, KC_ERR__CONF),
                        "t.properties:1: lone low surrogate in \\uXXXX escape");
    assert_string_equal(parse("b=\\u0000", &p, KC_ERR__CONF),
                        "t.properties:1: \\u0000 is not allowed");
    /* The logical line's first line is the one reported. */
    assert_string_equal(parse("a=1\nb=x\\\n  \\uZZZZ\n", &p, KC_ERR__CONF),
                        "t.properties:2: malformed \\uXXXX escape");

    char err[128];
    memset(&p, 0, sizeof(p));
    p.fail_at = -1;
    const char nul[] = "a=1\nb=\0\n";
    assert_int_equal(
        util_conf_props_parse("t.properties", nul, sizeof(nul) - 1, collect, &p, err, sizeof(err)),
        KC_ERR__CONF);
    assert_string_equal(err, "t.properties:2: NUL byte in the file");

    memset(&p, 0, sizeof(p));
    p.fail_at = 1;
    const char *in = "a=1\n# c\nbad=2\nc=3\n";
    assert_int_equal(
        util_conf_props_parse("t.properties", in, strlen(in), collect, &p, err, sizeof(err)),
        KC_ERR__INVALID_ARG);
    assert_string_equal(err, "t.properties:3: bad: refused");
    assert_int_equal(p.seen, 2); /* stopped at the error */
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/kc-test-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_load_file(void **state)
{
    char *path = write_temp("# test\nt.count = 20\nt.name=a\\\n  b\nt.old.count=21\n");
    test_conf_t *c = conf_new();
    char err[512];
    assert_int_equal(util_conf_load_file(&c->base, path, err, sizeof(err)), 0);
    assert_int_equal(c->count, 21);
    assert_string_equal(c->name, "ab");
    unlink(path);
    free(path);

    path = write_temp("t.count=20\n\nt.count=5\n");
    char want[512];
    assert_int_equal(util_conf_load_file(&c->base, path, err, sizeof(err)), KC_ERR__CONF);
    snprintf(want, sizeof(want), "%s:3: t.count: 5 is below the minimum 14", path);
    assert_string_equal(err, want);
    assert_int_equal(c->count, 20); /* what came before the error stays */
    unlink(path);
    free(path);

    path = write_temp("t.nope=1\n");
    assert_int_equal(util_conf_load_file(&c->base, path, err, sizeof(err)), KC_ERR__NOENT);
    snprintf(want, sizeof(want), "%s:1: no such property: t.nope", path);
    assert_string_equal(err, want);

    unlink(path);
    assert_int_equal(util_conf_load_file(&c->base, path, err, sizeof(err)), KC_ERR__IO);
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    assert_string_equal(err, want);
    free(path);
    conf_free(c);
}

static void test_markdown(void **state)
{
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    assert_int_equal(util_conf_write_markdown(f, &test_table), 0);
    fclose(f);
    assert_non_null(strstr(doc, "# Test configuration\n\nFor tests.\n\n"));
    assert_non_null(strstr(doc, "| Property | Used by | Type | Range | Default | Meaning |\n"));
    assert_non_null(strstr(doc, "| `t.count` |  | integer | 14 .. 1000 | `100` | A count. |\n"));
    assert_non_null(strstr(doc, "| `t.acks` |  | enum | -1, 0, 1, all | `all` | Acks. |\n"));
    assert_non_null(strstr(doc, "A name \\| with a pipe."));
    assert_non_null(strstr(doc, "range, roundrobin, cooperative-sticky, magic (not supported "
                                "yet)"));
    assert_non_null(strstr(doc, "| `t.old.count` |  | alias |  |  | Alias of `t.count`. |\n"));
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_sound),
        cmocka_unit_test(test_table_check_finds_mistakes),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set_and_get_each_type),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_rejections_name_property_and_reason),
        cmocka_unit_test(test_unknown_property),
        cmocka_unit_test(test_alias),
        cmocka_unit_test(test_get_sizes),
        cmocka_unit_test(test_copy_is_deep),
        cmocka_unit_test(test_props_basic_forms),
        cmocka_unit_test(test_props_line_endings),
        cmocka_unit_test(test_props_continuations),
        cmocka_unit_test(test_props_escapes),
        cmocka_unit_test(test_props_errors_name_file_and_line),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_markdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
