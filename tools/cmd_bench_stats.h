/* What kc bench measures and prints, kept apart from kc's API so that the
 * librdkafka load generator in bench/rdkafka/ (which does not link kc) can
 * build the same file and report the same figures the same way: clocks, a
 * latency histogram, peak RSS, the once-a-second progress line and the final
 * summary with its JSON line. Nothing here allocates. */
#ifndef KC_CMD_BENCH_STATS_H
#define KC_CMD_BENCH_STATS_H

#include <stdint.h>
#include <stdio.h>

/* Log-linear buckets: values below 32 ns exact, above that 32 buckets per
 * power of two, so a percentile is off by at most 1/32 (about 3%). */
#define TOOL_HIST_SUB     32
#define TOOL_HIST_BUCKETS (TOOL_HIST_SUB + 59 * TOOL_HIST_SUB)

typedef struct tool_hist {
    uint64_t n;
    uint64_t max_ns;
    uint64_t counts[TOOL_HIST_BUCKETS];
} tool_hist_t;

void tool_hist_add(tool_hist_t *h, uint64_t ns);
/* The q-quantile (0 < q <= 1) in milliseconds, -1 when the histogram is empty.
 */
double tool_hist_quantile_ms(const tool_hist_t *h, double q);

/* CLOCK_MONOTONIC in nanoseconds / seconds; CLOCK_REALTIME in ms. */
uint64_t tool_now_ns(void);

/* Produce latency is measured on every TOOL_LAT_SAMPLE-th record, not on
 * every one: a clock read at the send and another at the report were a
 * quarter of the producing thread's time with 1 KiB records (about 70 ns a
 * read under load on the project's VM), the same cost in both benchmark
 * twins, which made the clients look closer than they are. 1 in 16 still
 * gives tens of thousands of samples per run for the percentiles. */
#define TOOL_LAT_SAMPLE 16

double tool_now_sec(void);
int64_t tool_wall_ms(void);
/* What record i carries as its opaque: its send time (ns since t0) + 1 when
 * it is sampled, else 0. */
static inline uint64_t tool_lat_stamp(long long i, uint64_t t0_ns)
{
    return i % TOOL_LAT_SAMPLE == 0 ? tool_now_ns() - t0_ns + 1 : 0;
}

/* The delivery reports of a timed produce run, counted the same way by both
 * benchmark twins. */
typedef struct tool_reports {
    uint64_t t0_ns;          /* when timing started */
    uint64_t last_report_ns; /* since t0, of the run's last report */
    long long expect;        /* reports that end the run */
    long long delivered, failed;
    tool_hist_t lat; /* of the sampled records delivered */
} tool_reports_t;

/* Counts one report of a record whose opaque was `sent` (tool_lat_stamp).
 * The clock is read only for a sampled record and for the run's last report.
 * Returns 1 on the run's first failure, so the caller keeps its message. */
static inline int tool_reports_add(tool_reports_t *r, uint64_t sent, int failed)
{
    uint64_t now = 0;
    if (sent || r->delivered + r->failed + 1 >= r->expect) {
        now = tool_now_ns() - r->t0_ns;
        r->last_report_ns = now;
    }
    if (failed) return r->failed++ == 0;
    r->delivered++;
    if (sent) tool_hist_add(&r->lat, now + 1 > sent ? now + 1 - sent : 0);
    return 0;
}

/* The process's user + system CPU seconds so far. */
double tool_cpu_sec(void);
/* Peak resident set size (VmHWM) in kB, -1 if unknown. */
long tool_peak_rss_kb(void);

/* Once-a-second progress lines on stderr. */
typedef struct tool_progress {
    const char *what; /* "kc bench produce" */
    const char *verb; /* "delivered", "read" */
    size_t record_bytes;
    int quiet;
    double t0, last_t;
    long long last_done, last_bytes;
} tool_progress_t;

void tool_progress_start(tool_progress_t *pr, const char *what, const char *verb,
                         size_t record_bytes, int quiet);
/* Prints a line when a second has passed since the last one: records done
 * so far, the rates over that second (bytes: value bytes done so far, or -1
 * for done * record_bytes), and `pending` when >= 0 (e.g. records produced
 * and not yet reported). Cheap enough to call every few records. */
void tool_progress_tick(tool_progress_t *pr, long long done, long long bytes, long long pending);

typedef struct tool_bench_result {
    const char *test;   /* "produce" or "consume" */
    const char *client; /* "kc" or "librdkafka X.Y.Z" */
    const char *topic;
    size_t record_bytes; /* value size; for consume the mean value size read */
    long long records;   /* records delivered / read */
    long long errors;    /* records that failed (produce) or error events (consume) */
    long long bytes;     /* value bytes of those records */
    double seconds;
    double cpu_s;
    long rss_kb;
    const tool_hist_t *lat; /* NULL: no latency figures (JSON null) */
    const char *lat_what;   /* what the latency measures, for the text summary */
    const char *error;      /* why the run failed, NULL if it did not */
} tool_bench_result_t;

/* The human summary, a few lines. */
void tool_bench_print_text(FILE *out, const tool_bench_result_t *r);
/* One JSON object on one line: test, client, topic, record_bytes, records,
 * errors, bytes, seconds, records_per_sec, mb_per_sec (1 MB = 1e6 bytes of
 * values), p50_ms, p90_ms, p99_ms, p999_ms, max_ms (null without latency),
 * cpu_s, rss_kb, error (null when none). `extra`, when not NULL, is
 * appended inside the object verbatim (",\"conf\":{...}"). */
void tool_bench_print_json(FILE *out, const tool_bench_result_t *r, const char *extra);

/* Where benchmark record values come from (kc's and the librdkafka twin's
 * alike): TOOL_BENCH_POOL bytes of text, words of a small vocabulary in a
 * fixed pseudo-random order, so that a codec finds in a batch about what it
 * finds in real text (lz4 about 2x) rather than one repeated value. Record
 * i's value is the SIZE bytes at tool_bench_value(pool, size, i):
 * consecutive records are consecutive stretches of the text. */
#define TOOL_BENCH_POOL (4u << 20)
/* TOOL_BENCH_POOL + size bytes for free(); NULL if out of memory. */
unsigned char *tool_bench_pool_new(size_t size);
static inline const unsigned char *tool_bench_value(const unsigned char *pool, size_t size,
                                                    long long i)
{
    return pool + (size_t)(((unsigned long long)i * size) % TOOL_BENCH_POOL);
}

#endif
