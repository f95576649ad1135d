/* The inside of kc_consumer_t, shared by kc_consumer.c (the public calls and
 * the poll path), fetch.c (the fetcher on the I/O thread), fetch_offsets.c
 * (ListOffsets), consumer_parse.c (records out of fetched data, on the poll
 * thread), consumer_buf.c (reference-counted buffers and messages) and
 * consumer_group.c (the glue to cgrp).
 *
 * Threads. The I/O thread owns the fetcher and every field marked "I/O";
 * the application threads meet it under c->lock for the fields marked
 * "lock" and the event queue. A partition object lives until the consumer
 * is destroyed (an unassigned one is kept, unassigned, and reused if
 * assigned again), so events may point to it without reference counts.
 *
 * Staleness. Every change that invalidates fetched data (assign, unassign,
 * seek, pause, an offset reset) bumps the partition's version under the
 * lock; data and events carry the version they were fetched for, and the
 * poll path drops those whose version is no longer current.
 */
#ifndef KC_CONSUMER_INT_H
#define KC_CONSUMER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "client.h"
#include "kc/kc_consumer.h"
#include "kc_conf_int.h"
#include "proto_record.h"
#include "util/hmap.h"

struct event;
typedef struct cgrp cgrp_t;

/* ---- buffers and messages (consumer_buf.c) ---- */

typedef struct cons_blk cons_blk_t;

/* Fetched bytes (a response frame or one decompressed batch) and the
 * messages and strings handed out from them. Each message holds a
 * reference; the parser holds one while it reads. */
typedef struct cons_buf {
    atomic_int refs;
    void *data; /* owned, released with free_fn (free) with the buffer; may be NULL */
    void (*free_fn)(void *);
    size_t scratch_cap; /* data is a recycled decompression buffer of this capacity */
    cons_blk_t *blks;
    uint8_t *cur; /* bump allocation in blks (the poll thread only) */
    size_t left;
} cons_buf_t;

/* A buffer owning data (may be NULL), one reference. NULL when out of memory
 * (data is then not freed). */
cons_buf_t *cons_buf_new(void *data);
/* The same for data released with free_fn (a net frame: net_frame_free). */
cons_buf_t *cons_buf_new_fn(void *data, void (*free_fn)(void *));
/* A buffer taking w's memory (w is emptied); it goes back to the cache of
 * decompression buffers when released. NULL when out of memory. */
cons_buf_t *cons_buf_new_scratch(proto_wbuf_t *w);
/* Fills an empty w with a cached decompression buffer, if there is one. */
void cons_scratch_take(proto_wbuf_t *w);
void cons_buf_ref(cons_buf_t *b);
void cons_buf_unref(cons_buf_t *b);
/* n bytes (aligned for any type) living as long as b, from b's blocks
 * (32 KiB, recycled; larger for a larger n). min_blk is unused. NULL when
 * out of memory. */
void *cons_buf_alloc(cons_buf_t *b, size_t n, size_t min_blk);
char *cons_buf_strdup(cons_buf_t *b, const char *s, size_t len);

typedef struct cons_msg {
    kc_message_t m;
    cons_buf_t *buf; /* one reference */
} cons_msg_t;

/* A message in b (taking a reference), zeroed except partition -1,
 * offset -1, leader_epoch -1. */
cons_msg_t *cons_msg_new(cons_buf_t *b, size_t min_blk);
/* An event message with its own small buffer: err, errstr (copied), topic
 * (copied, may be NULL). NULL when out of memory. */
kc_message_t *cons_msg_event(kc_err_t err, const char *errstr, const char *topic, int32_t partition,
                             int64_t offset);

/* ---- partitions ---- */

enum {
    PART_IDLE,      /* not assigned */
    PART_PENDING,   /* needs its fetch offset resolved (want_offset) */
    PART_RESOLVING, /* ListOffsets or OffsetFetch in flight */
    PART_FETCHING,  /* fetch_pos is valid */
    PART_ERROR,     /* stopped until seek/assign (auto.offset.reset=error) */
};

typedef struct cons_part {
    char *topic;
    int32_t partition;

    /* lock */
    int assigned;
    uint64_t version;
    int64_t app_pos; /* position: next offset handed out; KC_OFFSET_INVALID */
    int32_t app_epoch;
    int paused;
    int64_t lo, hi, lso; /* from the last fetch response; -1 before */
    size_t queued_bytes; /* fetched data waiting to be polled (also in c->queued_bytes) */
    int64_t queued_msgs; /* records in it (batch headers' counts) */
    int64_t committed;   /* last offset committed by auto-commit, -1 */

    /* I/O */
    int state;
    int64_t want_offset; /* PENDING: absolute or KC_OFFSET_* */
    uint64_t io_version; /* the version fetch_pos belongs to */
    int64_t fetch_pos;
    int32_t leader_epoch;
    int32_t max_bytes;      /* partition_max_bytes, grown for a batch too large */
    int32_t fetch_node;     /* node whose fetch holds it, -1 */
    uint64_t fetch_version; /* version when that fetch was sent */
    int32_t sess_node;      /* the session that last got its offset, -1 */
    int64_t sess_off;
    int32_t sess_max;
    int32_t want_node; /* the fetch it was picked for in pass want_serial */
    uint64_t want_serial;
    uint64_t retry_at_ms;
    /* retry_at_ms when it was set only to wait for a leader in the metadata
     * (fetch_wait_leader); new metadata clears such a wait at once. */
    uint64_t leader_wait_ms;
    int64_t eof_at;  /* offset of the last EOF event, -1 */
    int in_assigned; /* listed in c->assigned */
} cons_part_t;

/* ---- events: what the I/O thread hands to kc_consumer_poll() ---- */

typedef enum cons_ev_type {
    CONS_EV_DATA,      /* a partition's records from one fetch response */
    CONS_EV_MSG,       /* a ready message (EOF, error) */
    CONS_EV_REBALANCE, /* rebalance callback (or automatic apply) */
    CONS_EV_COMMIT,    /* commit callback */
} cons_ev_type_t;

typedef struct cons_aborted {
    int64_t producer_id;
    int64_t first_offset;
} cons_aborted_t;

typedef struct cons_ev cons_ev_t;
struct cons_ev {
    cons_ev_t *next;
    cons_ev_type_t type;
    cons_part_t *part; /* DATA; MSG when about a partition */
    uint64_t version;

    /* DATA */
    cons_buf_t *buf; /* the response frame (one reference) */
    const uint8_t *data;
    size_t len;
    int64_t start_offset;    /* records before it are skipped */
    size_t bytes;            /* counted in part->queued_bytes */
    int64_t msgs;            /* counted in part->queued_msgs */
    cons_aborted_t *aborted; /* read_committed: sorted by first_offset */
    int naborted;

    /* MSG */
    kc_message_t *msg;

    /* REBALANCE / COMMIT */
    kc_rebalance_event_t rb_event;
    kc_topic_partition_list_t *parts;
    kc_err_t err;
};

void cons_ev_free(cons_ev_t *ev);

/* Poll-thread state of the DATA event being read (consumer_parse.c). */
typedef struct cons_reader {
    cons_ev_t *ev;
    const char *topic_in_buf; /* ev's topic copied into ev->buf */
    proto_batch_iter_t bi;
    int in_batch;
    proto_batch_view_t bv;
    proto_record_iter_t ri;
    cons_buf_t *dbuf; /* decompressed records of the current batch, or NULL */
    const char *topic_in_dbuf;
    int next_aborted;
    int64_t *open_aborts; /* producer ids of aborted transactions in progress */
    int nopen, capopen;
    int check_crcs;
    int read_committed;
    proto_wbuf_t scratch; /* decompression, reused batch after batch */
} cons_reader_t;

/* Starts reading ev (a DATA event). */
void cons_reader_start(cons_reader_t *rd, cons_ev_t *ev, int check_crcs, int read_committed);
/* The next record as a message; NULL at the end of the data. A corrupt
 * batch ends the data with *err and errstr set (the caller reports it). */
kc_message_t *cons_reader_next(cons_reader_t *rd, kc_err_t *err, char *errstr, size_t errstr_size);
/* Releases what the reader holds for ev (not ev). */
void cons_reader_end(cons_reader_t *rd);
/* Frees the reader's own memory (after the last cons_reader_end). */
void cons_reader_free(cons_reader_t *rd);

/* ---- the consumer ---- */

typedef struct fetch_sess fetch_sess_t;

struct kc_consumer {
    client_t *client;
    const client_conf_t *conf;
    kc_conf_cbs_t cbs;
    cgrp_t *cgrp; /* NULL without group.id */
    int has_group;

    pthread_mutex_t lock;
    pthread_cond_t cond;        /* events queued, waiters done */
    cons_ev_t *q_head, *q_tail; /* lock */
    int q_waiting;              /* lock: a poller waits on cond */
    int closed;                 /* lock */
    int revoke_pending;         /* lock: a revoke waits for cgrp_revoke_done */
    size_t queued_bytes;        /* lock: every partition's fetched data waiting to be polled */

    uint64_t poll_told_ms; /* poll thread: when cgrp last heard of a poll */

    /* poll thread */
    cons_reader_t rd;
    int rd_active;

    /* I/O */
    util_hmap_t parts;      /* "topic\0partition" -> cons_part_t (all ever seen) */
    cons_part_t **assigned; /* assigned partitions, in assignment order */
    int nassigned, capassigned;
    fetch_sess_t *sess;     /* per broker, list */
    struct event *ev_kick;  /* run the fetcher (coalesced; any thread may activate) */
    struct event *ev_timer; /* retry backoffs */
    struct event *ev_autocommit;
    struct event *ev_pollseen; /* tells cgrp the application polls (any thread activates) */
    int autocommit_in_flight;
    int stopping;
    size_t queue_limit; /* queued.max.messages.kbytes in bytes, for c->queued_bytes */
    uint64_t pass_serial;
    uint64_t fetches_sent, session_resets, full_fetches, incremental_fetches; /* I/O */
    uint64_t parts_sent; /* partitions listed in fetch requests (I/O) */
};

/* ---- fetch.c (I/O thread) ---- */
kc_err_t fetch_init(kc_consumer_t *c);
/* The unread bytes past which a partition is not fetched again until it is
 * polled below them: four responses of max.partition.fetch.bytes. Records
 * are parsed on the poll thread, so a fetcher that outruns the application
 * only piles up memory; four responses keep a fetch in flight while the
 * application reads. (A batch larger than that still comes, one at a time.) */
static inline size_t cons_part_queue_cap(const kc_consumer_t *c)
{
    return 4 * (size_t)c->conf->max_partition_fetch_bytes;
}
/* p has no known leader: it is tried again after retry.backoff.ms, or as
 * soon as new metadata arrives (I/O thread). */
void fetch_wait_leader(kc_consumer_t *c, cons_part_t *p, uint64_t now);
void fetch_stop(kc_consumer_t *c); /* I/O thread, before client_destroy */
void fetch_free(kc_consumer_t *c); /* after client_destroy */
/* Brokers the fetcher has talked to (a session object each; tests). */
int fetch_sessions(const kc_consumer_t *c);
/* Fetch requests in flight (tests). */
int fetch_in_flight(const kc_consumer_t *c);
/* Runs the fetcher soon (any thread). */
void fetch_kick(kc_consumer_t *c);
cons_part_t *fetch_part_get(kc_consumer_t *c, const char *topic, int32_t partition, int create);
/* Adds p to the assignment (resolving offset), or removes it. */
void fetch_part_assign(kc_consumer_t *c, cons_part_t *p, int64_t offset);
void fetch_part_unassign(kc_consumer_t *c, cons_part_t *p);
/* Moves p to offset (absolute or logical); drops what was fetched. */
void fetch_part_seek(kc_consumer_t *c, cons_part_t *p, int64_t offset);

/* ---- fetch_offsets.c (I/O thread) ---- */
/* Resolves PENDING partitions' offsets: committed offsets, ListOffsets. */
void fetch_offsets_resolve(kc_consumer_t *c);
/* ListOffsets of timestamp ts (-2 earliest, -1 latest) for one partition;
 * cb fires once. */
typedef void (*fetch_list_cb)(kc_err_t err, const char *errstr, int64_t offset, void *opaque);
void fetch_list_offset(kc_consumer_t *c, const char *topic, int32_t partition, int64_t ts,
                       int timeout_ms, fetch_list_cb cb, void *opaque);

/* ---- kc_consumer.c ---- */
/* Queues ev for the poll thread (lock taken inside unless locked). */
void cons_enqueue(kc_consumer_t *c, cons_ev_t *ev);
void cons_enqueue_locked(kc_consumer_t *c, cons_ev_t *ev);
/* Queues an error event (I/O thread or any). */
void cons_error(kc_consumer_t *c, cons_part_t *p, kc_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- consumer_group.c ---- */
kc_err_t cons_group_new(kc_consumer_t *c, char *errstr, size_t errstr_size);
void cons_group_destroy(kc_consumer_t *c); /* I/O thread */
kc_err_t cons_group_subscribe(kc_consumer_t *c, const char *const *topics, int topic_cnt);
/* Fetches committed offsets of parts (I/O thread); cb fires once. */
typedef void (*cons_offsets_cb)(kc_err_t err, const char *errstr,
                                const kc_topic_partition_list_t *parts, void *opaque);
void cons_group_fetch_committed(kc_consumer_t *c, const kc_topic_partition_list_t *parts,
                                int timeout_ms, cons_offsets_cb cb, void *opaque);
void cons_group_commit(kc_consumer_t *c, const kc_topic_partition_list_t *parts, int timeout_ms,
                       cons_offsets_cb cb, void *opaque);
void cons_group_poll_seen(kc_consumer_t *c);
void cons_group_revoke_done(kc_consumer_t *c);
const char *cons_group_protocol(kc_consumer_t *c);
/* Leaves (I/O thread); done(opaque) fires once. */
void cons_group_leave(kc_consumer_t *c, void (*done)(void *opaque), void *opaque);

#endif
