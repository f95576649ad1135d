/* The group journal: an append-only file of records (offset commits, offset
 * deletions, group metadata, group deletions) that rebuilds the coordinator's
 * durable state when replayed.
 *
 * On disk each record is
 *   uint32 length | uint32 CRC-32C of the body | body (length bytes)
 * and a body is a type byte followed by the record's fields in the wire
 * format's classic encodings (big-endian integers, int32-length strings,
 * -1 = null). Replay stops at the first record that is short, too long or
 * fails its CRC (a write torn by a crash) and cuts the file there, so the
 * next append follows the last good record.
 *
 * Appends are buffered in memory; group_journal_sync() writes them with one
 * write(2) and one fdatasync(2). The coordinator calls it once per loop turn,
 * so every commit of that turn shares the fsync. Rewriting (compaction)
 * replaces the file atomically with a snapshot of the live state.
 *
 * Lifecycle: group_journal_open() (replays), appends and syncs,
 * group_journal_close(). Not thread-safe. */
#ifndef BROKER_GROUPS_JOURNAL_H
#define BROKER_GROUPS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto_buf.h"

enum {
    GROUP_REC_OFFSET = 1,     /* a committed offset */
    GROUP_REC_OFFSET_DEL = 2, /* an offset deleted or expired */
    GROUP_REC_GROUP = 3,      /* protocol, generation, state time of a group */
    GROUP_REC_GROUP_DEL = 4,  /* a group and all its offsets deleted */
};

typedef struct group_record {
    int type;
    proto_str_t group;
    /* OFFSET, OFFSET_DEL */
    proto_str_t topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    proto_str_t metadata;
    int64_t commit_ts;
    int64_t expire_ts;
    /* GROUP */
    proto_str_t protocol_type;
    proto_str_t protocol_name;
    int32_t generation;
    int64_t state_ts;
} group_record_t;

typedef struct group_journal group_journal_t;

/* Appends one record (length, CRC, body) to w. */
void group_record_encode(proto_wbuf_t *w, const group_record_t *r);
/* Bytes group_record_encode() writes for r. */
size_t group_record_size(const group_record_t *r);

/* Opens (creating) `<dir>/journal`, calling apply(arg, record) for every
 * good record in order, and cuts a damaged tail. Returns 0 or a kc_err_t
 * with errstr. */
int group_journal_open(const char *dir, void (*apply)(void *arg, const group_record_t *r),
                       void *arg, group_journal_t **out, char *errstr, size_t errstr_size);
void group_journal_close(group_journal_t *j);

/* Buffers a record; nothing reaches the file before group_journal_sync(). */
void group_journal_append(group_journal_t *j, const group_record_t *r);
/* Non-zero if appends are waiting for group_journal_sync(). */
int group_journal_dirty(const group_journal_t *j);
/* Hands over the buffered, unsynced records (the caller frees them). */
proto_wbuf_t group_journal_take_pending(group_journal_t *j);
/* Writes and fdatasyncs what was appended. Returns 0, or -1 with errstr (the
 * buffered records are dropped and the file cut back to where it was). */
int group_journal_sync(group_journal_t *j, char *errstr, size_t errstr_size);
/* The file's size in bytes (what is synced). */
int64_t group_journal_file_size(const group_journal_t *j);
/* Replaces the file with `snapshot` (records encoded by group_record_encode)
 * atomically, dropping anything not yet synced. Returns 0 or -1 with errstr. */
int group_journal_rewrite(group_journal_t *j, const proto_wbuf_t *snapshot, char *errstr,
                          size_t errstr_size);

#endif
