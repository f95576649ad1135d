/* Committed offsets: the per-group table, commits that wait for the journal's
 * sync before they are applied and acknowledged (so a reader never sees an
 * offset a crash could take back), deletions, and the journal snapshot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groups/groups_int.h"
#include "kc/kc_err.h"
#include "util/log.h"

typedef struct pcommit_item {
    char *topic;
    char *metadata;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    int64_t commit_ts;
    int64_t expire_ts;
    int16_t *error;
} pcommit_item_t;

struct group_pcommit {
    group_pcommit_t *next;
    broker_call_t *call; /* NULL once its connection went away */
    void *resp;
    void (*done)(broker_call_t *call, void *resp);
    char *group;
    pcommit_item_t *items;
    int n;
};

/* topic NUL partition (big-endian): topics cannot hold NUL, so keys are unique. */
static size_t offset_key(uint8_t *buf, size_t cap, const void *topic, size_t tlen, int32_t p)
{
    if (tlen + 5 > cap) return 0;
    memcpy(buf, topic, tlen);
    buf[tlen] = 0;
    uint32_t u = (uint32_t)p;
    buf[tlen + 1] = (uint8_t)(u >> 24);
    buf[tlen + 2] = (uint8_t)(u >> 16);
    buf[tlen + 3] = (uint8_t)(u >> 8);
    buf[tlen + 4] = (uint8_t)u;
    return tlen + 5;
}

static group_offset_t *offset_lookup(group_t *g, const void *topic, size_t tlen, int32_t p)
{
    uint8_t stack[512];
    uint8_t *buf = tlen + 5 <= sizeof(stack) ? stack : malloc(tlen + 5);
    if (!buf) return NULL;
    size_t k = offset_key(buf, tlen + 5, topic, tlen, p);
    group_offset_t *o = util_hmap_get(&g->offsets, buf, k);
    if (buf != stack) free(buf);
    return o;
}

group_offset_t *group_offset_find(group_t *g, proto_str_t topic, int32_t partition)
{
    if (topic.len < 0) return NULL;
    return offset_lookup(g, topic.ptr ? (const void *)topic.ptr : "", (size_t)topic.len, partition);
}

static void offset_record(const char *group, const group_offset_t *o, group_record_t *r)
{
    memset(r, 0, sizeof(*r));
    r->type = GROUP_REC_OFFSET;
    r->group = proto_str_of(group);
    r->topic = proto_str_of(o->topic);
    r->partition = o->partition;
    r->offset = o->offset;
    r->leader_epoch = o->leader_epoch;
    r->metadata = proto_str_of(o->metadata);
    r->commit_ts = o->commit_ts;
    r->expire_ts = o->expire_ts;
}

int64_t group_offset_record_bytes(const char *group, const group_offset_t *o)
{
    group_record_t r;
    offset_record(group, o, &r);
    return (int64_t)group_record_size(&r);
}

static void offset_free(group_offset_t *o)
{
    free(o->topic);
    free(o->metadata);
    free(o);
}

static int offset_remove(group_t *g, const void *topic, size_t tlen, int32_t p)
{
    uint8_t stack[512];
    uint8_t *buf = tlen + 5 <= sizeof(stack) ? stack : malloc(tlen + 5);
    if (!buf) return 0;
    size_t k = offset_key(buf, tlen + 5, topic, tlen, p);
    group_offset_t *o = util_hmap_del(&g->offsets, buf, k);
    if (buf != stack) free(buf);
    if (!o) return 0;
    g->gs->live_bytes -= group_offset_record_bytes(g->id, o);
    offset_free(o);
    return 1;
}

/* Inserts or replaces; takes nothing from r (copies its strings). */
static void offset_upsert(group_t *g, const group_record_t *r)
{
    group_offset_t *o = group_offset_find(g, r->topic, r->partition);
    char *meta = r->metadata.len >= 0 ? groups_strdup(r->metadata) : strdup("");
    if (!meta) return;
    if (o) {
        g->gs->live_bytes -= group_offset_record_bytes(g->id, o);
        free(o->metadata);
    } else {
        o = calloc(1, sizeof(*o));
        char *topic = groups_strdup(r->topic);
        uint8_t *key = malloc((size_t)r->topic.len + 5);
        size_t k = key && topic ? offset_key(key, (size_t)r->topic.len + 5, topic,
                                             (size_t)r->topic.len, r->partition)
                                : 0;
        if (!o || !topic || !key || util_hmap_put(&g->offsets, key, k, o, NULL) != 0) {
            free(o);
            free(topic);
            free(key);
            free(meta);
            log_error("groups: out of memory storing an offset of %s", g->id);
            return;
        }
        free(key); /* the map copies keys */
        o->topic = topic;
        o->partition = r->partition;
    }
    o->metadata = meta;
    o->offset = r->offset;
    o->leader_epoch = r->leader_epoch;
    o->commit_ts = r->commit_ts;
    o->expire_ts = r->expire_ts;
    g->gs->live_bytes += group_offset_record_bytes(g->id, o);
}

void group_offsets_apply(broker_groups_t *gs, const group_record_t *r)
{
    group_t *g = group_find(gs->b, r->group);
    if (r->type == GROUP_REC_OFFSET) {
        if (!g) g = group_get_or_create(gs->b, r->group);
        if (g) offset_upsert(g, r);
    } else if (r->type == GROUP_REC_OFFSET_DEL && g) {
        offset_remove(g, r->topic.ptr ? (const void *)r->topic.ptr : "", (size_t)r->topic.len,
                      r->partition);
    }
}

int group_offset_delete(group_t *g, const char *topic, int32_t partition)
{
    broker_groups_t *gs = g->gs;
    if (!offset_lookup(g, topic, strlen(topic), partition)) return 0;
    if (gs->journal) {
        group_record_t r = {.type = GROUP_REC_OFFSET_DEL,
                            .group = proto_str_of(g->id),
                            .topic = proto_str_of(topic),
                            .partition = partition};
        group_journal_append(gs->journal, &r);
        groups_schedule_sync(gs);
    }
    return offset_remove(g, topic, strlen(topic), partition);
}

void group_offsets_free(group_t *g)
{
    size_t it = 0;
    group_offset_t *o;
    while (util_hmap_next(&g->offsets, &it, NULL, NULL, (void **)&o))
        offset_free(o);
}

void group_offsets_encode(const group_t *g, proto_wbuf_t *w)
{
    size_t it = 0;
    group_offset_t *o;
    while (util_hmap_next(&g->offsets, &it, NULL, NULL, (void **)&o)) {
        group_record_t r;
        offset_record(g->id, o, &r);
        group_record_encode(w, &r);
    }
}

/* ---- Commits waiting for the sync ------------------------------------------------------ */

static void pcommit_free(group_pcommit_t *pc)
{
    for (int i = 0; i < pc->n; i++) {
        free(pc->items[i].topic);
        free(pc->items[i].metadata);
    }
    free(pc->items);
    free(pc->group);
    free(pc);
}

static void pcommit_abandoned(broker_call_t *call)
{
    group_pcommit_t *pc = call->handler_data;
    pc->call = NULL;
}

static void item_record(const group_pcommit_t *pc, const pcommit_item_t *it, group_record_t *r)
{
    memset(r, 0, sizeof(*r));
    r->type = GROUP_REC_OFFSET;
    r->group = proto_str_of(pc->group);
    r->topic = proto_str_of(it->topic);
    r->partition = it->partition;
    r->offset = it->offset;
    r->leader_epoch = it->leader_epoch;
    r->metadata = proto_str_of(it->metadata);
    r->commit_ts = it->commit_ts;
    r->expire_ts = it->expire_ts;
}

void group_offsets_commit(broker_t *b, proto_str_t group_id, broker_call_t *call,
                          group_commit_t *commits, int n, void *resp,
                          void (*done)(broker_call_t *call, void *resp))
{
    broker_groups_t *gs = groups_of(b);
    int64_t now = b->now_ms();
    group_pcommit_t *pc = calloc(1, sizeof(*pc));
    if (pc) pc->items = calloc(n > 0 ? (size_t)n : 1, sizeof(*pc->items));
    if (pc) pc->group = groups_strdup(group_id);
    if (!pc || !pc->items || !pc->group) {
        for (int i = 0; i < n; i++)
            if (!*commits[i].error) *commits[i].error = KC_ERR_COORDINATOR_NOT_AVAILABLE;
        if (pc) pcommit_free(pc);
        done(call, resp);
        return;
    }
    for (int i = 0; i < n; i++) {
        group_commit_t *c = &commits[i];
        if (*c->error) continue;
        pcommit_item_t *it = &pc->items[pc->n];
        it->topic = groups_strdup(c->topic);
        it->metadata = c->metadata.len >= 0 ? groups_strdup(c->metadata) : strdup("");
        if (!it->topic || !it->metadata) {
            free(it->topic);
            free(it->metadata);
            *c->error = KC_ERR_COORDINATOR_NOT_AVAILABLE;
            continue;
        }
        it->partition = c->partition;
        it->offset = c->offset;
        it->leader_epoch = c->leader_epoch;
        it->commit_ts = now;
        it->expire_ts = c->expire_ts;
        it->error = c->error;
        pc->n++;
    }
    if (!gs->journal || pc->n == 0) {
        group_record_t r;
        for (int i = 0; i < pc->n; i++) {
            item_record(pc, &pc->items[i], &r);
            group_offsets_apply(gs, &r);
        }
        pcommit_free(pc);
        done(call, resp);
        return;
    }
    for (int i = 0; i < pc->n; i++) {
        group_record_t r;
        item_record(pc, &pc->items[i], &r);
        group_journal_append(gs->journal, &r);
    }
    pc->call = call;
    pc->resp = resp;
    pc->done = done;
    call->handler_data = pc;
    call->on_abandon = pcommit_abandoned;
    *gs->commits_tail = pc;
    gs->commits_tail = &pc->next;
    groups_schedule_sync(gs);
}

void group_offsets_synced(broker_groups_t *gs, int err)
{
    group_pcommit_t *pc = gs->commits;
    gs->commits = NULL;
    gs->commits_tail = &gs->commits;
    while (pc) {
        group_pcommit_t *next = pc->next;
        for (int i = 0; i < pc->n; i++) {
            if (!err) {
                group_record_t r;
                item_record(pc, &pc->items[i], &r);
                group_offsets_apply(gs, &r);
            } else if (pc->call) {
                *pc->items[i].error = KC_ERR_COORDINATOR_NOT_AVAILABLE;
            }
        }
        if (pc->call) {
            pc->call->on_abandon = NULL;
            pc->done(pc->call, pc->resp);
        }
        pcommit_free(pc);
        pc = next;
    }
}

/* ---- Who may commit ---------------------------------------------------------------- */

int group_commit_check(group_t *g, int32_t generation, proto_str_t member_id,
                       proto_str_t instance_id)
{
    if (g->state == GROUP_DEAD) return KC_ERR_COORDINATOR_NOT_AVAILABLE;
    /* Generation -1: an admin client or a consumer without group management,
     * which may commit while the group has no members. */
    if (generation < 0 && g->state == GROUP_EMPTY) return 0;
    if (generation >= 0 || member_id.len > 0 || instance_id.len >= 0) {
        int err = group_check_member(g, member_id, instance_id);
        if (err) return err;
        if (generation != g->generation) return KC_ERR_ILLEGAL_GENERATION;
    } else if (g->state != GROUP_EMPTY) {
        return KC_ERR_UNKNOWN_MEMBER_ID;
    }
    if (g->state == GROUP_COMPLETING_REBALANCE) return KC_ERR_REBALANCE_IN_PROGRESS;
    group_member_t *m = group_member_find(g, member_id);
    if (m && (g->state == GROUP_STABLE || g->state == GROUP_PREPARING_REBALANCE))
        group_member_touch(m);
    return 0;
}

void broker_groups_forget_topic(broker_t *b, const char *topic)
{
    broker_groups_t *gs = groups_of(b);
    if (!gs) return;
    size_t it = 0;
    group_t *g;
    while (util_hmap_next(&gs->groups, &it, NULL, NULL, (void **)&g)) {
        /* Collect first: deleting moves the map's slots. */
        int32_t *parts = NULL;
        size_t n = 0, cap = 0;
        size_t oit = 0;
        group_offset_t *o;
        while (util_hmap_next(&g->offsets, &oit, NULL, NULL, (void **)&o)) {
            if (strcmp(o->topic, topic)) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                int32_t *np = realloc(parts, cap * sizeof(*np));
                if (!np) break;
                parts = np;
            }
            parts[n++] = o->partition;
        }
        for (size_t i = 0; i < n; i++)
            group_offset_delete(g, topic, parts[i]);
        free(parts);
    }
}
