/* The group member's lifecycle, its public calls, and serve(): the one
 * place that decides what to do next (see cgrp_int.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "client_int.h"
#include "consumer/cgrp_int.h"
#include "util/log.h"

uint64_t cgrp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cgrp_timer_add(struct event *ev, int ms)
{
    if (ms < 0) ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

int cgrp_backoff_ms(const cgrp_t *g, int attempt)
{
    return client_retry_backoff_ms(g->conf, attempt + 1);
}

char *cgrp_strdup_slice(proto_str_t s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *d = malloc(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s.ptr, n);
    d[n] = '\0';
    return d;
}

void cgrp_error(cgrp_t *g, kc_err_t err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warn("group %s: %s", g->group_id, msg);
    if (g->ops.error) g->ops.error(g->opaque, err, msg);
}

static void on_poll_timer(evutil_socket_t fd, short what, void *arg);

static kc_err_t parse_assignors(cgrp_t *g, char *errstr, size_t errstr_size)
{
    const char *list = g->conf->partition_assignment_strategy;
    if (!list || !*list) list = "range,roundrobin";
    int coop = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ", ");
        if (n) {
            char name[64];
            snprintf(name, sizeof(name), "%.*s", (int)(n < 63 ? n : 63), p);
            const assignor_t *a = assignor_find(name);
            if (!a) {
                snprintf(errstr, errstr_size, "partition.assignment.strategy: unknown assignor %s",
                         name);
                return KC_ERR__CONF;
            }
            if (g->nassignors == (int)(sizeof(g->assignors) / sizeof(g->assignors[0]))) break;
            g->assignors[g->nassignors++] = a;
            coop += a->protocol == ASSIGNOR_COOPERATIVE;
        }
        p += n;
        p += strspn(p, ", ");
    }
    if (g->nassignors == 0) {
        snprintf(errstr, errstr_size, "partition.assignment.strategy names no assignor");
        return KC_ERR__CONF;
    }
    /* As the Java client: cooperative only when every assignor is, so the
     * group never mixes the two protocols. */
    g->protocol = coop == g->nassignors ? ASSIGNOR_COOPERATIVE : ASSIGNOR_EAGER;
    return 0;
}

cgrp_t *cgrp_new(client_t *c, const cgrp_ops_t *ops, void *opaque, char *errstr, size_t errstr_size)
{
    cgrp_t *g = calloc(1, sizeof(*g));
    if (!g) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    g->c = c;
    g->conf = client_conf(c);
    g->ops = *ops;
    g->opaque = opaque;
    g->coord_id = -1;
    g->coord_conn = -1;
    g->generation = -1;
    LIST_INIT(&g->reqs);
    TAILQ_INIT(&g->offops);
    struct event_base *base = client_base(c);
    g->group_id = strdup(g->conf->group_id ? g->conf->group_id : "");
    g->instance_id = g->conf->group_instance_id && *g->conf->group_instance_id
                         ? strdup(g->conf->group_instance_id)
                         : NULL;
    g->member_id = strdup("");
    g->owned = kc_topic_partition_list_new(0);
    g->poll_timer = evtimer_new(base, on_poll_timer, g);
    if (!g->group_id || !g->member_id || !g->owned || !g->poll_timer ||
        (g->conf->group_instance_id && *g->conf->group_instance_id && !g->instance_id)) {
        snprintf(errstr, errstr_size, "out of memory");
        cgrp_destroy(g);
        return NULL;
    }
    if (parse_assignors(g, errstr, errstr_size) != 0) {
        cgrp_destroy(g);
        return NULL;
    }
    return g;
}

static void event_free_maybe(struct event **ev)
{
    if (*ev) event_free(*ev);
    *ev = NULL;
}

void cgrp_destroy(cgrp_t *g)
{
    if (!g) return;
    cgrp_req_orphan_all(g);
    cgrp_offops_destroy(g);
    event_free_maybe(&g->coord_timer);
    event_free_maybe(&g->join_timer);
    event_free_maybe(&g->hb_timer);
    event_free_maybe(&g->md_timer);
    event_free_maybe(&g->poll_timer);
    cgrp_topics_clear(g);
    cgrp_watch_clear(g);
    cgrp_lead_free(g->lead);
    kc_topic_partition_list_destroy(g->owned);
    free(g->protocol_name);
    free(g->member_id);
    free(g->instance_id);
    free(g->group_id);
    free(g);
}

kc_err_t cgrp_subscribe(cgrp_t *g, const char *const *topics, int topic_cnt)
{
    char errstr[256];
    if (topic_cnt < 0 || (topic_cnt > 0 && !topics)) return KC_ERR__INVALID_ARG;
    if (!g->group_id[0]) {
        cgrp_error(g, KC_ERR__CONF, "subscribe needs group.id");
        return KC_ERR__CONF;
    }
    kc_err_t err = cgrp_topics_set(g, topics, topic_cnt, errstr, sizeof(errstr));
    if (err) {
        cgrp_error(g, err, "%s", errstr);
        return err;
    }
    if (topic_cnt == 0 && !g->active) return 0;
    if (g->fatal) return KC_ERR__FATAL;
    if (!g->active) {
        g->active = 1;
        g->last_poll_ms = cgrp_now_ms();
        int every = g->conf->max_poll_interval_ms / 4;
        cgrp_timer_add(g->poll_timer, every < 1000 ? (every < 10 ? 10 : every) : 1000);
        cgrp_md_timer_start(g);
    }
    g->leaving = 0;
    cgrp_rejoin(g, "subscription changed");
    return 0;
}

void cgrp_poll_seen(cgrp_t *g)
{
    g->last_poll_ms = cgrp_now_ms();
    if (!g->maxpoll_out) return;
    g->maxpoll_out = 0;
    log_info("group %s: polled again, rejoining", g->group_id);
    g->want_join = 1;
    cgrp_serve(g);
}

static void maxpoll_exceeded(cgrp_t *g)
{
    g->maxpoll_out = 1;
    cgrp_error(g, KC_ERR__MAX_POLL_EXCEEDED,
               "application did not poll within max.poll.interval.ms (%d ms): leaving the group",
               g->conf->max_poll_interval_ms);
    cgrp_send_leave(g, "max.poll.interval.ms exceeded");
    cgrp_lost(g, KC_ERR__MAX_POLL_EXCEEDED, 1);
}

static void on_poll_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cgrp_t *g = arg;
    int every = g->conf->max_poll_interval_ms / 4;
    cgrp_timer_add(g->poll_timer, every < 1000 ? (every < 10 ? 10 : every) : 1000);
    if (!g->active || g->leaving || g->maxpoll_out || g->fatal) return;
    if (g->state == CGRP_ST_INIT && !g->member_id[0]) return;
    if (cgrp_now_ms() - g->last_poll_ms > (uint64_t)g->conf->max_poll_interval_ms)
        maxpoll_exceeded(g);
}

void cgrp_revoke_done(cgrp_t *g)
{
    if (!g->revoke_wait) return;
    g->revoke_wait = 0;
    cgrp_serve(g);
}

const char *cgrp_rebalance_protocol(const cgrp_t *g)
{
    return g->protocol == ASSIGNOR_COOPERATIVE ? "COOPERATIVE" : "EAGER";
}

void cgrp_leave(cgrp_t *g, void (*done)(void *opaque), void *opaque)
{
    if (g->leaving) {
        /* A second leave replaces the first's callback only if that one
         * already fired (leave_done is cleared then). */
        if (!g->leave_done) {
            g->leave_done = done;
            g->leave_opaque = opaque;
        }
        return;
    }
    g->leaving = 1;
    g->leave_done = done;
    g->leave_opaque = opaque;
    g->want_join = 0;
    g->rejoin_after = 0;
    if (g->owned->cnt > 0) {
        cgrp_revoke(g, kc_topic_partition_list_copy(g->owned), 0);
        kc_topic_partition_list_destroy(g->owned);
        g->owned = kc_topic_partition_list_new(0);
    }
    cgrp_serve(g);
}

static void leave_finish(cgrp_t *g)
{
    if (g->member_id[0] || g->state != CGRP_ST_INIT) cgrp_send_leave(g, "the consumer is closing");
    cgrp_reset(g, 1);
    g->active = 0;
    if (g->md_timer) evtimer_del(g->md_timer);
    if (g->poll_timer) evtimer_del(g->poll_timer);
    void (*done)(void *) = g->leave_done;
    g->leave_done = NULL;
    if (done) done(g->leave_opaque);
}

int32_t cgrp_generation(const cgrp_t *g)
{
    return g->state == CGRP_ST_STEADY ? g->generation : -1;
}

const char *cgrp_member_id(const cgrp_t *g)
{
    return g->state == CGRP_ST_STEADY ? g->member_id : "";
}

static void serve_once(cgrp_t *g)
{
    if (g->fatal) {
        /* Fenced: nothing more to do but answer a leave. */
        if (g->leaving && !g->revoke_wait && g->leave_done) leave_finish(g);
        return;
    }
    /* Heartbeats go on while the application takes its time over a revoke,
     * or the session would end under it. */
    if (g->state == CGRP_ST_STEADY && g->revoke_wait) {
        if (g->coord_id < 0)
            cgrp_coord_find(g);
        else
            cgrp_hb_schedule(g);
    }
    if (g->revoke_wait) return;
    if (g->leaving) {
        if (g->leave_done || g->active) leave_finish(g);
        return;
    }
    if (!g->active || g->maxpoll_out) return;
    if (g->state == CGRP_ST_JOINING || g->state == CGRP_ST_ASSIGNING || g->state == CGRP_ST_SYNCING)
        return;
    if (g->coord_id < 0) {
        cgrp_coord_find(g);
        return;
    }
    if (g->want_join) {
        if (g->protocol == ASSIGNOR_EAGER && g->owned->cnt > 0) {
            /* Eager: everything goes back before the JoinGroup. */
            kc_topic_partition_list_t *all = g->owned;
            g->owned = kc_topic_partition_list_new(0);
            cgrp_revoke(g, all, 0);
            g->serve_again = 1; /* heartbeats while the revoke is answered */
            return;
        }
        if (g->join_timer && evtimer_pending(g->join_timer, NULL)) return;
        cgrp_join_start(g);
        return;
    }
    if (g->state == CGRP_ST_STEADY) cgrp_hb_schedule(g);
}

void cgrp_serve(cgrp_t *g)
{
    /* Callbacks into the consumer may call back in (cgrp_revoke_done from
     * inside ops->revoke): run again after, never nested. */
    if (g->serving) {
        g->serve_again = 1;
        return;
    }
    g->serving = 1;
    do {
        g->serve_again = 0;
        serve_once(g);
    } while (g->serve_again);
    g->serving = 0;
}
