/* The classic consumer-group coordinator and committed offsets (Kafka's
 * GroupCoordinator): groups, members, the rebalance state machine
 *
 *   Empty -> PreparingRebalance -> CompletingRebalance -> Stable (Dead: deleted)
 *
 * and per-group committed offsets kept durable by an append-only journal
 * (journal.c) under <first log dir>/kc-metadata/groups/.
 *
 * The request handlers (handlers/groups*.c, offsets*.c) decode requests,
 * call in here, and translate results into responses. Calls that must wait
 * (JoinGroup until every member rejoined, a follower's SyncGroup until the
 * leader's assignment, OffsetCommit until the journal is fsync'd) are parked
 * here; their answers go out through group_join_reply()/group_sync_reply(),
 * which the handlers provide.
 *
 * Everything runs on the broker's loop thread. Lifecycle: broker_groups_new()
 * replays the journal (b->groups); broker_groups_destroy() writes what is
 * pending and frees everything, after the connections (and so the parked
 * calls) are gone. */
#ifndef BROKER_GROUPS_H
#define BROKER_GROUPS_H

#include <stdint.h>
#include <sys/queue.h>

#include "core/broker.h"
#include "util/hmap.h"

struct event;

typedef enum {
    GROUP_EMPTY,
    GROUP_PREPARING_REBALANCE,
    GROUP_COMPLETING_REBALANCE,
    GROUP_STABLE,
    GROUP_DEAD
} group_state_t;

/* Kafka's offset.metadata.max.bytes default. */
#define GROUP_OFFSET_METADATA_MAX 4096
/* Kafka's GroupCoordinator.NewMemberJoinTimeoutMs: a new member waiting in
 * JoinGroup cannot heartbeat, so it gets this long instead of its session. */
#define GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS (5 * 60 * 1000)

typedef struct broker_groups broker_groups_t;
typedef struct group group_t;
typedef struct group_member group_member_t;

typedef struct group_protocol {
    char *name;
    uint8_t *metadata;
    int32_t len;
} group_protocol_t;

struct group_member {
    TAILQ_ENTRY(group_member) link;
    group_t *group;
    char *id;
    char *instance_id; /* NULL: a dynamic member */
    char *client_id;
    char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    group_protocol_t *protocols; /* in the member's order of preference */
    int nprotocols;
    uint8_t *assignment;
    int32_t assignment_len;
    struct event *timer;      /* session expiry */
    broker_call_t *join_call; /* parked JoinGroup, if its connection is still there */
    broker_call_t *sync_call; /* parked SyncGroup */
    int16_t join_version;
    unsigned awaiting_join : 1; /* joined this rebalance, waiting for it to complete */
    unsigned awaiting_sync : 1;
    unsigned pending_sync : 1; /* must send SyncGroup within the rebalance timeout */
    unsigned is_new : 1;
};

/* A member that was given an id with MEMBER_ID_REQUIRED and must rejoin with
 * it within its session timeout. */
typedef struct group_pending {
    TAILQ_ENTRY(group_pending) link;
    group_t *group;
    char *id;
    struct event *timer;
} group_pending_t;

typedef struct group_offset {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata; /* never NULL (Kafka stores "" for null) */
    int64_t commit_ts;
    int64_t expire_ts; /* -1: by offsets.retention.minutes */
} group_offset_t;

TAILQ_HEAD(group_member_list, group_member);
TAILQ_HEAD(group_pending_list, group_pending);

struct group {
    broker_groups_t *gs;
    char *id;
    group_state_t state;
    int64_t state_ts; /* when the state last changed (offset expiry of Empty groups) */
    int32_t generation;
    char *protocol_type; /* NULL: none (offsets only) */
    char *protocol_name; /* NULL: none */
    group_member_t *leader;
    struct group_member_list members;
    int nmembers;
    util_hmap_t by_id;       /* member id -> member */
    util_hmap_t by_instance; /* group.instance.id -> member */
    struct group_pending_list pending;
    int npending;
    struct event *join_timer; /* completes PreparingRebalance */
    struct event *sync_timer; /* removes members that never sent SyncGroup */
    int initial_delay;        /* join_timer is Kafka's InitialDelayedJoin */
    int new_member_added;
    int64_t initial_remaining_ms;
    int busy;            /* > 0 while replies go out: the group must not be deleted */
    util_hmap_t offsets; /* topic NUL partition(4 bytes) -> group_offset_t */
};

/* ---- Lifecycle (core/broker.c) ------------------------------------------------ */

/* Creates b->groups and replays the journal when the broker is persistent.
 * Returns 0 or a kc_err_t with errstr. */
int broker_groups_new(broker_t *b, char *errstr, size_t errstr_size);
void broker_groups_destroy(broker_t *b);
/* Offset retention: drops expired offsets and then empty groups without
 * offsets (Kafka's offsets.retention.minutes cleanup). Runs on a timer; tests
 * call it on the loop thread. Returns the number of offsets dropped. */
int broker_groups_expire(broker_t *b, int64_t now_ms);

/* A deleted topic's committed offsets go with it (Kafka's
 * handleDeletedPartitions), so a topic created again under the name starts
 * without them. Called by broker_topic_delete(). */
void broker_groups_forget_topic(broker_t *b, const char *topic);

/* ---- Coordinator lookup ---------------------------------------------------------- */

/* The node coordinating group `id`: a stable hash of the id over the nodes
 * that are up (kc-broker has one). NULL when no node is up. */
broker_node_t *broker_groups_coordinator(broker_t *b, proto_str_t id);

/* ---- Groups -------------------------------------------------------------------- */

group_t *group_find(broker_t *b, proto_str_t id);
/* Every group, by id (for listing; do not change it while iterating). */
const util_hmap_t *broker_groups_all(broker_t *b);
/* Finds or creates an Empty group; NULL when out of memory. */
group_t *group_get_or_create(broker_t *b, proto_str_t id);
const char *group_state_name(group_state_t s);
group_member_t *group_member_find(group_t *g, proto_str_t id);
/* Kafka's validateCurrentMember: FENCED_INSTANCE_ID, UNKNOWN_MEMBER_ID or 0. */
int group_check_member(group_t *g, proto_str_t member_id, proto_str_t instance_id);
/* Non-zero if a member's subscription (consumer protocol metadata) may name
 * the topic; an unreadable subscription counts as subscribed to all. */
int group_subscribed_to(const group_t *g, const char *topic);
/* Deletes an Empty group with its offsets (DeleteGroups). */
void group_delete(group_t *g);
/* Restarts g's session timer for m (a heartbeat or commit proves it alive). */
void group_member_touch(group_member_t *m);

/* ---- Membership (group_join.c) -------------------------------------------------------- */

typedef struct group_join_req {
    proto_str_t member_id;
    proto_str_t instance_id; /* len < 0: dynamic */
    proto_str_t client_id;
    const char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    proto_str_t protocol_type;
    int nprotocols;
    const proto_str_t *protocol_names;
    const proto_bytes_t *protocol_metadata;
    int require_known_id; /* JoinGroup v4+ */
    int supports_skip;    /* JoinGroup v9+ */
} group_join_req_t;

typedef struct group_join_result {
    int error;
    const char *member_id;
    int32_t generation;
    const char *protocol_type;
    const char *protocol_name;
    const char *leader;
    int skip_assignment;
    group_t *members_of; /* non-NULL: list every member (the leader's response) */
} group_join_result_t;

/* Provided by handlers/groups_join.c: answers a parked or fresh JoinGroup
 * (frees the call). */
void group_join_reply(broker_call_t *call, const group_join_result_t *res);
/* Provided by handlers/groups_join.c: answers a SyncGroup (frees the call). */
void group_sync_reply(broker_call_t *call, int error, const group_t *g, const uint8_t *assignment,
                      int32_t assignment_len);

/* JoinGroup: answers the call now or parks it until the rebalance completes. */
void group_join(broker_t *b, broker_call_t *call, group_t *g, const group_join_req_t *req);

typedef struct group_assignment {
    proto_str_t member_id;
    proto_bytes_t assignment;
} group_assignment_t;

/* SyncGroup after the checks of group_sync_check(). */
void group_sync(group_t *g, group_member_t *m, broker_call_t *call, const group_assignment_t *a,
                int n);
/* Heartbeat: returns the error to answer. */
int group_heartbeat(group_t *g, proto_str_t member_id, proto_str_t instance_id, int32_t generation);
/* LeaveGroup for one member (by id, or by instance id when member_id is
 * empty): returns the member's error. */
int group_leave(group_t *g, proto_str_t member_id, proto_str_t instance_id);

/* ---- Offsets (group_offsets.c) ----------------------------------------------------- */

typedef struct group_commit {
    proto_str_t topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    proto_str_t metadata;
    int64_t expire_ts;
    int16_t *error; /* where the partition's result goes (response memory) */
} group_commit_t;

/* Kafka's validateOffsetCommit + state check: the error for every partition,
 * or 0 when the commit may proceed. */
int group_commit_check(group_t *g, int32_t generation, proto_str_t member_id,
                       proto_str_t instance_id);
/* Stores the commits (their per-partition errors already set by the caller
 * for the ones it refused: those are skipped) and answers the call with
 * `resp` once they are durable: done(call, resp) runs then (now, when
 * nothing needs the disk). On a journal failure every accepted partition's
 * error becomes COORDINATOR_NOT_AVAILABLE. */
void group_offsets_commit(broker_t *b, proto_str_t group_id, broker_call_t *call,
                          group_commit_t *commits, int n, void *resp,
                          void (*done)(broker_call_t *call, void *resp));
group_offset_t *group_offset_find(group_t *g, proto_str_t topic, int32_t partition);
/* Deletes one committed offset (journaled); returns 1 if there was one. */
int group_offset_delete(group_t *g, const char *topic, int32_t partition);

#endif
