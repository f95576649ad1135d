/* test.mock.num.brokers: a kc client that starts its own mock cluster
 * (libkc-mock found at run time, here in the build tree's lib/ next to this
 * program's folder), and a clear error when libkc-mock cannot be found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kc/kc_client.h"
#include "kc/kc_conf.h"

static kc_conf_t *mock_conf(const char *brokers)
{
    kc_conf_t *conf = kc_conf_new();
    char err[256];
    assert_int_equal(kc_conf_set(conf, "test.mock.num.brokers", brokers, err, sizeof(err)), 0);
    return conf;
}

static void test_client_starts_its_mock(void **state)
{
    (void)state;
    unsetenv("KC_MOCK_LIBRARY");
    kc_conf_t *conf = mock_conf("3");
    char err[512];
    kc_client_t *c = kc_client_new(conf, err, sizeof(err));
    if (!c) fail_msg("kc_client_new: %s", err);
    kc_metadata_t *md = NULL;
    assert_int_equal(kc_metadata(c, NULL, 10000, &md, err, sizeof(err)), 0);
    assert_int_equal(md->broker_cnt, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(md->brokers[i].host, "127.0.0.1");
        assert_true(md->brokers[i].port > 0);
    }
    kc_metadata_destroy(md);
    /* Auto-created on request, as a broker would. */
    assert_int_equal(kc_metadata(c, "auto", 10000, &md, err, sizeof(err)), 0);
    assert_int_equal(md->topic_cnt, 1);
    kc_metadata_destroy(md);
    kc_client_destroy(c); /* stops the mock too (ASan/LSan check it all went) */
}

static void test_missing_library_is_an_error(void **state)
{
    (void)state;
    setenv("KC_MOCK_LIBRARY", "/nonexistent/libkc-mock.so.0", 1);
    kc_conf_t *conf = mock_conf("1");
    char err[512] = "";
    kc_client_t *c = kc_client_new(conf, err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "KC_MOCK_LIBRARY=/nonexistent/libkc-mock.so.0"));
    kc_conf_destroy(conf); /* still ours on failure */
    unsetenv("KC_MOCK_LIBRARY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_library_is_an_error),
        cmocka_unit_test(test_client_starts_its_mock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
