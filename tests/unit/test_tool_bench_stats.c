/* kc bench's figures (tools/cmd_bench_stats.c, built into this test): the
 * latency histogram's percentiles stay within their 1/32 bucket width of
 * the exact ones, the JSON line carries the keys scripts read, and the value
 * pool is the same text every time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/cmd_bench_stats.c"

static tool_hist_t hist; /* too large for the stack */

static void test_hist_empty(void **state)
{
    (void)state;
    memset(&hist, 0, sizeof(hist));
    assert_true(tool_hist_quantile_ms(&hist, 0.5) < 0);
}

static void test_hist_small_values_exact(void **state)
{
    (void)state;
    memset(&hist, 0, sizeof(hist));
    for (uint64_t v = 1; v <= 20; v++)
        tool_hist_add(&hist, v * 1000000); /* 1..20 ms */
    /* 10th of 20 -> 10 ms; 99% of 20 -> the 20th. */
    double p50 = tool_hist_quantile_ms(&hist, 0.5), p99 = tool_hist_quantile_ms(&hist, 0.99);
    assert_true(p50 > 10 * (1 - 1.0 / 32) && p50 < 10 * (1 + 1.0 / 32));
    assert_true(p99 > 20 * (1 - 1.0 / 32) && p99 <= 20.0);
    assert_int_equal(hist.n, 20);
    assert_int_equal(hist.max_ns, 20000000);
    /* Exact below 32 ns. */
    memset(&hist, 0, sizeof(hist));
    tool_hist_add(&hist, 7);
    assert_true(tool_hist_quantile_ms(&hist, 1.0) == 7 / 1e6);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Against the exact order statistic over six decades of values. */
static void test_hist_relative_error(void **state)
{
    (void)state;
    enum { N = 10000 };
    static uint64_t vals[N];
    memset(&hist, 0, sizeof(hist));
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        vals[i] = 1000 + x % 1000000000ull; /* 1 us .. 1 s */
        tool_hist_add(&hist, vals[i]);
    }
    qsort(vals, N, sizeof(vals[0]), cmp_u64);
    const double qs[] = {0.5, 0.9, 0.99, 0.999};
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        uint64_t rank = (uint64_t)(qs[k] * N + 0.999999);
        uint64_t exact = vals[rank - 1];
        double got = tool_hist_quantile_ms(&hist, qs[k]) * 1e6;
        assert_true(got >= (double)exact * (1 - 1.0 / 32) - 1);
        assert_true(got <= (double)exact * (1 + 1.0 / 32) + 1);
    }
}

static void test_json_keys(void **state)
{
    (void)state;
    memset(&hist, 0, sizeof(hist));
    tool_hist_add(&hist, 2000000);
    tool_bench_result_t r = {.test = "produce",
                             .client = "kc",
                             .topic = "t\"q",
                             .record_bytes = 100,
                             .records = 10,
                             .bytes = 1000,
                             .seconds = 0.5,
                             .rss_kb = 1234,
                             .lat = &hist,
                             .lat_what = "x"};
    char buf[4096] = "";
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    assert_non_null(f);
    tool_bench_print_json(f, &r, ",\"conf\":{}");
    fclose(f);
    const char *keys[] = {"\"records\":10,",       "\"seconds\":0.5000,", "\"records_per_sec\":20,",
                          "\"mb_per_sec\":0.002,", "\"p50_ms\":2.0",      "\"p99_ms\":2.0",
                          "\"errors\":0,",         "\"rss_kb\":1234,",    "\"error\":null",
                          "\"topic\":\"t\\\"q\"",  ",\"conf\":{}}\n"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strstr(buf, keys[i])) fail_msg("%s not in %s", keys[i], buf);
    /* Without latency the keys are null. */
    r.lat = NULL;
    f = fmemopen(buf, sizeof(buf) - 1, "w");
    tool_bench_print_json(f, &r, NULL);
    fclose(f);
    assert_non_null(strstr(buf, "\"p50_ms\":null,\"p90_ms\":null,\"p99_ms\":null"));
    assert_non_null(strstr(buf, "\"latency\":null"));
}

static void test_value_pool(void **state)
{
    (void)state;
    unsigned char *a = tool_bench_pool_new(100), *b = tool_bench_pool_new(100);
    assert_non_null(a);
    assert_non_null(b);
    /* The same text every run (and in librdkafka's twin). */
    assert_memory_equal(a, b, TOOL_BENCH_POOL + 100);
    for (size_t i = 0; i < TOOL_BENCH_POOL + 100; i++)
        assert_true(a[i] >= 0x20 && a[i] < 0x7f);
    /* Consecutive records are consecutive stretches; the last one fits. */
    assert_ptr_equal(tool_bench_value(a, 100, 0), a);
    assert_ptr_equal(tool_bench_value(a, 100, 3), a + 300);
    long long wrap = TOOL_BENCH_POOL / 100 + 1;
    assert_true(tool_bench_value(a, 100, wrap) + 100 <= a + TOOL_BENCH_POOL + 100);
    /* Not one value repeated: neighbours differ. */
    assert_memory_not_equal(tool_bench_value(a, 100, 0), tool_bench_value(a, 100, 1), 100);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_empty),          cmocka_unit_test(test_hist_small_values_exact),
        cmocka_unit_test(test_hist_relative_error), cmocka_unit_test(test_json_keys),
        cmocka_unit_test(test_value_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
