/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * Three implementations, one chosen at first use:
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
#include <nmmintrin.h>
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

typedef uint32_t (*crc32c_fn)(uint32_t, const void *, size_t);

static pthread_once_t crc32c_choose_once = PTHREAD_ONCE_INIT;
static crc32c_fn crc32c_impl_fn;
static const char *crc32c_impl_name;

static void crc32c_choose(void)
{
    pthread_once(&crc32c_tables_once, crc32c_init_tables);
    crc32c_impl_fn = crc32c_table_entry;
    crc32c_impl_name = "table";
#ifdef PROTO_CRC32C_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
        crc32c_impl_fn = crc32c_sse42;
        crc32c_impl_name = "sse4.2";
    }
#endif
#ifdef PROTO_CRC32C_ARM64
    if (getauxval(AT_HWCAP) & HWCAP_CRC32) {
        crc32c_impl_fn = crc32c_armv8;
        crc32c_impl_name = "armv8-crc";
    }
#endif
}

static void crc32c_ensure(void)
{
    pthread_once(&crc32c_choose_once, crc32c_choose);
}

uint32_t proto_crc32c(uint32_t crc, const void *data, size_t len)
{
    crc32c_ensure();
    return crc32c_impl_fn(crc, data, len);
}

const char *proto_crc32c_impl(void)
{
    crc32c_ensure();
    return crc32c_impl_name;
}
