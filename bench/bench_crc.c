/* CRC-32C throughput (hardware and table) and murmur2 key hashing rate.
 * Prints one line per measurement. Run by hand; not a test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "proto/proto_crc.h"

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Repeats over the same buffer (kept in cache: this measures the CRC, not
 * memory) for at least `min_sec`, and reports the best of five rounds. */
static void bench_crc(const char *name, proto_crc32c_fn fn, const uint8_t *buf, size_t len)
{
    const double min_sec = 0.2;
    double best = 0;
    volatile uint32_t sink = 0;
    for (int round = 0; round < 5; round++) {
        size_t iters = 0;
        double t0 = now_sec(), t1;
        do {
            for (int i = 0; i < 16; i++)
                sink = fn(sink, buf, len);
            iters += 16;
            t1 = now_sec();
        } while (t1 - t0 < min_sec);
        double gbs = (double)iters * (double)len / (t1 - t0) / 1e9;
        if (gbs > best) best = gbs;
    }
    printf("crc32c %-17s %7zu KiB buffers: %6.2f GB/s\n", name, len / 1024, best);
}

static void bench_murmur2(void)
{
    uint8_t keys[1024][16];
    for (int i = 0; i < 1024; i++)
        for (int j = 0; j < 16; j++)
            keys[i][j] = (uint8_t)(i * 31 + j * 7);
    volatile uint32_t sink = 0;
    double best = 0;
    for (int round = 0; round < 5; round++) {
        size_t n = 0;
        double t0 = now_sec(), t1;
        do {
            for (int i = 0; i < 1024; i++)
                sink ^= proto_murmur2(keys[i], 16);
            n += 1024;
            t1 = now_sec();
        } while (t1 - t0 < 0.2);
        double rate = (double)n / (t1 - t0);
        if (rate > best) best = rate;
    }
    printf("murmur2 16-byte keys: %.1f M hashes/s\n", best / 1e6);
}

int main(void)
{
    const size_t sizes[] = {64 * 1024, 1024 * 1024};
    uint8_t *buf = malloc(1024 * 1024);
    if (!buf) return 1;
    for (size_t i = 0; i < 1024 * 1024; i++)
        buf[i] = (uint8_t)(i * 2654435761u >> 13);
    printf("crc32c implementation: %s\n", proto_crc32c_impl());
    const proto_crc32c_impl_t *impls;
    int n = proto_crc32c_impls(&impls);
    for (size_t i = 0; i < 2; i++) {
        for (int k = 0; k < n; k++)
            bench_crc(impls[k].name, impls[k].fn, buf, sizes[i]);
    }
    bench_murmur2();
    free(buf);
    return 0;
}
