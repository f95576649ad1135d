/* The consumer's side of group membership (cgrp.h), on the I/O thread:
 * cgrp's assign/revoke/error callbacks become events the application sees
 * in kc_consumer_poll(); the poll thread's activity reaches cgrp for
 * max.poll.interval.ms; enable.auto.commit commits the positions of
 * records handed out every auto.commit.interval.ms. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "client_int.h"
#include "consumer/cgrp.h"
#include "consumer/consumer_int.h"
#include "util/log.h"

/* ---- cgrp -> consumer ---- */

static void rebalance_ev(kc_consumer_t *c, kc_rebalance_event_t what,
                         const kc_topic_partition_list_t *parts)
{
    cons_ev_t *ev = calloc(1, sizeof(*ev));
    if (ev) {
        ev->type = CONS_EV_REBALANCE;
        ev->rb_event = what;
        ev->parts = parts ? kc_topic_partition_list_copy(parts) : kc_topic_partition_list_new(0);
    }
    if (!ev || !ev->parts) {
        /* Without memory the application cannot see it; do not leave cgrp
         * waiting for an answer that would never come. */
        cons_ev_free(ev);
        log_error("consumer: out of memory queueing a rebalance");
        if (what != KC_REBALANCE_ASSIGN && c->cgrp) cgrp_revoke_done(c->cgrp);
        return;
    }
    cons_enqueue(c, ev);
}

static void op_assign(void *opaque, const kc_topic_partition_list_t *parts)
{
    rebalance_ev(opaque, KC_REBALANCE_ASSIGN, parts);
}

static void op_revoke(void *opaque, const kc_topic_partition_list_t *parts, int lost)
{
    rebalance_ev(opaque, lost ? KC_REBALANCE_LOST : KC_REBALANCE_REVOKE, parts);
}

static void op_error(void *opaque, kc_err_t err, const char *errstr)
{
    cons_error(opaque, NULL, err, "%s", errstr ? errstr : kc_err_str(err));
}

static const cgrp_ops_t cons_cgrp_ops = {op_assign, op_revoke, op_error};

/* ---- auto-commit ---- */

static void on_auto_commit(kc_err_t err, const char *errstr, const kc_topic_partition_list_t *parts,
                           void *opaque)
{
    kc_consumer_t *c = opaque;
    c->autocommit_in_flight = 0;
    if (err == KC_ERR__DESTROY || c->stopping) return;
    if (err) log_warn("consumer: automatic commit failed: %s", errstr ? errstr : kc_err_str(err));
    for (int i = 0; parts && i < parts->cnt; i++) {
        const kc_topic_partition_t *tp = &parts->elems[i];
        if (err || tp->err) continue;
        cons_part_t *p = fetch_part_get(c, tp->topic, tp->partition, 0);
        if (!p) continue;
        pthread_mutex_lock(&c->lock);
        p->committed = tp->offset;
        pthread_mutex_unlock(&c->lock);
    }
    if (c->cbs.commit) {
        cons_ev_t *ev = calloc(1, sizeof(*ev));
        if (!ev) return;
        ev->type = CONS_EV_COMMIT;
        ev->err = err;
        ev->parts = parts ? kc_topic_partition_list_copy(parts) : NULL;
        cons_enqueue(c, ev);
    }
}

static void auto_commit(kc_consumer_t *c)
{
    if (c->autocommit_in_flight || !c->cgrp) return;
    kc_topic_partition_list_t *l = kc_topic_partition_list_new(c->nassigned ? c->nassigned : 1);
    if (!l) return;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->nassigned; i++) {
        cons_part_t *p = c->assigned[i];
        if (p->app_pos < 0 || p->app_pos == p->committed) continue;
        kc_topic_partition_t *tp = kc_topic_partition_list_add(l, p->topic, p->partition);
        if (!tp) break;
        tp->offset = p->app_pos;
        tp->leader_epoch = p->app_epoch;
    }
    pthread_mutex_unlock(&c->lock);
    if (l->cnt) {
        c->autocommit_in_flight = 1;
        cgrp_commit(c->cgrp, l, c->conf->socket_timeout_ms, on_auto_commit, c);
    }
    kc_topic_partition_list_destroy(l);
}

static void on_autocommit_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    auto_commit(arg);
}

static void on_poll_seen(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    kc_consumer_t *c = arg;
    if (c->cgrp) cgrp_poll_seen(c->cgrp);
}

/* ---- construction ---- */

typedef struct new_arg {
    kc_consumer_t *c;
    char *errstr;
    size_t errstr_size;
    kc_err_t err;
} new_arg_t;

static void io_new(client_t *cl, void *arg)
{
    new_arg_t *a = arg;
    kc_consumer_t *c = a->c;
    c->cgrp = cgrp_new(cl, &cons_cgrp_ops, c, a->errstr, a->errstr_size);
    if (!c->cgrp) {
        a->err = KC_ERR__CONF;
        return;
    }
    struct event_base *base = client_base(cl);
    c->ev_pollseen = event_new(base, -1, 0, on_poll_seen, c);
    if (c->conf->enable_auto_commit && c->conf->auto_commit_interval_ms > 0)
        c->ev_autocommit = event_new(base, -1, EV_PERSIST, on_autocommit_timer, c);
    if (!c->ev_pollseen || (c->conf->enable_auto_commit && c->conf->auto_commit_interval_ms > 0 &&
                            !c->ev_autocommit)) {
        a->err = KC_ERR__NO_MEMORY;
        return;
    }
    if (c->ev_autocommit) {
        int ms = c->conf->auto_commit_interval_ms;
        struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
        event_add(c->ev_autocommit, &tv);
    }
}

kc_err_t cons_group_new(kc_consumer_t *c, char *errstr, size_t errstr_size)
{
    const char *gid = c->conf->group_id;
    if (!gid || !*gid) return 0;
    new_arg_t a = {c, errstr, errstr_size, 0};
    kc_err_t err = client_call(c->client, io_new, &a);
    if (err) return err;
    if (a.err) return a.err;
    c->has_group = 1;
    return 0;
}

void cons_group_destroy(kc_consumer_t *c)
{
    if (c->ev_autocommit) event_free(c->ev_autocommit);
    if (c->ev_pollseen) event_free(c->ev_pollseen);
    c->ev_autocommit = c->ev_pollseen = NULL;
    if (c->cgrp) cgrp_destroy(c->cgrp);
    c->cgrp = NULL;
}

/* ---- calls (I/O thread) ---- */

kc_err_t cons_group_subscribe(kc_consumer_t *c, const char *const *topics, int topic_cnt)
{
    if (!c->cgrp) return KC_ERR__INVALID_ARG;
    return cgrp_subscribe(c->cgrp, topics, topic_cnt);
}

void cons_group_fetch_committed(kc_consumer_t *c, const kc_topic_partition_list_t *parts,
                                int timeout_ms, cons_offsets_cb cb, void *opaque)
{
    if (!c->cgrp) {
        cb(KC_ERR__INVALID_ARG, "no group.id", parts, opaque);
        return;
    }
    cgrp_fetch_committed(c->cgrp, parts, timeout_ms, cb, opaque);
}

void cons_group_commit(kc_consumer_t *c, const kc_topic_partition_list_t *parts, int timeout_ms,
                       cons_offsets_cb cb, void *opaque)
{
    if (!c->cgrp) {
        cb(KC_ERR__INVALID_ARG, "no group.id", parts, opaque);
        return;
    }
    cgrp_commit(c->cgrp, parts, timeout_ms, cb, opaque);
}

void cons_group_poll_seen(kc_consumer_t *c)
{
    if (c->ev_pollseen) event_active(c->ev_pollseen, 0, 0);
}

void cons_group_revoke_done(kc_consumer_t *c)
{
    if (c->cgrp) cgrp_revoke_done(c->cgrp);
}

const char *cons_group_protocol(kc_consumer_t *c)
{
    return c->cgrp ? cgrp_rebalance_protocol(c->cgrp) : "EAGER";
}

void cons_group_leave(kc_consumer_t *c, void (*done)(void *opaque), void *opaque)
{
    if (c->ev_autocommit) event_del(c->ev_autocommit);
    if (!c->cgrp) {
        done(opaque);
        return;
    }
    cgrp_leave(c->cgrp, done, opaque);
}
