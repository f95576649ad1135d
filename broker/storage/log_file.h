/* The file-backed partition log: the reference broker's storage.
 *
 * One directory per partition, `<log.dir>/<topic>-<partition>/`, holding
 * segments named by their base offset in 20 digits, as Kafka does:
 *   00000000000000000000.log        the batches, as produced, offsets patched
 *   00000000000000000000.index      sparse offset index (last offset -> position)
 *   00000000000000000000.timeindex  time index (max timestamp so far -> offset)
 *   log-start-offset                the log start offset set by DeleteRecords
 *   clean-shutdown                  present only between a clean close and open
 * docs/broker.md ("Storage") describes the formats, recovery and retention.
 *
 * Lifecycle: broker_file_log_open() recovers the directory (creating it if
 * missing) and returns a log; broker_log_close() (log.h) flushes, marks the
 * shutdown clean and frees it. Nothing else may touch the directory while the
 * log is open.
 */
#ifndef BROKER_STORAGE_LOG_FILE_H
#define BROKER_STORAGE_LOG_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "storage/log.h"

/* Apache Kafka's broker property names and defaults. */
typedef struct broker_log_conf {
    int64_t segment_bytes;        /* log.segment.bytes: 1 GiB */
    int64_t roll_ms;              /* log.roll.ms: 7 days; -1: never by age */
    int64_t retention_ms;         /* log.retention.ms: 7 days; -1: forever */
    int64_t retention_bytes;      /* log.retention.bytes: -1, no size limit */
    int32_t index_interval_bytes; /* log.index.interval.bytes: 4096 */
    int32_t index_max_bytes;      /* log.index.size.max.bytes: 10 MiB; a full index rolls */
} broker_log_conf_t;

/* Fills conf with Kafka's defaults. */
void broker_log_conf_defaults(broker_log_conf_t *conf);

/* Writes "<log_dir>/<topic>-<partition>" to buf. Returns KC_ERR__INVALID_ARG
 * if it does not fit or the topic could escape the directory ("", ".", "..",
 * or a '/'). */
int broker_log_dir_path(char *buf, size_t size, const char *log_dir, const char *topic,
                        int32_t partition);

/* Opens (or creates) the partition log in `dir` (its parent must exist).
 * After an unclean shutdown the active segment is checked batch by batch
 * (lengths, magic, CRC-32C, offsets) and cut at the first bad or partial
 * batch; indexes that disagree with their log are rebuilt. now_ms stamps a
 * newly created segment for log.roll.ms. On success *out is the log
 * (the caller closes it). Returns KC_ERR__CONF for a bad conf,
 * KC_ERR_KAFKA_STORAGE_ERROR for I/O errors or an unusable directory. */
int broker_file_log_open(const char *dir, const broker_log_conf_t *conf, int64_t now_ms,
                         broker_log_t **out, char *errstr, size_t errstr_size);

#endif
