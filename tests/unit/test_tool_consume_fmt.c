/* kc consume's -f format (tools/cmd_consume_fmt.c, built into this test):
 * every field and escape, null keys, values and headers, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../tools/cmd_consume_fmt.c"

static const kc_header_t hdrs[] = {
    {"a", "1", 1},
    {"nul", NULL, 0},
    {"empty", "", 0},
};

static kc_message_t sample(void)
{
    return (kc_message_t){
        .topic = "orders",
        .partition = 3,
        .offset = 1234567890123,
        .key = "k1",
        .key_len = 2,
        .value = "v\0x", /* values may hold NUL bytes */
        .value_len = 3,
        .headers = hdrs,
        .header_cnt = 3,
        .timestamp_ms = 1700000000123,
        .timestamp_type = KC_TIMESTAMP_CREATE_TIME,
    };
}

/* Formats m with fmt into buf; the byte count. */
static size_t render(const char *fmt, const kc_message_t *m, char *buf, size_t size)
{
    char err[256];
    tool_fmt_t *f = tool_fmt_new(fmt, err, sizeof(err));
    if (!f) fail_msg("%s: %s", fmt, err);
    FILE *out = fmemopen(buf, size, "w");
    assert_non_null(out);
    tool_fmt_write(f, m, out);
    long n = ftell(out);
    fclose(out);
    tool_fmt_destroy(f);
    return (size_t)n;
}

static void test_every_field(void **state)
{
    (void)state;
    kc_message_t m = sample();
    char buf[256];
    size_t n = render("%t|%p|%o|%k|%K|%S|%T|%h|%%|%s\\n", &m, buf, sizeof(buf));
    const char want[] = "orders|3|1234567890123|k1|2|3|1700000000123|a=1,nul,empty=|%|v\0x\n";
    assert_int_equal(n, sizeof(want) - 1);
    assert_memory_equal(buf, want, n);
}

static void test_defaults_and_escapes(void **state)
{
    (void)state;
    kc_message_t m = sample();
    m.value = "hello";
    m.value_len = 5;
    char buf[64];
    size_t n = render("%s\\n", &m, buf, sizeof(buf));
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "hello\n", 6);
    n = render("\\t\\r\\\\\\0.", &m, buf, sizeof(buf));
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "\t\r\\\0.", 5);
    n = render("", &m, buf, sizeof(buf));
    assert_int_equal(n, 0);
}

static void test_nulls(void **state)
{
    (void)state;
    kc_message_t m = sample();
    m.key = NULL;
    m.key_len = 0;
    m.value = NULL;
    m.value_len = 0;
    m.header_cnt = 0;
    m.timestamp_type = KC_TIMESTAMP_NONE;
    char buf[64];
    size_t n = render("[%k][%s][%h]%K %S %T", &m, buf, sizeof(buf));
    assert_int_equal(n, strlen("[][][]-1 -1 -1"));
    assert_memory_equal(buf, "[][][]-1 -1 -1", n);
    /* An empty value is not a null one. */
    m.value = "";
    n = render("%S", &m, buf, sizeof(buf));
    assert_memory_equal(buf, "0", n);
}

static void test_refused(void **state)
{
    (void)state;
    const char *bad[] = {"%z", "%", "abc%", "\\q", "\\", "%s\\x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        tool_fmt_t *f = tool_fmt_new(bad[i], err, sizeof(err));
        if (f) fail_msg("\"%s\" was accepted", bad[i]);
        assert_true(strlen(err) > 10);
    }
    char err[256];
    assert_null(tool_fmt_new("%z", err, sizeof(err)));
    assert_non_null(strstr(err, "'%z'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_defaults_and_escapes),
        cmocka_unit_test(test_nulls),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
