/* A hash map from byte-string keys to pointers (open addressing, linear
 * probing, tombstone-free deletion by backward shift).
 *
 * Keys are copied into the map; values are borrowed pointers the caller
 * owns. Used for topics by name, groups by id, producer ids, fetch sessions:
 * lookups by name happen per request, so they must be cheap.
 *
 * Lifecycle: util_hmap_init (or zero-initialise), any operations,
 * util_hmap_destroy (frees the map's memory and key copies, not the values).
 * Not thread-safe.
 */
#ifndef UTIL_HMAP_H
#define UTIL_HMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct util_hmap_slot {
    void *key; /* NULL: empty */
    size_t klen;
    uint64_t hash;
    void *value;
} util_hmap_slot_t;

typedef struct util_hmap {
    util_hmap_slot_t *slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
} util_hmap_t;

void util_hmap_init(util_hmap_t *m);
void util_hmap_destroy(util_hmap_t *m);

/* The value stored under key, or NULL. */
void *util_hmap_get(const util_hmap_t *m, const void *key, size_t klen);
/* Stores value under key, replacing any previous value (returned through
 * *old when old is not NULL). Returns 0, or -1 when out of memory. */
int util_hmap_put(util_hmap_t *m, const void *key, size_t klen, void *value, void **old);
/* Removes key; returns its value, or NULL if absent. */
void *util_hmap_del(util_hmap_t *m, const void *key, size_t klen);

/* C-string conveniences. */
static inline void *util_hmap_gets(const util_hmap_t *m, const char *key);
static inline int util_hmap_puts(util_hmap_t *m, const char *key, void *value);
static inline void *util_hmap_dels(util_hmap_t *m, const char *key);

/* Iteration in slot order: for (size_t i = 0; util_hmap_next(m, &i, &k, &kl, &v);) ...
 * Do not put or delete while iterating (collect keys first). */
int util_hmap_next(const util_hmap_t *m, size_t *iter, const void **key, size_t *klen,
                   void **value);

#include <string.h>
static inline void *util_hmap_gets(const util_hmap_t *m, const char *key)
{
    return util_hmap_get(m, key, strlen(key));
}
static inline int util_hmap_puts(util_hmap_t *m, const char *key, void *value)
{
    return util_hmap_put(m, key, strlen(key), value, NULL);
}
static inline void *util_hmap_dels(util_hmap_t *m, const char *key)
{
    return util_hmap_del(m, key, strlen(key));
}

#endif
