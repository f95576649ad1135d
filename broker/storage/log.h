/* A partition's log, behind a small table of operations.
 *
 * The broker core speaks only to this interface, so the same request handlers
 * run over the file-backed log (log_file.h, the reference broker) and over an
 * in-memory log (the mock cluster). A log holds record batches (magic 2)
 * exactly as they were produced, with the broker's base offset patched in:
 * what Fetch sends is the stored bytes.
 *
 * Offsets: [start, end) are readable. `start` is the log start offset (moved
 * by retention and DeleteRecords), `end` the log end offset (next offset to
 * assign; the high watermark on a single broker).
 *
 * Threads: calls on one log are serialized by the caller (the partition owns
 * its log), with two exceptions. A range returned by read() stays valid, from
 * any thread, until broker_log_range_release(), even if retention deletes its
 * segment meanwhile. A flush ticket (flush_begin) runs its slow part, the
 * fsyncs, on any thread while appends and reads go on.
 *
 * Errors: every operation that can fail returns 0 or a kc_err_t and writes a
 * message to errstr (errstr may be NULL). Disk failures are
 * KC_ERR_KAFKA_STORAGE_ERROR with the errno text; after a failed write the log
 * refuses further appends (the bytes on disk are in an unknown state until
 * the next open recovers them).
 */
#ifndef BROKER_STORAGE_LOG_H
#define BROKER_STORAGE_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct broker_log broker_log_t;
struct broker_log_conf; /* the file-backed log's settings (log_file.h) */

/* Where the batches of a read are: in memory (mem), in a file (fd, pos), or
 * both when the file log has the segment mapped. Mapped bytes are for
 * handing to the kernel (writev); code that reads them itself uses the fd. */
typedef struct broker_log_range {
    int fd;               /* file to sendfile(2) or pread(2) from; -1 for in-memory logs */
    const uint8_t *mem;   /* the bytes in memory (in-memory logs, a mapped segment), or NULL */
    int64_t pos;          /* file position of the first byte (fd only) */
    size_t len;           /* 0: nothing to return (offset == end, or max_offset) */
    int64_t first_offset; /* base offset of the first batch in the range */
    /* What keeps fd / mem alive; released by broker_log_range_release. */
    void *hold;
    void (*release)(void *hold);
} broker_log_range_t;

/* What append() assigned. */
typedef struct broker_log_append_info {
    int64_t base_offset; /* of the first batch appended */
    int64_t last_offset; /* of the last record appended */
    int64_t start;       /* log start offset after the append */
} broker_log_append_info_t;

/* A timestamp lookup's answer. offset -1 and timestamp -1: no such batch. */
typedef struct broker_log_ts_hit {
    int64_t timestamp;   /* the batch's maxTimestamp */
    int64_t offset;      /* the batch's base offset, never below the log start */
    int64_t last_offset; /* the batch's last offset */
} broker_log_ts_hit_t;

/* ListOffsets special timestamps. */
#define BROKER_LOG_TS_LATEST   (-1)
#define BROKER_LOG_TS_EARLIEST (-2)
#define BROKER_LOG_TS_MAX      (-3) /* KIP-734: the batch with the largest timestamp */

/* A flush in three steps, so the fsyncs run off the thread that appends:
 *   begin (appending thread): notes what needs syncing, up to offset `end`;
 *   broker_log_flush_run (any thread, once): the fsyncs;
 *   end (appending thread): records the result and frees the ticket.
 * Appends made after begin are not covered: the next flush takes them. One
 * ticket per log at a time; the log must not be closed while one is out. */
typedef struct broker_log_flush broker_log_flush_t;
struct broker_log_flush {
    int64_t end; /* every offset below is durable once run() succeeds */
    int (*run)(broker_log_flush_t *ticket, char *errstr, size_t errstr_size);
};

typedef struct broker_log_offsets {
    int64_t start;   /* log start offset */
    int64_t end;     /* log end offset */
    int64_t flushed; /* every offset below this is on stable storage */
    int64_t bytes;   /* bytes of batches held */
    int segments;    /* 1 for logs that have no segments */
} broker_log_offsets_t;

typedef struct broker_log_ops {
    /* Appends data[0..len), one or more whole batches (magic 2), already
     * validated by the caller (CRC, producer fields, sizes). Patches each
     * base offset in place (outside the CRC), then stores the bytes as they
     * are. now_ms drives time-based segment rolls. Returns 0;
     * KC_ERR_CORRUPT_MESSAGE if the bytes are not whole batches;
     * KC_ERR_RECORD_LIST_TOO_LARGE if they cannot fit one segment;
     * KC_ERR_KAFKA_STORAGE_ERROR. On error nothing is appended. */
    int (*append)(broker_log_t *log, void *data, size_t len, int64_t now_ms,
                  broker_log_append_info_t *info, char *errstr, size_t errstr_size);

    /* Locates the whole batches from the one holding `offset` on, up to
     * max_bytes (KIP-74: the first batch is returned whole even when larger;
     * unlike Kafka, no batch is cut at max_bytes, so no byte is sent twice and
     * a client's buffer holds no dead tail) and below max_offset (-1:
     * the log end; a batch boundary, e.g. a high watermark). Returns 0 with
     * out->len 0 when offset == end; KC_ERR_OFFSET_OUT_OF_RANGE when offset <
     * start or > end; KC_ERR_KAFKA_STORAGE_ERROR. On success the caller owns
     * a reference: release with broker_log_range_release. */
    int (*read)(broker_log_t *log, int64_t offset, int64_t max_offset, size_t max_bytes,
                broker_log_range_t *out, char *errstr, size_t errstr_size);

    /* Makes every append so far durable (fdatasync of the files written
     * since the last flush): begin, run and end in one call. *flushed_offset
     * (may be NULL) gets the log end offset it covers. A failed fsync takes
     * the log offline for appends (after a failed fsync the kernel may have
     * dropped the dirty pages: retrying could report success falsely). */
    int (*flush)(broker_log_t *log, int64_t *flushed_offset, char *errstr, size_t errstr_size);

    /* The same in steps (see broker_log_flush_t). begin returns 0 and a
     * ticket; KC_ERR__STATE when a ticket is already out. end takes the
     * ticket (always freed) and run()'s result, returns it, and on success
     * sets *flushed_offset (may be NULL). */
    int (*flush_begin)(broker_log_t *log, broker_log_flush_t **ticket, char *errstr,
                       size_t errstr_size);
    int (*flush_end)(broker_log_t *log, broker_log_flush_t *ticket, int run_result,
                     int64_t *flushed_offset);

    /* DeleteRecords: moves the log start offset up to `offset` (end at most;
     * never down), durably, and drops segments wholly below it. Returns
     * KC_ERR_OFFSET_OUT_OF_RANGE for offset > end. */
    int (*advance_start)(broker_log_t *log, int64_t offset, char *errstr, size_t errstr_size);

    /* Applies log.retention.ms (by each segment's largest timestamp, against
     * now_ms) and log.retention.bytes, deleting whole segments from the
     * oldest. *deleted (may be NULL) gets the number of segments deleted. */
    int (*retain)(broker_log_t *log, int64_t now_ms, int *deleted, char *errstr,
                  size_t errstr_size);

    /* ListOffsets by timestamp: the first batch whose maxTimestamp >= ts, or
     * for BROKER_LOG_TS_MAX the first batch holding the largest timestamp.
     * The answer is batch-level: a caller that can decode the records refines
     * it to the record. */
    int (*offset_for_time)(broker_log_t *log, int64_t ts, broker_log_ts_hit_t *hit, char *errstr,
                           size_t errstr_size);

    void (*offsets)(broker_log_t *log, broker_log_offsets_t *out);

    /* Replaces the log's settings (a topic's config was altered). They take
     * effect from the next append (rolls) and retention check; existing
     * segments stay as they are. Returns KC_ERR__CONF (settings unchanged)
     * for a bad conf. NULL in logs that have no such settings. */
    int (*reconfigure)(broker_log_t *log, const struct broker_log_conf *conf, char *errstr,
                       size_t errstr_size);

    /* Flushes, records a clean shutdown and frees the log, even on error
     * (the error says the shutdown was not clean). Ranges still held stay
     * valid until released. */
    int (*close)(broker_log_t *log, char *errstr, size_t errstr_size);
} broker_log_ops_t;

/* Every implementation starts with this. */
struct broker_log {
    const broker_log_ops_t *ops;
};

static inline int broker_log_append(broker_log_t *log, void *data, size_t len, int64_t now_ms,
                                    broker_log_append_info_t *info, char *errstr,
                                    size_t errstr_size)
{
    return log->ops->append(log, data, len, now_ms, info, errstr, errstr_size);
}

static inline int broker_log_read(broker_log_t *log, int64_t offset, int64_t max_offset,
                                  size_t max_bytes, broker_log_range_t *out, char *errstr,
                                  size_t errstr_size)
{
    return log->ops->read(log, offset, max_offset, max_bytes, out, errstr, errstr_size);
}

static inline int broker_log_flush(broker_log_t *log, int64_t *flushed_offset, char *errstr,
                                   size_t errstr_size)
{
    return log->ops->flush(log, flushed_offset, errstr, errstr_size);
}

static inline int broker_log_flush_begin(broker_log_t *log, broker_log_flush_t **ticket,
                                         char *errstr, size_t errstr_size)
{
    return log->ops->flush_begin(log, ticket, errstr, errstr_size);
}

static inline int broker_log_flush_run(broker_log_flush_t *ticket, char *errstr, size_t errstr_size)
{
    return ticket->run(ticket, errstr, errstr_size);
}

static inline int broker_log_flush_end(broker_log_t *log, broker_log_flush_t *ticket,
                                       int run_result, int64_t *flushed_offset)
{
    return log->ops->flush_end(log, ticket, run_result, flushed_offset);
}

static inline int broker_log_advance_start(broker_log_t *log, int64_t offset, char *errstr,
                                           size_t errstr_size)
{
    return log->ops->advance_start(log, offset, errstr, errstr_size);
}

static inline int broker_log_retain(broker_log_t *log, int64_t now_ms, int *deleted, char *errstr,
                                    size_t errstr_size)
{
    return log->ops->retain(log, now_ms, deleted, errstr, errstr_size);
}

static inline int broker_log_offset_for_time(broker_log_t *log, int64_t ts,
                                             broker_log_ts_hit_t *hit, char *errstr,
                                             size_t errstr_size)
{
    return log->ops->offset_for_time(log, ts, hit, errstr, errstr_size);
}

static inline void broker_log_offsets(broker_log_t *log, broker_log_offsets_t *out)
{
    log->ops->offsets(log, out);
}

static inline int broker_log_reconfigure(broker_log_t *log, const struct broker_log_conf *conf,
                                         char *errstr, size_t errstr_size)
{
    return log->ops->reconfigure ? log->ops->reconfigure(log, conf, errstr, errstr_size) : 0;
}

static inline int broker_log_close(broker_log_t *log, char *errstr, size_t errstr_size)
{
    return log->ops->close(log, errstr, errstr_size);
}

/* Drops the reference a successful read() gave; safe on a zeroed range and
 * twice. */
void broker_log_range_release(broker_log_range_t *range);

/* Copies up to cap bytes of the range at its byte `skip` into buf (pread
 * from the file, memcpy for in-memory logs; never from a mapping, see
 * log_range.c): for ListOffsets, producer-state replay and tests. Returns
 * the bytes copied, or -1 with errstr on an I/O error. */
int64_t broker_log_range_copy(const broker_log_range_t *range, size_t skip, void *buf, size_t cap,
                              char *errstr, size_t errstr_size);

#endif
