/* Fetch: reads of partition logs, with long polling, fetch sessions and
 * zero-copy sends.
 *
 * A request becomes a list of items (topic, partition, offset, limits):
 * the request's own partitions, or for an incremental session request the
 * session's partitions after the request's changes. The items are read in
 * order under the response limit (max_bytes, then partition_max_bytes per
 * partition; KIP-74: the first batch of the first partition with data comes
 * whole even when larger than either limit; later partitions may end in a cut
 * batch, as Kafka does). When fewer than min_bytes are there and nothing
 * failed, the call parks: it waits on every partition it reads (p->waiters)
 * and on a timer for max_wait_ms. An append (broker_notify_append), a
 * DeleteRecords or the partition going away wakes it, and it reads again;
 * the timer answers with whatever there is. Waking only schedules the
 * re-read on the loop (event_active), so an append path never runs fetch
 * code inside itself and many wake-ups in one loop turn cost one read.
 *
 * Partitions are looked up again at every read (never kept across a wait),
 * so a parked fetch survives its topic being deleted.
 *
 * The response is encoded by the one codec in split mode: records fields
 * become their length prefix only, and the stored bytes are spliced in after
 * it without a copy (fetch_splice.h: from the segment's mapping to a peer on
 * this host, by sendfile to a remote one, by reference for memory logs). The
 * log's hold on those bytes is released when libevent frees them, i.e. once
 * they are sent or the connection dropped.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "handlers/fetch_session.h"
#include "handlers/fetch_splice.h"
#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"
#include "util/log.h"

/* Kafka's fetch.max.bytes default: the most one response carries. */
#define FETCH_MAX_BYTES_CAP (55 * 1024 * 1024)

enum fetch_mode {
    MODE_SESSIONLESS, /* no session: every partition answered */
    MODE_FULL_NEW,    /* full request that creates a session when answered */
    MODE_INCREMENTAL, /* an existing session */
};

typedef proto_fetch_response_partition_data_t part_data_t;
typedef proto_fetch_response_fetchable_topic_response_t topic_resp_t;

typedef struct fetch_item {
    proto_str_t topic; /* name; may be null for an id-only request */
    proto_uuid_t topic_id;
    int32_t partition;
    int64_t fetch_offset;
    int32_t max_bytes;
    int32_t current_leader_epoch;
    int32_t last_fetched_epoch;
} fetch_item_t;

/* What one read found for an item. */
typedef struct fetch_res {
    int16_t error;
    int64_t hw, lso, log_start;
    broker_log_range_t range;
    broker_partition_t *p; /* valid during one evaluation only */
    proto_str_t name;      /* resolved name (id requests) */
} fetch_res_t;

/* One Fetch call from arrival to answer; lives in the call's arena. */
typedef struct fetch_ctx {
    broker_call_t *call;
    int16_t ver;
    int mode;
    int16_t error; /* top-level error: answered at once */
    int32_t session_id;
    int32_t session_epoch; /* expected when answering (incremental) */
    int32_t min_bytes, max_bytes;
    int64_t deadline_ms;
    fetch_item_t *items;
    int32_t n;
    /* parked */
    struct event *ev;
    broker_partition_t **parts; /* partitions whose waiters list holds us */
    int32_t nparts;
} fetch_ctx_t;

/* p->waiters: the parked fetches reading p. */
typedef struct waitlist {
    fetch_ctx_t **v;
    int32_t n, cap;
} waitlist_t;

/* ---- Parking ------------------------------------------------------------------ */

static int waitlist_add(broker_partition_t *p, fetch_ctx_t *ctx)
{
    waitlist_t *wl = p->waiters;
    if (!wl) {
        if (!(wl = calloc(1, sizeof(*wl)))) return -1;
        p->waiters = wl;
    }
    if (wl->n == wl->cap) {
        int32_t cap = wl->cap ? wl->cap * 2 : 4;
        fetch_ctx_t **v = realloc(wl->v, (size_t)cap * sizeof(*v));
        if (!v) return -1;
        wl->v = v;
        wl->cap = cap;
    }
    wl->v[wl->n++] = ctx;
    return 0;
}

static void waitlist_del(broker_partition_t *p, fetch_ctx_t *ctx)
{
    waitlist_t *wl = p->waiters;
    if (!wl) return;
    for (int32_t i = 0; i < wl->n; i++)
        if (wl->v[i] == ctx) {
            wl->v[i] = wl->v[--wl->n];
            break;
        }
    if (wl->n == 0) {
        free(wl->v);
        free(wl);
        p->waiters = NULL;
    }
}

int broker_fetch_parked_count(const broker_partition_t *p)
{
    const waitlist_t *wl = p->waiters;
    return wl ? wl->n : 0;
}

static void unpark(fetch_ctx_t *ctx)
{
    for (int32_t i = 0; i < ctx->nparts; i++)
        waitlist_del(ctx->parts[i], ctx);
    ctx->nparts = 0;
    if (ctx->ev) {
        event_free(ctx->ev);
        ctx->ev = NULL;
    }
}

static void wake(fetch_ctx_t *ctx)
{
    if (ctx->ev) event_active(ctx->ev, EV_TIMEOUT, 0);
}

void broker_notify_append(broker_t *b, broker_partition_t *p)
{
    (void)b;
    waitlist_t *wl = p->waiters;
    for (int32_t i = 0; wl && i < wl->n; i++)
        wake(wl->v[i]);
}

void broker_fetch_partition_closing(broker_partition_t *p)
{
    waitlist_t *wl = p->waiters;
    if (!wl) return;
    for (int32_t i = 0; i < wl->n; i++) {
        fetch_ctx_t *ctx = wl->v[i];
        for (int32_t j = 0; j < ctx->nparts; j++)
            if (ctx->parts[j] == p) {
                ctx->parts[j] = ctx->parts[--ctx->nparts];
                break;
            }
        wake(ctx);
    }
    free(wl->v);
    free(wl);
    p->waiters = NULL;
}

static void on_abandon(broker_call_t *call)
{
    unpark(call->handler_data);
}

/* ---- Reading ------------------------------------------------------------------ */

static broker_partition_t *item_partition(fetch_ctx_t *ctx, const fetch_item_t *it,
                                          proto_str_t *name, int16_t *err)
{
    broker_t *b = ctx->call->b;
    broker_topic_t *t;
    if (ctx->ver >= 13) {
        t = broker_topic_find_id(b, &it->topic_id);
        if (!t) *err = KC_ERR_UNKNOWN_TOPIC_ID;
    } else {
        t = broker_topic_find(b, it->topic);
        if (!t) *err = KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (!t) return NULL;
    *name = proto_str_of(t->name);
    if (it->partition < 0 || it->partition >= t->partition_count) {
        *err = KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    return t->partitions[it->partition];
}

/* Kafka's checks, in its order: the partition, its leader, the leader epoch
 * the client knows (v9+), then the offset. */
static void read_item(fetch_ctx_t *ctx, const fetch_item_t *it, fetch_res_t *res, int64_t *limit,
                      int *min_one)
{
    memset(res, 0, sizeof(*res));
    res->range.fd = -1;
    res->hw = res->lso = res->log_start = -1;
    res->name = it->topic;
    broker_partition_t *p = item_partition(ctx, it, &res->name, &res->error);
    if (!p) return;
    res->p = p;
    if (p->leader_id != ctx->call->node->id) {
        res->error = KC_ERR_NOT_LEADER_OR_FOLLOWER;
        return;
    }
    if (it->current_leader_epoch >= 0 && it->current_leader_epoch != p->leader_epoch) {
        res->error = it->current_leader_epoch < p->leader_epoch ? KC_ERR_FENCED_LEADER_EPOCH
                                                                : KC_ERR_UNKNOWN_LEADER_EPOCH;
        return;
    }
    /* v12+: the epoch of the last batch the client has. An epoch newer than
     * any this partition had is unknown to the epoch cache, which Kafka
     * answers with OFFSET_OUT_OF_RANGE; the current one ends at the log end,
     * so it never diverges. */
    if (ctx->ver >= 12 && it->last_fetched_epoch > p->leader_epoch) {
        res->error = KC_ERR_OFFSET_OUT_OF_RANGE;
        return;
    }
    broker_log_offsets_t o;
    broker_log_offsets(p->log, &o);
    if (it->fetch_offset < o.start || it->fetch_offset > o.end) {
        res->error = KC_ERR_OFFSET_OUT_OF_RANGE;
        return;
    }
    /* One node: the high watermark is the log end, and with no aborted
     * transactions the last stable offset is too. */
    res->hw = res->lso = o.end;
    res->log_start = o.start;
    int64_t want = it->max_bytes < *limit ? it->max_bytes : *limit;
    if (want < 0) want = 0;
    if (it->fetch_offset == o.end || (want == 0 && !*min_one)) return;
    char err[256];
    int rc = broker_log_read(p->log, it->fetch_offset, -1, (size_t)(want ? want : 1), &res->range,
                             err, sizeof(err));
    if (rc) {
        log_warn("fetch %s-%d at %lld: %s", p->topic->name, p->index, (long long)it->fetch_offset,
                 err);
        res->error = (int16_t)(rc == KC_ERR_OFFSET_OUT_OF_RANGE ? rc : KC_ERR_KAFKA_STORAGE_ERROR);
        res->hw = res->lso = res->log_start = -1;
        memset(&res->range, 0, sizeof(res->range));
        res->range.fd = -1;
        return;
    }
    /* Only the first batch of the response may exceed the limits (KIP-74);
     * a later partition whose first batch does not fit gets none (Kafka
     * sends a cut batch, which clients drop). */
    if (!*min_one && res->range.len > (size_t)want) {
        broker_log_range_release(&res->range);
        memset(&res->range, 0, sizeof(res->range));
        res->range.fd = -1;
    }
    if (res->range.len > 0) {
        *min_one = 0;
        *limit -= (int64_t)res->range.len;
        if (*limit < 0) *limit = 0;
    }
}

static void release_all(fetch_res_t *res, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        broker_log_range_release(&res[i].range);
}

/* ---- Incremental sessions ------------------------------------------------------- */

/* Which partitions an incremental response carries, as Kafka's
 * FetchSession.scala (CachedPartition.maybeUpdateResponseData and
 * IncrementalFetchContext) decides:
 *   - a partition with records is always included, and moves to the end of
 *     the session's order, so partitions take turns at the response limit;
 *   - one whose high watermark or log start offset changed since the last
 *     response is included (the session remembers the new values);
 *   - one with an error is included, and its remembered high watermark is
 *     set to -1 so that it is sent again once the error clears;
 *   - a preferred read replica or a diverging epoch would include it too
 *     (kc-broker has neither);
 *   - every other partition is left out.
 * The session state changes only when the response is really sent. */
static int must_respond(fetch_spart_t *sp, const fetch_res_t *r)
{
    int must = r->range.len > 0;
    if (sp->high_watermark != r->hw) {
        must = 1;
        sp->high_watermark = r->hw;
    }
    if (sp->log_start != r->log_start) {
        must = 1;
        sp->log_start = r->log_start;
    }
    if (r->error) {
        sp->high_watermark = -1;
        must = 1;
    }
    return must;
}

/* ---- Answering ------------------------------------------------------------------ */

typedef struct splice {
    size_t at;
    const broker_log_range_t *range;
} splice_t;

typedef struct splices {
    splice_t *v;
    int32_t n;
} splices_t;

static void on_records(void *arg, const proto_slice_t *records, size_t at)
{
    splices_t *s = arg;
    if (records->len <= 0) return; /* nothing to splice; ptr is no token */
    s->v[s->n].at = at;
    s->v[s->n].range = (const broker_log_range_t *)(const void *)records->ptr;
    s->n++;
}

static void fill_part(fetch_ctx_t *ctx, part_data_t *pd, const fetch_item_t *it, fetch_res_t *r,
                      proto_fetch_response_t *resp, int *endpoints)
{
    pd->partition_index = it->partition;
    pd->error_code = r->error;
    pd->high_watermark = r->hw;
    pd->last_stable_offset = r->lso;
    pd->log_start_offset = r->log_start;
    pd->preferred_read_replica = -1;
    pd->aborted_transactions.n = ctx->ver >= 4 ? 0 : -1;
    /* Empty records, never null, as Kafka answers; the token leads
     * on_records to the range. */
    pd->records = proto_slice_of(r->range.len ? (const void *)&r->range : "", r->range.len);
    /* KIP-951 (v16+): tell the client who leads instead. */
    if (ctx->ver >= 16 && r->p &&
        (r->error == KC_ERR_NOT_LEADER_OR_FOLLOWER || r->error == KC_ERR_FENCED_LEADER_EPOCH)) {
        pd->current_leader.leader_id = r->p->leader_id;
        pd->current_leader.leader_epoch = r->p->leader_epoch;
        *endpoints = 1;
    }
    (void)resp;
}

static void fill_endpoints(broker_call_t *call, proto_fetch_response_t *resp)
{
    broker_t *b = call->b;
    proto_fetch_response_node_endpoint_t *ne =
        broker_call_structs(call, b->node_count, &proto_fetch_response_node_endpoint_sdesc);
    if (!ne) return;
    int32_t n = 0;
    for (int i = 0; i < b->node_count; i++) {
        if (!b->nodes[i].up) continue;
        ne[n].node_id = b->nodes[i].id;
        ne[n].host = proto_str_of(b->nodes[i].host);
        ne[n].port = b->nodes[i].port;
        ne[n].rack = proto_str_of(b->nodes[i].rack);
        n++;
    }
    resp->node_endpoints.v = ne;
    resp->node_endpoints.n = n;
}

static int same_topic(int16_t ver, const fetch_item_t *a, const fetch_item_t *b)
{
    if (ver >= 13) return !memcmp(&a->topic_id, &b->topic_id, sizeof(a->topic_id));
    return a->topic.len == b->topic.len &&
           (a->topic.len <= 0 || !memcmp(a->topic.ptr, b->topic.ptr, (size_t)a->topic.len));
}

/* An encoding shared by several evbuffer references. */
typedef struct shared_buf {
    uint8_t *data;
    int refs;
} shared_buf_t;

static void shared_release(const void *data, size_t len, void *arg)
{
    shared_buf_t *b = arg;
    if (--b->refs > 0) return;
    free(b->data);
    free(b);
}

/* Encodes resp with the ranges spliced in and sends it. */
static void send_response(fetch_ctx_t *ctx, proto_fetch_response_t *resp, fetch_res_t *res,
                          int32_t nres)
{
    broker_call_t *call = ctx->call;
    splices_t sp = {broker_call_array(call, nres > 0 ? nres : 1, sizeof(splice_t)), 0};
    proto_wbuf_t w;
    proto_wbuf_init(&w, 256);
    char err[256];
    int rc = sp.v ? proto_msg_encode_split(&proto_fetch_response_desc, ctx->ver, resp, &w,
                                           on_records, &sp, err, sizeof(err))
                  : KC_ERR__NO_MEMORY;
    if (rc) {
        proto_wbuf_free(&w);
        release_all(res, nres);
        log_error("Fetch v%d response: cannot encode: %s", ctx->ver,
                  rc == KC_ERR__NO_MEMORY ? "out of memory" : err);
        broker_call_close(call, "fetch response could not be encoded");
        return;
    }
    struct evbuffer *out = call->req->out;
    /* Lets file segments go out with sendfile when the socket's buffer
     * takes them over. */
    evbuffer_set_flags(out, EVBUFFER_FLAG_DRAINS_TO_FD);
    /* The encoded pieces between the ranges are added by reference to the
     * one encoding buffer, freed with the last piece: evbuffer_add after a
     * file segment would allocate a new chain as large as that segment. */
    shared_buf_t *shared = malloc(sizeof(*shared));
    int bad = !shared;
    if (shared) {
        shared->data = w.data;
        shared->refs = 1; /* ours, dropped below */
        w.data = NULL;
    }
    size_t prev = 0;
    int local = broker_conn_is_local(call->req->conn);
    for (int32_t i = 0; i <= sp.n && !bad; i++) {
        size_t at = i < sp.n ? sp.v[i].at : w.len;
        if (at > prev) {
            shared->refs++;
            if (evbuffer_add_reference(out, shared->data + prev, at - prev, shared_release,
                                       shared) != 0) {
                shared->refs--;
                bad = 1;
                break;
            }
        }
        if (i < sp.n)
            bad |= fetch_splice_range(out, (broker_log_range_t *)sp.v[i].range, local) != 0;
        prev = at;
    }
    if (shared) shared_release(NULL, 0, shared);
    proto_wbuf_free(&w);
    release_all(res, nres);
    if (bad) {
        log_error("Fetch v%d response: out of memory", ctx->ver);
        broker_call_close(call, "out of memory for a fetch response");
        return;
    }
    broker_call_respond_out(call);
}

static void respond_error(fetch_ctx_t *ctx, int16_t error)
{
    proto_fetch_response_t resp;
    proto_msg_init(&proto_fetch_response_desc, &resp);
    resp.error_code = error;
    resp.session_id = 0;
    send_response(ctx, &resp, NULL, 0);
}

/* Builds the answer from results: every item, or for an incremental
 * session the ones that must be sent. */
static void answer(fetch_ctx_t *ctx, fetch_res_t *res)
{
    broker_call_t *call = ctx->call;
    int32_t n = ctx->n;
    int32_t session_id = 0;
    fetch_session_t *s = NULL;
    uint8_t *include = broker_call_array(call, n > 0 ? n : 1, 1);
    if (!include) {
        release_all(res, n);
        broker_call_close(call, "out of memory for a fetch response");
        return;
    }
    memset(include, 1, (size_t)(n > 0 ? n : 1));
    int64_t now = call->b->now_ms();
    if (ctx->mode == MODE_INCREMENTAL) {
        s = fetch_session_find(call->b, ctx->session_id);
        if (!s || s->epoch != ctx->session_epoch) {
            release_all(res, n);
            respond_error(ctx, s ? KC_ERR_INVALID_FETCH_SESSION_EPOCH
                                 : KC_ERR_FETCH_SESSION_ID_NOT_FOUND);
            return;
        }
        session_id = s->id;
        /* Items are in session order: walk both together. Moving a partition
         * to the end does not disturb the walk, since it goes by key. */
        for (int32_t i = 0; i < n; i++) {
            const fetch_item_t *it = &ctx->items[i];
            fetch_spart_t *spp = fetch_session_part(s, it->topic, &it->topic_id, it->partition);
            if (!spp) continue;
            include[i] = (uint8_t)must_respond(spp, &res[i]);
            if (res[i].range.len > 0) fetch_session_move_last(s, (int32_t)(spp - s->parts));
        }
    } else if (ctx->mode == MODE_FULL_NEW) {
        s = fetch_session_create(call->b, ctx->ver >= 13, now);
        for (int32_t i = 0; s && i < n; i++) {
            const fetch_item_t *it = &ctx->items[i];
            if (fetch_session_part(s, it->topic, &it->topic_id, it->partition)) continue;
            fetch_spart_t *spp = fetch_session_add(s, it->topic, &it->topic_id, it->partition);
            if (!spp) {
                fetch_session_remove(call->b, s->id);
                s = NULL;
                break;
            }
            spp->fetch_offset = it->fetch_offset;
            spp->max_bytes = it->max_bytes;
            spp->current_leader_epoch = it->current_leader_epoch;
            spp->last_fetched_epoch = it->last_fetched_epoch;
            spp->high_watermark = res[i].error ? -1 : res[i].hw;
            spp->log_start = res[i].log_start;
        }
        if (s) session_id = s->id;
    }

    proto_fetch_response_t resp;
    proto_msg_init(&proto_fetch_response_desc, &resp);
    resp.session_id = session_id;
    topic_resp_t *topics = broker_call_structs(
        call, n > 0 ? n : 1, &proto_fetch_response_fetchable_topic_response_sdesc);
    part_data_t *parts =
        broker_call_structs(call, n > 0 ? n : 1, &proto_fetch_response_partition_data_sdesc);
    if (!topics || !parts) {
        release_all(res, n);
        broker_call_close(call, "out of memory for a fetch response");
        return;
    }
    int32_t nt = 0, np = 0, endpoints = 0;
    const fetch_item_t *prev = NULL;
    for (int32_t i = 0; i < n; i++) {
        if (!include[i]) {
            broker_log_range_release(&res[i].range);
            continue;
        }
        const fetch_item_t *it = &ctx->items[i];
        if (!prev || !same_topic(ctx->ver, prev, it)) {
            topic_resp_t *t = &topics[nt++];
            t->topic = ctx->ver >= 13 ? PROTO_NULL_SLICE : it->topic;
            if (ctx->ver < 13 && t->topic.len < 0) t->topic = res[i].name;
            t->topic_id = it->topic_id;
            t->partitions.v = &parts[np];
            t->partitions.n = 0;
        }
        prev = it;
        fill_part(ctx, &parts[np++], it, &res[i], &resp, &endpoints);
        topics[nt - 1].partitions.n++;
    }
    if (ctx->ver >= 13)
        for (int32_t i = 0; i < nt; i++)
            topics[i].topic = proto_str_of("");
    resp.responses.v = topics;
    resp.responses.n = nt;
    if (endpoints) fill_endpoints(call, &resp);
    send_response(ctx, &resp, res, n);
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

/* Reads every item; answers when there is enough (or final), else parks.
 * Returns nothing: the call is answered or parked. */
static void evaluate(fetch_ctx_t *ctx, int final)
{
    broker_call_t *call = ctx->call;
    fetch_res_t *res = broker_call_array(call, ctx->n > 0 ? ctx->n : 1, sizeof(fetch_res_t));
    if (!res) {
        unpark(ctx);
        broker_call_close(call, "out of memory for a fetch");
        return;
    }
    int64_t limit = ctx->max_bytes;
    int min_one = 1, failed = 0;
    int64_t total = 0;
    for (int32_t i = 0; i < ctx->n; i++) {
        read_item(ctx, &ctx->items[i], &res[i], &limit, &min_one);
        total += (int64_t)res[i].range.len;
        failed |= res[i].error != 0;
    }
    int64_t now = call->b->now_ms();
    if (final || failed || total >= ctx->min_bytes || ctx->n == 0 || now >= ctx->deadline_ms) {
        unpark(ctx);
        answer(ctx, res);
        return;
    }
    /* Park: wait on every partition we read, and on the clock. */
    release_all(res, ctx->n);
    if (!ctx->ev) {
        ctx->ev = evtimer_new(call->b->base, on_timer, ctx);
        ctx->parts = broker_call_array(call, ctx->n, sizeof(*ctx->parts));
        if (!ctx->ev || !ctx->parts) {
            unpark(ctx);
            broker_call_close(call, "out of memory for a fetch");
            return;
        }
        for (int32_t i = 0; i < ctx->n; i++) {
            broker_partition_t *p = res[i].p;
            int dup = 0;
            for (int32_t j = 0; j < ctx->nparts && !dup; j++)
                dup = ctx->parts[j] == p;
            if (!p || dup) continue;
            if (waitlist_add(p, ctx) != 0) {
                unpark(ctx);
                broker_call_close(call, "out of memory for a fetch");
                return;
            }
            ctx->parts[ctx->nparts++] = p;
        }
        call->on_abandon = on_abandon;
    }
    int64_t left = ctx->deadline_ms - now;
    struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
    event_add(ctx->ev, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    evaluate(arg, 0);
}

/* ---- Requests -------------------------------------------------------------------- */

static void item_from_req(fetch_item_t *it, const proto_fetch_request_fetch_topic_t *t,
                          const proto_fetch_request_fetch_partition_t *p)
{
    it->topic = t->topic;
    it->topic_id = t->topic_id;
    it->partition = p->partition;
    it->fetch_offset = p->fetch_offset;
    it->max_bytes = p->partition_max_bytes;
    it->current_leader_epoch = p->current_leader_epoch;
    it->last_fetched_epoch = p->last_fetched_epoch;
}

static int items_from_request(fetch_ctx_t *ctx, const proto_fetch_request_t *req)
{
    int32_t n = 0;
    for (int32_t i = 0; i < req->topics.n; i++)
        n += req->topics.v[i].partitions.n > 0 ? req->topics.v[i].partitions.n : 0;
    ctx->items = broker_call_array(ctx->call, n > 0 ? n : 1, sizeof(fetch_item_t));
    if (!ctx->items) return -1;
    for (int32_t i = 0; i < req->topics.n; i++) {
        const proto_fetch_request_fetch_topic_t *t = &req->topics.v[i];
        for (int32_t j = 0; j < t->partitions.n; j++)
            item_from_req(&ctx->items[ctx->n++], t, &t->partitions.v[j]);
    }
    return 0;
}

/* An incremental request: update the session (additions and changes first,
 * then forgotten partitions, as Kafka does), bump its epoch, and fetch all
 * of its partitions. Returns 0, a Kafka error code, or -1 (no memory). */
static int session_update(fetch_ctx_t *ctx, const proto_fetch_request_t *req)
{
    broker_t *b = ctx->call->b;
    fetch_session_t *s = fetch_session_find(b, req->session_id);
    if (!s) return KC_ERR_FETCH_SESSION_ID_NOT_FOUND;
    if (s->epoch != req->session_epoch) return KC_ERR_INVALID_FETCH_SESSION_EPOCH;
    if (s->uses_topic_ids != (ctx->ver >= 13)) return KC_ERR_FETCH_SESSION_TOPIC_ID_ERROR;
    for (int32_t i = 0; i < req->topics.n; i++) {
        const proto_fetch_request_fetch_topic_t *t = &req->topics.v[i];
        for (int32_t j = 0; j < t->partitions.n; j++) {
            const proto_fetch_request_fetch_partition_t *p = &t->partitions.v[j];
            fetch_spart_t *sp = fetch_session_part(s, t->topic, &t->topic_id, p->partition);
            if (!sp && !(sp = fetch_session_add(s, t->topic, &t->topic_id, p->partition)))
                return -1;
            sp->fetch_offset = p->fetch_offset;
            sp->max_bytes = p->partition_max_bytes;
            sp->current_leader_epoch = p->current_leader_epoch;
            sp->last_fetched_epoch = p->last_fetched_epoch;
        }
    }
    for (int32_t i = 0; i < req->forgotten_topics_data.n; i++) {
        const proto_fetch_request_forgotten_topic_t *f = &req->forgotten_topics_data.v[i];
        for (int32_t j = 0; j < f->partitions.n; j++) {
            fetch_spart_t *sp = fetch_session_part(s, f->topic, &f->topic_id, f->partitions.v[j]);
            if (sp) fetch_session_del(s, (int32_t)(sp - s->parts));
        }
    }
    s->epoch = fetch_session_next_epoch(s->epoch);
    fetch_session_touch(b, s, b->now_ms());
    ctx->session_id = s->id;
    ctx->session_epoch = s->epoch;
    /* Copies: the session may change or go while this call waits. */
    ctx->items = broker_call_array(ctx->call, s->n > 0 ? s->n : 1, sizeof(fetch_item_t));
    if (!ctx->items) return -1;
    for (int32_t i = 0; i < s->n; i++) {
        const fetch_spart_t *sp = &s->parts[i];
        fetch_item_t *it = &ctx->items[ctx->n++];
        it->topic = broker_call_str(ctx->call, sp->topic);
        it->topic_id = sp->topic_id;
        it->partition = sp->partition;
        it->fetch_offset = sp->fetch_offset;
        it->max_bytes = sp->max_bytes;
        it->current_leader_epoch = sp->current_leader_epoch;
        it->last_fetched_epoch = sp->last_fetched_epoch;
    }
    return 0;
}

void broker_handle_fetch(broker_call_t *call)
{
    const proto_fetch_request_t *req = call->request;
    fetch_ctx_t *ctx = broker_call_alloc(call, sizeof(*ctx));
    if (!ctx) {
        broker_call_close(call, "out of memory for a fetch");
        return;
    }
    call->handler_data = ctx;
    ctx->call = call;
    ctx->ver = call->hdr.api_version;
    ctx->min_bytes = req->min_bytes;
    ctx->max_bytes = req->max_bytes < FETCH_MAX_BYTES_CAP ? req->max_bytes : FETCH_MAX_BYTES_CAP;
    if (ctx->max_bytes < 0) ctx->max_bytes = 0;
    ctx->deadline_ms = call->b->now_ms() + (req->max_wait_ms > 0 ? req->max_wait_ms : 0);

    /* KIP-227: (0, -1) no session; (N, -1) close N, no session; (N, 0) close
     * N if any, full fetch creating a session; (N, E>0) incremental. */
    int rc = 0;
    if (ctx->ver < 7 || req->session_epoch == -1) {
        if (ctx->ver >= 7 && req->session_id) fetch_session_remove(call->b, req->session_id);
        ctx->mode = MODE_SESSIONLESS;
        rc = items_from_request(ctx, req);
    } else if (req->session_epoch == 0) {
        if (req->session_id) fetch_session_remove(call->b, req->session_id);
        ctx->mode = MODE_FULL_NEW;
        rc = items_from_request(ctx, req);
    } else {
        ctx->mode = MODE_INCREMENTAL;
        rc = session_update(ctx, req);
    }
    if (rc < 0) {
        broker_call_close(call, "out of memory for a fetch");
        return;
    }
    if (rc > 0) {
        respond_error(ctx, (int16_t)rc);
        return;
    }
    evaluate(ctx, req->max_wait_ms <= 0);
}
