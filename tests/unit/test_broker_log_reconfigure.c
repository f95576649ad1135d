/* The partition log's reconfigure operation: new settings apply to the open
 * log from the next append and retention check; bad ones change nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_broker_log_util.h"

static int segments(tlog_t *t)
{
    broker_log_offsets_t o;
    broker_log_offsets(t->log, &o);
    return o.segments;
}

static void test_lower_segment_bytes_rolls_next_appends(void **state)
{
    (void)state;
    tlog_t *t = tlog_new(1 << 20, 4096);
    for (int i = 0; i < 4; i++)
        tlog_append(t, 2, 1000 + i, 100, 1000);
    assert_int_equal(segments(t), 1);

    broker_log_conf_t c = t->conf;
    c.segment_bytes = 300; /* about two batches */
    char err[256] = "";
    assert_int_equal(broker_log_reconfigure(t->log, &c, err, sizeof(err)), 0);
    for (int i = 0; i < 4; i++)
        tlog_append(t, 2, 2000 + i, 100, 1000);
    assert_true(segments(t) >= 3);
    tlog_check_all(t, 0);
    tlog_free(t);
}

static void test_bad_conf_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    tlog_t *t = tlog_new(1 << 20, 4096);
    broker_log_conf_t c = t->conf;
    c.segment_bytes = 5;
    char err[256] = "";
    assert_int_equal(broker_log_reconfigure(t->log, &c, err, sizeof(err)), KC_ERR__CONF);
    assert_non_null(strstr(err, "log.segment.bytes"));
    for (int i = 0; i < 4; i++)
        tlog_append(t, 2, 1000 + i, 100, 1000);
    assert_int_equal(segments(t), 1);
    tlog_free(t);
}

static void test_lower_retention_bytes_applies_at_next_check(void **state)
{
    (void)state;
    tlog_t *t = tlog_new(300, 4096);
    for (int i = 0; i < 8; i++)
        tlog_append(t, 2, 1000 + i, 100, 1000);
    int before = segments(t);
    assert_true(before >= 3);
    int deleted = 0;
    char err[256] = "";
    assert_int_equal(broker_log_retain(t->log, 1000, &deleted, err, sizeof(err)), 0);
    assert_int_equal(deleted, 0);

    broker_log_conf_t c = t->conf;
    c.retention_bytes = 1;
    assert_int_equal(broker_log_reconfigure(t->log, &c, err, sizeof(err)), 0);
    assert_int_equal(broker_log_retain(t->log, 1000, &deleted, err, sizeof(err)), 0);
    assert_true(deleted > 0);
    assert_true(segments(t) < before);
    tlog_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lower_segment_bytes_rolls_next_appends),
        cmocka_unit_test(test_bad_conf_is_refused_and_changes_nothing),
        cmocka_unit_test(test_lower_retention_bytes_applies_at_next_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
