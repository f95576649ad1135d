/* kc_producer_t: sends records to Kafka topics.
 *
 * kc_produce() picks the partition (the `partitioner` property, or the one
 * given), appends the record to that partition's open batch and returns;
 * the producer's I/O thread sends batches when they fill (`batch.size`,
 * `batch.num.messages`) or age (`linger.ms`), compressed per
 * `compression.type`, retrying per `retries` and `message.timeout.ms`.
 * With `enable.idempotence=true` retries never duplicate or reorder.
 *
 * Every record produced successfully gets exactly one delivery report: the
 * offset it was written at, or the final error. Reports are handed to the
 * delivery callback (kc_conf_set_delivery_cb) from inside kc_poll(),
 * kc_flush() and kc_producer_destroy(), on the application thread that
 * calls them; call kc_poll() regularly.
 *
 * Threads: kc_produce() may be called from several threads at once;
 * kc_poll()/kc_flush() from one thread at a time. With a codec, a
 * kc_produce() call that fills a batch while the I/O thread is behind
 * compresses that batch before it returns (docs/producer.md).
 *
 * Lifecycle: kc_producer_new() -> kc_produce()... -> kc_flush() ->
 * kc_producer_destroy(). destroy waits at most its timeout for outstanding
 * records, then fails what is left with KC_ERR__DESTROY; every report is
 * delivered before it returns.
 */
#ifndef KC_PRODUCER_H
#define KC_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include "kc/kc_conf.h"
#include "kc/kc_err.h"
#include "kc/kc_record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kc_producer kc_producer_t;

/* One record to produce. Fields left zero mean: partition 0 -- use
 * KC_PARTITION_ANY to let the partitioner choose --, no key (NULL key), no
 * value (a tombstone when value is NULL), no headers, timestamp now. */
typedef struct kc_produce_rec {
    const char *topic;
    int32_t partition; /* or KC_PARTITION_ANY */
    const void *key;   /* NULL: null key */
    size_t key_len;
    const void *value; /* NULL: null value */
    size_t value_len;
    const kc_header_t *headers;
    size_t header_cnt;
    int64_t timestamp_ms; /* 0: now (CreateTime) */
    void *opaque;         /* handed back in the delivery report */
    /* With KC_PRODUCE_F_FREE: called once with value when kc no longer
     * needs it (possibly before kc_produce() returns). */
    void (*free_cb)(void *value, void *opaque);
} kc_produce_rec_t;

/* kc_produce() flags */
enum {
    /* When the queue is full (queue.buffering.max.messages/kbytes), wait for
     * room instead of failing with KC_ERR__QUEUE_FULL. Never use from the
     * thread that serves kc_poll() without a second thread polling. */
    KC_PRODUCE_F_BLOCK = 1 << 0,
    /* Hand value over: kc calls rec->free_cb(value, rec->opaque) when done
     * with it, also when kc_produce() fails. Without it the caller keeps
     * value and kc copies what it needs before kc_produce() returns. */
    KC_PRODUCE_F_FREE = 1 << 1,
};

/* A delivery report. Valid only during the callback. */
typedef struct kc_delivery {
    const char *topic;
    int32_t partition;
    int64_t offset;       /* -1 when err != 0, or with acks=0 */
    int64_t timestamp_ms; /* the record's timestamp (LogAppendTime if the broker set it) */
    kc_timestamp_type_t timestamp_type;
    kc_err_t err;       /* 0: written */
    const char *errstr; /* why, when err != 0 */
    void *opaque;       /* kc_produce_rec_t.opaque */
    /* Whether the record may have been written although err != 0 (a
     * time-out after the request was sent): Java's "possibly persisted". */
    int possibly_persisted;
} kc_delivery_t;

typedef void (*kc_delivery_cb)(kc_producer_t *p, const kc_delivery_t *report, void *cb_opaque);

/* Called for every delivery report, from kc_poll()/kc_flush()/destroy. */
void kc_conf_set_delivery_cb(kc_conf_t *conf, kc_delivery_cb cb, void *cb_opaque);

/* A partitioner of the application's own: returns the partition (0 ..
 * partition_cnt-1) for a record produced with KC_PARTITION_ANY; key is NULL
 * for a null key. It replaces the `partitioner` property and sticky
 * partitioning. A value out of range fails the record with
 * KC_ERR__UNKNOWN_PARTITION. It may run on any thread of the producer (the
 * I/O thread too, for records that waited for metadata), under the topic's
 * lock: it must be quick, thread-safe, and must not call into kc. */
typedef int32_t (*kc_partitioner_cb)(const char *topic, const void *key, size_t key_len,
                                     int32_t partition_cnt, void *cb_opaque);
void kc_conf_set_partitioner_cb(kc_conf_t *conf, kc_partitioner_cb cb, void *cb_opaque);

/* A producer for conf's cluster. Takes ownership of conf on success only;
 * on failure returns NULL with the reason in errstr (a contradictory
 * property, e.g. enable.idempotence=true with acks=1). */
kc_producer_t *kc_producer_new(kc_conf_t *conf, char *errstr, size_t errstr_size);

/* Queues one record (see kc_produce_rec_t). Returns 0 (a delivery report
 * will follow), or without a report: KC_ERR__QUEUE_FULL,
 * KC_ERR__UNKNOWN_PARTITION (partition beyond the topic's count),
 * KC_ERR__UNKNOWN_TOPIC (topic known not to exist), KC_ERR_MESSAGE_TOO_LARGE
 * (larger than message.max.bytes), KC_ERR__INVALID_ARG, KC_ERR__FATAL (the
 * producer hit a fatal error), KC_ERR__DESTROY. */
kc_err_t kc_produce(kc_producer_t *p, const kc_produce_rec_t *rec, int flags);

/* Serves delivery reports (and logs) for up to timeout_ms (0: what is ready,
 * -1: until one is served). Returns the number of reports served. */
int kc_poll(kc_producer_t *p, int timeout_ms);

/* Sends every queued record now (ignoring linger.ms) and waits until each
 * has its report served, at most timeout_ms (-1: no limit). 0, or
 * KC_ERR__TIMED_OUT with records still outstanding. */
kc_err_t kc_flush(kc_producer_t *p, int timeout_ms);

/* kc_purge() flags */
enum {
    KC_PURGE_F_QUEUE = 1 << 0,    /* records not yet sent */
    KC_PURGE_F_INFLIGHT = 1 << 1, /* records sent, awaiting a response: reported now */
};
/* Fails purged records with KC_ERR__PURGED (reports served by kc_poll()). */
kc_err_t kc_purge(kc_producer_t *p, int flags);

/* Records produced and not yet reported. */
int kc_outq_len(kc_producer_t *p);

/* The producer's fatal error (idempotence broken beyond repair), 0 if none;
 * writes why to errstr. After one, kc_produce() fails with KC_ERR__FATAL. */
kc_err_t kc_fatal_error(kc_producer_t *p, char *errstr, size_t errstr_size);

/* Flushes for at most timeout_ms (see the lifecycle), then stops. NULL is
 * allowed. */
void kc_producer_destroy(kc_producer_t *p, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
