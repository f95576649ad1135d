/* What the files of groups/ share among themselves. */
#ifndef BROKER_GROUPS_INT_H
#define BROKER_GROUPS_INT_H

#include "groups/groups.h"
#include "groups/journal.h"

/* Rewrite the journal when it is this big and more than twice its live size. */
#define GROUP_JOURNAL_COMPACT_MIN (64 * 1024)
#define GROUP_EXPIRE_INTERVAL_MS  60000

typedef struct group_pcommit group_pcommit_t;

struct broker_groups {
    broker_t *b;
    util_hmap_t groups;       /* id -> group_t */
    group_journal_t *journal; /* NULL: not persistent (the mock) */
    struct event *flush_ev;   /* one journal sync per loop turn */
    struct event *expire_ev;
    group_pcommit_t *commits; /* waiting for the sync, oldest first */
    group_pcommit_t **commits_tail;
    int64_t live_bytes; /* journal bytes a rewrite would keep */
    int broken;         /* a sync failed: rewrite the journal before appending */
};

static inline broker_groups_t *groups_of(broker_t *b)
{
    return (broker_groups_t *)b->groups;
}

/* groups.c */
char *groups_strdup(proto_str_t s); /* NUL-terminated copy; NULL for a null slice */
void groups_schedule_sync(broker_groups_t *gs);
/* Journals g's protocol/generation/state time. */
void groups_log_group(group_t *g);
void group_set_state(group_t *g, group_state_t s);
void group_free(group_t *g);

/* group_offsets.c */
void group_offsets_apply(broker_groups_t *gs, const group_record_t *r);
void group_offsets_free(group_t *g);
int64_t group_offset_record_bytes(const char *group, const group_offset_t *o);
void group_offsets_encode(const group_t *g, proto_wbuf_t *w);
/* Sync done (err != 0: failed): applies or fails the waiting commits. */
void group_offsets_synced(broker_groups_t *gs, int err);

/* group_join.c */
void group_member_free(group_member_t *m);
void group_pending_free(group_pending_t *p);
/* Gives the group's join and sync timers their callbacks. */
void group_timers_init(group_t *g);

#endif
