/* Idempotent producers: producer-id allocation (pids.c) and the per-partition
 * producer state that makes retried batches land once (producer_state.c),
 * kept across restarts by snapshots plus a replay of the log
 * (producer_snapshot.c).
 *
 * Per partition and producer id the state holds the current epoch and the
 * last BROKER_PRODUCER_BATCHES batches (first/last sequence, first/last
 * offset, timestamp), as Kafka does: a retry of any of those is answered with
 * its original offsets instead of being appended twice.
 *
 * Lifecycle: broker_producers_load() runs when a partition's log is opened
 * (topics.c) and leaves p->producers set, or NULL after an error (then the
 * next broker_producers_get() tries again); broker_producers_free() runs when
 * the partition is closed; broker_producers_shutdown() runs at the start of
 * broker_destroy() and writes a snapshot per partition of a persistent broker.
 * Everything runs on the broker's loop thread.
 */
#ifndef BROKER_PRODUCERS_H
#define BROKER_PRODUCERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/broker.h"
#include "proto/proto_batch.h"

#define BROKER_PRODUCER_BATCHES 5

/* Kafka's largest producer epoch: at this epoch InitProducerId hands out a
 * new producer id instead of bumping. */
#define BROKER_PRODUCER_EPOCH_MAX 32766

typedef struct broker_producer_batch {
    int32_t first_seq, last_seq;
    int64_t first_offset, last_offset;
    int64_t timestamp; /* the batch's maxTimestamp as stored */
} broker_producer_batch_t;

typedef struct broker_producer {
    int64_t id;
    int16_t epoch;
    int n;    /* cached batches, newest at batches[(head + n - 1) % N] */
    int head; /* oldest */
    broker_producer_batch_t batches[BROKER_PRODUCER_BATCHES];
    int64_t last_ms; /* broker time of the last append, for producer.id.expiration.ms */
} broker_producer_t;

typedef struct broker_producer_state {
    util_hmap_t by_id;     /* 8-byte producer id -> broker_producer_t */
    int64_t covered;       /* log offset the loaded snapshot covered (-1: none) */
    int64_t last_sweep_ms; /* last expiry sweep */
    int dirty;             /* changed since load: a snapshot must be written */
} broker_producer_state_t;

/* ---- Producer ids ---------------------------------------------------------- */

/* Hands out a producer id that was never handed out before, even across
 * restarts and crashes: a persistent broker reserves ids in blocks, writing
 * the end of the block to <dirs[0]>/kc-metadata/producer-ids before using it.
 * Returns 0, or KC_ERR_KAFKA_STORAGE_ERROR with errstr. */
int broker_pids_next(broker_t *b, int64_t *out, char *errstr, size_t errstr_size);
/* 1 if id was handed out by this broker (below the next id to hand out). */
int broker_pids_issued(broker_t *b, int64_t id);
/* Frees the allocator (broker_producers_shutdown calls it). */
void broker_pids_free(broker_t *b);

/* ---- Partition state --------------------------------------------------------- */

/* Loads p's state: the snapshot if it matches the topic and the log, then the
 * batch headers from there to the log end. Logs and returns a kc_err_t on
 * failure, leaving p->producers NULL. */
int broker_producers_load(broker_t *b, broker_partition_t *p);
/* p's state, loading it first if needed; NULL (logged) if it cannot be loaded. */
broker_producer_state_t *broker_producers_get(broker_t *b, broker_partition_t *p);
/* Frees p's state (without writing anything). */
void broker_producers_free(broker_partition_t *p);
/* Writes the snapshots of every partition (persistent brokers) and frees the
 * producer-id allocator. Partition states stay until their partitions close. */
void broker_producers_shutdown(broker_t *b);

/* What broker_producers_check() found. */
typedef enum {
    BROKER_PRODUCER_APPEND,   /* new batch: append it, then broker_producers_update */
    BROKER_PRODUCER_DUPLICATE /* a retry of a cached batch: answer with *dup */
} broker_producer_verdict_t;

/* Checks an idempotent batch (h->producer_id >= 0) against the state before
 * appending. Returns 0 with *verdict, or the error Kafka answers with:
 * KC_ERR_INVALID_PRODUCER_EPOCH (an older epoch than the partition has seen)
 * or KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER (a gap, or a new epoch not starting
 * at 0), with errstr. An unknown (or expired) producer id is accepted at any
 * sequence, as Kafka 2.5+ does for idempotent producers (KIP-360). */
int broker_producers_check(broker_t *b, broker_producer_state_t *s, const proto_batch_header_t *h,
                           broker_producer_verdict_t *verdict, broker_producer_batch_t *dup,
                           char *errstr, size_t errstr_size);

/* Records an appended batch (header as stored, at base_offset) at broker
 * time now_ms. Returns 0 or KC_ERR__NO_MEMORY. */
int broker_producers_update(broker_t *b, broker_producer_state_t *s, const proto_batch_header_t *h,
                            int64_t base_offset, int64_t now_ms);

/* Forgets producers idle for producer.id.expiration.ms (at most once a
 * minute per partition, so it is cheap to call on every append). */
void broker_producers_expire(broker_t *b, broker_producer_state_t *s, int64_t now_ms);

/* The last sequence of a batch: first + lastOffsetDelta, wrapping at 2^31. */
int32_t broker_producers_last_seq(int32_t first_seq, int32_t last_offset_delta);

/* internal: snapshot file and replay (producer_snapshot.c) */
int broker_producers_snapshot_write(broker_t *b, broker_partition_t *p, char *errstr,
                                    size_t errstr_size);
int broker_producers_snapshot_read(broker_t *b, broker_partition_t *p, broker_producer_state_t *s);
int broker_producers_replay(broker_t *b, broker_partition_t *p, broker_producer_state_t *s,
                            int64_t from, char *errstr, size_t errstr_size);
broker_producer_t *broker_producers_entry(broker_producer_state_t *s, int64_t id, int create);

#endif
