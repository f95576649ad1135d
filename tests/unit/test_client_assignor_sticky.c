/* cooperative-sticky: balance and stickiness over many random groups
 * (deterministic seeds), the minimum movement when members join or leave,
 * generations resolving conflicting claims, and the cooperative rule
 * checked exactly against the sticky assignment it is applied to. The
 * sticky assignment alone (before the cooperative rule) comes from the
 * internal entry point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "consumer/assignor_int.h"
#include "test_client_assignor_util.h"

/* ---- Running ------------------------------------------------------------- */

static void run_sticky(assignor_member_t *m, int n, const assignor_topic_t *t, int tn,
                       int cooperative)
{
    char errstr[256] = "";
    kc_err_t err;
    if (cooperative) {
        err = assignor_find("cooperative-sticky")->run(m, n, t, tn, errstr, sizeof(errstr));
    } else {
        asg_ctx_t c;
        err = asg_ctx_init(&c, m, n, t, tn, errstr, sizeof(errstr));
        if (!err) {
            err = asg_sticky(&c, 0, errstr, sizeof(errstr));
            if (!err) err = asg_ctx_output(&c, errstr, sizeof(errstr));
            asg_ctx_free(&c);
        }
    }
    if (err) fail_msg("sticky: %d %s", err, errstr);
}

static void expect(const assignor_member_t *m, const char *want)
{
    char s[4096];
    if (strcmp(tm_str(m->assigned, s, sizeof(s)), want))
        fail_msg("%s: got [%s], want [%s]", m->member_id, s, want);
}

static void clear_all(assignor_member_t *m, int n)
{
    for (int i = 0; i < n; i++)
        assignor_member_clear(&m[i]);
}

/* Makes each member's owned list its last assignment, with generation gen. */
static void own_assigned(assignor_member_t *m, int n, int32_t gen)
{
    for (int i = 0; i < n; i++) {
        kc_topic_partition_list_destroy(m[i].owned);
        m[i].owned = m[i].assigned;
        m[i].assigned = NULL;
        m[i].generation = gen;
    }
}

/* ---- Checking ------------------------------------------------------------ */

typedef struct view {
    const assignor_topic_t *topics;
    int tn;
    int *base, total;
    int *owner; /* global partition -> member, -1 */
    int *cnt;
} view_t;

static int topic_idx(const view_t *v, const char *name)
{
    for (int t = 0; t < v->tn; t++)
        if (!strcmp(v->topics[t].name, name)) return t;
    return -1;
}

static int subscribes(const assignor_member_t *m, const char *topic)
{
    for (int i = 0; i < m->topic_cnt; i++)
        if (!strcmp(m->topics[i], topic)) return 1;
    return 0;
}

/* Indexes the result; fails the test on any partition given twice, to a
 * non-subscriber, or unknown. complete: every subscribed partition given. */
static void view_build(view_t *v, const assignor_member_t *m, int n, const assignor_topic_t *t,
                       int tn, int complete)
{
    v->topics = t;
    v->tn = tn;
    v->base = calloc((size_t)tn + 1, sizeof(int));
    for (int i = 0; i < tn; i++)
        v->base[i + 1] = v->base[i] + t[i].partition_cnt;
    v->total = v->base[tn];
    v->owner = malloc(sizeof(int) * (size_t)(v->total + 1));
    v->cnt = calloc((size_t)n + 1, sizeof(int));
    for (int g = 0; g < v->total; g++)
        v->owner[g] = -1;
    for (int i = 0; i < n; i++) {
        const kc_topic_partition_list_t *l = m[i].assigned;
        assert_non_null(l);
        for (int k = 0; k < l->cnt; k++) {
            int ti = topic_idx(v, l->elems[k].topic);
            assert_true(ti >= 0);
            assert_true(l->elems[k].partition >= 0 && l->elems[k].partition < t[ti].partition_cnt);
            int g = v->base[ti] + l->elems[k].partition;
            if (v->owner[g] >= 0)
                fail_msg("%s p%d given to %s and %s", t[ti].name, l->elems[k].partition,
                         m[v->owner[g]].member_id, m[i].member_id);
            if (!subscribes(&m[i], t[ti].name))
                fail_msg("%s p%d given to non-subscriber %s", t[ti].name, l->elems[k].partition,
                         m[i].member_id);
            v->owner[g] = i;
            v->cnt[i]++;
        }
    }
    if (!complete) return;
    for (int ti = 0; ti < tn; ti++) {
        int subscribed = 0;
        for (int i = 0; i < n; i++)
            subscribed |= subscribes(&m[i], t[ti].name);
        for (int p = 0; subscribed && p < t[ti].partition_cnt; p++)
            if (v->owner[v->base[ti] + p] < 0) fail_msg("%s p%d not given", t[ti].name, p);
    }
}

static void view_free(view_t *v)
{
    free(v->base);
    free(v->owner);
    free(v->cnt);
}

/* No partition could move to a member with two fewer that subscribes to it. */
static void check_balanced(const view_t *v, const assignor_member_t *m, int n)
{
    for (int b = 0; b < n; b++)
        for (int ti = 0; ti < v->tn; ti++) {
            if (!subscribes(&m[b], v->topics[ti].name)) continue;
            for (int p = 0; p < v->topics[ti].partition_cnt; p++) {
                int a = v->owner[v->base[ti] + p];
                if (a >= 0 && v->cnt[a] >= v->cnt[b] + 2)
                    fail_msg("unbalanced: %s has %d, %s has %d and could take %s p%d",
                             m[a].member_id, v->cnt[a], m[b].member_id, v->cnt[b],
                             v->topics[ti].name, p);
            }
        }
}

static int in_list(const kc_topic_partition_list_t *l, const char *topic, int32_t p)
{
    return l && kc_topic_partition_list_find(l, topic, p) != NULL;
}

/* The cooperative result must be the sticky one minus exactly the
 * partitions that move to a member that did not own them while another
 * member owned them (and so must revoke them first). */
static void check_cooperative_rule(const assignor_member_t *eager, const assignor_member_t *coop,
                                   int n)
{
    for (int x = 0; x < n; x++) {
        const kc_topic_partition_list_t *e = eager[x].assigned;
        for (int k = 0; k < e->cnt; k++) {
            const char *topic = e->elems[k].topic;
            int32_t p = e->elems[k].partition;
            int withhold = 0;
            if (!in_list(coop[x].owned, topic, p))
                for (int y = 0; y < n; y++)
                    if (y != x && in_list(coop[y].owned, topic, p)) withhold = 1;
            if (in_list(coop[x].assigned, topic, p) == withhold)
                fail_msg("%s p%d for %s: %s", topic, p, coop[x].member_id,
                         withhold ? "given though another member must revoke it first"
                                  : "withheld though no other member owns it");
        }
        for (int k = 0; k < coop[x].assigned->cnt; k++)
            assert_true(
                in_list(e, coop[x].assigned->elems[k].topic, coop[x].assigned->elems[k].partition));
    }
}

/* Copies the inputs of a (subscriptions, owned, generation), not the output. */
static void copy_members(assignor_member_t *dst, const assignor_member_t *src, int n)
{
    for (int i = 0; i < n; i++) {
        memset(&dst[i], 0, sizeof(dst[i]));
        dst[i].member_id = src[i].member_id;
        dst[i].generation = src[i].generation;
        dst[i].topic_cnt = src[i].topic_cnt;
        dst[i].topics = calloc((size_t)src[i].topic_cnt + 1, sizeof(char *));
        for (int k = 0; k < src[i].topic_cnt; k++)
            dst[i].topics[k] = strdup(src[i].topics[k]);
        dst[i].owned = src[i].owned ? kc_topic_partition_list_copy(src[i].owned) : NULL;
    }
}

/* ---- Fixed scenarios ----------------------------------------------------- */

static const assignor_topic_t t10[] = {{"t", 10}};

/* Three members over 10 partitions, then a fourth joins. */
static void test_member_joins_moves_minimum(void **state)
{
    assignor_member_t m[4];
    tm_init(&m[0], "a", "t");
    tm_init(&m[1], "b", "t");
    tm_init(&m[2], "c", "t");
    run_sticky(m, 3, t10, 1, 1);
    expect(&m[0], "tp0 tp3 tp6 tp9");
    expect(&m[1], "tp1 tp4 tp7");
    expect(&m[2], "tp2 tp5 tp8");
    own_assigned(m, 3, 1);
    tm_init(&m[3], "d", "t");

    /* Sticky: d takes 2 (10/4 rounded down), one from each of two of the
     * fullest; nobody else changes. */
    assignor_member_t e[4];
    copy_members(e, m, 4);
    run_sticky(e, 4, t10, 1, 0);
    expect(&e[0], "tp0 tp3 tp6");
    expect(&e[1], "tp1 tp4");
    expect(&e[2], "tp2 tp5 tp8");
    expect(&e[3], "tp7 tp9");

    /* Cooperative: a and c give them up now; d gets them next round. */
    run_sticky(m, 4, t10, 1, 1);
    check_cooperative_rule(e, m, 4);
    expect(&m[0], "tp0 tp3 tp6");
    expect(&m[1], "tp1 tp4");
    expect(&m[2], "tp2 tp5 tp8");
    expect(&m[3], "");
    own_assigned(m, 4, 2);
    run_sticky(m, 4, t10, 1, 1);
    expect(&m[0], "tp0 tp3 tp6");
    expect(&m[1], "tp1 tp4");
    expect(&m[2], "tp2 tp5 tp8");
    expect(&m[3], "tp7 tp9");
    clear_all(m, 4);
    clear_all(e, 4);
}

/* A member leaves: its partitions go to the others at once (nobody owns
 * them any more), and nothing else moves. */
static void test_member_leaves(void **state)
{
    assignor_member_t m[4];
    const char *ids[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        tm_init(&m[i], ids[i], "t");
    tm_own(&m[0], "t:0 t:4 t:8", 3);
    tm_own(&m[1], "t:1 t:5 t:9", 3);
    tm_own(&m[2], "t:2 t:6", 3);
    tm_own(&m[3], "t:3 t:7", 3);
    /* b leaves. */
    assignor_member_clear(&m[1]);
    m[1] = m[3];
    run_sticky(m, 3, t10, 1, 1);
    expect(&m[0], "tp0 tp4 tp8 tp9");
    expect(&m[2], "tp1 tp2 tp6");
    expect(&m[1], "tp3 tp5 tp7");
    clear_all(m, 3);
}

/* Claims on the same partition: the highest generation wins; equal
 * generations cancel each other (nobody keeps it). */
static void test_generations_resolve_claims(void **state)
{
    const assignor_topic_t topics[] = {{"t", 2}};
    assignor_member_t m[2];
    /* a (generation 5) owns both, b (stale, generation 3) claims p0. a
     * keeps both claims, then balance moves one to b: p1, the one b does
     * not claim... but b's claim on p0 is stale so a keeps p0. */
    tm_init(&m[0], "a", "t");
    tm_init(&m[1], "b", "t");
    tm_own(&m[0], "t:0 t:1", 5);
    tm_own(&m[1], "t:0", 3);
    run_sticky(m, 2, topics, 1, 0);
    expect(&m[0], "tp0");
    expect(&m[1], "tp1");
    /* Cooperative: p1 moves from a to b, so b waits for it. */
    run_sticky(m, 2, topics, 1, 1);
    expect(&m[0], "tp0");
    expect(&m[1], "");

    /* Same generation: p0 is nobody's, a keeps p1, p0 goes to b; b listed
     * p0, so it is not a move onto b and b gets it now. */
    m[1].generation = 5;
    run_sticky(m, 2, topics, 1, 1);
    expect(&m[0], "tp1");
    expect(&m[1], "tp0");

    /* b newer: b keeps p0, a keeps p1. */
    m[1].generation = 6;
    run_sticky(m, 2, topics, 1, 1);
    expect(&m[0], "tp1");
    expect(&m[1], "tp0");
    clear_all(m, 2);
}

/* A member that stops subscribing to a topic revokes its partitions before
 * another member gets them. */
static void test_unsubscribed_topic_revoked_first(void **state)
{
    const assignor_topic_t topics[] = {{"t0", 2}, {"t1", 2}};
    assignor_member_t m[2];
    tm_init(&m[0], "a", "t0");
    tm_init(&m[1], "b", "t0 t1");
    tm_own(&m[0], "t0:0 t1:0", 1);
    tm_own(&m[1], "t0:1 t1:1", 1);
    /* Balance moves t0p1 from b to a, and t1p0 from a to b: both wait. */
    run_sticky(m, 2, topics, 2, 0);
    expect(&m[0], "t0p0 t0p1");
    expect(&m[1], "t1p0 t1p1");
    run_sticky(m, 2, topics, 2, 1);
    expect(&m[0], "t0p0");
    expect(&m[1], "t1p1");
    clear_all(m, 2);
}

/* Owned partitions of deleted topics or beyond the partition count are
 * dropped, and nobody waits for them. */
static void test_owned_unknown_partitions(void **state)
{
    const assignor_topic_t topics[] = {{"t", 2}};
    assignor_member_t m[2];
    tm_init(&m[0], "a", "t gone");
    tm_init(&m[1], "b", "t");
    tm_own(&m[0], "gone:0 t:5 t:1", 1);
    run_sticky(m, 2, topics, 1, 1);
    expect(&m[0], "tp1");
    expect(&m[1], "tp0");
    clear_all(m, 2);
}

/* A member that must give one up gives one it did not own before. a ties
 * with b for unowned t1p0 and gets it (member order), then takes unowned
 * t2p4 and t2p5 as c's partner; b, short, takes t1p0 from a, not a's own
 * t1p1. */
static void test_donor_gives_unowned_first(void **state)
{
    const assignor_topic_t topics[] = {{"t1", 3}, {"t2", 6}};
    assignor_member_t m[3];
    tm_init(&m[0], "a", "t1 t2");
    tm_init(&m[1], "b", "t1");
    tm_init(&m[2], "c", "t2");
    tm_own(&m[0], "t1:1", 1);
    tm_own(&m[1], "t1:2", 1);
    tm_own(&m[2], "t2:0 t2:1 t2:2 t2:3", 1);
    run_sticky(m, 3, topics, 2, 1);
    expect(&m[0], "t1p1 t2p4 t2p5");
    expect(&m[1], "t1p0 t1p2");
    expect(&m[2], "t2p0 t2p1 t2p2 t2p3");
    clear_all(m, 3);
}

/* A balanced assignment is kept as it is, whatever its shape. */
static void test_balanced_assignment_kept(void **state)
{
    const assignor_topic_t topics[] = {{"t", 6}};
    assignor_member_t m[3];
    tm_init(&m[0], "a", "t");
    tm_init(&m[1], "b", "t");
    tm_init(&m[2], "c", "t");
    tm_own(&m[0], "t:5 t:4", 1);
    tm_own(&m[1], "t:0 t:3", 1);
    tm_own(&m[2], "t:2 t:1", 1);
    run_sticky(m, 3, topics, 1, 1);
    expect(&m[0], "tp4 tp5");
    expect(&m[1], "tp0 tp3");
    expect(&m[2], "tp1 tp2");
    clear_all(m, 3);
}

/* ---- Random groups ------------------------------------------------------- */

typedef struct scenario {
    int tn;
    assignor_topic_t topics[12];
    char tname[12][16];
    char ids[64][16]; /* member ids, never reused */
} scenario_t;

static void random_topics(scenario_t *s, uint64_t *rng, int max_topics, int max_parts)
{
    s->tn = 1 + (int)(tm_rand(rng) % (uint32_t)max_topics);
    for (int t = 0; t < s->tn; t++) {
        snprintf(s->tname[t], sizeof(s->tname[t]), "t%d", t);
        s->topics[t] =
            (assignor_topic_t){s->tname[t], 1 + (int32_t)(tm_rand(rng) % (uint32_t)max_parts)};
    }
}

static void random_subscription(const scenario_t *s, uint64_t *rng, char *out, size_t size,
                                int equal_mask)
{
    out[0] = '\0';
    int mask = equal_mask ? equal_mask : (int)(tm_rand(rng) % (1u << s->tn));
    if (!mask) mask = 1 << (tm_rand(rng) % (uint32_t)s->tn);
    for (int t = 0; t < s->tn; t++)
        if (mask & (1 << t)) {
            strncat(out, s->tname[t], size - strlen(out) - 1);
            strncat(out, " ", size - strlen(out) - 1);
        }
}

/* Survivors' kept partitions, and whether any survivor both gained one it
 * did not own and lost one it owned. */
static int kept_count(const assignor_member_t *m, int n, int *swapped)
{
    int kept = 0;
    *swapped = 0;
    for (int i = 0; i < n; i++) {
        int gained = 0, lost = 0;
        for (int k = 0; k < m[i].assigned->cnt; k++) {
            if (in_list(m[i].owned, m[i].assigned->elems[k].topic,
                        m[i].assigned->elems[k].partition))
                kept++;
            else
                gained = 1;
        }
        for (int k = 0; m[i].owned && k < m[i].owned->cnt; k++)
            if (!in_list(m[i].assigned, m[i].owned->elems[k].topic, m[i].owned->elems[k].partition))
                lost = 1;
        if (gained && lost) *swapped = 1;
    }
    return kept;
}

static int cmp_desc(const void *a, const void *b)
{
    return *(const int *)b - *(const int *)a;
}

/* With equal subscriptions the best possible: members at floor or ceil of
 * the average, the ceil places to the members owning the most. */
static int best_kept(const assignor_member_t *m, int n, int total)
{
    int *o = calloc((size_t)n, sizeof(int));
    for (int i = 0; i < n; i++)
        o[i] = m[i].owned ? m[i].owned->cnt : 0;
    qsort(o, (size_t)n, sizeof(int), cmp_desc);
    int floor_q = total / n, extra = total % n, kept = 0;
    for (int i = 0; i < n; i++) {
        int q = floor_q + (i < extra);
        kept += o[i] < q ? o[i] : q;
    }
    free(o);
    return kept;
}

/* One random history: a first assignment, then members leave and join and
 * subscriptions change, each round owning the previous round's result. */
static void random_history(uint64_t seed, int equal)
{
    uint64_t rng = seed * 0x9e3779b97f4a7c15ULL + 1;
    scenario_t s;
    random_topics(&s, &rng, equal ? 4 : 6, 12);
    int equal_mask = equal ? (1 << s.tn) - 1 : 0;
    int total = 0;
    for (int t = 0; t < s.tn; t++)
        total += s.topics[t].partition_cnt;
    assignor_member_t m[40];
    int n = 1 + (int)(tm_rand(&rng) % 8), next_id = 0;
    for (int i = 0; i < n; i++) {
        char sub[128];
        snprintf(s.ids[next_id], sizeof(s.ids[next_id]), "m%02d", next_id);
        random_subscription(&s, &rng, sub, sizeof(sub), equal_mask);
        tm_init(&m[i], s.ids[next_id++], sub);
    }
    for (int round = 0; round < 6; round++) {
        assignor_member_t e[40], c[40];
        copy_members(e, m, n);
        copy_members(c, m, n);
        run_sticky(e, n, s.topics, s.tn, 0);
        run_sticky(c, n, s.topics, s.tn, 1);
        view_t v;
        view_build(&v, e, n, s.topics, s.tn, 1);
        check_balanced(&v, e, n);
        view_free(&v);
        view_build(&v, c, n, s.topics, s.tn, 0);
        view_free(&v);
        check_cooperative_rule(e, c, n);
        if (equal && round) {
            int swapped, kept = kept_count(e, n, &swapped);
            if (swapped)
                fail_msg("seed %llu round %d: a member gained and lost", (unsigned long long)seed,
                         round);
            int best = best_kept(e, n, total);
            if (kept != best) {
                for (int i = 0; i < n; i++) {
                    char a[2048], b[2048];
                    fprintf(stderr, "%s owned [%s] got [%s]\n", e[i].member_id,
                            tm_str(e[i].owned, a, sizeof(a)), tm_str(e[i].assigned, b, sizeof(b)));
                }
            }
            if (kept != best)
                fail_msg("seed %llu round %d: kept %d partitions, %d possible",
                         (unsigned long long)seed, round, kept, best);
        }
        /* Owning a balanced assignment: nothing moves. */
        assignor_member_t f[40];
        copy_members(f, e, n);
        for (int i = 0; i < n; i++) {
            kc_topic_partition_list_destroy(f[i].owned);
            f[i].owned = kc_topic_partition_list_copy(e[i].assigned);
            f[i].generation = round + 1;
        }
        run_sticky(f, n, s.topics, s.tn, 1);
        for (int i = 0; i < n; i++) {
            char a[2048], b[2048];
            if (strcmp(tm_str(f[i].assigned, a, sizeof(a)), tm_str(e[i].assigned, b, sizeof(b))))
                fail_msg("seed %llu: balanced input changed for %s: [%s] -> [%s]",
                         (unsigned long long)seed, f[i].member_id, b, a);
        }
        clear_all(f, n);

        /* Next round: owned = this round's sticky result (or, half the
         * time, the cooperative one), then churn. */
        int use_coop = tm_rand(&rng) & 1;
        for (int i = 0; i < n; i++) {
            kc_topic_partition_list_destroy(m[i].owned);
            m[i].owned = kc_topic_partition_list_copy(use_coop ? c[i].assigned : e[i].assigned);
            m[i].generation = round + 1;
        }
        clear_all(e, n);
        clear_all(c, n);
        int leave = n > 1 ? (int)(tm_rand(&rng) % 3) : 0;
        for (int k = 0; k < leave && n > 1; k++) {
            int i = (int)(tm_rand(&rng) % (uint32_t)n);
            assignor_member_clear(&m[i]);
            m[i] = m[--n];
        }
        int join = (int)(tm_rand(&rng) % 3);
        for (int k = 0; k < join && n < 40 && next_id < 64; k++) {
            char sub[128];
            snprintf(s.ids[next_id], sizeof(s.ids[next_id]), "m%02d", next_id);
            random_subscription(&s, &rng, sub, sizeof(sub), equal_mask);
            tm_init(&m[n++], s.ids[next_id++], sub);
        }
        if (!equal && n && tm_rand(&rng) % 2) {
            /* Someone changes subscription but keeps its owned list. */
            int i = (int)(tm_rand(&rng) % (uint32_t)n);
            char sub[128];
            random_subscription(&s, &rng, sub, sizeof(sub), 0);
            kc_topic_partition_list_t *owned = m[i].owned;
            int32_t gen = m[i].generation;
            m[i].owned = NULL;
            const char *id = m[i].member_id;
            assignor_member_clear(&m[i]);
            tm_init(&m[i], id, sub);
            m[i].owned = owned;
            m[i].generation = gen;
        }
    }
    clear_all(m, n);
}

static void test_random_equal_subscriptions(void **state)
{
    for (uint64_t seed = 1; seed <= 300; seed++)
        random_history(seed, 1);
}

static void test_random_unequal_subscriptions(void **state)
{
    for (uint64_t seed = 1; seed <= 300; seed++)
        random_history(seed, 0);
}

/* 1000 members, 10,000 partitions over 50 topics, random subscriptions;
 * then 10 members leave and 10 join. Balanced, and the cooperative rule. */
static void test_large_unequal(void **state)
{
    enum { MEMBERS = 1000, TOPICS = 50 };
    uint64_t rng = 77;
    assignor_topic_t topics[TOPICS];
    char tnames[TOPICS][16];
    for (int t = 0; t < TOPICS; t++) {
        snprintf(tnames[t], sizeof(tnames[t]), "topic-%02d", t);
        topics[t] = (assignor_topic_t){tnames[t], 200};
    }
    static char ids[MEMBERS + 10][32];
    assignor_member_t *m = calloc(MEMBERS + 10, sizeof(*m));
    for (int i = 0; i < MEMBERS + 10; i++) {
        char sub[TOPICS * 16] = "";
        for (int t = 0; t < TOPICS; t++)
            if (tm_rand(&rng) % 4 == 0 || t == i % TOPICS) {
                strcat(sub, tnames[t]);
                strcat(sub, " ");
            }
        snprintf(ids[i], sizeof(ids[i]), "consumer-%04d", i);
        tm_init(&m[i], ids[i], sub);
    }
    run_sticky(m, MEMBERS, topics, TOPICS, 1);
    view_t v;
    view_build(&v, m, MEMBERS, topics, TOPICS, 1);
    check_balanced(&v, m, MEMBERS);
    view_free(&v);
    own_assigned(m, MEMBERS, 1);
    for (int k = 0; k < 10; k++) {
        assignor_member_clear(&m[k * 7]);
        m[k * 7] = m[MEMBERS + k];
        memset(&m[MEMBERS + k], 0, sizeof(m[0]));
    }
    assignor_member_t *e = calloc(MEMBERS, sizeof(*m));
    copy_members(e, m, MEMBERS);
    run_sticky(e, MEMBERS, topics, TOPICS, 0);
    run_sticky(m, MEMBERS, topics, TOPICS, 1);
    view_build(&v, e, MEMBERS, topics, TOPICS, 1);
    check_balanced(&v, e, MEMBERS);
    view_free(&v);
    check_cooperative_rule(e, m, MEMBERS);
    clear_all(m, MEMBERS);
    clear_all(e, MEMBERS);
    free(m);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_joins_moves_minimum),
        cmocka_unit_test(test_member_leaves),
        cmocka_unit_test(test_generations_resolve_claims),
        cmocka_unit_test(test_unsubscribed_topic_revoked_first),
        cmocka_unit_test(test_owned_unknown_partitions),
        cmocka_unit_test(test_donor_gives_unowned_first),
        cmocka_unit_test(test_balanced_assignment_kept),
        cmocka_unit_test(test_random_equal_subscriptions),
        cmocka_unit_test(test_random_unequal_subscriptions),
        cmocka_unit_test(test_large_unequal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
