/* The inside of cgrp_t, shared by the group member's files:
 *
 *   cgrp.c          lifecycle, the public calls, serve() (what to do next)
 *   cgrp_req.c      requests whose callbacks survive cgrp_destroy()
 *   cgrp_coord.c    FindCoordinator and the coordinator connection
 *   cgrp_join.c     JoinGroup, the leader's assignment, SyncGroup
 *   cgrp_member.c   Heartbeat, LeaveGroup, losing and giving up partitions
 *   cgrp_topics.c   the subscription (names, patterns) and its metadata
 *   cgrp_offsets.c  OffsetCommit and OffsetFetch
 *
 * Everything runs on the client's I/O thread.
 *
 * The member is driven by serve(): every event (a response, a timer, a
 * call from the consumer) changes a few fields and calls cgrp_serve(),
 * which looks at the whole state and starts the one next step. So no
 * handler has to know what else might be pending. */
#ifndef KC_CONSUMER_CGRP_INT_H
#define KC_CONSUMER_CGRP_INT_H

#include <regex.h>
#include <stdint.h>
#include <sys/queue.h>

#include "consumer/assignor.h"
#include "consumer/cgrp.h"
#include "proto_msgs.h"

typedef enum cgrp_state {
    CGRP_ST_INIT,      /* no JoinGroup under way, no generation */
    CGRP_ST_JOINING,   /* metadata for the subscription, then JoinGroup, in flight */
    CGRP_ST_ASSIGNING, /* leader: metadata for every member's topics in flight */
    CGRP_ST_SYNCING,   /* SyncGroup in flight */
    CGRP_ST_STEADY,    /* a generation and an assignment: heartbeats run */
} cgrp_state_t;

/* A topic the member watches and its partition count when it joined
 * (-1: the topic did not exist). A change means a rebalance. */
typedef struct cgrp_watch {
    char *name;
    int32_t partitions;
    int internal;
} cgrp_watch_t;

/* What a Metadata request found: every topic asked (or every topic of the
 * cluster), with its partition count, -1 when it does not exist. */
typedef struct cgrp_md {
    cgrp_watch_t *topics;
    int cnt;
} cgrp_md_t;

typedef struct cgrp_req cgrp_req_t;
typedef void (*cgrp_req_handler)(cgrp_t *g, cgrp_req_t *r, const net_resp_t *resp);

typedef struct cgrp_mem {
    struct cgrp_mem *next;
    /* the allocation follows */
} cgrp_mem_t;

/* One request in flight. It outlives its cgrp_t: cgrp_destroy() only
 * unlinks it (r->g = NULL), and the response callback frees it. */
struct cgrp_req {
    LIST_ENTRY(cgrp_req) link;
    cgrp_t *g; /* NULL once g is destroyed */
    cgrp_req_handler handle;
    uint32_t epoch; /* g->epoch when sent: later responses are stale */
    void *ctx;      /* the handler's own */
    cgrp_mem_t *mem;
    union {
        proto_find_coordinator_request_t fc;
        proto_join_group_request_t join;
        proto_sync_group_request_t sync;
        proto_heartbeat_request_t hb;
        proto_leave_group_request_t leave;
        proto_offset_commit_request_t commit;
        proto_offset_fetch_request_t fetch;
        proto_metadata_request_t md;
    } body;
};

LIST_HEAD(cgrp_req_list, cgrp_req);

typedef struct cgrp_offop cgrp_offop_t;
typedef struct cgrp_lead cgrp_lead_t;
TAILQ_HEAD(cgrp_offop_q, cgrp_offop);

struct cgrp {
    client_t *c;
    const client_conf_t *conf;
    cgrp_ops_t ops;
    void *opaque;
    char *group_id;
    char *instance_id; /* NULL: dynamic member */
    const assignor_t *assignors[8];
    int nassignors;
    assignor_protocol_t protocol;

    /* Subscription: what the application asked for, and the topics it
     * matches now (sorted). */
    char **sub;
    int nsub;
    regex_t *re; /* one per pattern entry of sub, NULL entries for names */
    int has_regex;
    char **topics;
    int ntopics;
    int active; /* subscribed at least once and not left since */
    cgrp_watch_t *watch;
    int nwatch;
    int md_inflight;
    int md_attempt; /* rotates the broker metadata requests go to */

    /* Coordinator */
    int32_t coord_id;   /* the broker's node id, -1 unknown */
    int32_t coord_conn; /* our own (negative) node id for its connection */
    int coord_inflight;
    int coord_attempt;
    struct event *coord_timer;

    /* Membership */
    cgrp_state_t state;
    uint32_t epoch; /* bumped when in-flight member requests become stale */
    char *member_id;
    int32_t generation;
    char *protocol_name;
    int is_leader;
    int want_join;
    int rejoin_after; /* another join is wanted once the current one completes */
    int join_attempt;
    struct event *join_timer; /* backoff before the next JoinGroup */
    kc_topic_partition_list_t *owned;
    int revoke_wait; /* ops->revoke given, cgrp_revoke_done() not yet */
    int fatal;
    cgrp_lead_t *lead; /* the leader's members, between JoinGroup and SyncGroup */
    int hb_inflight;
    uintptr_t hb_seq; /* of the last Heartbeat sent */
    struct event *hb_timer;
    struct event *md_timer;   /* topic.metadata.refresh.interval.ms */
    struct event *poll_timer; /* max.poll.interval.ms */
    uint64_t last_poll_ms;
    int maxpoll_out; /* left for max.poll.interval.ms; rejoin on the next poll */

    /* cgrp_leave() */
    int leaving;
    void (*leave_done)(void *opaque);
    void *leave_opaque;

    struct cgrp_req_list reqs;
    struct cgrp_offop_q offops;
    int serving;
    int serve_again;
};

/* cgrp.c */
void cgrp_serve(cgrp_t *g);
uint64_t cgrp_now_ms(void);
void cgrp_timer_add(struct event *ev, int ms);
/* Tells the application (ops->error) and logs. */
void cgrp_error(cgrp_t *g, kc_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cgrp_backoff_ms(const cgrp_t *g, int attempt);
char *cgrp_strdup_slice(proto_str_t s);

/* cgrp_req.c */
cgrp_req_t *cgrp_req_new(cgrp_t *g, cgrp_req_handler h, void *ctx);
/* A zeroed allocation freed with r; NULL when out of memory. */
void *cgrp_req_alloc(cgrp_req_t *r, size_t n);
/* Frees a request that was never sent. */
void cgrp_req_free(cgrp_req_t *r);
/* Sends r to node (-1: any broker, rotating with attempt; see
 * client_broker_pick). On error r is freed and nothing fires. */
kc_err_t cgrp_req_send(cgrp_req_t *r, int32_t node, int attempt, int16_t api_key, int timeout_ms);
/* Sends r to the coordinator connection. */
kc_err_t cgrp_req_send_coord(cgrp_req_t *r, int16_t api_key, int timeout_ms);
/* Unlinks every request from g (cgrp_destroy). */
void cgrp_req_orphan_all(cgrp_t *g);

/* cgrp_coord.c */
/* Starts FindCoordinator unless one is in flight or waiting. */
void cgrp_coord_find(cgrp_t *g);
/* The coordinator failed (NOT_COORDINATOR, a lost connection): forget it. */
void cgrp_coord_dead(cgrp_t *g, const char *why);
/* Non-zero for errors that mean "ask who the coordinator is again". */
int cgrp_coord_err(kc_err_t err);

/* cgrp_join.c */
void cgrp_join_start(cgrp_t *g);
void cgrp_lead_free(cgrp_lead_t *l);

/* cgrp_member.c */
void cgrp_hb_schedule(cgrp_t *g);
void cgrp_hb_stop(cgrp_t *g);
/* Drops generation and in-flight member requests (state INIT); reset_id
 * also forgets the member id. */
void cgrp_reset(cgrp_t *g, int reset_id);
/* The membership is gone (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, fenced,
 * max.poll.interval.ms): partitions are revoked as lost, then rejoin. */
void cgrp_lost(cgrp_t *g, kc_err_t err, int reset_id);
/* Asks for a rejoin (rebalance, subscription change); eager members give
 * their partitions up first. */
void cgrp_rejoin(cgrp_t *g, const char *why);
/* Hands parts to ops->revoke and waits for cgrp_revoke_done(). Takes
 * ownership of parts. */
void cgrp_revoke(cgrp_t *g, kc_topic_partition_list_t *parts, int lost);
/* Sends LeaveGroup (fire and forget) for a dynamic member. */
void cgrp_send_leave(cgrp_t *g, const char *reason);

/* cgrp_topics.c */
/* Compiles the subscription; KC_ERR__INVALID_ARG for a bad pattern. */
kc_err_t cgrp_topics_set(cgrp_t *g, const char *const *topics, int cnt, char *errstr,
                         size_t errstr_size);
void cgrp_topics_clear(cgrp_t *g);
/* Metadata of names (all topics when all != 0), then done(g, md, err);
 * with member set, done is skipped when g->epoch moved on meanwhile. */
kc_err_t cgrp_md_request(cgrp_t *g, char **names, int n, int all, int member,
                         void (*done)(cgrp_t *g, const cgrp_md_t *md, kc_err_t err));
/* Before a JoinGroup: the topics the subscription matches in md (g->topics)
 * and their partition counts (the watch list). */
void cgrp_topics_for_join(cgrp_t *g, const cgrp_md_t *md);
/* Remember md's counts for names as the ones this generation started with. */
void cgrp_watch_set(cgrp_t *g, const cgrp_md_t *md, char **names, int n);
void cgrp_watch_clear(cgrp_t *g);
void cgrp_md_timer_start(cgrp_t *g);
void cgrp_md_free(cgrp_md_t *md);
int32_t cgrp_md_partitions(const cgrp_md_t *md, const char *name);

/* cgrp_offsets.c */
/* The coordinator became known: send what waited for it. */
void cgrp_offops_kick(cgrp_t *g);
/* cgrp_destroy: every waiting op fires with KC_ERR__DESTROY. */
void cgrp_offops_destroy(cgrp_t *g);

#endif
