/* kc_consumer_t: reads records from Kafka topics, alone (kc_assign) or as a
 * member of a consumer group (kc_subscribe with `group.id`).
 *
 * The consumer's I/O thread keeps fetch requests in flight to each leader
 * and queues what comes back, up to `queued.max.messages.kbytes` for the
 * whole consumer (plus the fetches in flight when it was reached), and per
 * partition up to `queued.min.messages` records or four responses of
 * `max.partition.fetch.bytes`;
 * kc_consumer_poll() hands records out one at a time. A record points into
 * the fetched buffer (no copy) and keeps it alive until
 * kc_message_destroy().
 *
 * Group membership (join, sync, heartbeat, commits) runs on the I/O thread.
 * Rebalances reach the application through the rebalance callback
 * (kc_conf_set_rebalance_cb), called from inside kc_consumer_poll(); without
 * one, kc assigns and revokes by itself. With `enable.auto.commit` the
 * positions of records handed out are committed every
 * `auto.commit.interval.ms` and at close.
 *
 * Threads: one thread at a time may call kc_consumer_poll(); the other
 * calls may come from any thread.
 *
 * Lifecycle: kc_consumer_new() -> kc_subscribe() or kc_assign() ->
 * kc_consumer_poll()... -> kc_consumer_close() (final commit, leave the
 * group) -> kc_consumer_destroy(). Messages may outlive the consumer.
 */
#ifndef KC_CONSUMER_H
#define KC_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "kc/kc_conf.h"
#include "kc/kc_err.h"
#include "kc/kc_record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kc_consumer kc_consumer_t;

/* A record, or an event when err != 0 (KC_ERR__PARTITION_EOF with
 * enable.partition.eof, or an error such as a fetch error the consumer could
 * not recover from). Read-only; everything it points to lives until
 * kc_message_destroy(). */
typedef struct kc_message {
    kc_err_t err;
    const char *errstr; /* why, when err != 0 */
    const char *topic;  /* NULL for a client-wide error */
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch; /* -1 if unknown */
    const void *key;      /* NULL: null key */
    size_t key_len;
    const void *value; /* NULL: null value */
    size_t value_len;
    const kc_header_t *headers;
    size_t header_cnt;
    int64_t timestamp_ms;
    kc_timestamp_type_t timestamp_type;
} kc_message_t;

/* NULL is allowed. */
void kc_message_destroy(kc_message_t *msg);

typedef enum kc_rebalance_event {
    KC_REBALANCE_ASSIGN, /* partitions are now ours (added to what we have, cooperatively) */
    KC_REBALANCE_REVOKE, /* give these up: commit what you must now */
    KC_REBALANCE_LOST,   /* these were taken without a revoke (session lost); do not commit */
} kc_rebalance_event_t;

/* Called from kc_consumer_poll(). Without a callback kc applies the change
 * itself; with one, the callback must call kc_assign()/kc_incremental_assign()
 * on ASSIGN and kc_assign(NULL)/kc_incremental_unassign() on REVOKE/LOST,
 * per kc_rebalance_protocol(). */
typedef void (*kc_rebalance_cb)(kc_consumer_t *c, kc_rebalance_event_t ev,
                                const kc_topic_partition_list_t *partitions, void *cb_opaque);
void kc_conf_set_rebalance_cb(kc_conf_t *conf, kc_rebalance_cb cb, void *cb_opaque);

/* Called from kc_consumer_poll() with the result of every commit (also the
 * automatic ones); offsets hold each partition's err. */
typedef void (*kc_commit_cb)(kc_consumer_t *c, kc_err_t err,
                             const kc_topic_partition_list_t *offsets, void *cb_opaque);
void kc_conf_set_commit_cb(kc_conf_t *conf, kc_commit_cb cb, void *cb_opaque);

/* A consumer for conf's cluster. Takes ownership of conf on success only. */
kc_consumer_t *kc_consumer_new(kc_conf_t *conf, char *errstr, size_t errstr_size);

/* Joins the group (group.id required) for these topics; a name starting with
 * '^' is a regular expression (POSIX extended) matched against the cluster's
 * topics at every metadata refresh. Replaces the previous subscription. */
kc_err_t kc_subscribe(kc_consumer_t *c, const char *const *topics, int topic_cnt);
/* Leaves the subscription (partitions revoked); the group is left at close. */
kc_err_t kc_unsubscribe(kc_consumer_t *c);

/* Replaces the assignment with partitions (their offsets: an absolute
 * offset, KC_OFFSET_BEGINNING/END, or KC_OFFSET_STORED/INVALID for the
 * committed offset, else auto.offset.reset). NULL: assign nothing. */
kc_err_t kc_assign(kc_consumer_t *c, const kc_topic_partition_list_t *partitions);
/* Adds to / removes from the assignment (cooperative rebalancing, or by hand). */
kc_err_t kc_incremental_assign(kc_consumer_t *c, const kc_topic_partition_list_t *partitions);
kc_err_t kc_incremental_unassign(kc_consumer_t *c, const kc_topic_partition_list_t *partitions);
/* The current assignment, owned by the caller. */
kc_err_t kc_assignment(kc_consumer_t *c, kc_topic_partition_list_t **partitions);
/* "EAGER" or "COOPERATIVE": how the rebalance callback must answer. */
const char *kc_rebalance_protocol(kc_consumer_t *c);

/* The next record or event, waiting at most timeout_ms (0: none, -1: no
 * limit); NULL when none came. Also serves the rebalance and commit
 * callbacks. */
kc_message_t *kc_consumer_poll(kc_consumer_t *c, int timeout_ms);

/* Commits offsets (NULL: the current positions of the assignment), each
 * element's offset, leader_epoch and metadata. KC_ERR__NOENT when there is
 * nothing to commit.
 *
 * async=0 waits for the result and returns the first partition's error (0:
 * all committed). offsets stays the caller's (borrowed): kc writes only
 * each element's err, that partition's result, so the caller learns which
 * partitions failed; an error of the whole call (time-out, coordinator not
 * found) is written to every element. With offsets NULL the per-partition
 * results go to the commit callback only.
 *
 * async=1 returns at once and does not touch offsets; the commit callback
 * gets the per-partition results. */
kc_err_t kc_commit(kc_consumer_t *c, kc_topic_partition_list_t *offsets, int async);
/* Commits the offset after msg (msg->offset + 1) for its partition. */
kc_err_t kc_commit_message(kc_consumer_t *c, const kc_message_t *msg, int async);
/* Fills in, for each partition, the committed offset (KC_OFFSET_INVALID
 * when the group has none), its leader_epoch (-1 when none was committed)
 * and metadata (as committed: a commit without metadata sends "", so it
 * reads back as ""; NULL when the broker has none; the string is copied
 * into partitions, which owns it, replacing what was there), asking the
 * coordinator. Each
 * element's err is its result; the return value is the first error. */
kc_err_t kc_committed(kc_consumer_t *c, kc_topic_partition_list_t *partitions, int timeout_ms);
/* Fills in the position (offset of the next record handed out) of each
 * partition; KC_OFFSET_INVALID when unknown. */
kc_err_t kc_position(kc_consumer_t *c, kc_topic_partition_list_t *partitions);
/* Moves an assigned partition's position; the next record comes from offset. */
kc_err_t kc_seek(kc_consumer_t *c, const char *topic, int32_t partition, int64_t offset,
                 int timeout_ms);
kc_err_t kc_pause(kc_consumer_t *c, const kc_topic_partition_list_t *partitions);
kc_err_t kc_resume(kc_consumer_t *c, const kc_topic_partition_list_t *partitions);

/* The log start and high watermark of a partition, asked of its leader now. */
kc_err_t kc_query_watermark_offsets(kc_consumer_t *c, const char *topic, int32_t partition,
                                    int64_t *low, int64_t *high, int timeout_ms);
/* The same from the last fetch response, without a request; KC_ERR__NOENT
 * (values -1) when no fetch has answered yet. */
kc_err_t kc_get_watermark_offsets(kc_consumer_t *c, const char *topic, int32_t partition,
                                  int64_t *low, int64_t *high);
/* Writes each partition's lag into its offset field: the high watermark of
 * the last fetch response (its last stable offset with read_committed)
 * minus the position, records fetched but not yet polled included; 0 at
 * the end, never negative. No request is sent. Each element's err: 0;
 * KC_ERR__NOENT with offset -1 while the lag is unknown (no fetch answered
 * for the partition since it was assigned, or no position yet);
 * KC_ERR__UNKNOWN_PARTITION with offset -1 when it is not assigned. The
 * list stays the caller's; only offset and err are written. Returns 0, or
 * KC_ERR__INVALID_ARG. */
kc_err_t kc_consumer_lag(kc_consumer_t *c, kc_topic_partition_list_t *partitions);

/* Commits (if enable.auto.commit), revokes the assignment (through the
 * rebalance callback, served here) and leaves the group. */
kc_err_t kc_consumer_close(kc_consumer_t *c);
/* Closes if not closed, then frees. NULL is allowed. */
void kc_consumer_destroy(kc_consumer_t *c);

#ifdef __cplusplus
}
#endif
#endif
