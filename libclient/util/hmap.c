/* Open-addressing hash map. See hmap.h. */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const void *key, size_t len)
{
    /* FNV-1a 64 with a final avalanche: short keys (topic names) dominate. */
    const uint8_t *p = key;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

void util_hmap_init(util_hmap_t *m)
{
    memset(m, 0, sizeof(*m));
}

void util_hmap_destroy(util_hmap_t *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static util_hmap_slot_t *find(const util_hmap_t *m, const void *key, size_t klen, uint64_t h)
{
    if (!m->cap) return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        util_hmap_slot_t *s = &m->slots[i];
        if (!s->key) return NULL;
        if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0) return s;
    }
}

void *util_hmap_get(const util_hmap_t *m, const void *key, size_t klen)
{
    util_hmap_slot_t *s = find(m, key, klen, hash_bytes(key, klen));
    return s ? s->value : NULL;
}

static void insert_slot(util_hmap_slot_t *slots, size_t cap, util_hmap_slot_t src)
{
    size_t mask = cap - 1;
    size_t i = src.hash & mask;
    while (slots[i].key)
        i = (i + 1) & mask;
    slots[i] = src;
}

static int grow(util_hmap_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    util_hmap_slot_t *slots = calloc(cap, sizeof(*slots));
    if (!slots) return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) insert_slot(slots, cap, m->slots[i]);
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int util_hmap_put(util_hmap_t *m, const void *key, size_t klen, void *value, void **old)
{
    uint64_t h = hash_bytes(key, klen);
    util_hmap_slot_t *s = find(m, key, klen, h);
    if (s) {
        if (old) *old = s->value;
        s->value = value;
        return 0;
    }
    if (old) *old = NULL;
    /* Keep the load factor at or under 3/4 so probes stay short. */
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != 0) return -1;
    void *copy = malloc(klen ? klen : 1);
    if (!copy) return -1;
    if (klen) memcpy(copy, key, klen);
    insert_slot(m->slots, m->cap, (util_hmap_slot_t){copy, klen, h, value});
    m->count++;
    return 0;
}

void *util_hmap_del(util_hmap_t *m, const void *key, size_t klen)
{
    util_hmap_slot_t *s = find(m, key, klen, hash_bytes(key, klen));
    if (!s) return NULL;
    void *value = s->value;
    free(s->key);
    size_t mask = m->cap - 1;
    size_t hole = (size_t)(s - m->slots);
    /* Backward-shift deletion: move later members of the probe run into the
     * hole when their home slot allows it, so no tombstones are needed. */
    for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
        size_t home = m->slots[i].hash & mask;
        size_t dist_i = (i - home) & mask, dist_hole = (hole - home) & mask;
        if (dist_hole < dist_i) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    memset(&m->slots[hole], 0, sizeof(m->slots[hole]));
    m->count--;
    return value;
}

int util_hmap_next(const util_hmap_t *m, size_t *iter, const void **key, size_t *klen, void **value)
{
    for (size_t i = *iter; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        if (key) *key = m->slots[i].key;
        if (klen) *klen = m->slots[i].klen;
        if (value) *value = m->slots[i].value;
        *iter = i + 1;
        return 1;
    }
    *iter = m->cap;
    return 0;
}
