/* A segment's two sparse indexes, held in memory and mirrored to files.
 *
 * Offset index (.index): 8-byte entries, big-endian, as Kafka writes them:
 *   int32 relative offset (a batch's last offset - segment base) | int32 position
 * Time index (.timeindex): 12-byte entries:
 *   int64 timestamp (the largest maxTimestamp so far) | int32 relative offset
 *   (last offset of the batch that first reached it)
 * Entries are added every log.index.interval.bytes of log; both columns only
 * grow, which lets lookups binary-search. The whole index lives in memory
 * (8 bytes per indexed batch); the files exist so a clean open need not
 * scan the log.
 */
#ifndef BROKER_STORAGE_INDEX_H
#define BROKER_STORAGE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define BROKER_OIDX_ENTRY 8
#define BROKER_TIDX_ENTRY 12

typedef struct broker_oidx_ent {
    uint32_t rel;
    uint32_t pos;
} broker_oidx_ent_t;

typedef struct broker_tidx_ent {
    int64_t ts;
    uint32_t rel;
} broker_tidx_ent_t;

typedef struct broker_index {
    broker_oidx_ent_t *o;
    size_t on, ocap;
    broker_tidx_ent_t *t;
    size_t tn, tcap;
} broker_index_t;

void broker_index_free(broker_index_t *ix);
void broker_index_clear(broker_index_t *ix);

/* Reads both files into ix (replacing its entries). Returns 0;
 * KC_ERR__BAD_MSG (with errstr) when a file is not a whole number of entries
 * or its columns do not grow, or an entry points past log_size; the caller
 * then rebuilds. KC_ERR_KAFKA_STORAGE_ERROR or KC_ERR__NO_MEMORY otherwise. */
int broker_index_load(broker_index_t *ix, int ofd, int tfd, int64_t log_size, char *errstr,
                      size_t errstr_size);

/* Append an entry in memory and, when fd >= 0, to the file (written at once
 * so a crashed process leaves it in the page cache). The caller keeps the
 * columns growing. Return 0, KC_ERR__NO_MEMORY or KC_ERR_KAFKA_STORAGE_ERROR. */
int broker_index_add_offset(broker_index_t *ix, int fd, uint32_t rel, uint32_t pos, char *errstr,
                            size_t errstr_size);
int broker_index_add_time(broker_index_t *ix, int fd, int64_t ts, uint32_t rel, char *errstr,
                          size_t errstr_size);

/* Replaces both files with the entries in memory (after a rebuild). */
int broker_index_write_all(const broker_index_t *ix, int ofd, int tfd, char *errstr,
                           size_t errstr_size);

/* Position of the entry with the largest rel <= rel, or 0 when none: where a
 * scan for the batch holding base + rel may start. */
uint32_t broker_index_lookup_offset(const broker_index_t *ix, uint32_t rel);

/* Position of the entry with the largest position <= pos, or 0 when none: a
 * batch start at or before pos (positions grow with offsets). */
uint32_t broker_index_lookup_pos(const broker_index_t *ix, uint32_t pos);

/* Relative offset of the entry with the largest ts < ts, or -1 when none:
 * every batch before the one at that offset has a smaller maxTimestamp. */
int64_t broker_index_lookup_time(const broker_index_t *ix, int64_t ts);

#endif
