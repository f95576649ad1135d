/* A bump allocator for decoded messages: many small allocations, one free.
 *
 * Decoding a request allocates its arrays here; strings and bytes point into
 * the input instead. proto_arena_destroy frees everything at once. The first
 * PROTO_ARENA_INLINE bytes live inside the arena itself, so small messages
 * need no malloc; because of that an arena must not be moved (copied by
 * value) after proto_arena_init.
 *
 * Lifecycle: proto_arena_init, any number of proto_arena_alloc, then
 * proto_arena_destroy (or proto_arena_reset to reuse it). Not thread-safe.
 */
#ifndef PROTO_ARENA_H
#define PROTO_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_ARENA_INLINE 1024

typedef struct proto_arena_chunk proto_arena_chunk_t;

typedef struct proto_arena {
    uint8_t *cur;                /* next free byte of the current chunk */
    size_t left;                 /* free bytes after cur */
    proto_arena_chunk_t *chunks; /* heap chunks, newest first */
    size_t heap_bytes;           /* bytes obtained from malloc so far */
    size_t limit;                /* cap on heap_bytes; 0 = none */
    _Alignas(max_align_t) uint8_t inline_buf[PROTO_ARENA_INLINE];
} proto_arena_t;

void proto_arena_init(proto_arena_t *a);
/* Caps the heap memory the arena may take, so a hostile message that is small
 * on the wire cannot expand into a huge decoded form. 0 removes the cap. */
void proto_arena_set_limit(proto_arena_t *a, size_t max_heap_bytes);
/* Returns n zeroed bytes aligned for any type, or NULL when malloc fails or
 * the limit would be exceeded. n == 0 returns a valid unique-enough pointer. */
void *proto_arena_alloc(proto_arena_t *a, size_t n);
/* Frees every allocation but keeps the arena usable (the inline part is reused). */
void proto_arena_reset(proto_arena_t *a);
void proto_arena_destroy(proto_arena_t *a);

#endif
