/* The producer's inside, shared by its files:
 *
 *   prod_batch.c   batches: a record-batch buffer plus a compact array of
 *                  per-record report data; recycled through a free list
 *   prod_accum.c   application threads: topics, partitions, kc_produce's
 *                  append into the partition's open batch, backpressure;
 *                  compresses the batch a call closes when the sender is
 *                  behind (outside every lock)
 *   prod_sender.c  the I/O thread: closes batches (linger.ms, size, flush),
 *                  groups them per leader into ProduceRequests, handles the
 *                  responses, retries and time-outs
 *   prod_idem.c    the I/O thread: idempotence (InitProducerId, sequence
 *                  numbers, epoch bump, fatal errors)
 *   prod_dr.c      delivery reports: queued by the I/O thread, served by
 *                  kc_poll()/kc_flush()/destroy on the application thread
 *
 * Locks (never two at once except topic -> nothing, part -> free_lock):
 *   topics_lock (rwlock)  the topic map and list; written only when a topic
 *                         is added
 *   topic->lock           the topic's partition count and array, its pending
 *                         queue (records waiting for metadata), sticky choice
 *   part->lock            the partition's open batch and ready queue, and
 *                         a queued batch's finished / compressing state
 *   dr_lock               the delivery-report queue (cond dr_cond)
 *   space_lock            waiters for queue room (cond space_cond)
 *   free_lock             recycled batches
 * Fields marked "I/O" are touched by the I/O thread only.
 */
#ifndef PROD_INT_H
#define PROD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/queue.h>

#include "client.h"
#include "kc/kc_producer.h"
#include "proto_batch.h"
#include "proto_msgs.h"
#include "util/hmap.h"

typedef struct prod prod_t;
typedef struct prod_topic prod_topic_t;
typedef struct prod_part prod_part_t;
typedef struct prod_batch prod_batch_t;

/* What a delivery report needs per record beyond the batch's own fields. */
typedef struct prod_rec_meta {
    void *opaque;
    int64_t timestamp;
} prod_rec_meta_t;

struct prod_batch {
    TAILQ_ENTRY(prod_batch) link; /* ready queue, in-flight list or report queue */
    prod_topic_t *topic;
    int32_t partition;
    proto_wbuf_t buf; /* the batch bytes (buf.data[0..len)) */
    proto_batch_builder_t bld;
    prod_rec_meta_t *meta;
    int32_t nrec;
    int32_t meta_cap;
    size_t bytes;        /* accounted against queue.buffering.max.kbytes */
    uint64_t created_ms; /* monotonic; message.timeout.ms counts from here */
    uint64_t no;         /* the partition's closing order: retries go back in place */
    /* Under the partition's lock while the batch is in its ready queue (a
     * thread that closed it may compress it there, see prod_batch_finish). */
    int finished;        /* builder finished (compressed, header written) */
    kc_err_t finish_err; /* finishing failed: the batch fails when it is sent */
    int compressing;     /* a producing thread is finishing it: do not touch */
    kc_err_t purge_err;  /* purged while compressing: fail it once done */
    /* I/O */
    uint64_t retry_at_ms;
    int attempts;
    int sent; /* went on the wire at least once */
    int32_t base_seq;
    int16_t epoch;
    unsigned gen; /* the producer's pid_gen when base_seq was assigned */
    int in_flight;
    int purged; /* reported while in flight: the response only frees it */
    /* the result, for the report */
    kc_err_t err;
    int64_t base_offset;
    int64_t log_append_time;
    int possibly_persisted;
    char errstr[160];
};

TAILQ_HEAD(prod_batch_q, prod_batch);

struct prod_part {
    prod_topic_t *topic;
    int32_t id;
    pthread_mutex_t lock;
    prod_batch_t *open;        /* lock: appended to by kc_produce */
    struct prod_batch_q ready; /* lock: closed, waiting to be sent (ordered by no) */
    int nready;                /* lock */
    uint64_t next_no;          /* lock */
    size_t last_size;          /* lock: bytes the last closed batch held */
    /* I/O */
    struct prod_batch_q inflight; /* sent, in sequence order */
    int ninflight;
    int32_t next_seq; /* idempotence: the sequence of the next new batch */
    int hold;         /* a batch failed: send nothing until in-flight drains */
    /* p->pid_gen when a batch of this partition was last acknowledged. Until
     * the broker acknowledged one under the current producer id and epoch it
     * may take any first sequence, so only one batch goes at a time: a later
     * batch must never be written ahead of a failed first one. */
    unsigned ack_gen;
};

/* A record waiting for its topic's metadata (not the hot path). */
typedef struct prod_pending {
    STAILQ_ENTRY(prod_pending) link;
    int32_t partition;
    int64_t timestamp;
    void *opaque;
    uint64_t enq_ms;
    size_t bytes;
    int32_t key_len, value_len; /* -1: null */
    kc_err_t err;               /* why it could not be appended, for its report */
    size_t nhdr;
    proto_record_header_t *hdrs; /* in the same allocation */
    uint8_t data[];              /* key, value, header names and values */
} prod_pending_t;

STAILQ_HEAD(prod_pending_q, prod_pending);

struct prod_topic {
    char *name;
    pthread_mutex_t lock;
    int32_t npart;                 /* lock: -1 while the metadata is not known */
    kc_err_t err;                  /* lock: KC_ERR__UNKNOWN_TOPIC once the cluster said so */
    prod_part_t **parts;           /* lock: grows only; a part pointer stays valid */
    struct prod_pending_q pending; /* lock */
    int npending;                  /* lock */
    int32_t sticky;                /* lock: -1 none */
    uint64_t sticky_until_ms;      /* lock */
    uint64_t rng;                  /* lock */
    /* I/O */
    uint64_t refresh_at_ms;
};

typedef struct prod_broker_state {
    int32_t node_id;
    int inflight; /* ProduceRequests in flight */
} prod_broker_state_t;

enum prod_idem_state {
    PROD_IDEM_OFF,      /* not idempotent */
    PROD_IDEM_NEED_PID, /* InitProducerId to send */
    PROD_IDEM_WAIT_PID, /* InitProducerId in flight */
    PROD_IDEM_ASSIGNED, /* producing */
    PROD_IDEM_DRAIN,    /* bump wanted: waiting for in-flight batches to end */
    PROD_IDEM_FATAL,
};

struct prod {
    kc_producer_t *handle;
    client_t *c;
    const client_conf_t *conf;
    kc_delivery_cb dr_cb;
    void *dr_opaque;
    kc_partitioner_cb part_cb; /* NULL: conf->partitioner */
    void *part_opaque;

    unsigned long long serial; /* see prod_assign_serial */
    pthread_rwlock_t topics_lock;
    util_hmap_t topics; /* name -> prod_topic_t */
    prod_topic_t **topic_list;
    int ntopics;
    int topics_cap;

    /* backpressure: records and bytes produced and not yet reported */
    atomic_int msgs;
    atomic_size_t bytes;
    size_t max_bytes;
    pthread_mutex_t space_lock;
    pthread_cond_t space_cond;
    atomic_int space_waiters;

    pthread_mutex_t dr_lock;
    pthread_cond_t dr_cond;
    struct prod_batch_q drq;

    pthread_mutex_t free_lock;
    prod_batch_t *free_batches; /* linked through link.tqe_next, without buffers */
    int nfree;
    proto_wbuf_t *bufs; /* recycled batch buffers */
    int nbufs;
    size_t buf_bytes; /* their capacity */

    atomic_int flushing;   /* kc_flush() callers: send regardless of linger.ms */
    atomic_int fatal;      /* kc_err_t of the fatal error, 0 if none */
    char fatal_str[256];   /* written once before fatal is set */
    atomic_int closing;    /* destroy started */
    struct event *ev_wake; /* I/O: run the sender (any thread may activate) */

    /* I/O */
    struct event *ev_timer;
    int timer_armed;
    uint64_t timer_at_ms;
    prod_broker_state_t *brokers;
    int nbrokers;
    proto_wbuf_t scratch; /* compression */
    int stopped;          /* no more sends (destroy) */
    int inflight_batches;
    /* statistics, for tests and kc bench */
    atomic_ullong stat_requests;
    atomic_ullong stat_batches;
    atomic_int stat_max_batch_records;
    atomic_ullong stat_retries;
    atomic_ullong stat_compressed_by_producer; /* batches a producing thread compressed */
    /* idempotence (I/O) */
    int idem_state;
    int64_t pid;
    int16_t epoch;
    int bump;         /* the next InitProducerId bumps the current id/epoch */
    unsigned pid_gen; /* bumped whenever pid or epoch changes (never 0 once assigned) */
    uint64_t pid_retry_at_ms;
    int pid_failures; /* InitProducerId attempts failed in a row (backoff) */
    proto_init_producer_id_request_t pid_req;
};

/* The producer inside a handle (tests look at its statistics). */
prod_t *prod_of(kc_producer_t *h);

/* ---- prod_batch.c ---- */
/* Batch structs and buffers kept for reuse, at most. */
#define PROD_FREE_MAX 64
/* A batch ready for appends (recycled or new), its buffer with room for
 * `size_hint` bytes (what the partition's last batch held, so a steady
 * producer's batches do not grow by copying); NULL when out of memory. */
prod_batch_t *prod_batch_new(prod_t *p, prod_topic_t *t, int32_t partition, size_t size_hint);
/* Under pp->lock: the open batch (it has records) joins the ready queue,
 * and its size becomes pp->last_size. */
prod_batch_t *prod_part_close_open(prod_part_t *pp);
/* Back to the free list or freed (its buffer too). */
void prod_batch_release(prod_t *p, prod_batch_t *b);
/* The batch bytes are no longer needed (the batch is settled): the buffer
 * goes back to the pool now rather than when the report is served. */
void prod_batch_drop_buf(prod_t *p, prod_batch_t *b);
void prod_batch_free_all(prod_t *p);
/* Appends one record; 0 or a kc_err_t (nothing appended). */
kc_err_t prod_batch_append(prod_batch_t *b, int64_t ts, const void *key, int32_t key_len,
                           const void *value, int32_t value_len, const proto_record_header_t *hdrs,
                           size_t nhdr, void *opaque, size_t bytes);
/* Finishes b: compresses its records (compression.type/.level) into
 * scratch and back, writes the header and the CRC. On failure sets
 * b->finish_err and b->errstr. Any thread that owns b. */
kc_err_t prod_batch_finish(prod_t *p, prod_batch_t *b, proto_wbuf_t *scratch);
/* A buffer from the recycled batch buffers (or an empty one), to use as a
 * compression scratch by a thread other than the I/O thread; give it back
 * with prod_buf_give, which keeps or frees it. */
proto_wbuf_t prod_buf_take(prod_t *p);
void prod_buf_give(prod_t *p, proto_wbuf_t *buf);
/* A record-less batch that carries n reports (for records failed before they
 * reached a batch, or reported while their batch is still in flight). */
prod_batch_t *prod_batch_new_report(prod_t *p, prod_topic_t *t, int32_t partition, int32_t n);

/* ---- prod_accum.c ---- */
kc_err_t prod_produce(prod_t *p, const kc_produce_rec_t *rec, int flags);
/* I/O: the topic's metadata arrived: creates partitions up to npart and
 * moves pending records into them. */
void prod_topic_set_partitions(prod_t *p, prod_topic_t *t, int32_t npart);
/* I/O: fails the topic's pending records older than their timeout (or all
 * with err when all is set). */
void prod_topic_fail_pending(prod_t *p, prod_topic_t *t, kc_err_t err, int all, uint64_t now);
void prod_topics_free(prod_t *p);
/* Numbers a new producer (before its first kc_produce). */
void prod_assign_serial(prod_t *p);
/* Any thread: records (and bytes) leave the queue; wakes blocked producers. */
void prod_unreserve(prod_t *p, int msgs, size_t bytes);
/* Any thread: wakes the sender. */
void prod_wake(prod_t *p);
uint64_t prod_now_ms(void);
/* When a record enqueued at enq_ms times out (message.timeout.ms; 0 is no
 * limit: UINT64_MAX). */
uint64_t prod_deadline(const prod_t *p, uint64_t enq_ms);
int64_t prod_wallclock_ms(void);

/* ---- prod_sender.c ---- */
kc_err_t prod_sender_start(prod_t *p); /* application thread, through client_call */
void prod_sender_stop(prod_t *p);      /* application thread: frees the I/O events */
/* I/O: reports b with err (and moves ownership to the report queue). */
void prod_batch_fail(prod_t *p, prod_batch_t *b, kc_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* I/O: purge (flags KC_PURGE_F_*) with err. */
void prod_purge_io(prod_t *p, int flags, kc_err_t err);

/* ---- prod_idem.c ---- */
/* I/O: runs the InitProducerId state machine; non-zero when batches may be sent. */
int prod_idem_ready(prod_t *p, uint64_t now, uint64_t *next_ms);
/* I/O: asks for an epoch bump once in-flight batches drained. */
void prod_idem_request_bump(prod_t *p, const char *why);
/* I/O: the producer is broken beyond repair. */
void prod_set_fatal(prod_t *p, kc_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- prod_dr.c ---- */
/* I/O: queues b's reports (err and offsets already in b). */
void prod_dr_enqueue(prod_t *p, prod_batch_t *b);
/* Application thread: serves reports for up to timeout_ms; returns how many. */
int prod_dr_serve(prod_t *p, int timeout_ms);

#endif
