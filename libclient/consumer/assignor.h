/* Partition assignors (partition.assignment.strategy): range, roundrobin and
 * cooperative-sticky, computing the same assignments as the Java client's
 * RangeAssignor, RoundRobinAssignor and CooperativeStickyAssignor (the last
 * by the same rules of balance, stickiness and revocation, not always the
 * same partitions), and the ConsumerProtocol bytes they travel in
 * (JoinGroup metadata, SyncGroup assignment), versions 0-3 of Subscription
 * and 0-3 of Assignment.
 *
 * Pure functions: no I/O, no threads. The group leader runs one with every
 * member's subscription and the topics' partition counts.
 */
#ifndef KC_CONSUMER_ASSIGNOR_H
#define KC_CONSUMER_ASSIGNOR_H

#include <stddef.h>
#include <stdint.h>

#include "kc/kc_err.h"
#include "kc/kc_record.h"
#include "proto_buf.h"

typedef enum assignor_protocol { ASSIGNOR_EAGER, ASSIGNOR_COOPERATIVE } assignor_protocol_t;

/* A member's subscription, as decoded from (or to be encoded into) the
 * JoinGroup protocol metadata. */
typedef struct assignor_member {
    const char *member_id;
    const char *group_instance_id; /* NULL if dynamic */
    const char *rack;              /* NULL if none (Subscription v3) */
    char **topics;                 /* subscribed topic names */
    int topic_cnt;
    kc_topic_partition_list_t *owned; /* owned partitions (v1+), may be NULL */
    int32_t generation;               /* v2+, -1 if none */
    /* Output of assignor_run: the partitions given to this member. */
    kc_topic_partition_list_t *assigned;
} assignor_member_t;

typedef struct assignor_topic {
    const char *name;
    int32_t partition_cnt;
} assignor_topic_t;

typedef struct assignor {
    const char *name; /* "range", "roundrobin", "cooperative-sticky" */
    assignor_protocol_t protocol;
    /* Fills members[i].assigned for every member (an empty list when it
     * gets nothing), destroying any list already there; on failure every
     * assigned is NULL. Topics not in `topics` (unknown to metadata) are
     * skipped. Deterministic for a given input, whatever the member order.
     * Borrows everything else: nothing is kept after the call. */
    kc_err_t (*run)(assignor_member_t *members, int member_cnt, const assignor_topic_t *topics,
                    int topic_cnt, char *errstr, size_t errstr_size);
} assignor_t;

/* The assignor named `name` (case-insensitive), NULL if none. */
const assignor_t *assignor_find(const char *name);

/* Frees what assignor_subscription_decode / assignor_run put in m (topics,
 * owned, rack, assigned; not m, member_id or group_instance_id). */
void assignor_member_clear(assignor_member_t *m);

/* ConsumerProtocolSubscription: the JoinGroup metadata of one member.
 * Encodes the highest version (3); decodes 0-3 and ignores trailing bytes of
 * newer versions, as the Java client does. Decode sets topics, topic_cnt,
 * owned (v1+, else NULL), generation (v2+; before that, or -1, a 4-byte
 * UserData as Java's cooperative-sticky sent it; else -1) and rack, and
 * leaves the other fields alone; on failure those are empty. Encoders
 * return 0, KC_ERR__NO_MEMORY (also setting w->oom) or KC_ERR__INVALID_ARG
 * (a NULL or over-long name; nothing written). */
int assignor_subscription_encode(proto_wbuf_t *w, const char *const *topics, int topic_cnt,
                                 const kc_topic_partition_list_t *owned, int32_t generation,
                                 const char *rack);
kc_err_t assignor_subscription_decode(const uint8_t *buf, size_t len, assignor_member_t *out,
                                      char *errstr, size_t errstr_size);

/* ConsumerProtocolAssignment: what SyncGroup carries to one member. */
int assignor_assignment_encode(proto_wbuf_t *w, const kc_topic_partition_list_t *parts);
/* *out is a new list owned by the caller. An empty buffer is an empty
 * assignment (what a broker sends a member the leader left out). */
kc_err_t assignor_assignment_decode(const uint8_t *buf, size_t len, kc_topic_partition_list_t **out,
                                    char *errstr, size_t errstr_size);

#endif
