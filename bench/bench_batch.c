/* Record batch throughput: building (producer append + finish), parsing
 * (consumer: batch iterator, CRC check, decompression, record iterator) and,
 * for uncompressed batches, the broker's proto_batch_validate(), with
 * batches of 100-byte and 1 KiB records, uncompressed and with each codec.
 * Steady state: buffers are reused, so no case allocates per batch. Rates
 * are per second of this thread's CPU time (one core), best of 5 rounds.
 *
 *   bench_batch [--json] [--time SECONDS] [--batch BYTES] [--codec NAME] [--size N]
 *
 * --codec and --size run only the cases with that codec or record size.
 * Prints one line per case; with --json, the same again as one JSON object
 * per line at the end. Run by hand; not a test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kc/kc_err.h"
#include "proto/proto_batch.h"
#include "proto/proto_compress.h"
#include "proto/proto_record.h"

typedef struct result {
    const char *op;
    const char *codec;
    size_t record_size;
    double records_per_sec;
    double mb_per_sec; /* of uncompressed batch bytes */
    size_t batch_bytes;
    size_t wire_bytes; /* after compression */
    int records_per_batch;
} result_t;

/* CPU time of this thread, not wall time: on a shared machine the time the
 * thread spends waiting for a core is not counted against the code. */
static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Values that compress like text (a few hundred words in random order),
 * not like zeros or like noise. */
static void fill_values(uint8_t *buf, size_t len)
{
    static const char *words[] = {"order", "id",   "user",  "status", "shipped", "2024",
                                  "eu",    "west", "price", "12.50",  "qty",     "true",
                                  "false", "null", "sku",   "A7F3",   "ts",      "session"};
    uint64_t x = 0x2545F4914F6CDD1DULL;
    size_t i = 0;
    while (i < len) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const char *w = words[x % (sizeof(words) / sizeof(words[0]))];
        for (size_t k = 0; w[k] && i < len; k++)
            buf[i++] = (uint8_t)w[k];
        if (i < len) buf[i++] = (x >> 20) & 1 ? ' ' : ',';
    }
}

#define VALUE_POOL (1 << 20)

static uint8_t *values;

static int records_per_batch(size_t record_size, size_t batch_bytes)
{
    size_t per = proto_record_size(0, 1000, -1, (int32_t)record_size, NULL, 0);
    int n = (int)((batch_bytes - PROTO_BATCH_HEADER_SIZE) / per);
    return n > 0 ? n : 1;
}

/* Builds one batch of n records of `size` bytes into w (reset first). */
static size_t build_one(proto_wbuf_t *w, proto_wbuf_t *scratch, int n, size_t size, int codec,
                        int64_t ts)
{
    proto_batch_builder_t b;
    proto_wbuf_reset(w);
    if (proto_batch_builder_begin(&b, w, NULL)) exit(1);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        if (at + size > VALUE_POOL) at = 0;
        if (proto_batch_builder_append(&b, ts + i, NULL, -1, values + at, (int32_t)size, NULL, 0))
            exit(1);
        at += size + 7; /* a different slice each time, no overlap */
    }
    size_t plain = proto_batch_builder_size(&b);
    char err[160];
    if (proto_batch_builder_finish(&b, codec, -1, scratch, err, sizeof(err))) {
        fprintf(stderr, "finish: %s\n", err);
        exit(1);
    }
    return plain;
}

/* The best rate of ROUNDS timed rounds: on a shared machine the best round
 * is the one least disturbed by other work. */
#define ROUNDS 5

static result_t bench_build(int codec, size_t size, size_t batch_bytes, double min_sec)
{
    proto_wbuf_t w = {0}, scratch = {0};
    int n = records_per_batch(size, batch_bytes);
    size_t plain = build_one(&w, &scratch, n, size, codec, 1700000000000LL); /* warm up */
    double best = 0;
    for (int round = 0; round < ROUNDS; round++) {
        size_t batches = 0;
        double t0 = now_sec(), t1;
        do {
            build_one(&w, &scratch, n, size, codec, 1700000000000LL + (int64_t)batches);
            batches++;
            t1 = now_sec();
        } while (t1 - t0 < min_sec / ROUNDS);
        double rate = (double)batches / (t1 - t0);
        if (rate > best) best = rate;
    }
    result_t r = {
        "build", proto_codec_name(codec), size, best * n, best * (double)plain / 1e6, plain, w.len,
        n};
    proto_wbuf_free(&w);
    proto_wbuf_free(&scratch);
    return r;
}

/* One consumer pass over the batch: iterate, check the CRC, decompress,
 * read every record. */
static void parse_one(const proto_wbuf_t *w, proto_wbuf_t *scratch, int n, uint64_t *sum)
{
    proto_batch_iter_t bi;
    proto_batch_view_t v;
    proto_batch_iter_init(&bi, w->data, w->len);
    while (proto_batch_iter_next(&bi, &v)) {
        proto_record_iter_t ri;
        proto_record_t rec;
        if (proto_record_iter_init(&ri, &v, 1, scratch, 0)) {
            fprintf(stderr, "parse: %s\n", ri.errstr);
            exit(1);
        }
        int got = 0;
        while (proto_record_iter_next(&ri, &rec)) {
            *sum += (uint64_t)rec.value.len + (uint64_t)rec.offset;
            got++;
        }
        if (ri.err || got != n) {
            fprintf(stderr, "parse: %d records, %s\n", got, ri.errstr);
            exit(1);
        }
    }
}

static result_t bench_parse(int codec, size_t size, size_t batch_bytes, double min_sec)
{
    proto_wbuf_t w = {0}, scratch = {0};
    int n = records_per_batch(size, batch_bytes);
    size_t plain = build_one(&w, &scratch, n, size, codec, 1700000000000LL);
    uint64_t sum = 0;
    parse_one(&w, &scratch, n, &sum); /* warm up */
    double best = 0;
    for (int round = 0; round < ROUNDS; round++) {
        size_t batches = 0;
        double t0 = now_sec(), t1;
        do {
            parse_one(&w, &scratch, n, &sum);
            batches++;
            t1 = now_sec();
        } while (t1 - t0 < min_sec / ROUNDS);
        double rate = (double)batches / (t1 - t0);
        if (rate > best) best = rate;
    }
    if (sum == 42) puts(""); /* keep the loop's result alive */
    result_t r = {
        "parse", proto_codec_name(codec), size, best * n, best * (double)plain / 1e6, plain, w.len,
        n};
    proto_wbuf_free(&w);
    proto_wbuf_free(&scratch);
    return r;
}

/* The broker's check of a produced batch: CRC, header fields, and a walk of
 * every record (uncompressed) or of the decompressed records (decompress=1). */
static result_t bench_validate(int codec, size_t size, size_t batch_bytes, double min_sec)
{
    proto_wbuf_t w = {0}, scratch = {0};
    int n = records_per_batch(size, batch_bytes);
    size_t plain = build_one(&w, &scratch, n, size, codec, 1700000000000LL);
    proto_batch_validate_opts_t o = {.allow_zstd = 1, .decompress = 1, .scratch = &scratch};
    char err[160];
    double best = 0;
    for (int round = 0; round < ROUNDS; round++) {
        size_t batches = 0;
        double t0 = now_sec(), t1;
        do {
            if (proto_batch_validate(w.data, w.len, &o, NULL, err, sizeof(err))) {
                fprintf(stderr, "validate: %s\n", err);
                exit(1);
            }
            batches++;
            t1 = now_sec();
        } while (t1 - t0 < min_sec / ROUNDS);
        double rate = (double)batches / (t1 - t0);
        if (rate > best) best = rate;
    }
    result_t r = {
        "valid", proto_codec_name(codec), size, best * n, best * (double)plain / 1e6, plain, w.len,
        n};
    proto_wbuf_free(&w);
    proto_wbuf_free(&scratch);
    return r;
}

static void print_line(const result_t *r)
{
    printf("%-5s %-6s %5zu B records: %8.2f M records/s %8.1f MB/s  (%d records, %zu -> %zu "
           "bytes per batch)\n",
           r->op, r->codec, r->record_size, r->records_per_sec / 1e6, r->mb_per_sec,
           r->records_per_batch, r->batch_bytes, r->wire_bytes);
    fflush(stdout);
}

static void print_json(const result_t *r)
{
    printf("{\"bench\":\"batch\",\"op\":\"%s\",\"codec\":\"%s\",\"record_bytes\":%zu,"
           "\"records_per_sec\":%.0f,\"mb_per_sec\":%.1f,\"records_per_batch\":%d,"
           "\"batch_bytes\":%zu,\"wire_bytes\":%zu}\n",
           r->op, r->codec, r->record_size, r->records_per_sec, r->mb_per_sec, r->records_per_batch,
           r->batch_bytes, r->wire_bytes);
}

int main(int argc, char **argv)
{
    int json = 0;
    double min_sec = 1.0;
    size_t batch_bytes = 1000000; /* librdkafka's batch.size default */
    int only_codec = -1;
    size_t only_size = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--time") && i + 1 < argc) {
            min_sec = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            batch_bytes = (size_t)atol(argv[++i]);
        } else if (!strcmp(argv[i], "--codec") && i + 1 < argc) {
            only_codec = proto_codec_parse(argv[++i]);
            if (only_codec < 0) {
                fprintf(stderr, "unknown codec %s\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            only_size = (size_t)atol(argv[++i]);
        } else {
            fprintf(stderr,
                    "usage: %s [--json] [--time SECONDS] [--batch BYTES] [--codec NAME] "
                    "[--size N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (batch_bytes < 2048) batch_bytes = 2048;
    values = malloc(VALUE_POOL);
    if (!values) return 1;
    fill_values(values, VALUE_POOL);

    static const int codecs[] = {PROTO_CODEC_NONE, PROTO_CODEC_GZIP, PROTO_CODEC_SNAPPY,
                                 PROTO_CODEC_LZ4, PROTO_CODEC_ZSTD};
    static const size_t sizes[] = {100, 1024};
    result_t results[2 * 3 * 5];
    int nres = 0;
    for (size_t s = 0; s < 2; s++) {
        for (size_t c = 0; c < 5; c++) {
            if ((only_codec >= 0 && codecs[c] != only_codec) ||
                (only_size && sizes[s] != only_size))
                continue;
            results[nres] = bench_build(codecs[c], sizes[s], batch_bytes, min_sec);
            print_line(&results[nres++]);
            results[nres] = bench_parse(codecs[c], sizes[s], batch_bytes, min_sec);
            print_line(&results[nres++]);
            if (codecs[c] == PROTO_CODEC_NONE) {
                results[nres] = bench_validate(codecs[c], sizes[s], batch_bytes, min_sec);
                print_line(&results[nres++]);
            }
        }
    }
    if (json)
        for (int i = 0; i < nres; i++)
            print_json(&results[i]);
    free(values);
    return 0;
}
