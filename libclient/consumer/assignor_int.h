/* What the three assignors share: the run input indexed once (topics sorted
 * by name, members in the Java client's order, subscriptions as sorted topic
 * indices both ways) and the result as one owner per partition.
 *
 * A partition is named by a global index g: topics[t].base + partition, so
 * walking g upwards walks topics by name and partitions in order, which is
 * the order every output list is in.
 */
#ifndef KC_CONSUMER_ASSIGNOR_INT_H
#define KC_CONSUMER_ASSIGNOR_INT_H

#include "consumer/assignor.h"
#include "util/hmap.h"

typedef struct asg_topic {
    const char *name; /* borrowed from the run's topics */
    int32_t npart;
    int base; /* global index of partition 0 */
} asg_topic_t;

typedef struct asg_ctx {
    assignor_member_t *members;
    int mcnt;
    /* Member indices in the Java client's MemberInfo order: static members
     * (by group.instance.id) before dynamic ones (by member id). rank[] is
     * the inverse. */
    int *order;
    int *rank;
    asg_topic_t *topics; /* known topics with partitions, by name, no duplicates */
    int tcnt;
    util_hmap_t by_name; /* topic name -> index + 1 */
    int pcnt;            /* partitions of all topics */
    int *ptopic;         /* pcnt: the topic index of each global partition */
    int *sub_off;        /* mcnt+1: member m subscribes to subs[sub_off[m] .. sub_off[m+1]) */
    int *subs;           /* topic indices, ascending */
    int *elig_off;       /* tcnt+1: topic t's subscribers are elig[elig_off[t] .. elig_off[t+1]) */
    int *elig;           /* member indices, in `order` */
    int *owner;          /* pcnt: the result, member index or -1 */
} asg_ctx_t;

/* Indexes the input and sets every owner to -1. On failure the context is
 * freed and the message says why. */
kc_err_t asg_ctx_init(asg_ctx_t *c, assignor_member_t *members, int member_cnt,
                      const assignor_topic_t *topics, int topic_cnt, char *errstr,
                      size_t errstr_size);
void asg_ctx_free(asg_ctx_t *c);

/* Topic index of name, -1 if not a known topic. */
int asg_topic_find(const asg_ctx_t *c, const char *name);
/* Non-zero if member m subscribes to topic t. */
int asg_subscribed(const asg_ctx_t *c, int m, int t);
/* Global index of (topic name, partition), -1 if no such partition. */
int asg_partition_find(const asg_ctx_t *c, const char *topic, int32_t partition);

/* Replaces every members[i].assigned with the partitions owner[] gives it,
 * sorted by topic then partition. On failure every assigned is NULL. */
kc_err_t asg_ctx_output(asg_ctx_t *c, char *errstr, size_t errstr_size);

/* The algorithms: fill c->owner. */
kc_err_t asg_range(asg_ctx_t *c, char *errstr, size_t errstr_size);
kc_err_t asg_roundrobin(asg_ctx_t *c, char *errstr, size_t errstr_size);
kc_err_t asg_sticky(asg_ctx_t *c, int cooperative, char *errstr, size_t errstr_size);

#endif
