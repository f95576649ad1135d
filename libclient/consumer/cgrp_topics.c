/* The subscription: topic names and "^pattern"s (POSIX extended), the
 * topics they match, and the metadata that decides both. Every
 * topic.metadata.refresh.interval.ms the member looks again: a pattern
 * matching a different set of topics, or a watched topic whose partition
 * count changed, means a rebalance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client_int.h"
#include "consumer/cgrp_int.h"
#include "util/log.h"

static void strv_free(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void cgrp_topics_clear(cgrp_t *g)
{
    for (int i = 0; g->re && i < g->nsub; i++)
        if (g->sub[i] && g->sub[i][0] == '^') regfree(&g->re[i]);
    free(g->re);
    g->re = NULL;
    strv_free(g->sub, g->nsub);
    g->sub = NULL;
    g->nsub = 0;
    g->has_regex = 0;
    strv_free(g->topics, g->ntopics);
    g->topics = NULL;
    g->ntopics = 0;
}

kc_err_t cgrp_topics_set(cgrp_t *g, const char *const *topics, int cnt, char *errstr,
                         size_t errstr_size)
{
    char **sub = calloc((size_t)cnt + 1, sizeof(*sub));
    regex_t *re = calloc((size_t)cnt + 1, sizeof(*re));
    int nre = 0, ok = sub && re;
    for (int i = 0; ok && i < cnt; i++) {
        sub[i] = strdup(topics[i] ? topics[i] : "");
        ok = sub[i] != NULL;
        if (!ok || sub[i][0] != '^') continue;
        int rc = regcomp(&re[i], sub[i], REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char why[128];
            regerror(rc, &re[i], why, sizeof(why));
            snprintf(errstr, errstr_size, "bad topic pattern %s: %s", sub[i], why);
            free(sub[i]);
            sub[i] = NULL;
            for (int j = 0; j < i; j++)
                if (sub[j][0] == '^') regfree(&re[j]);
            strv_free(sub, i);
            free(re);
            return KC_ERR__INVALID_ARG;
        }
        nre++;
    }
    if (!ok) {
        for (int j = 0; sub && re && j < cnt && sub[j]; j++)
            if (sub[j][0] == '^') regfree(&re[j]);
        strv_free(sub, cnt);
        free(re);
        snprintf(errstr, errstr_size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    cgrp_topics_clear(g);
    g->sub = sub;
    g->nsub = cnt;
    g->re = re;
    g->has_regex = nre > 0;
    return 0;
}

static int sub_matches(const cgrp_t *g, const cgrp_watch_t *t)
{
    for (int i = 0; i < g->nsub; i++) {
        if (g->sub[i][0] != '^') {
            if (!strcmp(g->sub[i], t->name)) return 1;
        } else if (!t->internal && regexec(&g->re[i], t->name, 0, NULL, 0) == 0) {
            /* Patterns never match internal topics (__consumer_offsets),
             * as exclude.internal.topics does. */
            return 1;
        }
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted, deduplicated topics the subscription means given md: every
 * plain name (existing or not: the assignor skips the missing ones) and
 * every topic of md a pattern matches. */
static char **topics_match(const cgrp_t *g, const cgrp_md_t *md, int *n)
{
    char **v = calloc((size_t)(g->nsub + (md ? md->cnt : 0)) + 1, sizeof(*v));
    int k = 0;
    for (int i = 0; v && i < g->nsub; i++)
        if (g->sub[i][0] != '^' && !(v[k++] = strdup(g->sub[i]))) goto fail;
    for (int i = 0; v && md && g->has_regex && i < md->cnt; i++) {
        if (md->topics[i].partitions < 0 || !sub_matches(g, &md->topics[i])) continue;
        if (!(v[k++] = strdup(md->topics[i].name))) goto fail;
    }
    if (!v) return NULL;
    qsort(v, (size_t)k, sizeof(*v), cmp_str);
    int w = 0;
    for (int i = 0; i < k; i++) {
        if (w > 0 && !strcmp(v[w - 1], v[i])) {
            free(v[i]);
            continue;
        }
        v[w++] = v[i];
    }
    *n = w;
    return v;
fail:
    strv_free(v, k);
    return NULL;
}

void cgrp_topics_for_join(cgrp_t *g, const cgrp_md_t *md)
{
    int n = 0;
    char **v = topics_match(g, md, &n);
    if (!v) return; /* out of memory: keep the previous set */
    strv_free(g->topics, g->ntopics);
    g->topics = v;
    g->ntopics = n;
    cgrp_watch_set(g, md, g->topics, g->ntopics);
}

void cgrp_watch_clear(cgrp_t *g)
{
    for (int i = 0; i < g->nwatch; i++)
        free(g->watch[i].name);
    free(g->watch);
    g->watch = NULL;
    g->nwatch = 0;
}

void cgrp_watch_set(cgrp_t *g, const cgrp_md_t *md, char **names, int n)
{
    cgrp_watch_t *w = calloc((size_t)n + 1, sizeof(*w));
    if (!w) return;
    for (int i = 0; i < n; i++) {
        w[i].name = strdup(names[i]);
        w[i].partitions = cgrp_md_partitions(md, names[i]);
        if (!w[i].name) {
            for (int j = 0; j < i; j++)
                free(w[j].name);
            free(w);
            return;
        }
    }
    cgrp_watch_clear(g);
    g->watch = w;
    g->nwatch = n;
}

int32_t cgrp_md_partitions(const cgrp_md_t *md, const char *name)
{
    for (int i = 0; md && i < md->cnt; i++)
        if (!strcmp(md->topics[i].name, name)) return md->topics[i].partitions;
    return -1;
}

void cgrp_md_free(cgrp_md_t *md)
{
    for (int i = 0; i < md->cnt; i++)
        free(md->topics[i].name);
    free(md->topics);
    md->topics = NULL;
    md->cnt = 0;
}

/* ---- Metadata requests ---- */

typedef struct md_ctx {
    void (*done)(cgrp_t *g, const cgrp_md_t *md, kc_err_t err);
    int member;
} md_ctx_t;

static kc_err_t md_build(const proto_metadata_response_t *b, cgrp_md_t *md)
{
    int n = b->topics.n > 0 ? b->topics.n : 0;
    md->topics = calloc((size_t)n + 1, sizeof(*md->topics));
    if (!md->topics) return KC_ERR__NO_MEMORY;
    for (int i = 0; i < n; i++) {
        const proto_metadata_response_topic_t *t = &b->topics.v[i];
        if (t->name.len < 0) continue;
        cgrp_watch_t *w = &md->topics[md->cnt];
        w->name = cgrp_strdup_slice(t->name);
        if (!w->name) return KC_ERR__NO_MEMORY;
        md->cnt++;
        w->internal = t->is_internal;
        w->partitions = -1;
        if (t->error_code == KC_ERR_UNKNOWN_TOPIC_OR_PARTITION ||
            t->error_code == KC_ERR_INVALID_TOPIC_EXCEPTION ||
            t->error_code == KC_ERR_TOPIC_AUTHORIZATION_FAILED)
            continue;
        int32_t np = 0;
        for (int32_t j = 0; j < t->partitions.n; j++)
            if (t->partitions.v[j].partition_index >= np)
                np = t->partitions.v[j].partition_index + 1;
        w->partitions = np;
    }
    return 0;
}

static void on_md(cgrp_t *g, cgrp_req_t *r, const net_resp_t *resp)
{
    md_ctx_t *ctx = r->ctx;
    if (resp->err == KC_ERR__DESTROY) return;
    if (ctx->member && r->epoch != g->epoch) return;
    if (!ctx->member) g->md_inflight = 0;
    const proto_metadata_response_t *b = resp->body;
    kc_err_t err = resp->err ? resp->err : (resp->version >= 13 ? (kc_err_t)b->error_code : 0);
    cgrp_md_t md = {0};
    if (!err) {
        for (int32_t i = 0; i < b->brokers.n; i++) {
            const proto_metadata_response_broker_t *br = &b->brokers.v[i];
            char *host = cgrp_strdup_slice(br->host);
            if (host && br->node_id >= 0)
                client_broker_upsert(g->c, br->node_id, host, br->port, NULL);
            free(host);
        }
        err = md_build(b, &md);
    }
    ctx->done(g, err ? NULL : &md, err);
    cgrp_md_free(&md);
}

kc_err_t cgrp_md_request(cgrp_t *g, char **names, int n, int all, int member,
                         void (*done)(cgrp_t *g, const cgrp_md_t *md, kc_err_t err))
{
    cgrp_req_t *r = cgrp_req_new(g, on_md, NULL);
    md_ctx_t *ctx = r ? cgrp_req_alloc(r, sizeof(*ctx)) : NULL;
    proto_metadata_request_topic_t *ts =
        r && !all ? cgrp_req_alloc(r, sizeof(*ts) * (size_t)(n > 0 ? n : 1)) : NULL;
    if (!ctx || (!all && !ts)) {
        if (r) cgrp_req_free(r);
        return KC_ERR__NO_MEMORY;
    }
    ctx->done = done;
    ctx->member = member;
    r->ctx = ctx;
    proto_metadata_request_t *q = &r->body.md;
    proto_msg_init(&proto_metadata_request_desc, q);
    q->allow_auto_topic_creation = false;
    if (all) {
        q->topics.v = NULL;
        q->topics.n = -1;
    } else {
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (names[i][0] == '^') continue;
            char *s = cgrp_req_alloc(r, strlen(names[i]));
            if (!s) {
                cgrp_req_free(r);
                return KC_ERR__NO_MEMORY;
            }
            proto_struct_init(&proto_metadata_request_topic_sdesc, &ts[k]);
            ts[k++].name = proto_str_of(strcpy(s, names[i]));
        }
        q->topics.v = ts;
        q->topics.n = k;
    }
    if (!member) g->md_inflight = 1;
    kc_err_t err =
        cgrp_req_send(r, -1, g->md_attempt++, PROTO_API_METADATA, g->conf->socket_timeout_ms);
    if (err && !member) g->md_inflight = 0;
    return err;
}

/* ---- the periodic look ---- */

static int same_topics(char **a, int na, char **b, int nb)
{
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i])) return 0;
    return 1;
}

static void on_refresh(cgrp_t *g, const cgrp_md_t *md, kc_err_t err)
{
    if (err || g->state != CGRP_ST_STEADY || g->want_join) return;
    if (g->has_regex) {
        int n = 0;
        char **now = topics_match(g, md, &n);
        int same = now ? same_topics(now, n, g->topics, g->ntopics) : 1;
        strv_free(now, n);
        if (!same) {
            cgrp_rejoin(g, "the subscribed patterns match other topics now");
            return;
        }
    }
    for (int i = 0; i < g->nwatch; i++) {
        int32_t np = cgrp_md_partitions(md, g->watch[i].name);
        if (np == g->watch[i].partitions) continue;
        log_info("group %s: topic %s has %d partition(s), had %d: rebalancing", g->group_id,
                 g->watch[i].name, (int)np, (int)g->watch[i].partitions);
        cgrp_rejoin(g, "partition count changed");
        return;
    }
}

static void on_md_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cgrp_t *g = arg;
    if (!g->active || g->state != CGRP_ST_STEADY || g->md_inflight) return;
    char **names = calloc((size_t)g->nwatch + 1, sizeof(*names));
    if (!names) return;
    for (int i = 0; i < g->nwatch; i++)
        names[i] = g->watch[i].name;
    cgrp_md_request(g, names, g->nwatch, g->has_regex, 0, on_refresh);
    free(names);
}

void cgrp_md_timer_start(cgrp_t *g)
{
    int every = g->conf->topic_metadata_refresh_interval_ms;
    if (every <= 0) return;
    if (!g->md_timer) g->md_timer = event_new(client_base(g->c), -1, EV_PERSIST, on_md_timer, g);
    if (!g->md_timer) return;
    struct timeval tv = {(time_t)(every / 1000), (suseconds_t)(every % 1000) * 1000};
    event_add(g->md_timer, &tv);
}
