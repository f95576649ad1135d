/* roundrobin (Java's RoundRobinAssignor): every subscribed partition, by
 * topic name then partition, is dealt to the next member in member order,
 * passing over members that do not subscribe to its topic. One cursor runs
 * across all topics, as in Java, so a topic starts where the last ended. */
#include "consumer/assignor_int.h"

kc_err_t asg_roundrobin(asg_ctx_t *c, char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    int pos = 0;
    for (int t = 0; t < c->tcnt; t++) {
        if (c->elig_off[t + 1] == c->elig_off[t]) continue; /* nobody subscribes */
        for (int g = c->topics[t].base; g < c->topics[t].base + c->topics[t].npart; g++) {
            /* Ends: the topic has a subscriber. */
            while (!asg_subscribed(c, c->order[pos], t))
                pos = (pos + 1) % c->mcnt;
            c->owner[g] = c->order[pos];
            pos = (pos + 1) % c->mcnt;
        }
    }
    return 0;
}
