/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * Four implementations, the best the CPU runs chosen at first use:
 *  - x86-64 AVX-512 with VPCLMULQDQ: carry-less multiplication folds the
 *    input 256 bytes at a time into four 512-bit accumulators (a fold
 *    multiplies by x^n mod P, so the accumulators stay congruent to the
 *    message), and the crc32 instruction finishes the last 16 bytes. About
 *    twice the speed of the next one: 58 against 29 GB/s in cache here.
 *  - x86-64 SSE4.2: the crc32 instruction has a latency of 3 cycles but a
 *    throughput of 1 per cycle, so long inputs are cut into three chunks whose
 *    CRCs run interleaved and are then merged with "shift by N zero bytes"
 *    tables. That keeps the unit busy every cycle.
 *  - arm64 with the CRC extension: the same scheme with __crc32cd.
 *  - slicing-by-8 tables everywhere else, and as the reference for tests.
 *
 * All inner loops work on the raw CRC register (no pre/post inversion); the
 * public functions invert on entry and exit so callers can chain calls
 * starting from 0.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "proto_crc.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PROTO_CRC32C_X86 1
#include <immintrin.h>
#endif

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__)) && defined(__linux__)
#define PROTO_CRC32C_ARM64 1
#include <arm_acle.h>
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7) /* linux/arch/arm64/include/uapi/asm/hwcap.h */
#endif
#endif

#define CRC32C_POLY 0x82F63B78u

/* Chunk sizes of the interleaved paths: LONG amortises the merge over a lot
 * of data; SHORT picks up the middle-sized rest. Both multiples of 8. */
#define CRC32C_LONG  8192
#define CRC32C_SHORT 256

static uint32_t crc32c_table[8][256];
/* crc32c_x2k[k] = x^(2^k) mod P, for shifting a register by any length. */
static uint32_t crc32c_x2k[67];
/* crc32c_shift_long[k][b]: the register (b << 8k) advanced over LONG zero bytes. */
static uint32_t crc32c_shift_long[4][256];
static uint32_t crc32c_shift_short[4][256];
/* Folding constants {x^(n+63) mod P, x^(n-1) mod P} for a shift by n bits
 * (crc32c_fold_k), n = 128, 512 and 2048. */
static uint64_t crc32c_fold128[2], crc32c_fold512[2], crc32c_fold2048[2];
static pthread_once_t crc32c_tables_once = PTHREAD_ONCE_INIT;

/* The raw register advanced over n zero bytes, one byte at a time. Only used
 * to build the shift tables. */
static uint32_t crc32c_zeros_slow(uint32_t reg, size_t n)
{
    while (n--)
        reg = crc32c_table[0][reg & 0xff] ^ (reg >> 8);
    return reg;
}

static void crc32c_build_shift(uint32_t table[4][256], size_t n)
{
    /* Advancing over zeros is linear in the register, so the 32 single-bit
     * images determine every table entry. */
    uint32_t bit_image[32];
    for (int i = 0; i < 32; i++)
        bit_image[i] = crc32c_zeros_slow(1u << i, n);
    for (int k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (int i = 0; i < 8; i++) {
                if (b & (1u << i)) v ^= bit_image[8 * k + i];
            }
            table[k][b] = v;
        }
    }
}

/* a * b mod P. Polynomials are in the register's reflected order (bit 31 is
 * x^0), so multiplying by x is a right shift that folds x^32 back as POLY. */
static uint32_t crc32c_mulmod(uint32_t a, uint32_t b)
{
    uint32_t prod = 0;
    for (uint32_t bit = 1u << 31; bit; bit >>= 1) {
        if (a & bit) prod ^= b;
        b = (b >> 1) ^ ((b & 1) ? CRC32C_POLY : 0);
    }
    return prod;
}

/* x^n mod P, from the x^(2^k) table. */
static uint32_t crc32c_xpow(uint64_t n)
{
    uint32_t r = 1u << 31; /* x^0 */
    for (int k = 0; n; n >>= 1, k++)
        if (n & 1) r = crc32c_mulmod(r, crc32c_x2k[k]);
    return r;
}

/* The constants that advance a 128-bit lane by n bits. A lane holds 128
 * message bits, the first (the highest power) in bit 0; its low and high
 * 64-bit halves L and H stand for L * x^64 + H. Moving the lane n bits on is
 * L * x^(n+64) + H * x^n, and PCLMULQDQ's product of two such halves comes
 * out one power of x high, hence n+63 and n-1. A 32-bit register value v
 * (bit 31 = x^0) is the 64-bit half v << 32. */
static void crc32c_fold_k(uint64_t k[2], uint64_t n)
{
    k[0] = (uint64_t)crc32c_xpow(n + 63) << 32;
    k[1] = (uint64_t)crc32c_xpow(n - 1) << 32;
}

static void crc32c_init_tables(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++)
            c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
        crc32c_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = crc32c_table[0][b];
        for (int k = 1; k < 8; k++) {
            c = crc32c_table[0][c & 0xff] ^ (c >> 8);
            crc32c_table[k][b] = c;
        }
    }
    crc32c_x2k[0] = 1u << 30; /* x^1: the register's top bit is x^0 */
    for (int k = 1; k < 67; k++)
        crc32c_x2k[k] = crc32c_mulmod(crc32c_x2k[k - 1], crc32c_x2k[k - 1]);
    crc32c_build_shift(crc32c_shift_long, CRC32C_LONG);
    crc32c_build_shift(crc32c_shift_short, CRC32C_SHORT);
    crc32c_fold_k(crc32c_fold128, 128);
    crc32c_fold_k(crc32c_fold512, 512);
    crc32c_fold_k(crc32c_fold2048, 2048);
}

static inline uint32_t crc32c_shift(const uint32_t table[4][256], uint32_t reg)
{
    return table[0][reg & 0xff] ^ table[1][(reg >> 8) & 0xff] ^ table[2][(reg >> 16) & 0xff] ^
           table[3][reg >> 24];
}

static inline uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc32c_sw_raw(uint32_t reg, const uint8_t *p, size_t len)
{
    while (len && ((uintptr_t)p & 7)) {
        reg = crc32c_table[0][(reg ^ *p++) & 0xff] ^ (reg >> 8);
        len--;
    }
    while (len >= 8) {
        uint32_t lo = reg ^ load_le32(p);
        uint32_t hi = load_le32(p + 4);
        reg = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
              crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
              crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
              crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        reg = crc32c_table[0][(reg ^ *p++) & 0xff] ^ (reg >> 8);
    return reg;
}

uint32_t proto_crc32c_combine(uint32_t crc_a, uint32_t crc_b, size_t len_b)
{
    pthread_once(&crc32c_tables_once, crc32c_init_tables);
    /* Running a register over n zero bytes multiplies it by x^(8n); the pre-
     * and post-inversions of A's and B's CRCs cancel out (zlib's identity). */
    uint32_t reg = crc_a;
    int k = 3; /* x^8: one byte */
    for (uint64_t n = len_b; n; n >>= 1, k++) {
        if (n & 1) reg = crc32c_mulmod(crc32c_x2k[k], reg);
    }
    return reg ^ crc_b;
}

uint32_t proto_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc32c_tables_once, crc32c_init_tables);
    return ~crc32c_sw_raw(~crc, data, len);
}

static uint32_t crc32c_table_entry(uint32_t crc, const void *data, size_t len)
{
    return ~crc32c_sw_raw(~crc, data, len);
}

static inline uint64_t load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8); /* the crc instructions consume little-endian words */
    return v;
}

/* The interleaved loop shared by both hardware paths. STEP8(reg, word) and
 * STEP1(reg, byte) are the instructions. */
#define CRC32C_HW_BODY(STEP8, STEP1)                                             \
    do {                                                                         \
        while (len && ((uintptr_t)p & 7)) {                                      \
            reg = STEP1(reg, *p++);                                              \
            len--;                                                               \
        }                                                                        \
        while (len >= 3 * (size_t)CRC32C_LONG) {                                 \
            uint64_t r0 = reg, r1 = 0, r2 = 0;                                   \
            for (size_t i = 0; i < CRC32C_LONG; i += 8) {                        \
                r0 = STEP8(r0, load_u64(p + i));                                 \
                r1 = STEP8(r1, load_u64(p + CRC32C_LONG + i));                   \
                r2 = STEP8(r2, load_u64(p + 2 * CRC32C_LONG + i));               \
            }                                                                    \
            reg = crc32c_shift(crc32c_shift_long, (uint32_t)r0) ^ (uint32_t)r1;  \
            reg = crc32c_shift(crc32c_shift_long, reg) ^ (uint32_t)r2;           \
            p += 3 * CRC32C_LONG;                                                \
            len -= 3 * CRC32C_LONG;                                              \
        }                                                                        \
        while (len >= 3 * (size_t)CRC32C_SHORT) {                                \
            uint64_t r0 = reg, r1 = 0, r2 = 0;                                   \
            for (size_t i = 0; i < CRC32C_SHORT; i += 8) {                       \
                r0 = STEP8(r0, load_u64(p + i));                                 \
                r1 = STEP8(r1, load_u64(p + CRC32C_SHORT + i));                  \
                r2 = STEP8(r2, load_u64(p + 2 * CRC32C_SHORT + i));              \
            }                                                                    \
            reg = crc32c_shift(crc32c_shift_short, (uint32_t)r0) ^ (uint32_t)r1; \
            reg = crc32c_shift(crc32c_shift_short, reg) ^ (uint32_t)r2;          \
            p += 3 * CRC32C_SHORT;                                               \
            len -= 3 * CRC32C_SHORT;                                             \
        }                                                                        \
        uint64_t r = reg;                                                        \
        while (len >= 8) {                                                       \
            r = STEP8(r, load_u64(p));                                           \
            p += 8;                                                              \
            len -= 8;                                                            \
        }                                                                        \
        reg = (uint32_t)r;                                                       \
        while (len--)                                                            \
            reg = STEP1(reg, *p++);                                              \
    } while (0)

#ifdef PROTO_CRC32C_X86
#define X86_STEP8(r, w) _mm_crc32_u64((r), (w))
#define X86_STEP1(r, b) _mm_crc32_u8((r), (b))

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const void *data,
                                                               size_t len)
{
    const uint8_t *p = data;
    uint32_t reg = ~crc;
    CRC32C_HW_BODY(X86_STEP8, X86_STEP1);
    return ~reg;
}

#define X86_FOLD_TARGET __attribute__((target("avx512f,avx512vl,vpclmulqdq,pclmul,sse4.2")))

/* x * k ^ d per 128-bit lane: x moved on by the shift k stands for, plus
 * the next data. */
X86_FOLD_TARGET static inline __m512i fold512(__m512i x, __m512i k, __m512i d)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
                                     _mm512_clmulepi64_epi128(x, k, 0x11), d, 0x96);
}

X86_FOLD_TARGET static inline __m128i fold128(__m128i x, __m128i k, __m128i d)
{
    return _mm_xor_si128(
        _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), d);
}

X86_FOLD_TARGET static uint32_t crc32c_vpclmul(uint32_t crc, const void *data, size_t len)
{
    if (len < 512) return crc32c_sse42(crc, data, len);
    const uint8_t *p = data;
    const __m512i k2048 = _mm512_broadcast_i32x4(_mm_loadu_si128((const void *)crc32c_fold2048));
    const __m512i k512 = _mm512_broadcast_i32x4(_mm_loadu_si128((const void *)crc32c_fold512));
    const __m128i k128 = _mm_loadu_si128((const void *)crc32c_fold128);
    /* The register goes into the message's first 32 bits. */
    __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512((const void *)p),
                                  _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, (long long)(uint32_t)~crc));
    __m512i x1 = _mm512_loadu_si512((const void *)(p + 64));
    __m512i x2 = _mm512_loadu_si512((const void *)(p + 128));
    __m512i x3 = _mm512_loadu_si512((const void *)(p + 192));
    p += 256;
    len -= 256;
    while (len >= 256) {
        x0 = fold512(x0, k2048, _mm512_loadu_si512((const void *)p));
        x1 = fold512(x1, k2048, _mm512_loadu_si512((const void *)(p + 64)));
        x2 = fold512(x2, k2048, _mm512_loadu_si512((const void *)(p + 128)));
        x3 = fold512(x3, k2048, _mm512_loadu_si512((const void *)(p + 192)));
        p += 256;
        len -= 256;
    }
    /* Four accumulators into one, its four lanes into one, then 16 bytes at a
     * time. */
    x1 = fold512(x0, k512, x1);
    x2 = fold512(x1, k512, x2);
    x3 = fold512(x2, k512, x3);
    __m128i a = _mm512_castsi512_si128(x3);
    a = fold128(a, k128, _mm512_extracti32x4_epi32(x3, 1));
    a = fold128(a, k128, _mm512_extracti32x4_epi32(x3, 2));
    a = fold128(a, k128, _mm512_extracti32x4_epi32(x3, 3));
    for (; len >= 16; p += 16, len -= 16)
        a = fold128(a, k128, _mm_loadu_si128((const void *)p));
    /* The lane is congruent to the whole message so far, so its CRC from a
     * zero register is the message's; the crc32 instruction takes it from
     * there over the tail. */
    uint64_t r = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(a));
    r = _mm_crc32_u64(r, (uint64_t)_mm_extract_epi64(a, 1));
    uint32_t reg = (uint32_t)r;
    for (; len >= 8; p += 8, len -= 8)
        reg = (uint32_t)_mm_crc32_u64(reg, load_u64(p));
    while (len--)
        reg = _mm_crc32_u8(reg, *p++);
    return ~reg;
}
#endif

#ifdef PROTO_CRC32C_ARM64
/* clang declares the ACLE intrinsics only when the whole file targets +crc,
 * so it uses its builtins; GCC's arm_acle.h enables +crc around them itself. */
#if defined(__clang__)
#define ARM_CRC_TARGET  __attribute__((target("crc")))
#define ARM_STEP8(r, w) __builtin_arm_crc32cd((uint32_t)(r), (w))
#define ARM_STEP1(r, b) __builtin_arm_crc32cb((r), (b))
#else
#define ARM_CRC_TARGET  __attribute__((target("+crc")))
#define ARM_STEP8(r, w) __crc32cd((uint32_t)(r), (w))
#define ARM_STEP1(r, b) __crc32cb((r), (b))
#endif

ARM_CRC_TARGET static uint32_t crc32c_armv8(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t reg = ~crc;
    CRC32C_HW_BODY(ARM_STEP8, ARM_STEP1);
    return ~reg;
}
#endif

/* What this CPU can run, best first; [0] is what proto_crc32c uses. */
static proto_crc32c_impl_t crc32c_impls[4];
static int crc32c_nimpls;
static pthread_once_t crc32c_choose_once = PTHREAD_ONCE_INIT;

static void crc32c_add(const char *name, proto_crc32c_fn fn)
{
    crc32c_impls[crc32c_nimpls].name = name;
    crc32c_impls[crc32c_nimpls++].fn = fn;
}

static void crc32c_choose(void)
{
    pthread_once(&crc32c_tables_once, crc32c_init_tables);
#ifdef PROTO_CRC32C_X86
    __builtin_cpu_init();
    int sse42 = __builtin_cpu_supports("sse4.2");
    if (sse42 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("pclmul"))
        crc32c_add("avx512-vpclmulqdq", crc32c_vpclmul);
    if (sse42) crc32c_add("sse4.2", crc32c_sse42);
#endif
#ifdef PROTO_CRC32C_ARM64
    if (getauxval(AT_HWCAP) & HWCAP_CRC32) crc32c_add("armv8-crc", crc32c_armv8);
#endif
    crc32c_add("table", crc32c_table_entry);
}

static void crc32c_ensure(void)
{
    pthread_once(&crc32c_choose_once, crc32c_choose);
}

uint32_t proto_crc32c(uint32_t crc, const void *data, size_t len)
{
    crc32c_ensure();
    return crc32c_impls[0].fn(crc, data, len);
}

const char *proto_crc32c_impl(void)
{
    crc32c_ensure();
    return crc32c_impls[0].name;
}

int proto_crc32c_impls(const proto_crc32c_impl_t **impls)
{
    crc32c_ensure();
    *impls = crc32c_impls;
    return crc32c_nimpls;
}
