/* Record batches (magic 2): the unit of data in Produce, Fetch and the log.
 *
 * Layout (all big-endian), 61-byte header then the records:
 *   baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 |
 *   crc u32 | attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 |
 *   maxTimestamp i64 | producerId i64 | producerEpoch i16 | baseSequence i32 |
 *   recordCount i32 | records...
 * batchLength counts the bytes after itself; the CRC-32C covers attributes to
 * the end, so the broker can patch baseOffset and partitionLeaderEpoch without
 * re-checksumming.
 */
#ifndef PROTO_BATCH_H
#define PROTO_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "proto_buf.h"

#define PROTO_BATCH_HEADER_SIZE  61
#define PROTO_BATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength */
#define PROTO_BATCH_CRC_OFFSET   17 /* the crc field */
#define PROTO_BATCH_CRC_START    21 /* attributes: first byte the CRC covers */

#define PROTO_BATCH_ATTR_CODEC_MASK     0x07
#define PROTO_BATCH_ATTR_LOG_APPEND_TIME 0x08
#define PROTO_BATCH_ATTR_TRANSACTIONAL  0x10
#define PROTO_BATCH_ATTR_CONTROL        0x20
#define PROTO_BATCH_ATTR_DELETE_HORIZON 0x40

typedef struct proto_batch_header {
    int64_t base_offset;
    int32_t batch_length; /* bytes after this field: total size - 12 */
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
} proto_batch_header_t;

/* Parses the batch header at data[0..len). Returns 0; KC_ERR__PARTIAL when
 * fewer than PROTO_BATCH_HEADER_SIZE bytes, or fewer than the whole batch
 * (12 + batch_length), are present; KC_ERR__BAD_MSG (with errstr, which may be
 * NULL) when magic is not 2 or the lengths are impossible. Checks no CRC. */
int proto_batch_header_parse(const void *data, size_t len, proto_batch_header_t *h, char *errstr,
                             size_t errstr_size);

/* Total size of the batch whose header is h: 12 + batch_length. */
static inline size_t proto_batch_size(const proto_batch_header_t *h)
{
    return PROTO_BATCH_LOG_OVERHEAD + (size_t)h->batch_length;
}

/* 0 if the CRC-32C of the whole batch at data[0..len) (len = its total size)
 * matches its crc field, else KC_ERR__BAD_CRC. */
int proto_batch_verify_crc(const void *data, size_t len);

/* Patch fields outside the CRC in place (the broker assigns offsets). */
void proto_batch_set_base_offset(void *data, int64_t base_offset);
void proto_batch_set_partition_leader_epoch(void *data, int32_t epoch);

#endif
