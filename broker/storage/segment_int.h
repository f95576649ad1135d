/* Segment internals shared by segment.c and segment_recover.c. */
#ifndef BROKER_STORAGE_SEGMENT_INT_H
#define BROKER_STORAGE_SEGMENT_INT_H

#include "storage/segment.h"

/* A read-ahead window for walking batch headers with few system calls. */
typedef struct broker_seg_cursor {
    const broker_segment_t *seg;
    int64_t start;
    size_t len;
    uint8_t buf[8192];
} broker_seg_cursor_t;

/* Header of the batch at pos. Returns 0; KC_ERR__PARTIAL when the file ends
 * inside the header or the batch; KC_ERR_CORRUPT_MESSAGE;
 * KC_ERR_KAFKA_STORAGE_ERROR. */
int broker_seg_cursor_header(broker_seg_cursor_t *c, int64_t pos, proto_batch_header_t *h,
                             char *errstr, size_t errstr_size);

/* Accounts for the batch stored at pos: max timestamp, next offset, and index
 * entries every `interval` bytes (also written to the files if write_files). */
int broker_seg_index_batch(broker_segment_t *seg, int64_t pos, const proto_batch_header_t *h,
                           int32_t interval, int write_files, char *errstr, size_t errstr_size);

/* Unmaps every mapping broker_segment_map made (the segment is being freed). */
void broker_segment_unmap(broker_segment_t *seg);

#endif
