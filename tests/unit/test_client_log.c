/* kc_conf_set_log_cb: each client's log lines go to its own callback, at
 * the level its log_level/debug properties ask for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "kc/kc.h"

typedef struct sink {
    atomic_int lines;
    atomic_int debug_lines;
    atomic_int mentions_broker; /* lines naming the unreachable address */
    atomic_int statistics_warnings;
} sink_t;

static void on_log(int level, const char *msg, void *opaque)
{
    sink_t *s = opaque;
    atomic_fetch_add(&s->lines, 1);
    if (level == 7) atomic_fetch_add(&s->debug_lines, 1);
    if (strstr(msg, "127.0.0.1:1")) atomic_fetch_add(&s->mentions_broker, 1);
    if (level == 4 && strstr(msg, "statistics.interval.ms"))
        atomic_fetch_add(&s->statistics_warnings, 1);
}

static kc_client_t *client_with_log(sink_t *s, const char *prop, const char *value)
{
    char errstr[256];
    kc_conf_t *conf = kc_conf_new();
    assert_non_null(conf);
    /* Port 1 on loopback: nothing listens, every connect is refused. */
    assert_int_equal(kc_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", errstr, sizeof(errstr)),
                     0);
    assert_int_equal(kc_conf_set(conf, "reconnect.backoff.ms", "10", errstr, sizeof(errstr)), 0);
    assert_int_equal(kc_conf_set(conf, prop, value, errstr, sizeof(errstr)), 0);
    kc_conf_set_log_cb(conf, on_log, s);
    kc_client_t *c = kc_client_new(conf, errstr, sizeof(errstr));
    assert_non_null(c);
    return c;
}

static void test_log_cb_per_client(void **state)
{
    (void)state;
    sink_t loud = {0}, quiet = {0};
    kc_client_t *a = client_with_log(&loud, "debug", "broker");
    kc_client_t *b = client_with_log(&quiet, "log_level", "0");
    kc_metadata_t *md = NULL;
    char errstr[256];
    assert_int_not_equal(kc_metadata(a, NULL, 300, &md, errstr, sizeof(errstr)), 0);
    assert_int_not_equal(kc_metadata(b, NULL, 300, &md, errstr, sizeof(errstr)), 0);
    kc_client_destroy(a);
    kc_client_destroy(b);
    /* debug=broker: the refused connections are logged, at debug level,
     * naming the broker; log_level=0 silences everything. */
    assert_true(atomic_load(&loud.lines) > 0);
    assert_true(atomic_load(&loud.debug_lines) > 0);
    assert_true(atomic_load(&loud.mentions_broker) > 0);
    assert_int_equal(atomic_load(&quiet.lines), 0);
}

/* kc has no statistics yet: a configuration that asks for them loads, and
 * the client says once, as a warning, that none will come. */
static void test_statistics_interval_warns(void **state)
{
    (void)state;
    sink_t asked = {0}, not_asked = {0};
    kc_client_t *a = client_with_log(&asked, "statistics.interval.ms", "5000");
    kc_client_t *b = client_with_log(&not_asked, "statistics.interval.ms", "0");
    kc_metadata_t *md = NULL;
    char errstr[256];
    assert_int_not_equal(kc_metadata(a, NULL, 100, &md, errstr, sizeof(errstr)), 0);
    assert_int_not_equal(kc_metadata(b, NULL, 100, &md, errstr, sizeof(errstr)), 0);
    kc_client_destroy(a);
    kc_client_destroy(b);
    assert_int_equal(atomic_load(&asked.statistics_warnings), 1);
    assert_int_equal(atomic_load(&not_asked.statistics_warnings), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_cb_per_client),
        cmocka_unit_test(test_statistics_interval_warns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
