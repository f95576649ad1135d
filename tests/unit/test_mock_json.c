/* kc-mock's JSON reader and its commands: strict parsing with bounds, and
 * every command answered with one JSON object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mock_cmd.h"
#include "mock_json.h"
#include "mock_test_util.h"

static int parse(const char *s, mock_json_t *o, char *err, size_t n)
{
    return mock_json_parse(s, strlen(s), o, err, n);
}

static void test_json_accepts(void **state)
{
    (void)state;
    mock_json_t o;
    char err[200];
    const char *s = " {\"op\":\"push_errors\", \"n\": -42, \"big\": 9223372036854775807,"
                    "\"min\":-9223372036854775808, \"t\":true, \"f\":false, \"z\":null,"
                    "\"errors\":[\"A\", 6, -1], \"e\":[], "
                    "\"s\":\"a\\\"b\\\\\\/\\n\\u00e9\\ud83d\\ude00\"} \r\n";
    assert_int_equal(parse(s, &o, err, sizeof(err)), 0);
    assert_int_equal(o.count, 10);
    assert_string_equal(mock_json_get(&o, "op")->str, "push_errors");
    assert_int_equal(mock_json_get(&o, "n")->num, -42);
    assert_true(mock_json_get(&o, "big")->num == INT64_MAX);
    assert_true(mock_json_get(&o, "min")->num == INT64_MIN);
    assert_int_equal(mock_json_get(&o, "t")->type, MOCK_JSON_BOOL);
    assert_int_equal(mock_json_get(&o, "t")->num, 1);
    assert_int_equal(mock_json_get(&o, "f")->num, 0);
    assert_int_equal(mock_json_get(&o, "z")->type, MOCK_JSON_NULL);
    const mock_json_value_t *a = mock_json_get(&o, "errors");
    assert_int_equal(a->type, MOCK_JSON_ARRAY);
    assert_int_equal(a->nitems, 3);
    assert_string_equal(a->items[0].str, "A");
    assert_int_equal(a->items[1].num, 6);
    assert_int_equal(a->items[2].num, -1);
    assert_int_equal(mock_json_get(&o, "e")->nitems, 0);
    assert_string_equal(mock_json_get(&o, "s")->str, "a\"b\\/\n\xc3\xa9\xf0\x9f\x98\x80");
    assert_null(mock_json_get(&o, "missing"));
    mock_json_free(&o);
    assert_int_equal(parse("{}", &o, err, sizeof(err)), 0);
    assert_int_equal(o.count, 0);
    mock_json_free(&o);
}

static void test_json_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "[]",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{\"a\":1} x",
        "{\"a\":1}{}",
        "{a:1}",
        "{'a':1}",
        "{\"a\":01}",
        "{\"a\":1.5}",
        "{\"a\":1e3}",
        "{\"a\":-}",
        "{\"a\":9223372036854775808}",
        "{\"a\":-9223372036854775809}",
        "{\"a\":{\"b\":1}}",
        "{\"a\":[[1]]}",
        "{\"a\":[true]}",
        "{\"a\":[1,]}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\ud800x\"}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":\"open}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":tru}",
        "{\"a\":nul}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mock_json_t o;
        char err[200] = "";
        if (parse(bad[i], &o, err, sizeof(err)) == 0) fail_msg("accepted: %s", bad[i]);
        assert_true(strncmp(err, "JSON at byte ", 13) == 0);
    }
    /* A NUL inside the input is not the end of it. */
    mock_json_t o;
    char err[200];
    assert_int_equal(mock_json_parse("{}\0{}", 5, &o, err, sizeof(err)), -1);
}

static void test_json_bounds(void **state)
{
    (void)state;
    mock_json_t o;
    char err[200];
    /* Too many members, items, string bytes. */
    char *s = malloc(1 << 20);
    size_t n = (size_t)sprintf(s, "{");
    for (int i = 0; i <= MOCK_JSON_MAX_MEMBERS; i++)
        n += (size_t)sprintf(s + n, "%s\"k%d\":1", i ? "," : "", i);
    sprintf(s + n, "}");
    assert_int_equal(parse(s, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "members"));
    n = (size_t)sprintf(s, "{\"a\":[");
    for (int i = 0; i <= MOCK_JSON_MAX_ITEMS; i++)
        n += (size_t)sprintf(s + n, "%s1", i ? "," : "");
    sprintf(s + n, "]}");
    assert_int_equal(parse(s, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "array"));
    n = (size_t)sprintf(s, "{\"a\":\"");
    memset(s + n, 'x', MOCK_JSON_MAX_STRING + 1);
    sprintf(s + n + MOCK_JSON_MAX_STRING + 1, "\"}");
    assert_int_equal(parse(s, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "longer"));
    /* Just inside the limits is fine. */
    s[n + MOCK_JSON_MAX_STRING] = '"';
    s[n + MOCK_JSON_MAX_STRING + 1] = '}';
    s[n + MOCK_JSON_MAX_STRING + 2] = '\0';
    assert_int_equal(parse(s, &o, err, sizeof(err)), 0);
    mock_json_free(&o);
    free(s);
}

static void test_json_writer(void **state)
{
    (void)state;
    mock_jbuf_t b = {0};
    mock_jbuf_raw(&b, "{");
    mock_jbuf_str(&b, "q\"\\\n\x01\x7f\xc3\xa9");
    mock_jbuf_printf(&b, ":%d,", 12);
    mock_jbuf_str(&b, NULL);
    mock_jbuf_raw(&b, "}");
    assert_string_equal(b.p, "{\"q\\\"\\\\\\u000a\\u0001\\u007f\xc3\xa9\":12,null}");
    mock_jbuf_free(&b);
}

static void test_names(void **state)
{
    (void)state;
    int v;
    assert_int_equal(mock_cmd_error_code("NOT_LEADER_OR_FOLLOWER", &v), 0);
    assert_int_equal(v, 6);
    assert_int_equal(mock_cmd_error_code("UNKNOWN_SERVER_ERROR", &v), 0);
    assert_int_equal(v, -1);
    assert_int_equal(mock_cmd_error_code("15", &v), 0);
    assert_int_equal(v, 15);
    assert_int_equal(mock_cmd_error_code("_TRANSPORT", &v), -1); /* local, not Kafka's */
    assert_int_equal(mock_cmd_error_code("NOPE", &v), -1);
    assert_int_equal(mock_cmd_api_key("Produce", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(mock_cmd_api_key("FindCoordinator", &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(mock_cmd_api_key("3", &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(mock_cmd_api_key("Nope", &v), -1);
    assert_int_equal(mock_cmd_api_key("9999", &v), -1);
}

/* ---- Commands against a cluster ---------------------------------------------------------- */

static mock_fixture_t F;

static char *run(const char *line)
{
    mock_jbuf_t out = {0};
    mock_cmd_exec(F.mc, line, strlen(line), &out);
    assert_false(out.oom);
    return out.p;
}

static void expect_ok(const char *line)
{
    char *a = run(line);
    if (strncmp(a, "{\"ok\":true", 10) != 0) fail_msg("%s -> %s", line, a);
    free(a);
}

static void expect_error(const char *line, const char *fragment)
{
    char *a = run(line);
    if (strncmp(a, "{\"ok\":false,\"error\":", 20) != 0 || !strstr(a, fragment))
        fail_msg("%s -> %s (wanted an error with '%s')", line, a, fragment);
    /* Every answer is itself one valid JSON object. */
    mock_json_t o;
    char err[200];
    assert_int_equal(mock_json_parse(a, strlen(a), &o, err, sizeof(err)), 0);
    mock_json_free(&o);
    free(a);
}

static void test_commands(void **state)
{
    (void)state;
    mock_fixture_start(&F, 3);
    char *a = run("{\"op\":\"bootstrap\"}");
    assert_non_null(strstr(a, kc_mock_cluster_bootstrap(F.mc)));
    free(a);
    expect_ok("{\"op\":\"create_topic\",\"topic\":\"t\",\"partitions\":2,\"replicas\":2}");
    expect_error("{\"op\":\"create_topic\",\"topic\":\"t\"}", "TOPIC_ALREADY_EXISTS");
    expect_error("{\"op\":\"create_topic\",\"topic\":\"u\",\"replicas\":4}", "out of range");
    expect_error("{\"op\":\"create_topic\"}", "topic\\\" is required");
    expect_error("{\"op\":\"create_topic\",\"topic\":7}", "must be a string");
    expect_ok("{\"op\":\"set_leader\",\"topic\":\"t\",\"partition\":1,\"leader\":3}");
    expect_error("{\"op\":\"set_leader\",\"topic\":\"t\",\"partition\":9,\"leader\":3}",
                 "no such topic");
    expect_ok("{\"op\":\"set_replicas\",\"topic\":\"t\",\"partition\":0,\"replicas\":[2,3]}");
    expect_error("{\"op\":\"set_replicas\",\"topic\":\"t\",\"partition\":0,\"replicas\":[]}",
                 "non-empty");
    expect_ok("{\"op\":\"set_coordinator\",\"key\":\"g\",\"broker\":2}");
    expect_ok("{\"op\":\"set_coordinator\",\"type\":\"transaction\",\"key\":\"tx\",\"broker\":1}");
    expect_error("{\"op\":\"set_coordinator\",\"type\":\"x\",\"key\":\"g\",\"broker\":2}",
                 "type\\\" must be");
    expect_ok("{\"op\":\"push_errors\",\"api\":\"Metadata\",\"errors\":[\"NOT_CONTROLLER\",5],"
              "\"rtt_ms\":[0,10],\"broker\":1}");
    expect_ok(
        "{\"op\":\"push_errors\",\"api\":3,\"errors\":[\"LEADER_NOT_AVAILABLE\"],\"rtt_ms\":5}");
    expect_error("{\"op\":\"push_errors\",\"api\":\"Metadata\",\"errors\":[\"NOPE\"]}",
                 "unknown error");
    expect_error("{\"op\":\"push_errors\",\"api\":\"Nope\",\"errors\":[]}", "unknown API");
    expect_error("{\"op\":\"push_errors\",\"api\":0,\"errors\":[1],\"rtt_ms\":[1,2]}",
                 "one value per error");
    expect_error("{\"op\":\"push_errors\",\"api\":0,\"errors\":[1],\"broker\":4}",
                 "no broker 4: brokers are 1..3");
    expect_ok("{\"op\":\"clear_errors\",\"api\":\"Metadata\"}");
    expect_ok("{\"op\":\"clear_errors\"}");
    expect_ok("{\"op\":\"set_rtt\",\"broker\":2,\"rtt_ms\":0}");
    expect_error("{\"op\":\"set_rtt\",\"broker\":2}", "rtt_ms\\\" is required");
    expect_ok("{\"op\":\"broker_down\",\"broker\":3}");
    assert_int_equal(mock_try_connect(&F, 3), -1);
    expect_ok("{\"op\":\"broker_up\",\"broker\":3}");
    expect_ok("{\"op\":\"close_connections\"}");
    expect_ok("{\"op\":\"close_connections\",\"broker\":1}");
    expect_ok("{\"op\":\"clear_requests\"}");

    /* The request log names the API and the client. */
    int fd = mock_connect(&F, 2);
    proto_metadata_response_t resp;
    proto_arena_t ar;
    proto_arena_init(&ar);
    free(mock_metadata(fd, NULL, &resp, &ar));
    proto_arena_destroy(&ar);
    close(fd);
    a = run("{\"op\":\"requests\",\"broker\":2}");
    assert_non_null(strstr(a, "\"api\":\"Metadata\",\"api_key\":3,\"version\":12"));
    assert_non_null(strstr(a, "\"client_id\":\"kc-test\""));
    assert_non_null(strstr(a, "\"injected_error_code\":0,\"injected_error\":\"NO_ERROR\""));
    free(a);
    expect_ok("{\"op\":\"clear_requests\",\"broker\":2}");
    a = run("{\"op\":\"requests\"}");
    assert_string_equal(a, "{\"ok\":true,\"requests\":[]}");
    free(a);

    expect_error("{\"op\":\"nope\"}", "unknown op");
    expect_error("{\"op\":5}", "must be a string");
    expect_error("{}", "op\\\" is required");
    expect_error("not json", "JSON at byte 0");
    mock_fixture_stop(&F);
}

/* Every op that names a broker refuses one that does not exist, saying
 * which and what exists (an unknown id once came back as "out of memory"). */
static void test_commands_refuse_unknown_brokers(void **state)
{
    (void)state;
    mock_fixture_start(&F, 3);
    expect_ok("{\"op\":\"create_topic\",\"topic\":\"t\"}");
    static const char *const ops[] = {
        "{\"op\":\"requests\",\"broker\":%d}",
        "{\"op\":\"clear_requests\",\"broker\":%d}",
        "{\"op\":\"push_errors\",\"api\":0,\"errors\":[1],\"broker\":%d}",
        "{\"op\":\"clear_errors\",\"broker\":%d}",
        "{\"op\":\"set_rtt\",\"broker\":%d,\"rtt_ms\":1}",
        "{\"op\":\"broker_down\",\"broker\":%d}",
        "{\"op\":\"broker_up\",\"broker\":%d}",
        "{\"op\":\"close_connections\",\"broker\":%d}",
        "{\"op\":\"set_coordinator\",\"key\":\"g\",\"broker\":%d}",
        "{\"op\":\"set_leader\",\"topic\":\"t\",\"partition\":0,\"leader\":%d}",
        "{\"op\":\"set_replicas\",\"topic\":\"t\",\"partition\":0,\"replicas\":[1,%d]}",
    };
    static const int bad[] = {0, 4, -2, 100000};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
            char line[200], want[64];
            snprintf(line, sizeof(line), ops[i], bad[j]);
            snprintf(want, sizeof(want), "no broker %d: brokers are 1..3", bad[j]);
            expect_error(line, want);
        }
    /* -1 means every broker only where the op says so. */
    expect_ok("{\"op\":\"requests\",\"broker\":-1}");
    expect_ok("{\"op\":\"set_coordinator\",\"key\":\"g\",\"broker\":-1}");
    expect_error("{\"op\":\"set_rtt\",\"broker\":-1,\"rtt_ms\":1}", "no broker -1");
    expect_error("{\"op\":\"broker_down\",\"broker\":\"1\"}", "must be an integer");
    mock_fixture_stop(&F);
}

/* The request log reports an injected error's code always, and its name
 * when kc knows it: push_errors takes codes kc's table has no name for. */
static void test_requests_report_error_codes(void **state)
{
    (void)state;
    mock_fixture_start(&F, 3);
    expect_ok("{\"op\":\"push_errors\",\"api\":\"Metadata\",\"broker\":2,"
              "\"errors\":[32000,\"LEADER_NOT_AVAILABLE\",\"NO_ERROR\"]}");
    int fd = mock_connect(&F, 2);
    for (int i = 0; i < 3; i++) {
        proto_metadata_response_t resp;
        proto_arena_t ar;
        proto_arena_init(&ar);
        uint8_t *frame = mock_metadata(fd, NULL, &resp, &ar);
        assert_non_null(frame);
        free(frame);
        proto_arena_destroy(&ar);
    }
    close(fd);
    char *a = run("{\"op\":\"requests\",\"broker\":2}");
    const char *first = strstr(a, "\"injected_error_code\":32000,\"injected_error\":null");
    const char *second =
        strstr(a, "\"injected_error_code\":5,\"injected_error\":\"LEADER_NOT_AVAILABLE\"");
    const char *third = strstr(a, "\"injected_error_code\":0,\"injected_error\":\"NO_ERROR\"");
    if (!first || !second || !third || !(first < second && second < third)) fail_msg("%s", a);
    free(a);
    mock_fixture_stop(&F);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_accepts),
        cmocka_unit_test(test_json_refuses),
        cmocka_unit_test(test_json_bounds),
        cmocka_unit_test(test_json_writer),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_commands_refuse_unknown_brokers),
        cmocka_unit_test(test_requests_report_error_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
