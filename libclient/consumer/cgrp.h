/* The consumer group member: FindCoordinator, JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup as a state machine on the client's I/O thread, plus
 * the coordinator requests for offsets (OffsetCommit, OffsetFetch).
 *
 * The consumer (consumer.c) owns fetching and positions; cgrp owns
 * membership and tells the consumer what it was assigned or lost through
 * cgrp_ops_t. A revoke is a two-step handshake because the application must
 * see it (rebalance callback, from kc_consumer_poll) before the member may
 * rejoin: cgrp calls ops->revoke, the consumer stops fetching those
 * partitions, lets the application commit, then calls cgrp_revoke_done().
 *
 * Threads: every function and callback here runs on the I/O thread.
 * Callbacks may fire from inside the calls below (an eager member's
 * ops->revoke from cgrp_subscribe or cgrp_leave), and cgrp_revoke_done may
 * be called from inside ops->revoke.
 *
 * Lifecycle: cgrp_new() (idle) -> cgrp_subscribe() (joins) ->
 * ... -> cgrp_leave() (revokes, LeaveGroup, done_cb) -> cgrp_destroy().
 * cgrp_destroy() without a leave just stops (no LeaveGroup: as if the
 * process died, which tests use). No callback fires after cgrp_destroy().
 */
#ifndef KC_CONSUMER_CGRP_H
#define KC_CONSUMER_CGRP_H

#include <stdint.h>

#include "client.h"
#include "kc/kc_err.h"
#include "kc/kc_record.h"

typedef struct cgrp cgrp_t;

typedef struct cgrp_ops {
    /* Partitions now assigned to this member (eager: the whole new
     * assignment; cooperative: only the added ones). Offsets are
     * KC_OFFSET_STORED: the consumer resolves them (cgrp_fetch_committed,
     * then auto.offset.reset). */
    void (*assign)(void *opaque, const kc_topic_partition_list_t *parts);
    /* Partitions to give up (eager: all of them before every rejoin;
     * cooperative: only those moving away). lost=1 when the membership was
     * lost (session timed out, fenced): do not commit them. The consumer
     * must answer with cgrp_revoke_done() once the application has seen it. */
    void (*revoke)(void *opaque, const kc_topic_partition_list_t *parts, int lost);
    /* An error the application should see (e.g. GROUP_AUTHORIZATION_FAILED,
     * a fatal FENCED_INSTANCE_ID). May be NULL. */
    void (*error)(void *opaque, kc_err_t err, const char *errstr);
} cgrp_ops_t;

/* A member of conf->group_id, idle until cgrp_subscribe(). Reads group.id,
 * group.instance.id, partition.assignment.strategy, session.timeout.ms,
 * heartbeat.interval.ms, max.poll.interval.ms from the client's conf.
 * NULL when out of memory or the assignment strategy is unknown (errstr). */
cgrp_t *cgrp_new(client_t *c, const cgrp_ops_t *ops, void *opaque, char *errstr,
                 size_t errstr_size);
void cgrp_destroy(cgrp_t *g);

/* Topic names and "^regex" patterns (POSIX extended); replaces the previous
 * subscription and (re)joins. topic_cnt 0 means unsubscribe: revoke all and
 * stay a member without partitions until cgrp_leave(). */
kc_err_t cgrp_subscribe(cgrp_t *g, const char *const *topics, int topic_cnt);

/* The application polled: resets the max.poll.interval.ms clock. */
void cgrp_poll_seen(cgrp_t *g);

/* Answers a revoke (see cgrp_ops_t.revoke). */
void cgrp_revoke_done(cgrp_t *g);

/* "EAGER" or "COOPERATIVE", from the configured assignors. */
const char *cgrp_rebalance_protocol(const cgrp_t *g);

/* Commit/fetch results: parts carries each partition's err (and offset for
 * a fetch; KC_OFFSET_INVALID when the group has none). Fires exactly once. */
typedef void (*cgrp_offsets_cb)(kc_err_t err, const char *errstr,
                                const kc_topic_partition_list_t *parts, void *opaque);

/* OffsetCommit with this member's generation (or generation -1 and no
 * member when not in the group, as for a consumer using kc_assign with a
 * group.id). Retries coordinator errors (NOT_COORDINATOR, LOAD_IN_PROGRESS,
 * ...) until timeout_ms. parts is copied. */
void cgrp_commit(cgrp_t *g, const kc_topic_partition_list_t *parts, int timeout_ms,
                 cgrp_offsets_cb cb, void *opaque);
/* OffsetFetch of parts' committed offsets (require_stable where the version
 * has it). parts is copied. */
void cgrp_fetch_committed(cgrp_t *g, const kc_topic_partition_list_t *parts, int timeout_ms,
                          cgrp_offsets_cb cb, void *opaque);

/* Revokes everything (ops->revoke, waiting for cgrp_revoke_done), sends
 * LeaveGroup (not for static members, as the Java client does), then calls
 * done(opaque). Also when not joined: done fires at once. */
void cgrp_leave(cgrp_t *g, void (*done)(void *opaque), void *opaque);

/* For tests and statistics: the generation id and member id, -1/"" when not
 * a member. */
int32_t cgrp_generation(const cgrp_t *g);
const char *cgrp_member_id(const cgrp_t *g);

#endif
