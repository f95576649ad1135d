/* range (Java's RangeAssignor): topic by topic, the partitions in order are
 * cut into contiguous ranges over the topic's subscribers in member order;
 * the first (partitions % subscribers) get one more. Java's rack-aware
 * variant needs partition racks, which the run input does not carry, and
 * Java skips it too when they are unknown. */
#include "consumer/assignor_int.h"

kc_err_t asg_range(asg_ctx_t *c, char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    for (int t = 0; t < c->tcnt; t++) {
        const int *subs = &c->elig[c->elig_off[t]];
        int n = c->elig_off[t + 1] - c->elig_off[t];
        if (!n) continue;
        int per = c->topics[t].npart / n, extra = c->topics[t].npart % n;
        int g = c->topics[t].base;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < per + (i < extra); k++)
                c->owner[g++] = subs[i];
    }
    return 0;
}
