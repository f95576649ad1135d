/* The rebalance state machine (Kafka's classic GroupCoordinator): JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, session expiry, and the delayed
 * completion of PreparingRebalance.
 *
 * Replies to parked calls go out through a reply batch: the calls are taken
 * off their members first and answered after the group's state is settled,
 * by member id, because answering a call can make its connection read and
 * dispatch more requests (even for this group) before the answer returns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "groups/groups_int.h"
#include "kc/kc_err.h"
#include "util/log.h"
#include "util/uuid.h"

static void prepare_rebalance(group_t *g);
static void try_complete_join(group_t *g);

/* ---- Reply batches ------------------------------------------------------------------- */

enum { REPLY_JOIN, REPLY_SYNC };

typedef struct reply_slot {
    broker_call_t *call; /* NULL if its connection went away meanwhile */
    char *member_id;
    int kind;
    int error;
} reply_slot_t;

typedef struct reply_batch {
    reply_slot_t *slots;
    int n, cap;
} reply_batch_t;

static void slot_abandoned(broker_call_t *call)
{
    reply_slot_t *s = call->handler_data;
    s->call = NULL;
}

/* Slots move when the array grows: calls point at their slot by index. */
static void batch_add(reply_batch_t *rb, broker_call_t *call, const char *member_id, int kind,
                      int error)
{
    if (!call) return;
    if (rb->n == rb->cap) {
        int cap = rb->cap ? rb->cap * 2 : 8;
        reply_slot_t *s = realloc(rb->slots, (size_t)cap * sizeof(*s));
        if (!s) {
            broker_call_close(call, "out of memory answering a group request");
            return;
        }
        rb->slots = s;
        rb->cap = cap;
        for (int i = 0; i < rb->n; i++)
            if (rb->slots[i].call) rb->slots[i].call->handler_data = &rb->slots[i];
    }
    reply_slot_t *s = &rb->slots[rb->n++];
    s->call = call;
    s->member_id = strdup(member_id ? member_id : "");
    s->kind = kind;
    s->error = error;
    call->handler_data = s;
    call->on_abandon = slot_abandoned;
}

static void join_result_for(group_t *g, const char *member_id, int error, group_join_result_t *r)
{
    memset(r, 0, sizeof(*r));
    r->error = error;
    r->member_id = member_id;
    r->generation = -1;
    if (error) return;
    r->generation = g->generation;
    r->protocol_type = g->protocol_type;
    r->protocol_name = g->protocol_name;
    r->leader = g->leader ? g->leader->id : "";
    if (g->leader && !strcmp(g->leader->id, member_id)) r->members_of = g;
}

static void batch_send(group_t *g, reply_batch_t *rb)
{
    g->busy++;
    for (int i = 0; i < rb->n; i++) {
        reply_slot_t *s = &rb->slots[i];
        broker_call_t *call = s->call;
        if (call) {
            call->on_abandon = NULL;
            call->handler_data = NULL;
            s->call = NULL;
            /* Later slots keep pointing into rb: no growth happens now. */
            group_member_t *m = group_member_find(g, proto_str_of(s->member_id));
            if (s->kind == REPLY_JOIN) {
                group_join_result_t r;
                join_result_for(g, s->member_id, s->error, &r);
                group_join_reply(call, &r);
            } else {
                int ok = !s->error && m;
                group_sync_reply(call, ok ? 0 : (s->error ? s->error : KC_ERR_UNKNOWN_MEMBER_ID), g,
                                 ok ? m->assignment : NULL, ok ? m->assignment_len : 0);
            }
        }
        free(s->member_id);
    }
    free(rb->slots);
    g->busy--;
}

/* ---- Members ------------------------------------------------------------------------- */

static void member_arm(group_member_t *m, int32_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(m->timer, &tv);
}

void group_member_touch(group_member_t *m)
{
    member_arm(m, m->session_timeout_ms);
}

static void protocols_free(group_protocol_t *p, int n)
{
    for (int i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].metadata);
    }
    free(p);
}

static group_protocol_t *protocols_copy(const group_join_req_t *req)
{
    group_protocol_t *p = calloc((size_t)req->nprotocols, sizeof(*p));
    if (!p) return NULL;
    for (int i = 0; i < req->nprotocols; i++) {
        p[i].name = groups_strdup(req->protocol_names[i]);
        int32_t len = req->protocol_metadata[i].len > 0 ? req->protocol_metadata[i].len : 0;
        p[i].metadata = malloc(len ? (size_t)len : 1);
        if (!p[i].name || !p[i].metadata) {
            protocols_free(p, i + 1);
            return NULL;
        }
        if (len) memcpy(p[i].metadata, req->protocol_metadata[i].ptr, (size_t)len);
        p[i].len = len;
    }
    return p;
}

/* Replaces the member's protocols and timeouts; 0 or -1 (out of memory). */
static int member_update(group_member_t *m, const group_join_req_t *req)
{
    group_protocol_t *p = protocols_copy(req);
    if (!p) return -1;
    protocols_free(m->protocols, m->nprotocols);
    m->protocols = p;
    m->nprotocols = req->nprotocols;
    m->session_timeout_ms = req->session_timeout_ms;
    m->rebalance_timeout_ms = req->rebalance_timeout_ms;
    return 0;
}

static int member_matches(const group_member_t *m, const group_join_req_t *req)
{
    if (m->nprotocols != req->nprotocols) return 0;
    for (int i = 0; i < req->nprotocols; i++) {
        proto_str_t n = req->protocol_names[i];
        proto_bytes_t md = req->protocol_metadata[i];
        int32_t mdlen = md.len > 0 ? md.len : 0;
        if (!proto_str_eq(n, m->protocols[i].name) || mdlen != m->protocols[i].len ||
            (mdlen && memcmp(md.ptr, m->protocols[i].metadata, (size_t)mdlen)))
            return 0;
    }
    return 1;
}

static void member_expired(evutil_socket_t fd, short what, void *arg);

static group_member_t *member_new(group_t *g, const char *id, const group_join_req_t *req)
{
    group_member_t *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->group = g;
    m->id = strdup(id);
    m->instance_id = groups_strdup(req->instance_id);
    m->client_id = req->client_id.len >= 0 ? groups_strdup(req->client_id) : strdup("");
    m->client_host = strdup(req->client_host ? req->client_host : "");
    m->timer = evtimer_new(g->gs->b->base, member_expired, m);
    if (!m->id || (req->instance_id.len >= 0 && !m->instance_id) || !m->client_id ||
        !m->client_host || !m->timer || member_update(m, req) != 0) {
        group_member_free(m);
        return NULL;
    }
    return m;
}

void group_member_free(group_member_t *m)
{
    if (!m) return;
    /* Only at shutdown can calls still be parked here (their connections
     * are gone): make sure nothing points back at m. */
    if (m->join_call) m->join_call->on_abandon = NULL;
    if (m->sync_call) m->sync_call->on_abandon = NULL;
    if (m->timer) event_free(m->timer);
    protocols_free(m->protocols, m->nprotocols);
    free(m->assignment);
    free(m->id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m);
}

void group_pending_free(group_pending_t *p)
{
    if (p->timer) event_free(p->timer);
    free(p->id);
    free(p);
}

static int group_add_member(group_t *g, group_member_t *m)
{
    if (util_hmap_puts(&g->by_id, m->id, m) != 0) return -1;
    if (m->instance_id && util_hmap_puts(&g->by_instance, m->instance_id, m) != 0) {
        util_hmap_dels(&g->by_id, m->id);
        return -1;
    }
    TAILQ_INSERT_TAIL(&g->members, m, link);
    g->nmembers++;
    if (!g->leader) g->leader = m;
    return 0;
}

/* Unlinks m (its calls must have been taken) and frees it. */
static void group_unlink_member(group_t *g, group_member_t *m)
{
    TAILQ_REMOVE(&g->members, m, link);
    g->nmembers--;
    util_hmap_dels(&g->by_id, m->id);
    if (m->instance_id) util_hmap_dels(&g->by_instance, m->instance_id);
    if (g->leader == m) g->leader = TAILQ_FIRST(&g->members);
    group_member_free(m);
}

/* Takes m's parked calls into the batch with the given errors (0 for a
 * join: answered with the group's state then). */
static void take_calls(group_member_t *m, reply_batch_t *rb, int join_err, int sync_err)
{
    if (m->join_call) batch_add(rb, m->join_call, m->id, REPLY_JOIN, join_err);
    if (m->sync_call) batch_add(rb, m->sync_call, m->id, REPLY_SYNC, sync_err);
    m->join_call = m->sync_call = NULL;
}

/* Kafka's removeMemberAndUpdateGroup. */
static void remove_member(group_t *g, group_member_t *m, reply_batch_t *rb)
{
    take_calls(m, rb, KC_ERR_UNKNOWN_MEMBER_ID, KC_ERR_UNKNOWN_MEMBER_ID);
    group_unlink_member(g, m);
    switch (g->state) {
    case GROUP_STABLE:
    case GROUP_COMPLETING_REBALANCE: prepare_rebalance(g); break;
    case GROUP_PREPARING_REBALANCE: try_complete_join(g); break;
    default: break;
    }
}

static void member_expired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    group_member_t *m = arg;
    group_t *g = m->group;
    /* Members in a rebalance cannot heartbeat; its completion rearms them. */
    if (!m->is_new && (m->awaiting_join || m->awaiting_sync)) return;
    log_info("group %s: member %s failed its session timeout (%d ms); removing it", g->id, m->id,
             m->session_timeout_ms);
    reply_batch_t rb = {0};
    remove_member(g, m, &rb);
    batch_send(g, &rb);
}

static void pending_expired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    group_pending_t *p = arg;
    group_t *g = p->group;
    TAILQ_REMOVE(&g->pending, p, link);
    g->npending--;
    group_pending_free(p);
    if (g->state == GROUP_PREPARING_REBALANCE) try_complete_join(g);
}

static group_pending_t *pending_find(group_t *g, proto_str_t id)
{
    group_pending_t *p;
    TAILQ_FOREACH(p, &g->pending, link)
    if (proto_str_eq(id, p->id)) return p;
    return NULL;
}

/* ---- Protocols ----------------------------------------------------------------------- */

/* How many members list each protocol name, built per question so that a
 * group of many members with long protocol lists costs O(total protocols),
 * not a product of them. */
typedef struct proto_count {
    int members;
    int votes;
    const group_member_t *last; /* a member listing a name twice counts once */
} proto_count_t;

typedef struct proto_counts {
    util_hmap_t map; /* name -> proto_count_t */
    proto_count_t *store;
} proto_counts_t;

static int counts_build(const group_t *g, proto_counts_t *pc)
{
    util_hmap_init(&pc->map);
    size_t total = 0;
    const group_member_t *m;
    TAILQ_FOREACH(m, &g->members, link)
    total += (size_t)m->nprotocols;
    pc->store = calloc(total ? total : 1, sizeof(*pc->store));
    if (!pc->store) return -1;
    size_t used = 0;
    TAILQ_FOREACH(m, &g->members, link)
    {
        for (int i = 0; i < m->nprotocols; i++) {
            proto_count_t *c = util_hmap_gets(&pc->map, m->protocols[i].name);
            if (!c) {
                c = &pc->store[used++];
                if (util_hmap_puts(&pc->map, m->protocols[i].name, c) != 0) return -1;
            }
            if (c->last != m) c->members++;
            c->last = m;
        }
    }
    return 0;
}

static void counts_free(proto_counts_t *pc)
{
    util_hmap_destroy(&pc->map);
    free(pc->store);
}

/* Kafka's supportsProtocols: an empty group takes any non-empty protocol
 * type; otherwise the type must match and one protocol be shared by all. */
static int supports_protocols(const group_t *g, const group_join_req_t *req)
{
    if (g->nmembers == 0) return req->protocol_type.len > 0 && req->nprotocols > 0;
    if (!g->protocol_type || !proto_str_eq(req->protocol_type, g->protocol_type)) return 0;
    proto_counts_t pc;
    int ok = 0;
    if (counts_build(g, &pc) == 0) {
        for (int i = 0; i < req->nprotocols && !ok; i++) {
            proto_str_t n = req->protocol_names[i];
            proto_count_t *c = n.len > 0 ? util_hmap_get(&pc.map, n.ptr, (size_t)n.len) : NULL;
            ok = c && c->members == g->nmembers;
        }
    }
    counts_free(&pc);
    return ok;
}

/* Every member votes for the first protocol of its list that all support;
 * most votes wins (ties go to the earliest member's preference). */
static const char *select_protocol(const group_t *g)
{
    proto_counts_t pc;
    const char *best = NULL;
    if (counts_build(g, &pc) == 0) {
        const group_member_t *m;
        TAILQ_FOREACH(m, &g->members, link)
        {
            for (int i = 0; i < m->nprotocols; i++) {
                proto_count_t *c = util_hmap_gets(&pc.map, m->protocols[i].name);
                if (c && c->members == g->nmembers) {
                    c->votes++;
                    break;
                }
            }
        }
        const group_member_t *first = TAILQ_FIRST(&g->members);
        int best_votes = 0;
        for (int i = 0; first && i < first->nprotocols; i++) {
            proto_count_t *c = util_hmap_gets(&pc.map, first->protocols[i].name);
            if (c && c->members == g->nmembers && c->votes > best_votes) {
                best = first->protocols[i].name;
                best_votes = c->votes;
            }
        }
    }
    counts_free(&pc);
    return best;
}

static const group_protocol_t *member_protocol(const group_member_t *m, const char *name)
{
    for (int i = 0; name && i < m->nprotocols; i++)
        if (!strcmp(m->protocols[i].name, name)) return &m->protocols[i];
    return NULL;
}

int group_subscribed_to(const group_t *g, const char *topic)
{
    if (!g->protocol_name || !g->protocol_type || strcmp(g->protocol_type, "consumer")) return 1;
    const group_member_t *m;
    TAILQ_FOREACH(m, &g->members, link)
    {
        const group_protocol_t *p = member_protocol(m, g->protocol_name);
        if (!p) return 1;
        /* ConsumerProtocolSubscription: int16 version, then the topics. */
        proto_rbuf_t r;
        proto_rbuf_init(&r, p->metadata, (size_t)p->len);
        proto_get_i16(&r, "version");
        int32_t n = proto_get_array_len(&r, 2, "topics");
        for (int32_t i = 0; i < n && !r.err; i++)
            if (proto_str_eq(proto_get_str(&r, "topic"), topic)) return 1;
        if (r.err) return 1;
    }
    return 0;
}

/* ---- Rebalance ------------------------------------------------------------------------- */

static int32_t rebalance_timeout(const group_t *g)
{
    int32_t t = 0;
    const group_member_t *m;
    TAILQ_FOREACH(m, &g->members, link)
    if (m->rebalance_timeout_ms > t) t = m->rebalance_timeout_ms;
    return t;
}

static void arm(struct event *ev, int64_t ms)
{
    if (ms < 0) ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(ev, &tv);
}

static void clear_pending_sync(group_t *g)
{
    group_member_t *m;
    TAILQ_FOREACH(m, &g->members, link)
    m->pending_sync = 0;
    evtimer_del(g->sync_timer);
}

/* Kafka's resetAndPropagateAssignmentError / setAndPropagateAssignment. */
static void propagate_assignment(group_t *g, int error, reply_batch_t *rb)
{
    group_member_t *m;
    TAILQ_FOREACH(m, &g->members, link)
    {
        if (error) {
            free(m->assignment);
            m->assignment = NULL;
            m->assignment_len = 0;
        }
        if (m->awaiting_sync) {
            if (m->sync_call) batch_add(rb, m->sync_call, m->id, REPLY_SYNC, error);
            m->sync_call = NULL;
            m->awaiting_sync = 0;
            group_member_touch(m);
        }
    }
}

static void prepare_rebalance(group_t *g)
{
    const broker_conf_t *c = g->gs->b->conf;
    if (g->state == GROUP_COMPLETING_REBALANCE) {
        reply_batch_t rb = {0};
        propagate_assignment(g, KC_ERR_REBALANCE_IN_PROGRESS, &rb);
        group_set_state(g, GROUP_PREPARING_REBALANCE);
        batch_send(g, &rb);
    }
    clear_pending_sync(g);
    int32_t rto = rebalance_timeout(g);
    if (g->state == GROUP_EMPTY && c->group_initial_rebalance_delay_ms > 0) {
        g->initial_delay = 1;
        g->new_member_added = 0;
        int64_t delay = c->group_initial_rebalance_delay_ms;
        g->initial_remaining_ms = rto > delay ? rto - delay : 0;
        arm(g->join_timer, delay);
    } else {
        g->initial_delay = 0;
        arm(g->join_timer, rto);
    }
    group_set_state(g, GROUP_PREPARING_REBALANCE);
    log_info("group %s: preparing to rebalance (generation %d, %d members)", g->id, g->generation,
             g->nmembers);
    try_complete_join(g);
}

static void maybe_prepare_rebalance(group_t *g)
{
    if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE ||
        g->state == GROUP_EMPTY)
        prepare_rebalance(g);
}

static void on_sync_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    group_t *g = arg;
    if (g->state != GROUP_COMPLETING_REBALANCE && g->state != GROUP_STABLE) return;
    reply_batch_t rb = {0};
    int removed = 0;
    group_member_t *m, *next;
    for (m = TAILQ_FIRST(&g->members); m; m = next) {
        next = TAILQ_NEXT(m, link);
        if (!m->pending_sync) continue;
        log_info("group %s: member %s sent no SyncGroup in time; removing it", g->id, m->id);
        take_calls(m, &rb, KC_ERR_UNKNOWN_MEMBER_ID, KC_ERR_UNKNOWN_MEMBER_ID);
        group_unlink_member(g, m);
        removed++;
    }
    if (removed) prepare_rebalance(g);
    batch_send(g, &rb);
}

static void complete_join(group_t *g)
{
    evtimer_del(g->join_timer);
    g->initial_delay = 0;
    reply_batch_t rb = {0};
    group_member_t *m, *next;
    for (m = TAILQ_FIRST(&g->members); m; m = next) {
        next = TAILQ_NEXT(m, link);
        if (!m->awaiting_join && !m->instance_id) {
            log_info("group %s: member %s did not rejoin in time; removing it", g->id, m->id);
            take_calls(m, &rb, KC_ERR_UNKNOWN_MEMBER_ID, KC_ERR_UNKNOWN_MEMBER_ID);
            group_unlink_member(g, m);
        }
    }
    if (g->leader && !g->leader->awaiting_join) {
        TAILQ_FOREACH(m, &g->members, link)
        if (m->awaiting_join) break;
        if (m)
            g->leader = m;
        else {
            /* Only static members that have not rejoined: wait for them (or
             * for their sessions to end). */
            arm(g->join_timer, rebalance_timeout(g));
            batch_send(g, &rb);
            return;
        }
    }
    g->generation++;
    free(g->protocol_name);
    g->protocol_name = NULL;
    if (g->nmembers == 0) {
        group_set_state(g, GROUP_EMPTY);
        log_info("group %s: generation %d is empty", g->id, g->generation);
    } else {
        const char *p = select_protocol(g);
        g->protocol_name = p ? strdup(p) : NULL;
        group_set_state(g, GROUP_COMPLETING_REBALANCE);
        log_info("group %s: generation %d with %d members, protocol %s", g->id, g->generation,
                 g->nmembers, g->protocol_name ? g->protocol_name : "-");
        TAILQ_FOREACH(m, &g->members, link)
        {
            if (m->awaiting_join && m->join_call)
                batch_add(&rb, m->join_call, m->id, REPLY_JOIN, 0);
            m->join_call = NULL;
            m->awaiting_join = 0;
            m->is_new = 0;
            m->pending_sync = 1;
            group_member_touch(m);
        }
        arm(g->sync_timer, rebalance_timeout(g));
    }
    groups_log_group(g);
    batch_send(g, &rb);
}

static int all_joined(const group_t *g)
{
    if (g->npending) return 0;
    const group_member_t *m;
    TAILQ_FOREACH(m, &g->members, link)
    if (!m->awaiting_join) return 0;
    return 1;
}

static void try_complete_join(group_t *g)
{
    if (g->state == GROUP_PREPARING_REBALANCE && !g->initial_delay && all_joined(g))
        complete_join(g);
}

/* The join timer: Kafka's DelayedJoin (rebalance timeout) or, for the first
 * rebalance of an empty group, InitialDelayedJoin (waits
 * group.initial.rebalance.delay.ms more while members keep arriving, up to
 * the rebalance timeout). */
static void on_join_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    group_t *g = arg;
    if (g->state != GROUP_PREPARING_REBALANCE) return;
    if (g->initial_delay && g->new_member_added && g->initial_remaining_ms > 0) {
        int64_t d = g->gs->b->conf->group_initial_rebalance_delay_ms;
        if (d > g->initial_remaining_ms) d = g->initial_remaining_ms;
        g->new_member_added = 0;
        g->initial_remaining_ms -= d;
        arm(g->join_timer, d);
        return;
    }
    complete_join(g);
}

void group_timers_init(group_t *g)
{
    event_assign(g->join_timer, g->gs->b->base, -1, 0, on_join_timer, g);
    event_assign(g->sync_timer, g->gs->b->base, -1, 0, on_sync_timeout, g);
}

/* ---- JoinGroup ------------------------------------------------------------------------- */

static void park_join(group_member_t *m, broker_call_t *call, reply_batch_t *rb)
{
    if (m->join_call) /* a second JoinGroup replaces the first, which must still be answered */
        batch_add(rb, m->join_call, m->id, REPLY_JOIN, KC_ERR_REBALANCE_IN_PROGRESS);
    m->join_call = call;
    m->awaiting_join = 1;
    call->handler_data = m;
}

static void join_abandoned(broker_call_t *call)
{
    group_member_t *m = call->handler_data;
    if (m && m->join_call == call) m->join_call = NULL;
}

static void sync_abandoned(broker_call_t *call)
{
    group_member_t *m = call->handler_data;
    if (m && m->sync_call == call) m->sync_call = NULL;
}

static void reply_now(broker_call_t *call, group_t *g, const char *member_id, int error)
{
    group_join_result_t r;
    join_result_for(g, member_id, error, &r);
    group_join_reply(call, &r);
}

static void new_member_id(const group_join_req_t *req, char *out, size_t cap)
{
    proto_uuid_t u;
    util_uuid_random(&u);
    const uint8_t *b = u.b;
    proto_str_t prefix = req->instance_id.len >= 0 ? req->instance_id : req->client_id;
    int plen = prefix.len > 0 ? (prefix.len > 200 ? 200 : prefix.len) : 0;
    snprintf(out, cap, "%.*s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             plen, plen ? (const char *)prefix.ptr : "", b[0], b[1], b[2], b[3], b[4], b[5], b[6],
             b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void add_member_and_rebalance(group_t *g, broker_call_t *call, const char *id,
                                     const group_join_req_t *req, reply_batch_t *rb)
{
    group_member_t *m = member_new(g, id, req);
    if (!m || group_add_member(g, m) != 0) {
        group_member_free(m);
        reply_now(call, g, "", KC_ERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    if (g->nmembers == 1) {
        free(g->protocol_type);
        g->protocol_type = groups_strdup(req->protocol_type);
    }
    m->is_new = 1;
    m->join_version = call->hdr.api_version;
    call->on_abandon = join_abandoned;
    park_join(m, call, rb);
    if (g->state == GROUP_PREPARING_REBALANCE) g->new_member_added = 1;
    member_arm(m, GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS);
    maybe_prepare_rebalance(g);
}

static void update_member_and_rebalance(group_t *g, group_member_t *m, broker_call_t *call,
                                        const group_join_req_t *req, reply_batch_t *rb)
{
    if (member_update(m, req) != 0) {
        reply_now(call, g, m->id, KC_ERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    call->on_abandon = join_abandoned;
    park_join(m, call, rb);
    maybe_prepare_rebalance(g);
}

/* A static member came back with a new process (empty member id): it takes
 * over the old member id's place, and in a Stable group whose protocol does
 * not change it gets the current generation without a rebalance. */
static void static_rejoin(group_t *g, group_member_t *m, broker_call_t *call, const char *new_id,
                          const group_join_req_t *req, reply_batch_t *rb)
{
    char *old_leader = g->leader ? strdup(g->leader->id) : NULL;
    char *id = strdup(new_id);
    if (!id) {
        free(old_leader);
        reply_now(call, g, "", KC_ERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    /* The old process's waiting calls are fenced. */
    if (m->join_call) batch_add(rb, m->join_call, m->id, REPLY_JOIN, KC_ERR_FENCED_INSTANCE_ID);
    if (m->sync_call) batch_add(rb, m->sync_call, m->id, REPLY_SYNC, KC_ERR_FENCED_INSTANCE_ID);
    m->join_call = m->sync_call = NULL;
    m->awaiting_join = m->awaiting_sync = 0;
    util_hmap_dels(&g->by_id, m->id);
    free(m->id);
    m->id = id;
    util_hmap_puts(&g->by_id, m->id, m);
    group_member_touch(m);
    if (member_update(m, req) != 0) {
        free(old_leader);
        reply_now(call, g, m->id, KC_ERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    m->join_version = call->hdr.api_version;
    switch (g->state) {
    case GROUP_STABLE: {
        const char *next = select_protocol(g);
        if (next && g->protocol_name && !strcmp(next, g->protocol_name)) {
            group_join_result_t r;
            join_result_for(g, m->id, 0, &r);
            int leader = g->leader == m;
            if (req->supports_skip) {
                r.skip_assignment = leader;
                if (!leader) r.members_of = NULL;
            } else {
                /* Before v9 the old leader id keeps the new process from
                 * running an assignment a Stable group would ignore. */
                r.leader = old_leader ? old_leader : "";
                r.members_of = NULL;
            }
            groups_log_group(g);
            group_join_reply(call, &r);
        } else {
            call->on_abandon = join_abandoned;
            park_join(m, call, rb);
            maybe_prepare_rebalance(g);
        }
        break;
    }
    case GROUP_COMPLETING_REBALANCE:
        call->on_abandon = join_abandoned;
        park_join(m, call, rb);
        prepare_rebalance(g);
        break;
    default: /* PreparingRebalance: it simply waits with the others */
        call->on_abandon = join_abandoned;
        park_join(m, call, rb);
        break;
    }
    free(old_leader);
}

static void join_unknown(group_t *g, broker_call_t *call, const group_join_req_t *req,
                         reply_batch_t *rb)
{
    char id[320];
    new_member_id(req, id, sizeof(id));
    if (req->instance_id.len >= 0) {
        group_member_t *m = util_hmap_get(
            &g->by_instance, req->instance_id.ptr ? (const void *)req->instance_id.ptr : "",
            (size_t)req->instance_id.len);
        if (m)
            static_rejoin(g, m, call, id, req, rb);
        else
            add_member_and_rebalance(g, call, id, req, rb);
        return;
    }
    if (req->require_known_id) {
        group_pending_t *p = calloc(1, sizeof(*p));
        if (p) {
            p->group = g;
            p->id = strdup(id);
            p->timer = evtimer_new(g->gs->b->base, pending_expired, p);
        }
        if (!p || !p->id || !p->timer) {
            if (p) group_pending_free(p);
            reply_now(call, g, "", KC_ERR_COORDINATOR_NOT_AVAILABLE);
            return;
        }
        TAILQ_INSERT_TAIL(&g->pending, p, link);
        g->npending++;
        arm(p->timer, req->session_timeout_ms);
        reply_now(call, g, id, KC_ERR_MEMBER_ID_REQUIRED);
        return;
    }
    add_member_and_rebalance(g, call, id, req, rb);
}

static void join_known(group_t *g, broker_call_t *call, const group_join_req_t *req,
                       reply_batch_t *rb)
{
    char *mid = groups_strdup(req->member_id);
    if (!mid) {
        reply_now(call, g, "", KC_ERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    group_pending_t *p = pending_find(g, req->member_id);
    if (p) {
        TAILQ_REMOVE(&g->pending, p, link);
        g->npending--;
        group_pending_free(p);
        add_member_and_rebalance(g, call, mid, req, rb);
        free(mid);
        return;
    }
    int err = group_check_member(g, req->member_id, req->instance_id);
    group_member_t *m = err ? NULL : group_member_find(g, req->member_id);
    if (err) {
        reply_now(call, g, mid, err);
    } else if (g->state == GROUP_PREPARING_REBALANCE) {
        m->join_version = call->hdr.api_version;
        update_member_and_rebalance(g, m, call, req, rb);
    } else if (g->state == GROUP_COMPLETING_REBALANCE || g->state == GROUP_STABLE) {
        int same = member_matches(m, req);
        if (same && (g->state == GROUP_COMPLETING_REBALANCE || g->leader != m)) {
            /* Probably lost the JoinGroup response: the current generation again. */
            group_join_result_t r;
            join_result_for(g, m->id, 0, &r);
            if (g->state == GROUP_STABLE) r.members_of = NULL;
            group_join_reply(call, &r);
        } else {
            m->join_version = call->hdr.api_version;
            update_member_and_rebalance(g, m, call, req, rb);
        }
    } else {
        reply_now(call, g, mid, KC_ERR_UNKNOWN_MEMBER_ID);
    }
    free(mid);
}

void group_join(broker_t *b, broker_call_t *call, group_t *g, const group_join_req_t *req)
{
    (void)b;
    char *mid = groups_strdup(req->member_id);
    if (g->state == GROUP_DEAD) {
        reply_now(call, g, mid ? mid : "", KC_ERR_COORDINATOR_NOT_AVAILABLE);
    } else if (!supports_protocols(g, req)) {
        reply_now(call, g, mid ? mid : "", KC_ERR_INCONSISTENT_GROUP_PROTOCOL);
    } else {
        reply_batch_t rb = {0};
        g->busy++;
        if (req->member_id.len <= 0)
            join_unknown(g, call, req, &rb);
        else
            join_known(g, call, req, &rb);
        try_complete_join(g);
        g->busy--;
        batch_send(g, &rb);
    }
    free(mid);
}

/* ---- SyncGroup ------------------------------------------------------------------------- */

static void maybe_clear_sync_timer(group_t *g)
{
    group_member_t *m;
    TAILQ_FOREACH(m, &g->members, link)
    if (m->pending_sync) return;
    evtimer_del(g->sync_timer);
}

void group_sync(group_t *g, group_member_t *m, broker_call_t *call, const group_assignment_t *a,
                int n)
{
    switch (g->state) {
    case GROUP_EMPTY: group_sync_reply(call, KC_ERR_UNKNOWN_MEMBER_ID, g, NULL, 0); return;
    case GROUP_PREPARING_REBALANCE:
        group_sync_reply(call, KC_ERR_REBALANCE_IN_PROGRESS, g, NULL, 0);
        return;
    case GROUP_STABLE:
        m->pending_sync = 0;
        maybe_clear_sync_timer(g);
        group_member_touch(m);
        group_sync_reply(call, 0, g, m->assignment, m->assignment_len);
        return;
    default: break;
    }
    reply_batch_t rb = {0};
    g->busy++;
    if (m->sync_call) batch_add(&rb, m->sync_call, m->id, REPLY_SYNC, KC_ERR_REBALANCE_IN_PROGRESS);
    m->sync_call = call;
    m->awaiting_sync = 1;
    m->pending_sync = 0;
    call->handler_data = m;
    call->on_abandon = sync_abandoned;
    maybe_clear_sync_timer(g);
    if (g->leader == m) {
        group_member_t *x;
        TAILQ_FOREACH(x, &g->members, link)
        {
            free(x->assignment);
            x->assignment = NULL;
            x->assignment_len = 0;
            for (int i = 0; i < n; i++) {
                if (!proto_str_eq(a[i].member_id, x->id)) continue;
                int32_t len = a[i].assignment.len > 0 ? a[i].assignment.len : 0;
                x->assignment = malloc(len ? (size_t)len : 1);
                if (x->assignment && len) memcpy(x->assignment, a[i].assignment.ptr, (size_t)len);
                x->assignment_len = x->assignment ? len : 0;
            }
        }
        groups_log_group(g);
        propagate_assignment(g, 0, &rb);
        group_set_state(g, GROUP_STABLE);
    }
    g->busy--;
    batch_send(g, &rb);
}

/* ---- Heartbeat and LeaveGroup ------------------------------------------------------------ */

int group_heartbeat(group_t *g, proto_str_t member_id, proto_str_t instance_id, int32_t generation)
{
    if (g->state == GROUP_DEAD) return KC_ERR_COORDINATOR_NOT_AVAILABLE;
    int err = group_check_member(g, member_id, instance_id);
    if (err) return err;
    if (generation != g->generation) return KC_ERR_ILLEGAL_GENERATION;
    group_member_t *m = group_member_find(g, member_id);
    switch (g->state) {
    case GROUP_EMPTY: return KC_ERR_UNKNOWN_MEMBER_ID;
    case GROUP_PREPARING_REBALANCE: group_member_touch(m); return KC_ERR_REBALANCE_IN_PROGRESS;
    default: group_member_touch(m); return 0;
    }
}

int group_leave(group_t *g, proto_str_t member_id, proto_str_t instance_id)
{
    reply_batch_t rb = {0};
    int err = 0;
    g->busy++;
    if (member_id.len <= 0) {
        group_member_t *m =
            instance_id.len >= 0
                ? util_hmap_get(&g->by_instance,
                                instance_id.ptr ? (const void *)instance_id.ptr : "",
                                (size_t)instance_id.len)
                : NULL;
        if (m)
            remove_member(g, m, &rb);
        else
            err = KC_ERR_UNKNOWN_MEMBER_ID;
    } else {
        group_pending_t *p = pending_find(g, member_id);
        if (p) {
            TAILQ_REMOVE(&g->pending, p, link);
            g->npending--;
            group_pending_free(p);
            if (g->state == GROUP_PREPARING_REBALANCE) try_complete_join(g);
        } else if (!(err = group_check_member(g, member_id, instance_id))) {
            log_info("group %s: member %.*s left", g->id, (int)member_id.len,
                     (const char *)member_id.ptr);
            remove_member(g, group_member_find(g, member_id), &rb);
        }
    }
    g->busy--;
    batch_send(g, &rb);
    return err;
}
