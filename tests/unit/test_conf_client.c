/* The client's property table, the rules between its properties, the public
 * kc_conf_t API, and docs/configuration.md being what the table generates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_client.h"
#include "conf_docs_check.h"
#include "kc/kc.h"
#include "proto/proto_compress.h"

#define DOCS_DIR KC_TEST_FIXTURES "/../../docs"

static client_conf_t *conf_new(void)
{
    client_conf_t *c = malloc(sizeof(*c));
    char err[256];
    assert_int_equal(client_conf_init(c, err, sizeof(err)), 0);
    return c;
}

static void conf_free(client_conf_t *c)
{
    client_conf_clear(c);
    free(c);
}

static void set_ok(client_conf_t *c, const char *name, const char *value)
{
    char err[256] = "";
    if (client_conf_set(c, name, value, err, sizeof(err))) fail_msg("%s=%s: %s", name, value, err);
}

static void expect_reject(client_conf_t *c, const char *name, const char *value, const char *want)
{
    char err[256] = "";
    assert_int_not_equal(client_conf_set(c, name, value, err, sizeof(err)), 0);
    assert_string_equal(err, want);
}

static const char *get(client_conf_t *c, const char *name)
{
    static char buf[512];
    size_t size = sizeof(buf);
    assert_int_equal(util_conf_get(&c->base, name, buf, &size), 0);
    return buf;
}

static void test_table_is_sound(void **state)
{
    char err[256] = "";
    if (util_conf_table_check(&client_conf_table, err, sizeof(err))) fail_msg("%s", err);
}

/* Every default passes its own validator, reads back as written, and can be
 * set again from what get() returns. */
static void test_every_default_round_trips(void **state)
{
    client_conf_t *c = conf_new();
    for (size_t i = 0; i < client_conf_table.count; i++) {
        const util_conf_prop_t *p = &client_conf_table.props[i];
        if (p->type == UTIL_CONF_ALIAS) continue;
        char value[512];
        snprintf(value, sizeof(value), "%s", get(c, p->name));
        if (p->def && strcmp(value, p->def))
            fail_msg("%s: default %s reads %s", p->name, p->def, value);
        if (!p->def && strcmp(value, "")) fail_msg("%s: no default but reads %s", p->name, value);
        if (p->def)
            set_ok(c, p->name, value);
        else
            assert_false(util_conf_is_set(&c->base, p->name));
    }
    conf_free(c);
}

static void test_typed_defaults(void **state)
{
    client_conf_t *c = conf_new();
    assert_null(c->bootstrap_servers);
    assert_string_equal(c->client_id, "kc");
    assert_int_equal(c->acks, -1);
    assert_true(c->linger_ms == 5.0);
    assert_int_equal(c->compression_type, PROTO_CODEC_NONE);
    assert_int_equal(c->partitioner, CLIENT_PARTITIONER_CONSISTENT_RANDOM);
    assert_int_equal(c->auto_offset_reset, CLIENT_OFFSET_RESET_LATEST);
    assert_int_equal(c->isolation_level, CLIENT_READ_COMMITTED);
    assert_int_equal(c->retries, 2147483647);
    assert_int_equal(c->max_in_flight, 1000000);
    assert_int_equal(c->enable_auto_commit, 1);
    assert_string_equal(c->partition_assignment_strategy, "range,roundrobin");
    assert_int_equal(c->security_protocol, CLIENT_SECURITY_PLAINTEXT);
    assert_int_equal(c->debug, 0);
    conf_free(c);
}

static void test_aliases(void **state)
{
    static const char *const pairs[][3] = {
        {"metadata.broker.list", "bootstrap.servers", "a:1,b:2"},
        {"max.in.flight", "max.in.flight.requests.per.connection", "5"},
        {"request.required.acks", "acks", "1"},
        {"queue.buffering.max.ms", "linger.ms", "0.5"},
        {"compression.codec", "compression.type", "lz4"},
        {"delivery.timeout.ms", "message.timeout.ms", "1000"},
        {"message.send.max.retries", "retries", "3"},
        {"fetch.message.max.bytes", "max.partition.fetch.bytes", "4096"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        client_conf_t *c = conf_new();
        set_ok(c, pairs[i][0], pairs[i][2]);
        assert_string_equal(get(c, pairs[i][1]), pairs[i][2]);
        assert_string_equal(get(c, pairs[i][0]), pairs[i][2]);
        assert_true(util_conf_is_set(&c->base, pairs[i][1]));
        conf_free(c);
    }
    /* Every alias row points at a real row (also checked by table_check). */
    for (size_t i = 0; i < client_conf_table.count; i++) {
        const util_conf_prop_t *p = &client_conf_table.props[i];
        if (p->type == UTIL_CONF_ALIAS)
            assert_non_null(util_conf_find(&client_conf_table, p->name));
    }
}

/* librdkafka matches enum values without regard to case and keeps the
 * canonical spelling. */
static void test_enum_case(void **state)
{
    client_conf_t *c = conf_new();
    set_ok(c, "acks", "ALL");
    assert_int_equal(c->acks, -1);
    assert_string_equal(get(c, "acks"), "-1");
    set_ok(c, "compression.type", "ZSTD");
    assert_int_equal(c->compression_type, PROTO_CODEC_ZSTD);
    assert_string_equal(get(c, "compression.type"), "zstd");
    set_ok(c, "partitioner", "Murmur2_Random");
    assert_int_equal(c->partitioner, CLIENT_PARTITIONER_MURMUR2_RANDOM);
    set_ok(c, "auto.offset.reset", "Earliest");
    assert_int_equal(c->auto_offset_reset, CLIENT_OFFSET_RESET_EARLIEST);
    assert_string_equal(get(c, "auto.offset.reset"), "smallest");
    set_ok(c, "auto.offset.reset", "end");
    assert_int_equal(c->auto_offset_reset, CLIENT_OFFSET_RESET_LATEST);
    set_ok(c, "auto.offset.reset", "error");
    assert_int_equal(c->auto_offset_reset, CLIENT_OFFSET_RESET_ERROR);
    set_ok(c, "isolation.level", "READ_UNCOMMITTED");
    assert_int_equal(c->isolation_level, CLIENT_READ_UNCOMMITTED);
    set_ok(c, "partition.assignment.strategy", "Cooperative-Sticky");
    assert_string_equal(c->partition_assignment_strategy, "cooperative-sticky");
    set_ok(c, "debug", "Broker,CGRP");
    assert_int_equal(c->debug, CLIENT_DEBUG_BROKER | CLIENT_DEBUG_CGRP);
    set_ok(c, "debug", "all");
    assert_string_equal(get(c, "debug"), "all");
    set_ok(c, "enable.idempotence", "True");
    assert_int_equal(c->enable_idempotence, 1);
    conf_free(c);
}

static void test_bad_values_named_with_reason(void **state)
{
    client_conf_t *c = conf_new();
    expect_reject(c, "linger.ms", "abc", "linger.ms: \"abc\" is not a number");
    expect_reject(c, "linger.ms", "900001", "linger.ms: 900001 is above the maximum 900000");
    expect_reject(c, "batch.size", "0", "batch.size: 0 is below the minimum 1");
    expect_reject(c, "acks", "2", "acks: \"2\" is not one of -1, 0, 1, all");
    expect_reject(c, "request.required.acks", "two",
                  "request.required.acks: \"two\" is not one of -1, 0, 1, all");
    expect_reject(c, "compression.type", "brotli",
                  "compression.type: \"brotli\" is not one of none, gzip, snappy, lz4, zstd");
    expect_reject(c, "enable.idempotence", "yes",
                  "enable.idempotence: \"yes\" is not a boolean (true or false)");
    expect_reject(c, "auto.offset.reset", "oldest",
                  "auto.offset.reset: \"oldest\" is not one of smallest, earliest, beginning, "
                  "largest, latest, end, error");
    expect_reject(c, "partition.assignment.strategy", "range,sticky",
                  "partition.assignment.strategy: \"sticky\" is not one of range, roundrobin, "
                  "cooperative-sticky");
    expect_reject(c, "debug", "broker,everything",
                  "debug: \"everything\" is not one of all, generic, broker, topic, metadata, "
                  "feature, queue, msg, protocol, cgrp, security, fetch, interceptor, plugin, "
                  "consumer, admin, eos, mock, assignor, conf, telemetry");
    expect_reject(c, "log_level", "8", "log_level: 8 is above the maximum 7");
    expect_reject(c, "bootstrap.servers", "a:1,,b:2",
                  "bootstrap.servers: \"a:1,,b:2\" has an empty item");
    expect_reject(c, "lnger.ms", "5", "no such property: lnger.ms (did you mean linger.ms?)");

    char err[256];
    assert_int_equal(client_conf_set(c, "security.protocol", "SSL", err, sizeof(err)),
                     KC_ERR__UNSUPPORTED);
    assert_string_equal(err, "security.protocol: \"ssl\" is not supported yet");
    assert_int_equal(c->security_protocol, CLIENT_SECURITY_PLAINTEXT);
    conf_free(c);
}

static client_conf_t *finalized(client_role_t role, const char *const *kv, kc_err_t want,
                                const char *want_err)
{
    client_conf_t *c = conf_new();
    for (; *kv; kv += 2)
        set_ok(c, kv[0], kv[1]);
    char err[256] = "";
    assert_int_equal(client_conf_finalize(c, role, err, sizeof(err)), want);
    if (want_err) assert_string_equal(err, want_err);
    return c;
}

static void test_idempotence_rules(void **state)
{
    const char *on[] = {"enable.idempotence", "true", "retries", "3", NULL};
    client_conf_t *c = finalized(CLIENT_ROLE_PRODUCER, on, 0, NULL);
    assert_int_equal(c->acks, -1);
    assert_int_equal(c->max_in_flight, CLIENT_IDEMPOTENT_MAX_IN_FLIGHT);
    assert_int_equal(c->retries, 3);
    conf_free(c);

    const char *acks1[] = {"enable.idempotence", "true", "acks", "1", NULL};
    conf_free(finalized(CLIENT_ROLE_PRODUCER, acks1, KC_ERR__CONF,
                        "acks: must be all (-1) when enable.idempotence is true"));
    const char *inflight[] = {"enable.idempotence", "true", "max.in.flight", "6", NULL};
    conf_free(finalized(CLIENT_ROLE_PRODUCER, inflight, KC_ERR__CONF,
                        "max.in.flight.requests.per.connection: must be at most 5 when "
                        "enable.idempotence is true"));
    const char *retries0[] = {"enable.idempotence", "true", "retries", "0", NULL};
    conf_free(finalized(CLIENT_ROLE_PRODUCER, retries0, KC_ERR__CONF,
                        "retries: must be at least 1 when enable.idempotence is true"));

    /* Without idempotence nothing is adjusted. */
    const char *off[] = {"acks", "1", NULL};
    c = finalized(CLIENT_ROLE_PRODUCER, off, 0, NULL);
    assert_int_equal(c->acks, 1);
    assert_int_equal(c->max_in_flight, 1000000);
    conf_free(c);
}

static void test_producer_derived_values(void **state)
{
    const char *linger[] = {"linger.ms", "100", NULL};
    client_conf_t *c = finalized(CLIENT_ROLE_PRODUCER, linger, 0, NULL);
    assert_int_equal(c->sticky_partitioning_linger_ms, 200);
    conf_free(c);

    const char *sticky[] = {"linger.ms", "100", "sticky.partitioning.linger.ms", "7", NULL};
    c = finalized(CLIENT_ROLE_PRODUCER, sticky, 0, NULL);
    assert_int_equal(c->sticky_partitioning_linger_ms, 7);
    conf_free(c);

    const char *timeout[] = {"message.timeout.ms", "3", NULL};
    c = finalized(CLIENT_ROLE_PRODUCER, timeout, 0, NULL);
    assert_true(c->linger_ms > 2.8 && c->linger_ms < 3.0);
    conf_free(c);

    const char *both[] = {"message.timeout.ms", "10", "linger.ms", "10", NULL};
    conf_free(finalized(CLIENT_ROLE_PRODUCER, both, KC_ERR__CONF,
                        "message.timeout.ms: must be greater than linger.ms"));

    /* compression.level must be one the codec has. */
    const char *gzip10[] = {"compression.type", "gzip", "compression.level", "10", NULL};
    conf_free(finalized(CLIENT_ROLE_PRODUCER, gzip10, KC_ERR__CONF,
                        "compression.level: gzip has levels 0-9 (or -1, its default), not 10"));
    const char *zstd0[] = {"compression.type", "zstd", "compression.level", "0", NULL};
    conf_free(finalized(CLIENT_ROLE_PRODUCER, zstd0, KC_ERR__CONF,
                        "compression.level: zstd has levels 1-22 (or -1, its default), not 0"));
    const char *snappy3[] = {"compression.type", "snappy", "compression.level", "3", NULL};
    conf_free(finalized(CLIENT_ROLE_PRODUCER, snappy3, KC_ERR__CONF,
                        "compression.level: snappy has levels 0-0 (or -1, its default), not 3"));
    const char *lz4_12[] = {"compression.type", "lz4", "compression.level", "12", NULL};
    conf_free(finalized(CLIENT_ROLE_PRODUCER, lz4_12, 0, NULL));
    const char *zstd22[] = {"compression.type", "zstd", "compression.level", "22", NULL};
    conf_free(finalized(CLIENT_ROLE_PRODUCER, zstd22, 0, NULL));
    /* No codec, no levels to check: a shared conf may carry one for later. */
    const char *none9[] = {"compression.level", "9", NULL};
    conf_free(finalized(CLIENT_ROLE_PRODUCER, none9, 0, NULL));

    const char *refresh[] = {"topic.metadata.refresh.interval.ms", "1000", NULL};
    c = finalized(CLIENT_ROLE_PRODUCER, refresh, 0, NULL);
    assert_int_equal(c->metadata_max_age_ms, 3000);
    conf_free(c);

    const char *backoff[] = {"reconnect.backoff.ms", "500", "reconnect.backoff.max.ms", "100",
                             NULL};
    conf_free(finalized(CLIENT_ROLE_CONSUMER, backoff, KC_ERR__CONF,
                        "reconnect.backoff.max.ms: must be at least reconnect.backoff.ms"));
    const char *retry[] = {"retry.backoff.ms", "500", "retry.backoff.max.ms", "100", NULL};
    conf_free(finalized(CLIENT_ROLE_PRODUCER, retry, KC_ERR__CONF,
                        "retry.backoff.max.ms: must be at least retry.backoff.ms"));
    const char *long_first[] = {"retry.backoff.ms", "5000", NULL};
    c = finalized(CLIENT_ROLE_PRODUCER, long_first, 0, NULL);
    assert_int_equal(c->retry_backoff_max_ms, 5000);
    conf_free(c);
    /* Retries wait twice as long each time, up to the maximum. */
    const char *doubling[] = {"retry.backoff.ms", "100", "retry.backoff.max.ms", "700", NULL};
    c = finalized(CLIENT_ROLE_PRODUCER, doubling, 0, NULL);
    assert_int_equal(client_retry_backoff_ms(c, 1), 100);
    assert_int_equal(client_retry_backoff_ms(c, 2), 200);
    assert_int_equal(client_retry_backoff_ms(c, 3), 400);
    assert_int_equal(client_retry_backoff_ms(c, 4), 700);
    assert_int_equal(client_retry_backoff_ms(c, 1000), 700);
    conf_free(c);
}

static void test_consumer_derived_values(void **state)
{
    const char *none[] = {NULL};
    client_conf_t *c = finalized(CLIENT_ROLE_CONSUMER, none, 0, NULL);
    /* 50 MiB fetches fit the 64 MiB queue; responses get 512 bytes of framing. */
    assert_int_equal(c->fetch_max_bytes, 52428800);
    assert_int_equal(c->receive_message_max_bytes, 100000000);
    conf_free(c);

    const char *small_queue[] = {"queued.max.messages.kbytes", "1024", NULL};
    c = finalized(CLIENT_ROLE_CONSUMER, small_queue, 0, NULL);
    assert_int_equal(c->fetch_max_bytes, 1048576);
    conf_free(c);

    const char *big_fetch[] = {"fetch.max.bytes", "200000000", NULL};
    c = finalized(CLIENT_ROLE_CONSUMER, big_fetch, 0, NULL);
    assert_int_equal(c->receive_message_max_bytes, 200000512);
    conf_free(c);

    const char *too_small[] = {"fetch.max.bytes", "1000", NULL};
    conf_free(finalized(CLIENT_ROLE_CONSUMER, too_small, KC_ERR__CONF,
                        "fetch.max.bytes: must be at least message.max.bytes (1000000)"));
    const char *recv[] = {"fetch.max.bytes", "2000000", "receive.message.max.bytes", "2000000",
                          NULL};
    conf_free(finalized(CLIENT_ROLE_CONSUMER, recv, KC_ERR__CONF,
                        "receive.message.max.bytes: must be at least fetch.max.bytes + 512 "
                        "(2000512)"));
}

static void test_public_api(void **state)
{
    kc_conf_t *conf = kc_conf_new();
    assert_non_null(conf);
    char err[256];
    assert_int_equal(kc_conf_set(conf, "bootstrap.servers", "localhost:9092", err, sizeof(err)), 0);
    assert_int_equal(kc_conf_set(conf, "linger.ms", "abc", err, sizeof(err)), KC_ERR__CONF);
    assert_string_equal(err, "linger.ms: \"abc\" is not a number");
    assert_int_equal(kc_conf_set(conf, "nope", "1", NULL, 0), KC_ERR__NOENT);
    assert_int_equal(kc_conf_set(conf, "acks", NULL, err, sizeof(err)), KC_ERR__INVALID_ARG);
    assert_string_equal(err, "acks: the value is NULL");

    size_t size = 0;
    assert_int_equal(kc_conf_get(conf, "bootstrap.servers", NULL, &size), 0);
    assert_int_equal(size, sizeof("localhost:9092"));
    char buf[64];
    size = sizeof(buf);
    assert_int_equal(kc_conf_get(conf, "bootstrap.servers", buf, &size), 0);
    assert_string_equal(buf, "localhost:9092");
    assert_int_equal(kc_conf_get(conf, "nope", buf, &size), KC_ERR__NOENT);

    kc_conf_t *copy = kc_conf_dup(conf);
    assert_non_null(copy);
    assert_int_equal(kc_conf_set(conf, "bootstrap.servers", "other:1", err, sizeof(err)), 0);
    size = sizeof(buf);
    assert_int_equal(kc_conf_get(copy, "bootstrap.servers", buf, &size), 0);
    assert_string_equal(buf, "localhost:9092");
    kc_conf_destroy(conf);
    kc_conf_destroy(copy);
    kc_conf_destroy(NULL);
}

static void test_public_load_file(void **state)
{
    char path[] = "/tmp/kc-test-client-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# a librdkafka-style file\n"
                       "bootstrap.servers = a:9092, b:9092\n"
                       "compression.codec: Snappy\n"
                       "linger.ms=oops\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    kc_conf_t *conf = kc_conf_new();
    char err[512], want[512];
    assert_int_equal(kc_conf_load_file(conf, path, err, sizeof(err)), KC_ERR__CONF);
    snprintf(want, sizeof(want), "%s:4: linger.ms: \"oops\" is not a number", path);
    assert_string_equal(err, want);
    char buf[64];
    size_t size = sizeof(buf);
    assert_int_equal(kc_conf_get(conf, "compression.type", buf, &size), 0);
    assert_string_equal(buf, "snappy");
    size = sizeof(buf);
    assert_int_equal(kc_conf_get(conf, "bootstrap.servers", buf, &size), 0);
    assert_string_equal(buf, "a:9092,b:9092");
    kc_conf_destroy(conf);
    unlink(path);
}

static void test_docs_match_table(void **state)
{
    expect_docs_match_table(&client_conf_table, DOCS_DIR "/configuration.md", "configuration.md",
                            "client");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_sound),
        cmocka_unit_test(test_every_default_round_trips),
        cmocka_unit_test(test_typed_defaults),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_enum_case),
        cmocka_unit_test(test_bad_values_named_with_reason),
        cmocka_unit_test(test_idempotence_rules),
        cmocka_unit_test(test_producer_derived_values),
        cmocka_unit_test(test_consumer_derived_values),
        cmocka_unit_test(test_public_api),
        cmocka_unit_test(test_public_load_file),
        cmocka_unit_test(test_docs_match_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
