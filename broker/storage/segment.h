/* One segment of a partition log: the .log file and its two indexes.
 *
 * A segment covers offsets [base, next segment's base). Its batches are
 * written once, at the end of the file, and never move; only recovery cuts a
 * segment's tail. Segments are reference counted so a read range can outlive
 * the segment's place in the log: retention unlinks the files at once and the
 * last release closes the descriptors.
 *
 * Not thread-safe apart from ref/unref: the owning log serializes the rest.
 */
#ifndef BROKER_STORAGE_SEGMENT_H
#define BROKER_STORAGE_SEGMENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto_batch.h"
#include "storage/index.h"

typedef struct broker_segment {
    int64_t base;
    int64_t next_offset;   /* one past the last offset stored (base when empty) */
    int64_t size;          /* bytes in the .log file */
    int64_t max_ts;        /* largest batch maxTimestamp, -1 if none */
    int64_t max_ts_offset; /* last offset of the first batch that reached max_ts */
    int64_t roll_ts;       /* log.roll.ms counts from here: first batch's maxTimestamp,
                              else when the segment was created or opened */
    int64_t bytes_since_index;
    int64_t reserved; /* disk blocks are reserved for the .log file up to here */
    int log_fd, ofd, tfd;
    broker_index_t ix;
    unsigned dirty : 1;       /* log bytes written since the last sync */
    unsigned index_dirty : 1; /* sealed: its indexes want one fsync */
    unsigned first_ts_known : 1;
    atomic_int refs;
    char *path; /* "<dir>/<base in 20 digits>", without the extension */
    /* The newest read-only mapping of the .log file (segment_map.c); older
     * ones stay mapped until the segment is freed, for the reads using them. */
    struct broker_seg_map *map;
} broker_segment_t;

/* Disk space is reserved ahead of appends in steps of this many bytes. */
#define BROKER_SEG_RESERVE_STEP (8 << 20)

/* Reserves disk blocks for the .log file so that appends up to byte `end`
 * find them allocated: fallocate(FALLOC_FL_KEEP_SIZE) of
 * BROKER_SEG_RESERVE_STEP more than needed, but not past `limit`
 * (log.segment.bytes). On ext4 this takes the per-block delayed-allocation
 * work off every write: 0.31 against 0.35 CPU-s per GB taking 1 KiB records
 * (medians of interleaved runs, bench/README.md). Never on tmpfs or ramfs,
 * where fallocate allocates the pages themselves. Best
 * effort: where fallocate fails (unsupported, or no space: the write then
 * reports it) the segment stops trying. The file's size is unchanged, so a
 * reservation is invisible to readers and to recovery; sealing the segment
 * gives back what was not used. */
void broker_segment_reserve(broker_segment_t *seg, int64_t end, int64_t limit);

/* A segment's .log file is mapped in steps of this many bytes of address
 * space (tests lower it to see a mapping grow). */
extern size_t broker_seg_map_step;
/* At most this many segment mappings live at once (segment_map.c says why);
 * tests lower it. broker_seg_maps_live() counts them. */
extern int broker_seg_map_max;
int broker_seg_maps_live(void);

/* The bytes [pos, pos + len) of the .log file in memory, straight from the
 * page cache: a read-only shared mapping of the file, made at the first call
 * and kept (grown when a read goes past it) until the segment is freed, so
 * serving a read costs no system call and no page-table work once its pages
 * were mapped. pos + len must not pass seg->size (pages past the end of the
 * file fault). NULL when the file cannot be mapped; the caller then reads
 * with the descriptor. */
const uint8_t *broker_segment_map(broker_segment_t *seg, int64_t pos, size_t len);

/* Segment file names: "%020lld" + one of these. */
#define BROKER_SEG_LOG       ".log"
#define BROKER_SEG_INDEX     ".index"
#define BROKER_SEG_TIMEINDEX ".timeindex"

/* Decodes the fixed header of the batch at p[0..n) without needing the rest
 * of the batch (proto_batch_header_parse wants it whole). Checks magic 2 and
 * that batchLength is possible. Returns 0, KC_ERR__PARTIAL (n < 61) or
 * KC_ERR_CORRUPT_MESSAGE with errstr. */
int broker_batch_peek(const void *p, size_t n, proto_batch_header_t *h, char *errstr,
                      size_t errstr_size);

static inline int64_t broker_batch_last_offset(const proto_batch_header_t *h)
{
    return h->base_offset + h->last_offset_delta;
}

/* Creates the three files of a new, empty segment (truncating leftovers). */
int broker_segment_create(const char *dir, int64_t base, int64_t now_ms, broker_segment_t **out,
                          char *errstr, size_t errstr_size);

/* Opens an existing segment's files (creating missing indexes) and loads its
 * indexes. With walk_tail, also walks the batch headers after the last index
 * entry to the end of the file, which sets next_offset, max_ts and the index
 * cadence (needed for the active segment; a cheap consistency check for the
 * others). Returns 0; KC_ERR__BAD_MSG when the indexes or the tail disagree
 * with the log (then recover it: the segment is open and usable for that);
 * other errors leave *out NULL. */
int broker_segment_open(const char *dir, int64_t base, int64_t now_ms, int walk_tail,
                        broker_segment_t **out, char *errstr, size_t errstr_size);

/* Checks every batch from the start (lengths, magic, CRC-32C, growing
 * offsets), cuts the file at the first bad or partial one, and rebuilds both
 * indexes. *cut (may be NULL) gets the bytes removed. */
int broker_segment_recover(broker_segment_t *seg, int32_t index_interval, int64_t *cut,
                           char *errstr, size_t errstr_size);

/* Writes data[0..len), whole batches with offsets already assigned, at the
 * end of the file and indexes them. On error the file is cut back to its old
 * size when possible; *broken is set when it is not (nor the index). */
int broker_segment_append(broker_segment_t *seg, const uint8_t *data, size_t len,
                          int32_t index_interval, int *broken, char *errstr, size_t errstr_size);

/* Finds the first batch whose last offset >= offset. Returns 0 with *pos and
 * *h; KC_ERR__NOENT when the segment has none; KC_ERR_KAFKA_STORAGE_ERROR. */
int broker_segment_find(broker_segment_t *seg, int64_t offset, int64_t *pos,
                        proto_batch_header_t *h, char *errstr, size_t errstr_size);

/* Finds the first batch with maxTimestamp >= ts and last offset >= min_offset.
 * Same returns as broker_segment_find. */
/* *end = where the last whole batch that starts at or after `from` (a batch
 * start) and ends at or before `cut` ends; `from` when none fits. Walks the
 * batch headers from the index entry nearest cut. Same errors as
 * broker_segment_find. */
int broker_segment_whole_end(broker_segment_t *seg, int64_t from, int64_t cut, int64_t *end,
                             char *errstr, size_t errstr_size);

int broker_segment_find_time(broker_segment_t *seg, int64_t ts, int64_t min_offset, int64_t *pos,
                             proto_batch_header_t *h, char *errstr, size_t errstr_size);

/* The segment stops being active: its time index gets the final maximum, and
 * its indexes are synced at the next sync. */
int broker_segment_seal(broker_segment_t *seg, char *errstr, size_t errstr_size);

/* fdatasync of the .log (log_file) and fsync of both indexes (indexes).
 * Touches only the descriptors and the path, which never change: safe from
 * any thread that holds a reference. The caller keeps the dirty flags. */
int broker_segment_sync_files(const broker_segment_t *seg, int log_file, int indexes, char *errstr,
                              size_t errstr_size);

/* Largest timestamp for retention: max_ts, or the .log file's mtime when no
 * batch has a timestamp. */
int64_t broker_segment_largest_ts(const broker_segment_t *seg);

/* Removes the files; descriptors stay open until the last unref. */
int broker_segment_unlink(broker_segment_t *seg, char *errstr, size_t errstr_size);
/* The same for a segment that is not open. */
int broker_segment_unlink_at(const char *dir, int64_t base, char *errstr, size_t errstr_size);

void broker_segment_ref(broker_segment_t *seg);
void broker_segment_unref(broker_segment_t *seg);

#endif
