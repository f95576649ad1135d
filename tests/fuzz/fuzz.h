/* Shared by the fuzz targets and the replay driver.
 *
 * A target returns 0 for any input the library rejects cleanly; it aborts
 * (FUZZ_CHECK) only when an oracle finds the library inconsistent with
 * itself, so that libFuzzer keeps the input. Aborting is for this harness
 * only: the library never aborts on bad input. */
#ifndef KC_FUZZ_H
#define KC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small bounds, so that a tiny input cannot make a target slow or huge. */
#define FUZZ_ARENA_LIMIT    ((size_t)16 << 20)
#define FUZZ_MAX_DECOMPRESS ((size_t)64 << 10)

#define FUZZ_CHECK(cond, ...)                                                        \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
            abort();                                                                 \
        }                                                                            \
    } while (0)

#endif
