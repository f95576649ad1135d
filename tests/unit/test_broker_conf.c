/* kc-broker's configuration: the table, `listeners` parsing, Kafka's
 * precedence rules, the command line, the sample config/server.properties,
 * and docs/broker-configuration.md being what the table generates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker_conf.h"
#include "core/topic_conf.h"
#include "conf_docs_check.h"

#define SRC_DIR KC_TEST_FIXTURES "/../.."

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/kc-test-broker-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* Builds a configuration from an argv (NULL-terminated, program name first). */
static kc_err_t from_argv(broker_conf_t *c, char **argv, char *err, size_t size)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    return broker_conf_from_argv(c, argc, argv, err, size);
}

static void expect_argv_error(char **argv, kc_err_t want, const char *want_err)
{
    broker_conf_t c;
    char err[512] = "";
    assert_int_equal(from_argv(&c, argv, err, sizeof(err)), want);
    assert_string_equal(err, want_err);
}

static void test_table_is_sound(void **state)
{
    char err[256] = "";
    if (util_conf_table_check(&broker_conf_table, err, sizeof(err))) fail_msg("%s", err);
}

static void test_defaults(void **state)
{
    broker_conf_t c;
    char err[256];
    char *argv[] = {"kc-broker", NULL};
    assert_int_equal(from_argv(&c, argv, err, sizeof(err)), 0);
    assert_int_equal(c.node_id, 0);
    assert_int_equal(c.log_segment_bytes, 1073741824);
    assert_int_equal(c.message_max_bytes, 1048588);
    assert_int_equal(c.socket_request_max_bytes, 104857600);
    assert_int_equal(c.num_partitions, 1);
    assert_true(c.auto_create_topics_enable);
    assert_true(c.retention_ms == 168LL * 3600 * 1000);
    assert_true(c.roll_ms == 168LL * 3600 * 1000);
    assert_true(c.flush_ms == INT64_MAX);
    assert_true(c.log_flush_interval_messages == INT64_MAX);
    assert_true(c.log_retention_bytes == -1);
    assert_int_equal(c.group_initial_rebalance_delay_ms, 3000);
    assert_int_equal(c.listen_count, 1);
    assert_string_equal(c.listen[0].name, "PLAINTEXT");
    assert_string_equal(c.listen[0].host, "");
    assert_int_equal(c.listen[0].port, 9092);
    assert_string_equal(c.listen[0].addr, ":9092");
    assert_int_equal(c.advertise_count, 1);
    assert_int_equal(c.advertise[0].port, 9092);
    assert_int_equal(c.dir_count, 1);
    assert_string_equal(c.dirs[0], "/tmp/kc-logs");
    broker_conf_clear(&c);
}

static void test_listeners_good(void **state)
{
    broker_listener_t *ls;
    int n;
    char err[256];
    assert_int_equal(broker_conf_parse_listeners("plaintext://localhost:9092, PLAINTEXT://[::1]:0,"
                                                 "PLAINTEXT://10.0.0.1:0",
                                                 &ls, &n, err, sizeof(err)),
                     0);
    assert_int_equal(n, 3);
    assert_string_equal(ls[0].name, "PLAINTEXT");
    assert_string_equal(ls[0].host, "localhost");
    assert_int_equal(ls[0].port, 9092);
    assert_string_equal(ls[0].addr, "localhost:9092");
    assert_string_equal(ls[1].host, "::1");
    assert_int_equal(ls[1].port, 0);
    assert_string_equal(ls[1].addr, "[::1]:0");
    assert_string_equal(ls[2].addr, "10.0.0.1:0"); /* port 0 may repeat */
    free(ls);
}

static void expect_listener_error(const char *text, const char *want)
{
    broker_listener_t *ls = NULL;
    int n = -1;
    char err[256] = "";
    assert_int_equal(broker_conf_parse_listeners(text, &ls, &n, err, sizeof(err)), KC_ERR__CONF);
    assert_string_equal(err, want);
    assert_null(ls);
    assert_int_equal(n, 0);
}

static void test_listeners_bad(void **state)
{
    expect_listener_error("", "no listener given");
    expect_listener_error("localhost:9092", "\"localhost:9092\" is not NAME://host:port");
    expect_listener_error("://:9092", "\"://:9092\" is not NAME://host:port");
    expect_listener_error("SSL://:9093", "SSL listeners are not supported yet");
    expect_listener_error("PLAINTEXT://:9092,sasl_ssl://:9093",
                          "SASL_SSL listeners are not supported yet");
    expect_listener_error("INTERNAL://:9092",
                          "listener name INTERNAL is not a security protocol (kc has no "
                          "listener.security.protocol.map yet); use PLAINTEXT://");
    expect_listener_error("PLAINTEXT://host", "\"PLAINTEXT://host\" has no port");
    expect_listener_error("PLAINTEXT://host:", "\"PLAINTEXT://host:\": port \"\" is not a number "
                                               "in 0..65535");
    expect_listener_error("PLAINTEXT://:65536",
                          "\"PLAINTEXT://:65536\": port \"65536\" is not a number in 0..65535");
    expect_listener_error("PLAINTEXT://:-1",
                          "\"PLAINTEXT://:-1\": port \"-1\" is not a number in 0..65535");
    expect_listener_error("PLAINTEXT://::1:9092",
                          "\"PLAINTEXT://::1:9092\": an IPv6 address is written [addr]:port");
    expect_listener_error("PLAINTEXT://[::1]9092",
                          "\"PLAINTEXT://[::1]9092\": an IPv6 address is written [addr]:port");
    expect_listener_error("PLAINTEXT://a:9092,PLAINTEXT://b:9092",
                          "port 9092 is used by two listeners");
}

static void test_listeners_checked_at_set_time(void **state)
{
    broker_conf_t c;
    char err[256];
    assert_int_equal(broker_conf_init(&c, err, sizeof(err)), 0);
    assert_int_equal(broker_conf_set(&c, "listeners", "SSL://:9093", err, sizeof(err)),
                     KC_ERR__CONF);
    assert_string_equal(err, "listeners: SSL listeners are not supported yet");
    assert_int_equal(
        broker_conf_set(&c, "advertised.listeners", "PLAINTEXT://h:0", err, sizeof(err)),
        KC_ERR__CONF);
    assert_string_equal(err,
                        "advertised.listeners: port 0 cannot be advertised; name the real port");
    assert_int_equal(broker_conf_set(&c, "advertised.listeners", "PLAINTEXT://h.example:19092", err,
                                     sizeof(err)),
                     0);
    assert_int_equal(broker_conf_set(&c, "listeners", "PLAINTEXT://0.0.0.0:9092", err, sizeof(err)),
                     0);
    assert_int_equal(broker_conf_finalize(&c, err, sizeof(err)), 0);
    assert_string_equal(c.listen[0].addr, "0.0.0.0:9092");
    assert_string_equal(c.advertise[0].addr, "h.example:19092");
    broker_conf_clear(&c);
}

/* Sets the pairs, finalizes, and returns the effective retention. */
static int64_t retention_after(const char *const *kv)
{
    broker_conf_t c;
    char err[256];
    assert_int_equal(broker_conf_init(&c, err, sizeof(err)), 0);
    for (; *kv; kv += 2)
        assert_int_equal(broker_conf_set(&c, kv[0], kv[1], err, sizeof(err)), 0);
    assert_int_equal(broker_conf_finalize(&c, err, sizeof(err)), 0);
    int64_t ms = c.retention_ms;
    broker_conf_clear(&c);
    return ms;
}

static void test_retention_precedence(void **state)
{
    const char *hours[] = {"log.retention.hours", "2", NULL};
    assert_true(retention_after(hours) == 2 * 3600000LL);
    const char *minutes[] = {"log.retention.minutes", "3", "log.retention.hours", "2", NULL};
    assert_true(retention_after(minutes) == 3 * 60000LL);
    /* ms wins whatever the order. */
    const char *ms[] = {
        "log.retention.ms", "1234", "log.retention.minutes", "3", "log.retention.hours", "2", NULL};
    assert_true(retention_after(ms) == 1234);
    const char *zero[] = {"log.retention.ms", "0", NULL};
    assert_true(retention_after(zero) == 0);
    const char *forever[] = {"log.retention.hours", "-1", NULL};
    assert_true(retention_after(forever) == -1);
    const char *forever_min[] = {"log.retention.minutes", "-1", "log.retention.hours", "5", NULL};
    assert_true(retention_after(forever_min) == -1);
}

static void test_roll_flush_and_dirs(void **state)
{
    broker_conf_t c;
    char err[256];
    char *roll[] = {"kc-broker",       "--override", "log.roll.hours=1",           "--override",
                    "log.roll.ms=500", "--override", "log.flush.interval.ms=1000", "--override",
                    "log.dir=/a",      NULL};
    assert_int_equal(from_argv(&c, roll, err, sizeof(err)), 0);
    assert_true(c.roll_ms == 500);
    assert_true(c.flush_ms == 1000);
    assert_int_equal(c.dir_count, 1);
    assert_string_equal(c.dirs[0], "/a");
    broker_conf_clear(&c);

    /* log.dirs overrides log.dir whatever the order. */
    char *dirs[] = {"kc-broker", "--override=log.dirs=/x, /y", "--override=log.dir=/a", NULL};
    assert_int_equal(from_argv(&c, dirs, err, sizeof(err)), 0);
    assert_int_equal(c.dir_count, 2);
    assert_string_equal(c.dirs[0], "/x");
    assert_string_equal(c.dirs[1], "/y");
    broker_conf_clear(&c);

    char *no_dir[] = {"kc-broker", "--override", "log.dirs=", NULL};
    expect_argv_error(no_dir, KC_ERR__CONF, "log.dirs: no directory given");
    char *same[] = {"kc-broker", "--override", "log.dirs=/x,/x", NULL};
    expect_argv_error(same, KC_ERR__CONF, "--override: log.dirs: \"/x\" is listed twice");
}

static void test_group_session_bounds(void **state)
{
    char *argv[] = {"kc-broker",
                    "--override",
                    "group.min.session.timeout.ms=10000",
                    "--override",
                    "group.max.session.timeout.ms=5000",
                    NULL};
    expect_argv_error(argv, KC_ERR__CONF,
                      "group.min.session.timeout.ms: 10000 is above "
                      "group.max.session.timeout.ms (5000)");
}

static void test_file_then_overrides(void **state)
{
    char *path = write_temp("log.segment.bytes=2048\n"
                            "num.partitions = 3\n"
                            "listeners=PLAINTEXT://127.0.0.1:0\n");
    broker_conf_t c;
    char err[512];
    /* An override given before the file still wins over it; later overrides win. */
    char *argv[] = {"kc-broker",  "--override",       "num.partitions=5",       path,
                    "--override", "num.partitions=6", "--override=broker.id=7", NULL};
    assert_int_equal(from_argv(&c, argv, err, sizeof(err)), 0);
    assert_int_equal(c.log_segment_bytes, 2048);
    assert_int_equal(c.num_partitions, 6);
    assert_int_equal(c.node_id, 7);
    assert_string_equal(c.listen[0].addr, "127.0.0.1:0");
    broker_conf_clear(&c);
    unlink(path);
    free(path);
}

static void test_errors_name_property_and_place(void **state)
{
    char want[512];
    char *path = write_temp("# Kafka's name, kc has no such thing\n"
                            "num.partitions=2\n"
                            "zookeeper.connect=localhost:2181\n");
    char *argv[] = {"kc-broker", path, NULL};
    snprintf(want, sizeof(want), "%s:3: no such property: zookeeper.connect", path);
    expect_argv_error(argv, KC_ERR__NOENT, want);
    unlink(path);
    free(path);

    path = write_temp("log.segment.bytes=10\n");
    char *argv2[] = {"kc-broker", path, NULL};
    snprintf(want, sizeof(want), "%s:1: log.segment.bytes: 10 is below the minimum 14", path);
    expect_argv_error(argv2, KC_ERR__CONF, want);
    unlink(path);

    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    expect_argv_error(argv2, KC_ERR__IO, want);
    free(path);

    char *unknown[] = {"kc-broker", "--override", "log.segmnt.bytes=100", NULL};
    expect_argv_error(unknown, KC_ERR__NOENT,
                      "--override: no such property: log.segmnt.bytes (did you mean "
                      "log.segment.bytes?)");
    char *bad[] = {"kc-broker", "--override", "auto.create.topics.enable=maybe", NULL};
    expect_argv_error(bad, KC_ERR__CONF,
                      "--override: auto.create.topics.enable: \"maybe\" is not a boolean (true "
                      "or false)");
    char *no_value[] = {"kc-broker", "--override", NULL};
    expect_argv_error(no_value, KC_ERR__INVALID_ARG,
                      "--override needs key=value (" BROKER_CONF_USAGE ")");
    char *no_eq[] = {"kc-broker", "--override", "num.partitions", NULL};
    expect_argv_error(no_eq, KC_ERR__INVALID_ARG,
                      "--override \"num.partitions\": expected key=value (" BROKER_CONF_USAGE ")");
    char *option[] = {"kc-broker", "--verbose", NULL};
    expect_argv_error(option, KC_ERR__INVALID_ARG,
                      "unknown option --verbose (" BROKER_CONF_USAGE ")");
    char *two[] = {"kc-broker", "a.properties", "b.properties", NULL};
    expect_argv_error(two, KC_ERR__INVALID_ARG,
                      "one properties file at most, got a.properties and b.properties "
                      "(" BROKER_CONF_USAGE ")");
}

static void test_sample_config_parses(void **state)
{
    broker_conf_t c;
    char err[512];
    char *argv[] = {"kc-broker", SRC_DIR "/config/server.properties", NULL};
    if (from_argv(&c, argv, err, sizeof(err))) fail_msg("%s", err);
    assert_int_equal(c.listen_count, 1);
    assert_string_equal(c.listen[0].addr, "127.0.0.1:9092");
    assert_int_equal(c.dir_count, 1);
    assert_string_equal(c.dirs[0], "/tmp/kc-logs");
    assert_int_equal(c.group_initial_rebalance_delay_ms, 0);
    broker_conf_clear(&c);
}

static void test_docs_match_table(void **state)
{
    expect_docs_match_table(&broker_conf_table, SRC_DIR "/docs/broker-configuration.md",
                            "broker-configuration.md", "broker");
}

static void test_topic_docs_match_table(void **state)
{
    char err[256];
    assert_int_equal(util_conf_table_check(&broker_topic_conf_table, err, sizeof(err)), 0);
    expect_docs_match_table(&broker_topic_conf_table, SRC_DIR "/docs/topic-configuration.md",
                            "topic-configuration.md", "topic");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_sound),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_listeners_good),
        cmocka_unit_test(test_listeners_bad),
        cmocka_unit_test(test_listeners_checked_at_set_time),
        cmocka_unit_test(test_retention_precedence),
        cmocka_unit_test(test_roll_flush_and_dirs),
        cmocka_unit_test(test_group_session_bounds),
        cmocka_unit_test(test_file_then_overrides),
        cmocka_unit_test(test_errors_name_property_and_place),
        cmocka_unit_test(test_sample_config_parses),
        cmocka_unit_test(test_topic_docs_match_table),
        cmocka_unit_test(test_docs_match_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
