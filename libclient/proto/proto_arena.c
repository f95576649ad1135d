/* Chunked bump allocator. See proto_arena.h. */
#include "proto_arena.h"

#include <stdlib.h>
#include <string.h>

struct proto_arena_chunk {
    proto_arena_chunk_t *next;
    size_t size;
    _Alignas(max_align_t) uint8_t data[];
};

#define ALIGN       _Alignof(max_align_t)
#define FIRST_CHUNK 4096
#define MAX_GROWTH  (1u << 20)

void proto_arena_init(proto_arena_t *a)
{
    a->cur = a->inline_buf;
    a->left = sizeof(a->inline_buf);
    a->chunks = NULL;
    a->heap_bytes = 0;
    a->limit = 0;
}

void proto_arena_set_limit(proto_arena_t *a, size_t max_heap_bytes)
{
    a->limit = max_heap_bytes;
}

static void *new_chunk(proto_arena_t *a, size_t n)
{
    size_t last = a->chunks ? a->chunks->size : FIRST_CHUNK / 2;
    size_t size = last < MAX_GROWTH ? last * 2 : last;
    if (size < n) size = n;
    if (size > SIZE_MAX - sizeof(proto_arena_chunk_t)) return NULL;
    if (a->limit && (size > a->limit || a->heap_bytes > a->limit - size)) {
        /* A smaller chunk that fits this request may still be within the cap. */
        size = n;
        if (size > a->limit || a->heap_bytes > a->limit - size) return NULL;
    }
    proto_arena_chunk_t *c = malloc(sizeof(*c) + size);
    if (!c) return NULL;
    c->next = a->chunks;
    c->size = size;
    a->chunks = c;
    a->heap_bytes += size;
    a->cur = c->data + n;
    a->left = size - n;
    return c->data;
}

void *proto_arena_alloc(proto_arena_t *a, size_t n)
{
    if (n > SIZE_MAX - ALIGN) return NULL;
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    void *p;
    if (n <= a->left) {
        p = a->cur;
        a->cur += n;
        a->left -= n;
    } else {
        p = new_chunk(a, n);
        if (!p) return NULL;
    }
    if (n) memset(p, 0, n);
    return p;
}

static void free_chunks(proto_arena_t *a)
{
    proto_arena_chunk_t *c = a->chunks;
    while (c) {
        proto_arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
}

void proto_arena_reset(proto_arena_t *a)
{
    size_t limit = a->limit;
    free_chunks(a);
    proto_arena_init(a);
    a->limit = limit;
}

void proto_arena_destroy(proto_arena_t *a)
{
    free_chunks(a);
    proto_arena_init(a);
}
