/* The public consumer: kc_consumer_t over the client core, the poll path
 * and the calls that reach the I/O thread (see consumer/consumer_int.h).
 *
 * The poll path takes c->lock once per call: it pops events the I/O thread
 * queued (a whole fetch response's partitions arrive in one go) and reads
 * the next record of the current one in place. Everything else that
 * changes the assignment runs on the I/O thread through client_call(). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_int.h"
#include "consumer/consumer_int.h"
#include "kc_conf_int.h"
#include "util/log.h"

/* ---- the event queue ---- */

void cons_enqueue_locked(kc_consumer_t *c, cons_ev_t *ev)
{
    ev->next = NULL;
    if (c->q_tail)
        c->q_tail->next = ev;
    else
        c->q_head = ev;
    c->q_tail = ev;
    if (c->q_waiting) pthread_cond_broadcast(&c->cond);
}

void cons_enqueue(kc_consumer_t *c, cons_ev_t *ev)
{
    pthread_mutex_lock(&c->lock);
    cons_enqueue_locked(c, ev);
    pthread_mutex_unlock(&c->lock);
}

void cons_error(kc_consumer_t *c, cons_part_t *p, kc_err_t err, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_warn("consumer: %s", buf);
    cons_ev_t *ev = calloc(1, sizeof(*ev));
    if (!ev) return;
    ev->type = CONS_EV_MSG;
    ev->part = p;
    ev->version = p ? p->version : 0;
    ev->msg =
        cons_msg_event(err, buf, p ? p->topic : NULL, p ? p->partition : -1, p ? p->fetch_pos : -1);
    if (!ev->msg) {
        free(ev);
        return;
    }
    cons_enqueue(c, ev);
}

static cons_ev_t *pop_locked(kc_consumer_t *c)
{
    cons_ev_t *ev = c->q_head;
    if (ev) {
        c->q_head = ev->next;
        if (!c->q_head) c->q_tail = NULL;
        ev->next = NULL;
    }
    return ev;
}

/* ---- construction ---- */

typedef struct init_arg {
    kc_consumer_t *c;
    kc_err_t err;
} init_arg_t;

static void io_init(client_t *cl, void *arg)
{
    (void)cl;
    init_arg_t *a = arg;
    a->err = fetch_init(a->c);
}

static void consumer_free(kc_consumer_t *c);

kc_consumer_t *kc_consumer_new(kc_conf_t *conf, char *errstr, size_t errstr_size)
{
    char dummy[1];
    if (!errstr || !errstr_size) {
        errstr = dummy;
        errstr_size = sizeof(dummy);
    }
    if (!conf) {
        snprintf(errstr, errstr_size, "no configuration");
        return NULL;
    }
    /* The client gets a copy, so that conf stays the caller's on failure. */
    kc_conf_t *copy = kc_conf_dup(conf);
    kc_consumer_t *c = calloc(1, sizeof(*c));
    if (!copy || !c) {
        kc_conf_destroy(copy);
        free(c);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (client_conf_finalize(&copy->client, CLIENT_ROLE_CONSUMER, errstr, errstr_size) != 0) {
        kc_conf_destroy(copy);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    util_hmap_init(&c->parts);
    c->cbs = copy->cbs;
    c->conf = &copy->client;
    c->client = client_new(copy, errstr, errstr_size);
    if (!c->client) {
        kc_conf_destroy(copy);
        consumer_free(c);
        return NULL;
    }
    c->queue_limit = (size_t)c->conf->queued_max_messages_kbytes * 1024;
    if (c->queue_limit < 1024) c->queue_limit = 1024;
    init_arg_t ia = {c, 0};
    if (client_call(c->client, io_init, &ia) != 0 || ia.err != 0) {
        snprintf(errstr, errstr_size, "cannot start the fetcher");
        goto fail;
    }
    if (cons_group_new(c, errstr, errstr_size) != 0) goto fail;
    kc_conf_destroy(conf);
    return c;
fail:
    c->closed = 1;
    kc_consumer_destroy(c);
    return NULL;
}

/* ---- the poll path ---- */

/* Done with ev (read to the end or stale): its bytes leave the consumer's
 * queue and its records the partition's, which may let the fetcher fetch
 * again: every partition when the consumer's bytes drop below the bound,
 * this one when its records do. Called locked. */
static void ev_done_locked(kc_consumer_t *c, cons_ev_t *ev)
{
    cons_part_t *p = ev->part;
    if (p && ev->bytes) {
        int64_t min_msgs = c->conf->queued_min_messages;
        int was_full = c->queued_bytes >= c->queue_limit;
        size_t cap = cons_part_queue_cap(c);
        int was_over = p->queued_msgs >= min_msgs || p->queued_bytes >= cap;
        p->queued_bytes -= ev->bytes < p->queued_bytes ? ev->bytes : p->queued_bytes;
        p->queued_msgs -= ev->msgs < p->queued_msgs ? ev->msgs : p->queued_msgs;
        c->queued_bytes -= ev->bytes < c->queued_bytes ? ev->bytes : c->queued_bytes;
        if (c->queued_bytes < c->queue_limit &&
            (was_full || (was_over && p->queued_msgs < min_msgs && p->queued_bytes < cap)))
            fetch_kick(c);
    }
    cons_ev_free(ev);
}

static int stale(const cons_ev_t *ev)
{
    return ev->part && (ev->version != ev->part->version || !ev->part->assigned);
}

static void rebalance_default(kc_consumer_t *c, kc_rebalance_event_t ev,
                              const kc_topic_partition_list_t *parts)
{
    int coop = strcmp(kc_rebalance_protocol(c), "COOPERATIVE") == 0;
    if (ev == KC_REBALANCE_ASSIGN) {
        if (coop)
            kc_incremental_assign(c, parts);
        else
            kc_assign(c, parts);
    } else {
        if (coop)
            kc_incremental_unassign(c, parts);
        else
            kc_assign(c, NULL);
    }
}

static void io_revoke_done(client_t *cl, void *arg)
{
    (void)cl;
    kc_consumer_t *c = arg;
    cons_group_revoke_done(c);
}

/* Serves a callback event with the lock released. */
static void serve(kc_consumer_t *c, cons_ev_t *ev)
{
    if (ev->type == CONS_EV_REBALANCE) {
        if (ev->rb_event == KC_REBALANCE_REVOKE && c->conf->enable_auto_commit)
            kc_commit(c, NULL, 0);
        if (c->cbs.rebalance)
            c->cbs.rebalance(c, ev->rb_event, ev->parts, c->cbs.rebalance_opaque);
        else
            rebalance_default(c, ev->rb_event, ev->parts);
        if (ev->rb_event != KC_REBALANCE_ASSIGN) client_call(c->client, io_revoke_done, c);
    } else if (ev->type == CONS_EV_COMMIT) {
        if (c->cbs.commit) c->cbs.commit(c, ev->err, ev->parts, c->cbs.commit_opaque);
    }
    cons_ev_free(ev);
}

static void deadline_of(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

kc_message_t *kc_consumer_poll(kc_consumer_t *c, int timeout_ms)
{
    if (!c) return NULL;
    if (c->has_group) {
        /* max.poll.interval.ms counts from the last poll; telling cgrp
         * every 100 ms is precise enough and keeps the poll path cheap. */
        uint64_t now = client_now_ms();
        if (now - c->poll_told_ms >= 100) {
            c->poll_told_ms = now;
            cons_group_poll_seen(c);
        }
    }
    struct timespec dl;
    if (timeout_ms > 0) deadline_of(&dl, timeout_ms);
    kc_message_t *out = NULL;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        if (c->rd_active) {
            cons_ev_t *ev = c->rd.ev;
            /* Once closing, polls only serve the leave's callbacks: a record
             * handed out (or skipped) now would move the position that the
             * final commit saves past what the application saw. */
            if (!stale(ev) && !c->closed) {
                kc_err_t err;
                char es[256];
                kc_message_t *m = cons_reader_next(&c->rd, &err, es, sizeof(es));
                if (m) {
                    ev->part->app_pos = m->offset + 1;
                    ev->part->app_epoch = m->leader_epoch;
                    out = m;
                    break;
                }
                if (err) {
                    /* The rest of this data cannot be read: report it; the
                     * fetcher goes on after it. */
                    out = cons_msg_event(err, es, ev->part->topic, ev->part->partition,
                                         ev->part->app_pos);
                }
            }
            cons_reader_end(&c->rd);
            c->rd_active = 0;
            ev_done_locked(c, ev);
            if (out) break;
            continue;
        }
        cons_ev_t *ev = pop_locked(c);
        if (ev) {
            if (ev->type == CONS_EV_DATA) {
                if (stale(ev) || c->closed) {
                    ev_done_locked(c, ev);
                    continue;
                }
                cons_reader_start(&c->rd, ev, c->conf->check_crcs,
                                  c->conf->isolation_level == CLIENT_READ_COMMITTED);
                c->rd_active = 1;
                continue;
            }
            if (ev->type == CONS_EV_MSG) {
                if (stale(ev) || c->closed) {
                    cons_ev_free(ev);
                    continue;
                }
                out = ev->msg;
                ev->msg = NULL;
                cons_ev_free(ev);
                break;
            }
            pthread_mutex_unlock(&c->lock);
            serve(c, ev);
            pthread_mutex_lock(&c->lock);
            continue;
        }
        if (timeout_ms == 0) break;
        c->q_waiting++;
        int rc = timeout_ms < 0 ? pthread_cond_wait(&c->cond, &c->lock)
                                : pthread_cond_timedwait(&c->cond, &c->lock, &dl);
        c->q_waiting--;
        if (rc == ETIMEDOUT) {
            /* One last look: an event may have come with the time-out. */
            if (!c->q_head) break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return out;
}

/* ---- assignment ---- */

typedef struct assign_arg {
    kc_consumer_t *c;
    const kc_topic_partition_list_t *parts;
    int mode; /* 0 replace, 1 add, 2 remove */
    kc_err_t err;
    kc_topic_partition_list_t *out;
} assign_arg_t;

static void io_assign(client_t *cl, void *arg)
{
    (void)cl;
    assign_arg_t *a = arg;
    kc_consumer_t *c = a->c;
    if (a->mode == 1 && a->parts) {
        for (int i = 0; i < a->parts->cnt; i++) {
            const kc_topic_partition_t *tp = &a->parts->elems[i];
            cons_part_t *p = fetch_part_get(c, tp->topic, tp->partition, 0);
            if (p && p->in_assigned) {
                a->err = KC_ERR__INVALID_ARG;
                return;
            }
        }
    }
    if (a->mode == 0)
        while (c->nassigned > 0)
            fetch_part_unassign(c, c->assigned[c->nassigned - 1]);
    for (int i = 0; a->parts && i < a->parts->cnt; i++) {
        const kc_topic_partition_t *tp = &a->parts->elems[i];
        if (a->mode == 2) {
            cons_part_t *p = fetch_part_get(c, tp->topic, tp->partition, 0);
            if (p && p->in_assigned) fetch_part_unassign(c, p);
            continue;
        }
        cons_part_t *p = fetch_part_get(c, tp->topic, tp->partition, 1);
        if (!p) {
            a->err = KC_ERR__NO_MEMORY;
            return;
        }
        fetch_part_assign(c, p, tp->offset);
    }
    fetch_kick(c);
}

static kc_err_t do_assign(kc_consumer_t *c, const kc_topic_partition_list_t *parts, int mode)
{
    if (!c) return KC_ERR__INVALID_ARG;
    if (parts)
        for (int i = 0; i < parts->cnt; i++)
            if (!parts->elems[i].topic || parts->elems[i].partition < 0) return KC_ERR__INVALID_ARG;
    assign_arg_t a = {c, parts, mode, 0, NULL};
    kc_err_t err = client_call(c->client, io_assign, &a);
    return err ? err : a.err;
}

kc_err_t kc_assign(kc_consumer_t *c, const kc_topic_partition_list_t *partitions)
{
    return do_assign(c, partitions, 0);
}

kc_err_t kc_incremental_assign(kc_consumer_t *c, const kc_topic_partition_list_t *partitions)
{
    if (!partitions) return KC_ERR__INVALID_ARG;
    return do_assign(c, partitions, 1);
}

kc_err_t kc_incremental_unassign(kc_consumer_t *c, const kc_topic_partition_list_t *partitions)
{
    if (!partitions) return KC_ERR__INVALID_ARG;
    return do_assign(c, partitions, 2);
}

/* Lists the assignment with positions (with_pos) or leaves offsets. */
static void io_assignment(client_t *cl, void *arg)
{
    (void)cl;
    assign_arg_t *a = arg;
    kc_consumer_t *c = a->c;
    a->out = kc_topic_partition_list_new(c->nassigned);
    if (!a->out) {
        a->err = KC_ERR__NO_MEMORY;
        return;
    }
    for (int i = 0; i < c->nassigned; i++) {
        cons_part_t *p = c->assigned[i];
        kc_topic_partition_t *tp = kc_topic_partition_list_add(a->out, p->topic, p->partition);
        if (!tp) {
            a->err = KC_ERR__NO_MEMORY;
            return;
        }
        pthread_mutex_lock(&c->lock);
        tp->offset = p->app_pos;
        tp->leader_epoch = p->app_epoch;
        pthread_mutex_unlock(&c->lock);
    }
}

kc_err_t kc_assignment(kc_consumer_t *c, kc_topic_partition_list_t **partitions)
{
    if (!c || !partitions) return KC_ERR__INVALID_ARG;
    *partitions = NULL;
    assign_arg_t a = {c, NULL, 0, 0, NULL};
    kc_err_t err = client_call(c->client, io_assignment, &a);
    if (!err) err = a.err;
    if (err) {
        kc_topic_partition_list_destroy(a.out);
        return err;
    }
    for (int i = 0; i < a.out->cnt; i++)
        a.out->elems[i].offset = KC_OFFSET_INVALID;
    *partitions = a.out;
    return 0;
}

typedef struct proto_arg {
    kc_consumer_t *c;
    const char *name;
} proto_arg_t;

static void io_protocol(client_t *cl, void *arg)
{
    (void)cl;
    proto_arg_t *a = arg;
    a->name = cons_group_protocol(a->c);
}

const char *kc_rebalance_protocol(kc_consumer_t *c)
{
    if (!c || !c->has_group) return "EAGER";
    proto_arg_t a = {c, "EAGER"};
    client_call(c->client, io_protocol, &a);
    return a.name;
}

/* ---- positions, seek, pause ---- */

/* What io_parts does: per partition of a list, or (seek, watermarks) for one. */
typedef enum part_op {
    PART_OP_POSITION,
    PART_OP_PAUSE,
    PART_OP_RESUME,
    PART_OP_SEEK,
    PART_OP_WATERMARKS,
    PART_OP_LAG,
} part_op_t;

typedef struct part_arg {
    kc_consumer_t *c;
    kc_topic_partition_list_t *list;
    const char *topic;
    int32_t partition;
    int64_t offset;
    part_op_t op;
    kc_err_t err;
    int64_t lo, hi;
} part_arg_t;

/* The end a reader can reach (the high watermark; the last stable offset
 * with read_committed) as the last fetch response said, minus the
 * position; -1 while either is unknown. Never below 0: a position past a
 * high watermark from an older response is no lag. */
static int64_t lag_locked(const kc_consumer_t *c, const cons_part_t *p)
{
    int64_t end = p->hi;
    if (c->conf->isolation_level == CLIENT_READ_COMMITTED && p->lso >= 0) end = p->lso;
    if (end < 0 || p->app_pos < 0) return -1;
    return end > p->app_pos ? end - p->app_pos : 0;
}

static void io_parts(client_t *cl, void *arg)
{
    (void)cl;
    part_arg_t *a = arg;
    kc_consumer_t *c = a->c;
    if (a->op == PART_OP_SEEK || a->op == PART_OP_WATERMARKS) {
        cons_part_t *p = fetch_part_get(c, a->topic, a->partition, 0);
        if (!p || !p->in_assigned) {
            if (a->op == PART_OP_WATERMARKS && p) {
                pthread_mutex_lock(&c->lock);
                a->lo = p->lo;
                a->hi = p->hi;
                pthread_mutex_unlock(&c->lock);
                a->err = p->hi < 0 ? KC_ERR__NOENT : 0;
                return;
            }
            a->err = a->op == PART_OP_WATERMARKS ? KC_ERR__NOENT : KC_ERR__UNKNOWN_PARTITION;
            return;
        }
        if (a->op == PART_OP_SEEK) {
            fetch_part_seek(c, p, a->offset);
        } else {
            pthread_mutex_lock(&c->lock);
            a->lo = p->lo;
            a->hi = p->hi;
            pthread_mutex_unlock(&c->lock);
            if (p->hi < 0) a->err = KC_ERR__NOENT;
        }
        return;
    }
    for (int i = 0; i < a->list->cnt; i++) {
        kc_topic_partition_t *tp = &a->list->elems[i];
        cons_part_t *p = tp->topic ? fetch_part_get(c, tp->topic, tp->partition, 0) : NULL;
        if (!p || !p->in_assigned) {
            tp->err = KC_ERR__UNKNOWN_PARTITION;
            if (a->op == PART_OP_POSITION) tp->offset = KC_OFFSET_INVALID;
            if (a->op == PART_OP_LAG) tp->offset = -1;
            continue;
        }
        tp->err = 0;
        if (a->op == PART_OP_LAG) {
            pthread_mutex_lock(&c->lock);
            tp->offset = lag_locked(c, p);
            pthread_mutex_unlock(&c->lock);
            if (tp->offset < 0) tp->err = KC_ERR__NOENT;
        } else if (a->op == PART_OP_POSITION) {
            pthread_mutex_lock(&c->lock);
            tp->offset = p->app_pos;
            tp->leader_epoch = p->app_epoch;
            pthread_mutex_unlock(&c->lock);
        } else if (a->op == PART_OP_PAUSE) {
            pthread_mutex_lock(&c->lock);
            int was = p->paused;
            p->paused = 1;
            int64_t pos = p->app_pos;
            pthread_mutex_unlock(&c->lock);
            /* What was fetched ahead is dropped; resume fetches again from
             * the position, as librdkafka does. */
            if (!was && (pos >= 0 || p->state == PART_FETCHING)) {
                fetch_part_seek(c, p, pos >= 0 ? pos : p->fetch_pos);
            } else if (!was) {
                if (p->state == PART_RESOLVING) p->state = PART_PENDING;
                pthread_mutex_lock(&c->lock);
                p->version++;
                pthread_mutex_unlock(&c->lock);
            }
        } else if (a->op == PART_OP_RESUME) {
            pthread_mutex_lock(&c->lock);
            p->paused = 0;
            pthread_mutex_unlock(&c->lock);
        }
    }
    fetch_kick(c);
}

static kc_err_t parts_op(kc_consumer_t *c, part_arg_t *a)
{
    if (!c) return KC_ERR__INVALID_ARG;
    a->c = c;
    kc_err_t err = client_call(c->client, io_parts, a);
    return err ? err : a->err;
}

kc_err_t kc_position(kc_consumer_t *c, kc_topic_partition_list_t *partitions)
{
    if (!partitions) return KC_ERR__INVALID_ARG;
    part_arg_t a = {.list = partitions, .op = PART_OP_POSITION};
    return parts_op(c, &a);
}

kc_err_t kc_pause(kc_consumer_t *c, const kc_topic_partition_list_t *partitions)
{
    if (!partitions) return KC_ERR__INVALID_ARG;
    part_arg_t a = {.list = (kc_topic_partition_list_t *)partitions, .op = PART_OP_PAUSE};
    return parts_op(c, &a);
}

kc_err_t kc_resume(kc_consumer_t *c, const kc_topic_partition_list_t *partitions)
{
    if (!partitions) return KC_ERR__INVALID_ARG;
    part_arg_t a = {.list = (kc_topic_partition_list_t *)partitions, .op = PART_OP_RESUME};
    return parts_op(c, &a);
}

kc_err_t kc_seek(kc_consumer_t *c, const char *topic, int32_t partition, int64_t offset,
                 int timeout_ms)
{
    (void)timeout_ms; /* the seek is applied at once; the fetch follows */
    if (!topic || partition < 0) return KC_ERR__INVALID_ARG;
    if (offset < 0 && offset != KC_OFFSET_BEGINNING && offset != KC_OFFSET_END &&
        offset != KC_OFFSET_STORED && offset != KC_OFFSET_INVALID)
        return KC_ERR__INVALID_ARG;
    part_arg_t a = {.topic = topic, .partition = partition, .offset = offset, .op = PART_OP_SEEK};
    return parts_op(c, &a);
}

kc_err_t kc_consumer_lag(kc_consumer_t *c, kc_topic_partition_list_t *partitions)
{
    if (!partitions) return KC_ERR__INVALID_ARG;
    part_arg_t a = {.list = partitions, .op = PART_OP_LAG};
    return parts_op(c, &a);
}

kc_err_t kc_get_watermark_offsets(kc_consumer_t *c, const char *topic, int32_t partition,
                                  int64_t *low, int64_t *high)
{
    if (!topic || !low || !high) return KC_ERR__INVALID_ARG;
    part_arg_t a = {
        .topic = topic, .partition = partition, .op = PART_OP_WATERMARKS, .lo = -1, .hi = -1};
    kc_err_t err = parts_op(c, &a);
    *low = err ? -1 : a.lo;
    *high = err ? -1 : a.hi;
    return err;
}

/* ---- waiting for the I/O thread's answers ---- */

typedef struct waiter {
    kc_consumer_t *c;
    int pending;
    int async;
    kc_err_t err;
    char errstr[256];
    int64_t lo, hi;
    kc_topic_partition_list_t *parts; /* commit/committed input, then result */
    int fetch;                        /* kc_committed: parts take the offsets read */
    int timeout_ms;
    const char *topic;
    int32_t partition;
} waiter_t;

static void waiter_wait(waiter_t *w)
{
    kc_consumer_t *c = w->c;
    pthread_mutex_lock(&c->lock);
    while (w->pending)
        pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

static void on_watermark(kc_err_t err, const char *errstr, int64_t offset, void *opaque, int hi)
{
    waiter_t *w = opaque;
    pthread_mutex_lock(&w->c->lock);
    if (err && !w->err) {
        w->err = err;
        snprintf(w->errstr, sizeof(w->errstr), "%s", errstr ? errstr : "");
    }
    if (hi)
        w->hi = offset;
    else
        w->lo = offset;
    w->pending--;
    pthread_cond_broadcast(&w->c->cond);
    pthread_mutex_unlock(&w->c->lock);
}

static void on_low(kc_err_t err, const char *errstr, int64_t offset, void *opaque)
{
    on_watermark(err, errstr, offset, opaque, 0);
}

static void on_high(kc_err_t err, const char *errstr, int64_t offset, void *opaque)
{
    on_watermark(err, errstr, offset, opaque, 1);
}

static void io_watermarks(client_t *cl, void *arg)
{
    (void)cl;
    waiter_t *w = arg;
    fetch_list_offset(w->c, w->topic, w->partition, -2, w->timeout_ms, on_low, w);
    fetch_list_offset(w->c, w->topic, w->partition, -1, w->timeout_ms, on_high, w);
}

kc_err_t kc_query_watermark_offsets(kc_consumer_t *c, const char *topic, int32_t partition,
                                    int64_t *low, int64_t *high, int timeout_ms)
{
    if (!c || !topic || partition < 0 || !low || !high) return KC_ERR__INVALID_ARG;
    *low = *high = -1;
    if (timeout_ms <= 0) timeout_ms = c->conf->socket_timeout_ms;
    /* Learn the leader first (the cache may not know the topic yet). */
    kc_metadata_t *md = NULL;
    char es[256];
    kc_err_t err = client_metadata_get(c->client, topic, timeout_ms, &md, es, sizeof(es));
    kc_metadata_destroy(md);
    if (err) return err;
    waiter_t w = {
        .c = c, .pending = 2, .timeout_ms = timeout_ms, .topic = topic, .partition = partition};
    err = client_call(c->client, io_watermarks, &w);
    if (err) return err;
    waiter_wait(&w);
    if (w.err) return w.err;
    *low = w.lo;
    *high = w.hi;
    return 0;
}

/* ---- commits ---- */

static void queue_commit_cb(kc_consumer_t *c, kc_err_t err, const kc_topic_partition_list_t *parts)
{
    if (!c->cbs.commit) return;
    cons_ev_t *ev = calloc(1, sizeof(*ev));
    if (!ev) return;
    ev->type = CONS_EV_COMMIT;
    ev->err = err;
    ev->parts = parts ? kc_topic_partition_list_copy(parts) : NULL;
    cons_enqueue(c, ev);
}

/* Copies the group layer's per-partition results into w->parts: each
 * partition's err, or the call's err for a partition without its own (a
 * time-out, a coordinator that never answered), so the caller can tell
 * which partitions failed. For kc_committed also the answer itself: the
 * offset, leader epoch and metadata (copied into w->parts, which owns its
 * strings). */
static void copy_results(waiter_t *w, kc_err_t err, const kc_topic_partition_list_t *parts)
{
    /* When a partition failed, err is the first such error (cgrp reports
     * it for the call): the others did not fail. */
    for (int i = 0; parts && parts != w->parts && i < parts->cnt; i++)
        if (parts->elems[i].err) err = 0;
    for (int i = 0; i < w->parts->cnt; i++) {
        kc_topic_partition_t *tp = &w->parts->elems[i];
        /* Out of memory before a copy was made: parts is w->parts itself. */
        const kc_topic_partition_t *r =
            parts && parts != w->parts
                ? kc_topic_partition_list_find(parts, tp->topic, tp->partition)
                : NULL;
        tp->err = r && r->err ? r->err : err;
        if (!w->fetch || !r) continue;
        tp->offset = r->offset;
        tp->leader_epoch = r->leader_epoch;
        if (kc_topic_partition_set_metadata(w->parts, tp, r->metadata) && !tp->err)
            tp->err = KC_ERR__NO_MEMORY;
    }
}

static void on_commit_result(waiter_t *w, kc_err_t err, const char *errstr,
                             const kc_topic_partition_list_t *parts)
{
    kc_consumer_t *c = w->c;
    if (w->async) {
        kc_topic_partition_list_destroy(w->parts);
        free(w);
        return;
    }
    pthread_mutex_lock(&c->lock);
    w->err = err;
    snprintf(w->errstr, sizeof(w->errstr), "%s", errstr ? errstr : "");
    if (w->parts) copy_results(w, err, parts);
    w->pending = 0;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void on_commit(kc_err_t err, const char *errstr, const kc_topic_partition_list_t *parts,
                      void *opaque)
{
    waiter_t *w = opaque;
    if (err != KC_ERR__DESTROY) queue_commit_cb(w->c, err, parts);
    on_commit_result(w, err, errstr, parts);
}

static void io_commit(client_t *cl, void *arg)
{
    (void)cl;
    waiter_t *w = arg;
    cons_group_commit(w->c, w->parts, w->c->conf->socket_timeout_ms, on_commit, w);
}

static void on_committed(kc_err_t err, const char *errstr, const kc_topic_partition_list_t *parts,
                         void *opaque)
{
    waiter_t *w = opaque;
    on_commit_result(w, err, errstr, parts);
}

static void io_committed(client_t *cl, void *arg)
{
    (void)cl;
    waiter_t *w = arg;
    cons_group_fetch_committed(w->c, w->parts, w->timeout_ms, on_committed, w);
}

/* A synchronous commit of the caller's list that failed as a whole: every
 * partition carries the error, as the header promises. */
static kc_err_t fail_all(kc_topic_partition_list_t *offsets, int async, kc_err_t err)
{
    for (int i = 0; offsets && !async && i < offsets->cnt; i++)
        offsets->elems[i].err = err;
    return err;
}

kc_err_t kc_commit(kc_consumer_t *c, kc_topic_partition_list_t *offsets, int async)
{
    if (!c) return KC_ERR__INVALID_ARG;
    if (!c->has_group) return KC_ERR__INVALID_ARG;
    kc_topic_partition_list_t *list = NULL;
    if (offsets) {
        list = kc_topic_partition_list_copy(offsets);
        if (!list) return fail_all(offsets, async, KC_ERR__NO_MEMORY);
    } else {
        assign_arg_t a = {c, NULL, 0, 0, NULL};
        kc_err_t err = client_call(c->client, io_assignment, &a);
        if (err || a.err) {
            kc_topic_partition_list_destroy(a.out);
            return err ? err : a.err;
        }
        list = kc_topic_partition_list_new(a.out->cnt);
        for (int i = 0; list && i < a.out->cnt; i++) {
            const kc_topic_partition_t *tp = &a.out->elems[i];
            if (tp->offset < 0) continue;
            kc_topic_partition_t *n = kc_topic_partition_list_add(list, tp->topic, tp->partition);
            if (!n) break;
            n->offset = tp->offset;
            n->leader_epoch = tp->leader_epoch;
        }
        kc_topic_partition_list_destroy(a.out);
        if (!list) return KC_ERR__NO_MEMORY;
    }
    if (list->cnt == 0) {
        kc_topic_partition_list_destroy(list);
        return KC_ERR__NOENT;
    }
    waiter_t *w = calloc(1, sizeof(*w));
    if (!w) {
        kc_topic_partition_list_destroy(list);
        return fail_all(offsets, async, KC_ERR__NO_MEMORY);
    }
    w->c = c;
    w->async = async;
    w->pending = 1;
    w->parts = list;
    kc_err_t err = client_call(c->client, io_commit, w);
    if (err) {
        /* Not run: nobody else holds w. */
        kc_topic_partition_list_destroy(list);
        free(w);
        return fail_all(offsets, async, err);
    }
    if (async) return 0;
    waiter_wait(w);
    err = w->err;
    /* list is a copy of offsets, element for element. */
    for (int i = 0; offsets && i < offsets->cnt; i++)
        offsets->elems[i].err = w->parts->elems[i].err;
    kc_topic_partition_list_destroy(w->parts);
    free(w);
    return err;
}

kc_err_t kc_commit_message(kc_consumer_t *c, const kc_message_t *msg, int async)
{
    if (!c || !msg || msg->err || !msg->topic) return KC_ERR__INVALID_ARG;
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(1);
    kc_topic_partition_t *tp =
        l ? kc_topic_partition_list_add(l, msg->topic, msg->partition) : NULL;
    if (!tp) {
        kc_topic_partition_list_destroy(l);
        return KC_ERR__NO_MEMORY;
    }
    tp->offset = msg->offset + 1;
    tp->leader_epoch = msg->leader_epoch;
    kc_err_t err = kc_commit(c, l, async);
    kc_topic_partition_list_destroy(l);
    return err;
}

kc_err_t kc_committed(kc_consumer_t *c, kc_topic_partition_list_t *partitions, int timeout_ms)
{
    if (!c || !partitions) return KC_ERR__INVALID_ARG;
    if (!c->has_group) return KC_ERR__INVALID_ARG;
    if (timeout_ms < 0) timeout_ms = c->conf->socket_timeout_ms;
    waiter_t w = {.c = c, .pending = 1, .parts = partitions, .fetch = 1, .timeout_ms = timeout_ms};
    kc_err_t err = client_call(c->client, io_committed, &w);
    if (err) return err;
    waiter_wait(&w);
    return w.err;
}

/* ---- subscribe ---- */

typedef struct sub_arg {
    kc_consumer_t *c;
    const char *const *topics;
    int cnt;
    kc_err_t err;
} sub_arg_t;

static void io_subscribe(client_t *cl, void *arg)
{
    (void)cl;
    sub_arg_t *a = arg;
    a->err = cons_group_subscribe(a->c, a->topics, a->cnt);
}

kc_err_t kc_subscribe(kc_consumer_t *c, const char *const *topics, int topic_cnt)
{
    if (!c || topic_cnt < 0 || (topic_cnt > 0 && !topics)) return KC_ERR__INVALID_ARG;
    if (!c->has_group) return KC_ERR__INVALID_ARG;
    sub_arg_t a = {c, topics, topic_cnt, 0};
    kc_err_t err = client_call(c->client, io_subscribe, &a);
    return err ? err : a.err;
}

kc_err_t kc_unsubscribe(kc_consumer_t *c)
{
    if (!c) return KC_ERR__INVALID_ARG;
    if (!c->has_group) return KC_ERR__INVALID_ARG;
    sub_arg_t a = {c, NULL, 0, 0};
    kc_err_t err = client_call(c->client, io_subscribe, &a);
    return err ? err : a.err;
}

/* ---- close and destroy ---- */

typedef struct leave_arg {
    kc_consumer_t *c;
    int done;
} leave_arg_t;

static void on_left(void *opaque)
{
    leave_arg_t *a = opaque;
    pthread_mutex_lock(&a->c->lock);
    a->done = 1;
    pthread_cond_broadcast(&a->c->cond);
    pthread_mutex_unlock(&a->c->lock);
}

static void io_leave(client_t *cl, void *arg)
{
    (void)cl;
    leave_arg_t *a = arg;
    cons_group_leave(a->c, on_left, a);
}

kc_err_t kc_consumer_close(kc_consumer_t *c)
{
    if (!c) return KC_ERR__INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    int closed = c->closed;
    c->closed = 1;
    pthread_mutex_unlock(&c->lock);
    if (closed) return 0;
    kc_err_t err = 0;
    if (c->has_group) {
        if (c->conf->enable_auto_commit) {
            kc_err_t ce = kc_commit(c, NULL, 0);
            if (ce && ce != KC_ERR__NOENT) err = ce;
        }
        leave_arg_t a = {c, 0};
        if (client_call(c->client, io_leave, &a) == 0) {
            /* The revoke reaches the application through poll. */
            for (;;) {
                pthread_mutex_lock(&c->lock);
                int done = a.done;
                pthread_mutex_unlock(&c->lock);
                if (done) break;
                kc_message_destroy(kc_consumer_poll(c, 100));
            }
        }
    }
    kc_assign(c, NULL);
    return err;
}

static void io_stop(client_t *cl, void *arg)
{
    (void)cl;
    kc_consumer_t *c = arg;
    cons_group_destroy(c);
    fetch_stop(c);
}

static void consumer_free(kc_consumer_t *c)
{
    util_hmap_destroy(&c->parts);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

void kc_consumer_destroy(kc_consumer_t *c)
{
    if (!c) return;
    kc_consumer_close(c);
    client_call(c->client, io_stop, c);
    client_destroy(c->client);
    if (c->rd_active) {
        cons_ev_t *ev = c->rd.ev;
        cons_reader_end(&c->rd);
        cons_ev_free(ev);
    }
    cons_reader_free(&c->rd);
    cons_ev_t *ev;
    while ((ev = pop_locked(c)))
        cons_ev_free(ev);
    fetch_free(c);
    consumer_free(c);
}
