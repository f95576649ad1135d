/* The fetch session cache. See fetch_session.h. */
#include "handlers/fetch_session.h"

#include <stdlib.h>
#include <string.h>

#include "util/hmap.h"
#include "util/log.h"

typedef struct fetch_cache {
    util_hmap_t by_id; /* int32 id -> fetch_session_t */
    fetch_session_t *newest, *oldest;
    int count;
    int slots;
    uint64_t rng;
} fetch_cache_t;

static fetch_cache_t *cache_of(broker_t *b, int create)
{
    if (!b->fetch && create) {
        fetch_cache_t *c = calloc(1, sizeof(*c));
        if (!c) return NULL;
        util_hmap_init(&c->by_id);
        c->slots = FETCH_SESSION_SLOTS_DEFAULT;
        c->rng = (uint64_t)broker_now_ms() * 0x9E3779B97F4A7C15ull ^ (uintptr_t)c;
        b->fetch = c;
    }
    return b->fetch;
}

static void session_free(fetch_session_t *s)
{
    for (int32_t i = 0; i < s->n; i++)
        free(s->parts[i].topic);
    free(s->parts);
    free(s);
}

static void lru_unlink(fetch_cache_t *c, fetch_session_t *s)
{
    if (s->newer)
        s->newer->older = s->older;
    else
        c->newest = s->older;
    if (s->older)
        s->older->newer = s->newer;
    else
        c->oldest = s->newer;
    s->newer = s->older = NULL;
}

static void lru_push(fetch_cache_t *c, fetch_session_t *s)
{
    s->older = c->newest;
    s->newer = NULL;
    if (c->newest) c->newest->newer = s;
    c->newest = s;
    if (!c->oldest) c->oldest = s;
}

static void cache_drop(fetch_cache_t *c, fetch_session_t *s)
{
    lru_unlink(c, s);
    util_hmap_del(&c->by_id, &s->id, sizeof(s->id));
    c->count--;
    session_free(s);
}

fetch_session_t *fetch_session_find(broker_t *b, int32_t id)
{
    fetch_cache_t *c = cache_of(b, 0);
    return c ? util_hmap_get(&c->by_id, &id, sizeof(id)) : NULL;
}

void fetch_session_remove(broker_t *b, int32_t id)
{
    fetch_cache_t *c = cache_of(b, 0);
    fetch_session_t *s = c ? util_hmap_get(&c->by_id, &id, sizeof(id)) : NULL;
    if (s) cache_drop(c, s);
}

void fetch_session_touch(broker_t *b, fetch_session_t *s, int64_t now_ms)
{
    fetch_cache_t *c = cache_of(b, 0);
    s->last_used_ms = now_ms;
    lru_unlink(c, s);
    lru_push(c, s);
}

/* Session ids are random so that a stale client cannot stumble onto another
 * client's session by counting. */
static int32_t new_id(fetch_cache_t *c)
{
    for (;;) {
        c->rng ^= c->rng << 13;
        c->rng ^= c->rng >> 7;
        c->rng ^= c->rng << 17;
        int32_t id = (int32_t)(c->rng & 0x7fffffff);
        if (id != 0 && !util_hmap_get(&c->by_id, &id, sizeof(id))) return id;
    }
}

fetch_session_t *fetch_session_create(broker_t *b, int uses_topic_ids, int64_t now_ms)
{
    fetch_cache_t *c = cache_of(b, 1);
    if (!c || c->slots <= 0) return NULL;
    while (c->count >= c->slots && c->oldest) {
        log_debug("fetch session %d evicted (cache full)", c->oldest->id);
        cache_drop(c, c->oldest);
    }
    fetch_session_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->id = new_id(c);
    s->epoch = 1;
    s->uses_topic_ids = uses_topic_ids;
    s->last_used_ms = now_ms;
    if (util_hmap_put(&c->by_id, &s->id, sizeof(s->id), s, NULL) != 0) {
        free(s);
        return NULL;
    }
    lru_push(c, s);
    c->count++;
    return s;
}

fetch_spart_t *fetch_session_part(fetch_session_t *s, proto_str_t topic,
                                  const proto_uuid_t *topic_id, int32_t partition)
{
    for (int32_t i = 0; i < s->n; i++) {
        fetch_spart_t *sp = &s->parts[i];
        if (sp->partition != partition) continue;
        if (s->uses_topic_ids) {
            if (!memcmp(&sp->topic_id, topic_id, sizeof(*topic_id))) return sp;
        } else if (topic.len >= 0 && strlen(sp->topic) == (size_t)topic.len &&
                   !memcmp(sp->topic, topic.ptr, (size_t)topic.len)) {
            return sp;
        }
    }
    return NULL;
}

fetch_spart_t *fetch_session_add(fetch_session_t *s, proto_str_t topic,
                                 const proto_uuid_t *topic_id, int32_t partition)
{
    if (s->n == s->cap) {
        int32_t cap = s->cap ? s->cap * 2 : 8;
        fetch_spart_t *v = realloc(s->parts, (size_t)cap * sizeof(*v));
        if (!v) return NULL;
        s->parts = v;
        s->cap = cap;
    }
    size_t len = topic.len > 0 ? (size_t)topic.len : 0;
    char *name = malloc(len + 1);
    if (!name) return NULL;
    if (len) memcpy(name, topic.ptr, len);
    name[len] = '\0';
    fetch_spart_t *sp = &s->parts[s->n++];
    memset(sp, 0, sizeof(*sp));
    sp->topic = name;
    sp->topic_id = *topic_id;
    sp->partition = partition;
    sp->high_watermark = -1;
    sp->log_start = -1;
    return sp;
}

void fetch_session_del(fetch_session_t *s, int32_t i)
{
    free(s->parts[i].topic);
    memmove(&s->parts[i], &s->parts[i + 1], (size_t)(s->n - i - 1) * sizeof(s->parts[0]));
    s->n--;
}

void fetch_session_move_last(fetch_session_t *s, int32_t i)
{
    fetch_spart_t sp = s->parts[i];
    memmove(&s->parts[i], &s->parts[i + 1], (size_t)(s->n - i - 1) * sizeof(s->parts[0]));
    s->parts[s->n - 1] = sp;
}

void fetch_session_set_slots(broker_t *b, int slots)
{
    fetch_cache_t *c = cache_of(b, 1);
    if (!c) return;
    c->slots = slots;
    while (c->count > (slots > 0 ? slots : 0) && c->oldest)
        cache_drop(c, c->oldest);
}

int fetch_session_count(broker_t *b)
{
    fetch_cache_t *c = cache_of(b, 0);
    return c ? c->count : 0;
}

void broker_fetch_destroy(broker_t *b)
{
    fetch_cache_t *c = cache_of(b, 0);
    if (!c) return;
    while (c->oldest)
        cache_drop(c, c->oldest);
    util_hmap_destroy(&c->by_id);
    free(c);
    b->fetch = NULL;
}
