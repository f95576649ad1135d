/* The coordinator's lifecycle and registry: groups by id, the coordinator
 * node of a group, replaying and syncing the journal (one fdatasync per loop
 * turn), rewriting it when it grew past twice its live size, and offset
 * retention. See groups.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "groups/groups_int.h"
#include "kc/kc_err.h"
#include "proto/proto_crc.h"
#include "util/log.h"

char *groups_strdup(proto_str_t s)
{
    if (s.len < 0) return NULL;
    char *c = malloc((size_t)s.len + 1);
    if (!c) return NULL;
    if (s.len) memcpy(c, s.ptr, (size_t)s.len);
    c[s.len] = '\0';
    return c;
}

const char *group_state_name(group_state_t s)
{
    switch (s) {
    case GROUP_EMPTY: return "Empty";
    case GROUP_PREPARING_REBALANCE: return "PreparingRebalance";
    case GROUP_COMPLETING_REBALANCE: return "CompletingRebalance";
    case GROUP_STABLE: return "Stable";
    default: return "Dead";
    }
}

void group_set_state(group_t *g, group_state_t s)
{
    g->state = s;
    g->state_ts = g->gs->b->now_ms();
}

broker_node_t *broker_groups_coordinator(broker_t *b, proto_str_t id)
{
    /* The mock may pin a group's coordinator (broker_hooks_t). A pinned
     * node that is down is no coordinator, as in Kafka while the group's
     * offsets partition has no leader: none until it is back or unpinned. */
    if (b->hooks && b->hooks->coordinator) {
        broker_node_t *n = b->hooks->coordinator(b->hooks->opaque, 0, id);
        if (n) return n->up ? n : NULL;
    }
    int up = 0;
    for (int i = 0; i < b->node_count; i++)
        up += b->nodes[i].up != 0;
    if (!up) return NULL;
    uint32_t h =
        proto_murmur2(id.ptr ? id.ptr : (const uint8_t *)"", id.len > 0 ? (size_t)id.len : 0);
    int pick = (int)((h & 0x7fffffff) % (uint32_t)up);
    for (int i = 0; i < b->node_count; i++)
        if (b->nodes[i].up && pick-- == 0) return &b->nodes[i];
    return NULL;
}

/* ---- Registry ------------------------------------------------------------------- */

group_t *group_find(broker_t *b, proto_str_t id)
{
    if (id.len < 0) return NULL;
    return util_hmap_get(&groups_of(b)->groups, id.ptr ? (const void *)id.ptr : "", (size_t)id.len);
}

const util_hmap_t *broker_groups_all(broker_t *b)
{
    return &groups_of(b)->groups;
}

static group_t *group_create(broker_groups_t *gs, proto_str_t id)
{
    group_t *g = calloc(1, sizeof(*g));
    if (!g) return NULL;
    g->gs = gs;
    g->id = groups_strdup(id);
    g->join_timer = evtimer_new(gs->b->base, NULL, NULL);
    g->sync_timer = evtimer_new(gs->b->base, NULL, NULL);
    if (!g->id || !g->join_timer || !g->sync_timer ||
        util_hmap_put(&gs->groups, g->id, strlen(g->id), g, NULL) != 0) {
        if (g->join_timer) event_free(g->join_timer);
        if (g->sync_timer) event_free(g->sync_timer);
        free(g->id);
        free(g);
        return NULL;
    }
    TAILQ_INIT(&g->members);
    TAILQ_INIT(&g->pending);
    util_hmap_init(&g->by_id);
    util_hmap_init(&g->by_instance);
    util_hmap_init(&g->offsets);
    group_set_state(g, GROUP_EMPTY);
    group_timers_init(g);
    return g;
}

group_t *group_get_or_create(broker_t *b, proto_str_t id)
{
    if (id.len < 0) return NULL;
    group_t *g = group_find(b, id);
    return g ? g : group_create(groups_of(b), id);
}

group_member_t *group_member_find(group_t *g, proto_str_t id)
{
    if (id.len <= 0) return NULL;
    return util_hmap_get(&g->by_id, id.ptr, (size_t)id.len);
}

int group_check_member(group_t *g, proto_str_t member_id, proto_str_t instance_id)
{
    if (instance_id.len >= 0) {
        group_member_t *s =
            util_hmap_get(&g->by_instance, instance_id.ptr ? (const void *)instance_id.ptr : "",
                          (size_t)instance_id.len);
        if (!s) return KC_ERR_UNKNOWN_MEMBER_ID;
        if (member_id.len != (int32_t)strlen(s->id) ||
            memcmp(member_id.ptr, s->id, (size_t)member_id.len) != 0)
            return KC_ERR_FENCED_INSTANCE_ID;
        return 0;
    }
    return group_member_find(g, member_id) ? 0 : KC_ERR_UNKNOWN_MEMBER_ID;
}

static int32_t g_rec_bytes(const group_t *g, group_record_t *r)
{
    memset(r, 0, sizeof(*r));
    r->type = GROUP_REC_GROUP;
    r->group = proto_str_of(g->id);
    r->protocol_type = proto_str_of(g->protocol_type);
    r->protocol_name = proto_str_of(g->protocol_name);
    r->generation = g->generation;
    r->state_ts = g->state_ts;
    return (int32_t)group_record_size(r);
}

/* The GROUP record is live only for groups that have something beyond
 * offsets to remember. */
static int group_has_record(const group_t *g)
{
    return g->protocol_type != NULL || g->generation > 0;
}

void groups_schedule_sync(broker_groups_t *gs)
{
    event_active(gs->flush_ev, 0, 0);
}

/* Live size of the GROUP record is tracked by recomputing it: groups are few
 * next to offsets, and the record is small. */
static int64_t groups_live_group_bytes(broker_groups_t *gs)
{
    int64_t n = 0;
    size_t it = 0;
    group_t *g;
    group_record_t r;
    while (util_hmap_next(&gs->groups, &it, NULL, NULL, (void **)&g))
        if (group_has_record(g)) n += g_rec_bytes(g, &r);
    return n;
}

void groups_log_group(group_t *g)
{
    broker_groups_t *gs = g->gs;
    if (!gs->journal) return;
    group_record_t r;
    g_rec_bytes(g, &r);
    group_journal_append(gs->journal, &r);
    groups_schedule_sync(gs);
}

void group_free(group_t *g)
{
    group_member_t *m;
    while ((m = TAILQ_FIRST(&g->members)) != NULL) {
        TAILQ_REMOVE(&g->members, m, link);
        group_member_free(m);
    }
    group_pending_t *p;
    while ((p = TAILQ_FIRST(&g->pending)) != NULL) {
        TAILQ_REMOVE(&g->pending, p, link);
        group_pending_free(p);
    }
    group_offsets_free(g);
    util_hmap_destroy(&g->by_id);
    util_hmap_destroy(&g->by_instance);
    util_hmap_destroy(&g->offsets);
    event_free(g->join_timer);
    event_free(g->sync_timer);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->id);
    free(g);
}

/* Removes an Empty group (DeleteGroups, or retention found nothing left). */
void group_delete(group_t *g)
{
    broker_groups_t *gs = g->gs;
    if (gs->journal) {
        group_record_t r = {.type = GROUP_REC_GROUP_DEL, .group = proto_str_of(g->id)};
        group_journal_append(gs->journal, &r);
        groups_schedule_sync(gs);
    }
    size_t it = 0;
    group_offset_t *o;
    while (util_hmap_next(&g->offsets, &it, NULL, NULL, (void **)&o))
        gs->live_bytes -= group_offset_record_bytes(g->id, o);
    util_hmap_dels(&gs->groups, g->id);
    group_free(g);
}

/* ---- Replay ------------------------------------------------------------------------- */

static void replay_apply(void *arg, const group_record_t *r)
{
    broker_groups_t *gs = arg;
    group_t *g = group_find(gs->b, r->group);
    switch (r->type) {
    case GROUP_REC_OFFSET:
    case GROUP_REC_OFFSET_DEL: group_offsets_apply(gs, r); break;
    case GROUP_REC_GROUP:
        if (!g) g = group_create(gs, r->group);
        if (!g) break;
        free(g->protocol_type);
        free(g->protocol_name);
        g->protocol_type = groups_strdup(r->protocol_type);
        g->protocol_name = groups_strdup(r->protocol_name);
        g->generation = r->generation;
        g->state_ts = r->state_ts;
        break;
    case GROUP_REC_GROUP_DEL:
        if (g) {
            size_t it = 0;
            group_offset_t *o;
            while (util_hmap_next(&g->offsets, &it, NULL, NULL, (void **)&o))
                gs->live_bytes -= group_offset_record_bytes(g->id, o);
            util_hmap_dels(&gs->groups, g->id);
            group_free(g);
        }
        break;
    default: break;
    }
}

/* ---- Sync and rewrite ------------------------------------------------------------------ */

/* A snapshot of the live state (plus what is buffered and not yet synced)
 * replaces the journal. */
static int groups_rewrite(broker_groups_t *gs, const proto_wbuf_t *unsynced)
{
    proto_wbuf_t w;
    proto_wbuf_init(&w, (size_t)(gs->live_bytes > 0 ? gs->live_bytes : 0) + 4096);
    size_t it = 0;
    group_t *g;
    while (util_hmap_next(&gs->groups, &it, NULL, NULL, (void **)&g)) {
        if (group_has_record(g)) {
            group_record_t r;
            g_rec_bytes(g, &r);
            group_record_encode(&w, &r);
        }
        group_offsets_encode(g, &w);
    }
    if (unsynced && unsynced->len) proto_put_raw(&w, unsynced->data, unsynced->len);
    char err[512];
    int rc = group_journal_rewrite(gs->journal, &w, err, sizeof(err));
    if (rc) log_error("groups: rewriting the journal: %s", err);
    proto_wbuf_free(&w);
    return rc;
}

static void groups_sync(broker_groups_t *gs)
{
    int err = 0;
    if (gs->journal && gs->broken) {
        /* A failed sync left the file's tail in doubt: a fresh snapshot
         * (memory holds only acknowledged state) plus the new records. */
        proto_wbuf_t pending = group_journal_take_pending(gs->journal);
        gs->broken = groups_rewrite(gs, &pending) != 0;
        err = gs->broken;
        proto_wbuf_free(&pending);
    } else if (gs->journal && group_journal_dirty(gs->journal)) {
        char errstr[512];
        if (group_journal_sync(gs->journal, errstr, sizeof(errstr)) != 0) {
            log_error("groups: committing to the journal: %s", errstr);
            err = 1;
            gs->broken = 1;
        }
    }
    group_offsets_synced(gs, err);
    if (gs->journal && !gs->broken) {
        int64_t live = gs->live_bytes + groups_live_group_bytes(gs);
        int64_t size = group_journal_file_size(gs->journal);
        if (size > GROUP_JOURNAL_COMPACT_MIN && size > 2 * live) groups_rewrite(gs, NULL);
    }
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    groups_sync(arg);
}

/* ---- Retention ------------------------------------------------------------------------ */

static int offset_expired(const group_t *g, const group_offset_t *o, int64_t now, int64_t retention)
{
    if (o->expire_ts >= 0) return now >= o->expire_ts;
    int64_t base;
    if (g->protocol_type == NULL)
        base = o->commit_ts; /* standalone commits: each offset on its own */
    else if (g->state == GROUP_EMPTY)
        base = g->state_ts > o->commit_ts ? g->state_ts : o->commit_ts;
    else if (g->state == GROUP_STABLE && !strcmp(g->protocol_type, "consumer") &&
             !group_subscribed_to(g, o->topic))
        base = o->commit_ts; /* a topic the live group no longer reads */
    else
        return 0;
    return now - base >= retention;
}

int broker_groups_expire(broker_t *b, int64_t now)
{
    broker_groups_t *gs = groups_of(b);
    int64_t retention = (int64_t)b->conf->offsets_retention_minutes * 60000;
    int dropped = 0;
    group_t **dead = NULL;
    size_t ndead = 0, capdead = 0;
    size_t it = 0;
    group_t *g;
    while (util_hmap_next(&gs->groups, &it, NULL, NULL, (void **)&g)) {
        /* Collect first: deleting while iterating moves slots. */
        group_offset_t **gone = NULL;
        size_t n = 0, cap = 0;
        size_t oit = 0;
        group_offset_t *o;
        while (util_hmap_next(&g->offsets, &oit, NULL, NULL, (void **)&o)) {
            if (!offset_expired(g, o, now, retention)) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                group_offset_t **ng = realloc(gone, cap * sizeof(*ng));
                if (!ng) break;
                gone = ng;
            }
            gone[n++] = o;
        }
        for (size_t i = 0; i < n; i++)
            dropped += group_offset_delete(g, gone[i]->topic, gone[i]->partition);
        free(gone);
        if (g->state == GROUP_EMPTY && g->offsets.count == 0 && !g->npending && !g->busy) {
            if (ndead == capdead) {
                capdead = capdead ? capdead * 2 : 16;
                group_t **nd = realloc(dead, capdead * sizeof(*nd));
                if (!nd) continue;
                dead = nd;
            }
            dead[ndead++] = g;
        }
    }
    for (size_t i = 0; i < ndead; i++)
        group_delete(dead[i]);
    free(dead);
    if (dropped || ndead)
        log_info("groups: retention dropped %d offset%s and %zu empty group%s", dropped,
                 dropped == 1 ? "" : "s", ndead, ndead == 1 ? "" : "s");
    return dropped;
}

static void on_expire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    broker_groups_t *gs = arg;
    broker_groups_expire(gs->b, gs->b->now_ms());
}

/* ---- Lifecycle ------------------------------------------------------------------------- */

int broker_groups_new(broker_t *b, char *errstr, size_t errstr_size)
{
    broker_groups_t *gs = calloc(1, sizeof(*gs));
    if (!gs) {
        snprintf(errstr, errstr_size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    gs->b = b;
    gs->commits_tail = &gs->commits;
    util_hmap_init(&gs->groups);
    b->groups = gs;
    gs->flush_ev = event_new(b->base, -1, 0, on_flush, gs);
    gs->expire_ev = event_new(b->base, -1, EV_PERSIST, on_expire, gs);
    if (!gs->flush_ev || !gs->expire_ev) {
        snprintf(errstr, errstr_size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    if (b->persistent) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/kc-metadata/groups", b->conf->dirs[0]);
        int rc = group_journal_open(dir, replay_apply, gs, &gs->journal, errstr, errstr_size);
        if (rc) return rc;
        /* Replay left every group Empty and memberless, as Kafka loads them. */
        size_t it = 0;
        group_t *g;
        size_t n = 0;
        while (util_hmap_next(&gs->groups, &it, NULL, NULL, (void **)&g))
            n++;
        if (n)
            log_info("groups: loaded %zu group%s (%lld journal bytes)", n, n == 1 ? "" : "s",
                     (long long)group_journal_file_size(gs->journal));
    }
    struct timeval tv = {GROUP_EXPIRE_INTERVAL_MS / 1000, 0};
    event_add(gs->expire_ev, &tv);
    return 0;
}

void broker_groups_destroy(broker_t *b)
{
    broker_groups_t *gs = groups_of(b);
    if (!gs) return;
    /* Whatever was accepted reaches the disk, even though no one hears back. */
    groups_sync(gs);
    size_t it = 0;
    group_t *g;
    while (util_hmap_next(&gs->groups, &it, NULL, NULL, (void **)&g))
        group_free(g);
    util_hmap_destroy(&gs->groups);
    if (gs->flush_ev) event_free(gs->flush_ev);
    if (gs->expire_ev) event_free(gs->expire_ev);
    group_journal_close(gs->journal);
    free(gs);
    b->groups = NULL;
}
