/* The file-backed log's state, shared by log_file*.c. */
#ifndef BROKER_STORAGE_LOG_FILE_INT_H
#define BROKER_STORAGE_LOG_FILE_INT_H

#include "storage/log_file.h"
#include "storage/segment.h"

#define BROKER_LOG_START_FILE   "log-start-offset"
#define BROKER_LOG_CLEAN_MARKER "clean-shutdown"

typedef struct broker_file_log {
    broker_log_t base;
    broker_log_conf_t conf;
    char *dir;
    broker_segment_t **segs; /* by base offset; the last one is active */
    int nsegs, cap;
    int64_t start;          /* log start offset */
    int64_t flushed;        /* offsets below are durable */
    int64_t bytes;          /* sum of segment sizes */
    unsigned broken : 1;    /* a write failed half-way: appends wait for a reopen */
    unsigned dir_dirty : 1; /* files created or removed since the last directory fsync */
    unsigned flush_out : 1; /* a flush ticket is out */
} broker_file_log_t;

static inline broker_segment_t *broker_flog_active(const broker_file_log_t *l)
{
    return l->segs[l->nsegs - 1];
}

static inline int64_t broker_flog_end(const broker_file_log_t *l)
{
    return broker_flog_active(l)->next_offset;
}

/* Where segment i's offsets stop: the next segment's base, or the log end. */
static inline int64_t broker_flog_seg_limit(const broker_file_log_t *l, int i)
{
    return i + 1 < l->nsegs ? l->segs[i + 1]->base : broker_flog_end(l);
}

/* Index of the last segment whose base <= offset (0 if none). */
int broker_flog_seg_for(const broker_file_log_t *l, int64_t offset);

/* Seals the active segment and starts a new one at the log end. */
int broker_flog_roll(broker_file_log_t *l, int64_t now_ms, char *errstr, size_t errstr_size);

/* Deletes the n oldest segments (rolling first when that is all of them) and
 * moves the log start up to the first segment left. *deleted (may be
 * NULL) gets how many went, also on error. */
int broker_flog_delete_oldest(broker_file_log_t *l, int n, int64_t now_ms, int *deleted,
                              char *errstr, size_t errstr_size);

/* The log start checkpoint: read (-1 when absent) and durable write. */
int broker_flog_read_start(const char *dir, int64_t *start, char *errstr, size_t errstr_size);
int broker_flog_write_start(broker_file_log_t *l, int64_t start, char *errstr, size_t errstr_size);

extern const broker_log_ops_t broker_file_log_ops;

/* Drops every segment reference and frees the log (no flush). */
void broker_flog_free(broker_file_log_t *l);

/* Operations implemented outside log_file.c. */
int broker_flog_retain(broker_log_t *log, int64_t now_ms, int *deleted, char *errstr,
                       size_t errstr_size);
int broker_flog_advance_start(broker_log_t *log, int64_t offset, char *errstr, size_t errstr_size);
int broker_flog_reconfigure(broker_log_t *log, const broker_log_conf_t *conf, char *errstr,
                            size_t errstr_size);
int broker_flog_offset_for_time(broker_log_t *log, int64_t ts, broker_log_ts_hit_t *hit,
                                char *errstr, size_t errstr_size);

#endif
