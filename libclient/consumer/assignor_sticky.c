/* cooperative-sticky (Java's CooperativeStickyAssignor): a balanced
 * assignment that keeps each member's owned partitions where balance
 * allows, then the cooperative rule.
 *
 * Balanced means no partition could move to a member with at least two
 * fewer partitions that subscribes to its topic (the condition Java's
 * general sticky assignor stops at). Members with equal subscriptions then
 * differ by at most one.
 *
 * 1. Claims: each member's owned partitions that still exist and that it
 *    still subscribes to. A partition claimed by several members goes to the
 *    claim of the highest generation; a tie there is a conflict and nobody
 *    keeps it (as Java's general path does; Java's equal-subscriptions path
 *    further drops everything of members below the highest generation).
 * 2. Every member keeps its claims.
 * 3. Unclaimed partitions go, topic by topic from the topics with the
 *    fewest subscribers, to the subscriber with the fewest partitions.
 * 4. Balancing: one partition at a time, the member with the fewest
 *    partitions (that can still take one) takes one from the fullest member
 *    holding one it subscribes to, while that member has at least two more;
 *    passes repeat until one moves nothing. Each move lowers the sum of
 *    squared counts, so this ends. A donor gives a partition it did not own
 *    before this run if it can (moving it costs no stickiness). With equal
 *    subscriptions no member both gives and takes, and the members that
 *    owned the most keep the places above the average: the fewest possible
 *    owned partitions move (the tests check this over random histories).
 * 5. Cooperative rule: a partition given to a member that did not list it
 *    as owned, while another member listed it and does not get it, is
 *    withheld this round: the other member must revoke it first, and the
 *    rebalance that follows the revocation gives it out.
 *
 * Members and counts sit in buckets by partition count (doubly linked,
 * constant-time moves), so finding the fullest donor is cheap.
 */
#include <stdlib.h>
#include <string.h>

#include "consumer/assignor_int.h"

typedef struct sticky {
    asg_ctx_t *c;
    int *prev;          /* pcnt: claim kept from step 1, -1 none */
    int *cnt;           /* mcnt: partitions held */
    int **held;         /* mcnt: the held partitions, cnt[m] of them */
    int *held_cap;      /* mcnt */
    int *held_pos;      /* pcnt: index of g in held[owner[g]] */
    int *bnext, *bprev; /* mcnt: bucket links */
    int *bhead, *btail; /* pcnt+1: bucket ends by count */
    int minc, maxc;     /* the lowest and highest non-empty buckets */
} sticky_t;

static void bucket_unlink(sticky_t *s, int m)
{
    int c = s->cnt[m];
    if (s->bprev[m] >= 0)
        s->bnext[s->bprev[m]] = s->bnext[m];
    else
        s->bhead[c] = s->bnext[m];
    if (s->bnext[m] >= 0)
        s->bprev[s->bnext[m]] = s->bprev[m];
    else
        s->btail[c] = s->bprev[m];
}

static void bucket_link(sticky_t *s, int m)
{
    int c = s->cnt[m];
    s->bnext[m] = -1;
    s->bprev[m] = s->btail[c];
    if (s->btail[c] >= 0)
        s->bnext[s->btail[c]] = m;
    else
        s->bhead[c] = m;
    s->btail[c] = m;
    if (c > s->maxc) s->maxc = c;
}

static void count_add(sticky_t *s, int m, int delta)
{
    bucket_unlink(s, m);
    s->cnt[m] += delta;
    bucket_link(s, m);
    while (s->maxc > 0 && s->bhead[s->maxc] < 0)
        s->maxc--;
    if (s->cnt[m] < s->minc) s->minc = s->cnt[m];
    while (s->minc < s->maxc && s->bhead[s->minc] < 0)
        s->minc++;
}

static int give(sticky_t *s, int g, int m)
{
    if (s->cnt[m] == s->held_cap[m]) {
        int cap = s->held_cap[m] ? s->held_cap[m] * 2 : 8;
        int *h = realloc(s->held[m], sizeof(int) * (size_t)cap);
        if (!h) return -1;
        s->held[m] = h;
        s->held_cap[m] = cap;
    }
    s->held[m][s->cnt[m]] = g;
    s->held_pos[g] = s->cnt[m];
    s->c->owner[g] = m;
    count_add(s, m, 1);
    return 0;
}

static void take(sticky_t *s, int g)
{
    int m = s->c->owner[g], i = s->held_pos[g];
    int last = s->held[m][s->cnt[m] - 1];
    s->held[m][i] = last;
    s->held_pos[last] = i;
    s->c->owner[g] = -1;
    count_add(s, m, -1);
}

/* Step 1. */
static int resolve_claims(sticky_t *s)
{
    asg_ctx_t *c = s->c;
    int32_t *best = malloc(sizeof(int32_t) * (size_t)(c->pcnt ? c->pcnt : 1));
    char *conflict = calloc((size_t)(c->pcnt ? c->pcnt : 1), 1);
    if (!best || !conflict) {
        free(best);
        free(conflict);
        return -1;
    }
    for (int g = 0; g < c->pcnt; g++)
        s->prev[g] = -1;
    for (int m = 0; m < c->mcnt; m++) {
        const kc_topic_partition_list_t *owned = c->members[m].owned;
        int32_t gen = c->members[m].generation;
        for (int i = 0; owned && i < owned->cnt; i++) {
            int g = asg_partition_find(c, owned->elems[i].topic, owned->elems[i].partition);
            if (g < 0 || !asg_subscribed(c, m, c->ptopic[g])) continue;
            if (s->prev[g] < 0 || gen > best[g]) {
                s->prev[g] = m;
                best[g] = gen;
                conflict[g] = 0;
            } else if (gen == best[g] && s->prev[g] != m) {
                conflict[g] = 1;
            }
        }
    }
    for (int g = 0; g < c->pcnt; g++)
        if (conflict[g]) s->prev[g] = -1;
    free(best);
    free(conflict);
    return 0;
}

static _Thread_local const asg_ctx_t *sort_ctx;

/* Topics with fewer subscribers first: they have fewer places to go. */
static int cmp_topic_choice(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    int na = sort_ctx->elig_off[a + 1] - sort_ctx->elig_off[a];
    int nb = sort_ctx->elig_off[b + 1] - sort_ctx->elig_off[b];
    if (na != nb) return na < nb ? -1 : 1;
    return (a > b) - (a < b);
}

/* Step 3. */
static int place_unclaimed(sticky_t *s)
{
    asg_ctx_t *c = s->c;
    int *tord = malloc(sizeof(int) * (size_t)(c->tcnt ? c->tcnt : 1));
    if (!tord) return -1;
    for (int t = 0; t < c->tcnt; t++)
        tord[t] = t;
    sort_ctx = c;
    qsort(tord, (size_t)c->tcnt, sizeof(int), cmp_topic_choice);
    for (int k = 0; k < c->tcnt; k++) {
        int t = tord[k];
        const int *subs = &c->elig[c->elig_off[t]];
        int n = c->elig_off[t + 1] - c->elig_off[t];
        if (!n) continue;
        for (int g = c->topics[t].base; g < c->topics[t].base + c->topics[t].npart; g++) {
            if (c->owner[g] >= 0) continue;
            int m = subs[0];
            for (int i = 1; i < n; i++)
                if (s->cnt[subs[i]] < s->cnt[m]) m = subs[i];
            if (give(s, g, m)) {
                free(tord);
                return -1;
            }
        }
    }
    free(tord);
    return 0;
}

/* The partition donor a would give to b: one b subscribes to, preferably
 * one a did not own before this run; the highest index breaks ties. */
static int pick(const sticky_t *s, int a, int b)
{
    int best = -1, best_owned = 1;
    for (int i = 0; i < s->cnt[a]; i++) {
        int g = s->held[a][i];
        int owned = s->prev[g] == a;
        if (best >= 0 && (owned > best_owned || (owned == best_owned && g < best))) continue;
        if (!asg_subscribed(s->c, b, s->c->ptopic[g])) continue;
        best = g;
        best_owned = owned;
    }
    return best;
}

/* A partition b should take now, -1 if none. */
static int find_donation(const sticky_t *s, int b)
{
    for (int cnt = s->maxc; cnt >= s->cnt[b] + 2; cnt--)
        for (int a = s->bhead[cnt]; a >= 0; a = s->bnext[a]) {
            int g = pick(s, a, b);
            if (g >= 0) return g;
        }
    return -1;
}

/* The member with the fewest partitions not yet found unable to take one
 * this pass, -1 if none. */
static int next_taker(const sticky_t *s, const char *done)
{
    for (int cnt = s->minc; cnt <= s->maxc; cnt++)
        for (int m = s->bhead[cnt]; m >= 0; m = s->bnext[m])
            if (!done[m]) return m;
    return -1;
}

/* Step 4. One partition at a time to the member with the fewest: a member
 * that took its fill first would otherwise take from other donors what a
 * later taker then takes from it, costing a donor a partition it owned. */
static int balance(sticky_t *s)
{
    asg_ctx_t *c = s->c;
    char *done = malloc((size_t)(c->mcnt ? c->mcnt : 1));
    if (!done) return -1;
    for (int moved = 1; moved;) {
        moved = 0;
        for (int m = 0; m < c->mcnt; m++)
            done[m] = c->sub_off[m + 1] == c->sub_off[m];
        for (int b; (b = next_taker(s, done)) >= 0;) {
            /* Takers come fewest first: when the fullest is within one of
             * this one, nobody left can take. */
            if (s->maxc < s->cnt[b] + 2) break;
            int g = find_donation(s, b);
            if (g < 0) {
                done[b] = 1;
                continue;
            }
            int a = c->owner[g];
            take(s, g);
            if (give(s, g, b)) {
                free(done);
                return -1;
            }
            /* With one fewer, the donor may be able to take again. */
            done[a] = c->sub_off[a + 1] == c->sub_off[a];
            moved = 1;
        }
    }
    free(done);
    return 0;
}

/* Step 5. */
static int cooperative_withhold(sticky_t *s)
{
    asg_ctx_t *c = s->c;
    /* Bit 1: some member listed it and does not get it; bit 2: its new
     * owner listed it. */
    char *mark = calloc((size_t)(c->pcnt ? c->pcnt : 1), 1);
    if (!mark) return -1;
    for (int m = 0; m < c->mcnt; m++) {
        const kc_topic_partition_list_t *owned = c->members[m].owned;
        for (int i = 0; owned && i < owned->cnt; i++) {
            int g = asg_partition_find(c, owned->elems[i].topic, owned->elems[i].partition);
            if (g < 0) continue;
            mark[g] |= c->owner[g] == m ? 2 : 1;
        }
    }
    for (int g = 0; g < c->pcnt; g++)
        if (c->owner[g] >= 0 && mark[g] == 1) c->owner[g] = -1;
    free(mark);
    return 0;
}

static void sticky_free(sticky_t *s)
{
    for (int m = 0; s->held && m < s->c->mcnt; m++)
        free(s->held[m]);
    free(s->held);
    free(s->held_cap);
    free(s->held_pos);
    free(s->prev);
    free(s->cnt);
    free(s->bnext);
    free(s->bprev);
    free(s->bhead);
    free(s->btail);
}

static int sticky_init(sticky_t *s, asg_ctx_t *c)
{
    memset(s, 0, sizeof(*s));
    s->c = c;
    size_t mn = (size_t)(c->mcnt ? c->mcnt : 1), pn = (size_t)c->pcnt + 1;
    s->prev = malloc(sizeof(int) * pn);
    s->held_pos = malloc(sizeof(int) * pn);
    s->cnt = calloc(mn, sizeof(int));
    s->held = calloc(mn, sizeof(int *));
    s->held_cap = calloc(mn, sizeof(int));
    s->bnext = malloc(sizeof(int) * mn);
    s->bprev = malloc(sizeof(int) * mn);
    s->bhead = malloc(sizeof(int) * pn);
    s->btail = malloc(sizeof(int) * pn);
    if (!s->prev || !s->held_pos || !s->cnt || !s->held || !s->held_cap || !s->bnext || !s->bprev ||
        !s->bhead || !s->btail)
        return -1;
    for (size_t i = 0; i < pn; i++)
        s->bhead[i] = s->btail[i] = -1;
    for (int k = 0; k < c->mcnt; k++)
        bucket_link(s, c->order[k]);
    return 0;
}

kc_err_t asg_sticky(asg_ctx_t *c, int cooperative, char *errstr, size_t errstr_size)
{
    sticky_t s;
    int fail = sticky_init(&s, c) || resolve_claims(&s);
    for (int g = 0; !fail && g < c->pcnt; g++)
        if (s.prev[g] >= 0 && give(&s, g, s.prev[g])) fail = 1;
    fail = fail || place_unclaimed(&s) || balance(&s) || (cooperative && cooperative_withhold(&s));
    sticky_free(&s);
    if (fail) return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY, "assignor: out of memory");
    return 0;
}
