/* Figures for kc bench and its librdkafka twin (see cmd_bench_stats.h). */
#include "cmd_bench_stats.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static unsigned hist_index(uint64_t v)
{
    if (v < TOOL_HIST_SUB) return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v); /* >= 5 */
    unsigned sub = (unsigned)(v >> (msb - 5)) - TOOL_HIST_SUB;
    return TOOL_HIST_SUB + (msb - 5) * TOOL_HIST_SUB + sub;
}

/* The middle of bucket idx's value range. */
static double hist_value(unsigned idx)
{
    if (idx < TOOL_HIST_SUB) return (double)idx;
    unsigned msb = (idx - TOOL_HIST_SUB) / TOOL_HIST_SUB + 5;
    unsigned sub = (idx - TOOL_HIST_SUB) % TOOL_HIST_SUB;
    double width = (double)(1ull << (msb - 5));
    return (double)(TOOL_HIST_SUB + sub) * width + (width - 1) / 2;
}

void tool_hist_add(tool_hist_t *h, uint64_t ns)
{
    h->counts[hist_index(ns)]++;
    h->n++;
    if (ns > h->max_ns) h->max_ns = ns;
}

double tool_hist_quantile_ms(const tool_hist_t *h, double q)
{
    if (h->n == 0) return -1;
    uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > h->n) rank = h->n;
    uint64_t seen = 0;
    for (unsigned i = 0; i < TOOL_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            double v = hist_value(i);
            /* Never report more than was seen. */
            if (v > (double)h->max_ns) v = (double)h->max_ns;
            return v / 1e6;
        }
    }
    return (double)h->max_ns / 1e6;
}

uint64_t tool_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double tool_now_sec(void)
{
    return (double)tool_now_ns() / 1e9;
}

int64_t tool_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double tool_cpu_sec(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

long tool_peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long kb = -1;
        while (fgets(line, sizeof(line), f))
            if (!strncmp(line, "VmHWM:", 6)) {
                kb = strtol(line + 6, NULL, 10);
                break;
            }
        fclose(f);
        if (kb >= 0) return kb;
    }
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

void tool_progress_start(tool_progress_t *pr, const char *what, const char *verb,
                         size_t record_bytes, int quiet)
{
    memset(pr, 0, sizeof(*pr));
    pr->what = what;
    pr->verb = verb;
    pr->record_bytes = record_bytes;
    pr->quiet = quiet;
    pr->t0 = pr->last_t = tool_now_sec();
}

void tool_progress_tick(tool_progress_t *pr, long long done, long long bytes, long long pending)
{
    if (pr->quiet) return;
    double now = tool_now_sec();
    if (now - pr->last_t < 1.0) return;
    if (bytes < 0) bytes = done * (long long)pr->record_bytes;
    double dt = now - pr->last_t;
    fprintf(stderr, "%s: %6.1f s: %lld records %s, %.0f records/s, %.2f MB/s", pr->what,
            now - pr->t0, done, pr->verb, (double)(done - pr->last_done) / dt,
            (double)(bytes - pr->last_bytes) / dt / 1e6);
    if (pending >= 0) fprintf(stderr, ", %lld in flight", pending);
    fputc('\n', stderr);
    pr->last_t = now;
    pr->last_done = done;
    pr->last_bytes = bytes;
}

unsigned char *tool_bench_pool_new(size_t size)
{
    static const char *const words[] = {
        "order", "id",   "user",   "amount", "currency", "EUR",      "USD",  "status",
        "paid",  "open", "closed", "item",   "price",    "quantity", "true", "false",
        "null",  "name", "email",  "city",   "Paris",    "Berlin",   "Lima", "Osaka",
        "time",  "2026", "11",     "24",     "event",    "click",    "view", "cart",
        "{",     "}",    "[",      "]",      ":",        ",",        "\"",   "42",
        "3.14",  "1000", "7",      "0",      "session",  "device",   "ios",  "web",
    };
    const size_t n_words = sizeof(words) / sizeof(words[0]);
    size_t total = TOOL_BENCH_POOL + size;
    unsigned char *pool = malloc(total);
    if (!pool) return NULL;
    uint64_t x = 0x9e3779b97f4a7c15ull; /* fixed: every run sends the same bytes */
    size_t off = 0;
    while (off < total) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const char *w = words[x % n_words];
        for (; *w && off < total; w++)
            pool[off++] = (unsigned char)*w;
        if (off < total) pool[off++] = ' ';
    }
    return pool;
}

static double per_sec(double v, double secs)
{
    return secs > 0 ? v / secs : 0;
}

void tool_bench_print_text(FILE *out, const tool_bench_result_t *r)
{
    fprintf(out, "%s: %lld records of %zu bytes in %.3f s: %.0f records/s, %.2f MB/s\n", r->test,
            r->records, r->record_bytes, r->seconds, per_sec((double)r->records, r->seconds),
            per_sec((double)r->bytes, r->seconds) / 1e6);
    if (r->lat && r->lat->n)
        fprintf(out,
                "latency (%s): p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f "
                "ms, max %.3f ms\n",
                r->lat_what ? r->lat_what : "per record", tool_hist_quantile_ms(r->lat, 0.50),
                tool_hist_quantile_ms(r->lat, 0.90), tool_hist_quantile_ms(r->lat, 0.99),
                tool_hist_quantile_ms(r->lat, 0.999), (double)r->lat->max_ns / 1e6);
    fprintf(out, "errors %lld, CPU %.2f s, peak RSS %ld kB\n", r->errors, r->cpu_s, r->rss_kb);
    if (r->error) fprintf(out, "failed: %s\n", r->error);
}

static void json_str(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void json_ms(FILE *out, const char *key, const tool_hist_t *h, double q)
{
    if (!h || !h->n)
        fprintf(out, ",\"%s\":null", key);
    else if (q > 1)
        fprintf(out, ",\"%s\":%.3f", key, (double)h->max_ns / 1e6);
    else
        fprintf(out, ",\"%s\":%.3f", key, tool_hist_quantile_ms(h, q));
}

void tool_bench_print_json(FILE *out, const tool_bench_result_t *r, const char *extra)
{
    fprintf(out, "{\"test\":");
    json_str(out, r->test);
    fprintf(out, ",\"client\":");
    json_str(out, r->client);
    fprintf(out, ",\"topic\":");
    json_str(out, r->topic);
    fprintf(out,
            ",\"record_bytes\":%zu,\"records\":%lld,\"errors\":%lld,\"bytes\":%lld,"
            "\"seconds\":%.4f,\"records_per_sec\":%.0f,\"mb_per_sec\":%.3f",
            r->record_bytes, r->records, r->errors, r->bytes, r->seconds,
            per_sec((double)r->records, r->seconds), per_sec((double)r->bytes, r->seconds) / 1e6);
    json_ms(out, "p50_ms", r->lat, 0.50);
    json_ms(out, "p90_ms", r->lat, 0.90);
    json_ms(out, "p99_ms", r->lat, 0.99);
    json_ms(out, "p999_ms", r->lat, 0.999);
    json_ms(out, "max_ms", r->lat, 2);
    fprintf(out, ",\"latency\":");
    json_str(out, r->lat && r->lat->n ? r->lat_what : NULL);
    fprintf(out, ",\"cpu_s\":%.3f,\"rss_kb\":%ld,\"error\":", r->cpu_s, r->rss_kb);
    json_str(out, r->error);
    if (extra) fputs(extra, out);
    fputs("}\n", out);
    fflush(out);
}
