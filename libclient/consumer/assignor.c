/* The assignor table, and the input indexing and output building the three
 * algorithms share (assignor_int.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "consumer/assignor_int.h"
#include "util/hmap.h"

/* Far above any real cluster, low enough that every index fits an int. */
#define ASG_MAX_PARTITIONS (1 << 26)

static kc_err_t run_with(kc_err_t (*algo)(asg_ctx_t *, int, char *, size_t), int arg,
                         assignor_member_t *members, int member_cnt, const assignor_topic_t *topics,
                         int topic_cnt, char *errstr, size_t errstr_size)
{
    asg_ctx_t c;
    kc_err_t err = asg_ctx_init(&c, members, member_cnt, topics, topic_cnt, errstr, errstr_size);
    if (err) return err;
    err = algo(&c, arg, errstr, errstr_size);
    if (!err) err = asg_ctx_output(&c, errstr, errstr_size);
    asg_ctx_free(&c);
    return err;
}

static kc_err_t range_algo(asg_ctx_t *c, int arg, char *errstr, size_t errstr_size)
{
    (void)arg;
    return asg_range(c, errstr, errstr_size);
}

static kc_err_t roundrobin_algo(asg_ctx_t *c, int arg, char *errstr, size_t errstr_size)
{
    (void)arg;
    return asg_roundrobin(c, errstr, errstr_size);
}

static kc_err_t sticky_algo(asg_ctx_t *c, int cooperative, char *errstr, size_t errstr_size)
{
    return asg_sticky(c, cooperative, errstr, errstr_size);
}

static kc_err_t range_run(assignor_member_t *members, int member_cnt,
                          const assignor_topic_t *topics, int topic_cnt, char *errstr,
                          size_t errstr_size)
{
    return run_with(range_algo, 0, members, member_cnt, topics, topic_cnt, errstr, errstr_size);
}

static kc_err_t roundrobin_run(assignor_member_t *members, int member_cnt,
                               const assignor_topic_t *topics, int topic_cnt, char *errstr,
                               size_t errstr_size)
{
    return run_with(roundrobin_algo, 0, members, member_cnt, topics, topic_cnt, errstr,
                    errstr_size);
}

static kc_err_t coop_sticky_run(assignor_member_t *members, int member_cnt,
                                const assignor_topic_t *topics, int topic_cnt, char *errstr,
                                size_t errstr_size)
{
    return run_with(sticky_algo, 1, members, member_cnt, topics, topic_cnt, errstr, errstr_size);
}

static const assignor_t assignors[] = {
    {"range", ASSIGNOR_EAGER, range_run},
    {"roundrobin", ASSIGNOR_EAGER, roundrobin_run},
    {"cooperative-sticky", ASSIGNOR_COOPERATIVE, coop_sticky_run},
};

const assignor_t *assignor_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof(assignors) / sizeof(assignors[0]); i++)
        if (!strcasecmp(assignors[i].name, name)) return &assignors[i];
    return NULL;
}

void assignor_member_clear(assignor_member_t *m)
{
    if (!m) return;
    for (int i = 0; i < m->topic_cnt; i++)
        free(m->topics[i]);
    free(m->topics);
    m->topics = NULL;
    m->topic_cnt = 0;
    free((char *)m->rack);
    m->rack = NULL;
    kc_topic_partition_list_destroy(m->owned);
    m->owned = NULL;
    kc_topic_partition_list_destroy(m->assigned);
    m->assigned = NULL;
    m->generation = -1;
}

/* ---- Input indexing ------------------------------------------------------ */

/* qsort takes no context argument: what the comparators look at, set just
 * before each sort; thread-local so runs on different threads do not mix. */
static _Thread_local const assignor_member_t *sort_members;
static _Thread_local const assignor_topic_t *sort_topics;

/* Java's MemberInfo.compareTo, then input position so the sort is total.
 * strcmp orders UTF-8 by code point, as Java's String.compareTo does for
 * every character outside the surrogate range. */
static int cmp_member(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    const assignor_member_t *ma = &sort_members[a], *mb = &sort_members[b];
    int r;
    if (ma->group_instance_id && mb->group_instance_id)
        r = strcmp(ma->group_instance_id, mb->group_instance_id);
    else if (ma->group_instance_id)
        r = -1;
    else if (mb->group_instance_id)
        r = 1;
    else
        r = strcmp(ma->member_id, mb->member_id);
    return r ? r : (a > b) - (a < b);
}

static int cmp_topic(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    int r = strcmp(sort_topics[a].name, sort_topics[b].name);
    return r ? r : (a > b) - (a < b);
}

static int cmp_int(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    return (a > b) - (a < b);
}

void asg_ctx_free(asg_ctx_t *c)
{
    free(c->order);
    free(c->rank);
    free(c->topics);
    free(c->ptopic);
    free(c->sub_off);
    free(c->subs);
    free(c->elig_off);
    free(c->elig);
    free(c->owner);
    util_hmap_destroy(&c->by_name);
    memset(c, 0, sizeof(*c));
}

/* Sorted, de-duplicated known topics with at least one partition. */
static kc_err_t index_topics(asg_ctx_t *c, const assignor_topic_t *topics, int topic_cnt,
                             char *errstr, size_t errstr_size)
{
    int *idx = malloc(sizeof(int) * (size_t)(topic_cnt ? topic_cnt : 1));
    c->topics = malloc(sizeof(*c->topics) * (size_t)(topic_cnt ? topic_cnt : 1));
    if (!idx || !c->topics) {
        free(idx);
        return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "assignor: out of memory");
    }
    int n = 0;
    for (int i = 0; i < topic_cnt; i++)
        if (topics[i].name && topics[i].partition_cnt > 0) idx[n++] = i;
    sort_topics = topics;
    qsort(idx, (size_t)n, sizeof(int), cmp_topic);
    long long total = 0;
    for (int i = 0; i < n; i++) {
        const assignor_topic_t *t = &topics[idx[i]];
        if (c->tcnt && !strcmp(c->topics[c->tcnt - 1].name, t->name)) continue;
        if (total + t->partition_cnt > ASG_MAX_PARTITIONS) {
            free(idx);
            return proto_errf(errstr, errstr_size, KC_ERR__INVALID_ARG,
                              "assignor: more than %d partitions", ASG_MAX_PARTITIONS);
        }
        /* The value is index + 1: NULL means absent. */
        if (util_hmap_puts(&c->by_name, t->name, (void *)(intptr_t)(c->tcnt + 1))) {
            free(idx);
            return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "assignor: out of memory");
        }
        c->topics[c->tcnt++] = (asg_topic_t){t->name, t->partition_cnt, (int)total};
        total += t->partition_cnt;
    }
    free(idx);
    c->pcnt = (int)total;
    c->ptopic = malloc(sizeof(int) * (size_t)(c->pcnt ? c->pcnt : 1));
    c->owner = malloc(sizeof(int) * (size_t)(c->pcnt ? c->pcnt : 1));
    if (!c->ptopic || !c->owner)
        return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "assignor: out of memory");
    for (int t = 0; t < c->tcnt; t++)
        for (int32_t p = 0; p < c->topics[t].npart; p++)
            c->ptopic[c->topics[t].base + p] = t;
    for (int g = 0; g < c->pcnt; g++)
        c->owner[g] = -1;
    return 0;
}

/* Each member's known subscribed topics (sorted, no duplicates), and each
 * topic's subscribers in member order. */
static kc_err_t index_subscriptions(asg_ctx_t *c, char *errstr, size_t errstr_size)
{
    size_t total = 0;
    for (int m = 0; m < c->mcnt; m++)
        total += (size_t)(c->members[m].topic_cnt > 0 ? c->members[m].topic_cnt : 0);
    c->sub_off = calloc((size_t)c->mcnt + 1, sizeof(int));
    c->subs = malloc(sizeof(int) * (total ? total : 1));
    c->elig_off = calloc((size_t)c->tcnt + 1, sizeof(int));
    if (!c->sub_off || !c->subs || !c->elig_off)
        return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "assignor: out of memory");
    /* seen[t] == m + 1: member m already listed topic t. */
    int *seen = calloc((size_t)(c->tcnt ? c->tcnt : 1), sizeof(int));
    if (!seen) return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "assignor: out of memory");
    int n = 0;
    for (int m = 0; m < c->mcnt; m++) {
        const assignor_member_t *mem = &c->members[m];
        int start = n;
        for (int i = 0; i < mem->topic_cnt; i++) {
            int t = mem->topics ? asg_topic_find(c, mem->topics[i]) : -1;
            if (t < 0 || seen[t] == m + 1) continue;
            seen[t] = m + 1;
            c->subs[n++] = t;
        }
        /* Sorting a subscription to most of the topics costs more than
         * reading them off in order. */
        if ((size_t)(n - start) * 16 >= (size_t)c->tcnt) {
            n = start;
            for (int t = 0; t < c->tcnt; t++)
                if (seen[t] == m + 1) c->subs[n++] = t;
        } else {
            qsort(c->subs + start, (size_t)(n - start), sizeof(int), cmp_int);
        }
        c->sub_off[m + 1] = n;
        for (int i = start; i < n; i++)
            c->elig_off[c->subs[i] + 1]++;
    }
    free(seen);
    for (int t = 0; t < c->tcnt; t++)
        c->elig_off[t + 1] += c->elig_off[t];
    c->elig = malloc(sizeof(int) * (size_t)(n ? n : 1));
    int *fill = malloc(sizeof(int) * (size_t)(c->tcnt ? c->tcnt : 1));
    if (!c->elig || !fill) {
        free(fill);
        return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "assignor: out of memory");
    }
    memcpy(fill, c->elig_off, sizeof(int) * (size_t)c->tcnt);
    for (int k = 0; k < c->mcnt; k++) {
        int m = c->order[k];
        for (int i = c->sub_off[m]; i < c->sub_off[m + 1]; i++)
            c->elig[fill[c->subs[i]]++] = m;
    }
    free(fill);
    return 0;
}

kc_err_t asg_ctx_init(asg_ctx_t *c, assignor_member_t *members, int member_cnt,
                      const assignor_topic_t *topics, int topic_cnt, char *errstr,
                      size_t errstr_size)
{
    memset(c, 0, sizeof(*c));
    if (member_cnt < 0 || topic_cnt < 0 || (member_cnt && !members) || (topic_cnt && !topics))
        return proto_errf(errstr, errstr_size, KC_ERR__INVALID_ARG,
                          "assignor: invalid member or topic array");
    for (int m = 0; m < member_cnt; m++) {
        if (!members[m].member_id || members[m].topic_cnt < 0)
            return proto_errf(errstr, errstr_size, KC_ERR__INVALID_ARG,
                              "assignor: member %d has no member id or a negative topic count", m);
        kc_topic_partition_list_destroy(members[m].assigned);
        members[m].assigned = NULL;
    }
    c->members = members;
    c->mcnt = member_cnt;
    c->order = malloc(sizeof(int) * (size_t)(member_cnt ? member_cnt : 1));
    c->rank = malloc(sizeof(int) * (size_t)(member_cnt ? member_cnt : 1));
    kc_err_t err = 0;
    if (!c->order || !c->rank) {
        err = proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "assignor: out of memory");
        goto fail;
    }
    for (int m = 0; m < member_cnt; m++)
        c->order[m] = m;
    sort_members = members;
    qsort(c->order, (size_t)member_cnt, sizeof(int), cmp_member);
    for (int k = 0; k < member_cnt; k++)
        c->rank[c->order[k]] = k;
    if ((err = index_topics(c, topics, topic_cnt, errstr, errstr_size))) goto fail;
    if ((err = index_subscriptions(c, errstr, errstr_size))) goto fail;
    return 0;
fail:
    asg_ctx_free(c);
    return err;
}

int asg_topic_find(const asg_ctx_t *c, const char *name)
{
    if (!name) return -1;
    return (int)(intptr_t)util_hmap_gets(&c->by_name, name) - 1;
}

int asg_subscribed(const asg_ctx_t *c, int m, int t)
{
    int lo = c->sub_off[m], hi = c->sub_off[m + 1] - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (c->subs[mid] == t) return 1;
        if (c->subs[mid] < t)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

int asg_partition_find(const asg_ctx_t *c, const char *topic, int32_t partition)
{
    int t = asg_topic_find(c, topic);
    if (t < 0 || partition < 0 || partition >= c->topics[t].npart) return -1;
    return c->topics[t].base + partition;
}

/* ---- Output -------------------------------------------------------------- */

kc_err_t asg_ctx_output(asg_ctx_t *c, char *errstr, size_t errstr_size)
{
    int *cnt = calloc((size_t)(c->mcnt ? c->mcnt : 1), sizeof(int));
    if (!cnt) return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "assignor: out of memory");
    for (int g = 0; g < c->pcnt; g++)
        if (c->owner[g] >= 0) cnt[c->owner[g]]++;
    int m;
    for (m = 0; m < c->mcnt; m++)
        if (!(c->members[m].assigned = kc_topic_partition_list_new(cnt[m]))) goto oom;
    for (int g = 0; g < c->pcnt; g++) {
        if (c->owner[g] < 0) continue;
        const asg_topic_t *t = &c->topics[c->ptopic[g]];
        if (!kc_topic_partition_list_add(c->members[c->owner[g]].assigned, t->name, g - t->base))
            goto oom;
    }
    free(cnt);
    return 0;
oom:
    free(cnt);
    for (m = 0; m < c->mcnt; m++) {
        kc_topic_partition_list_destroy(c->members[m].assigned);
        c->members[m].assigned = NULL;
    }
    return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "assignor: out of memory");
}
