/* Legacy message sets (magic 0 and 1), read side.
 *
 * A message set is back-to-back [offset i64][size i32][message] entries:
 *   v0: crc u32 | magic i8 = 0 | attributes i8 | key (i32 len) | value (i32 len)
 *   v1: crc u32 | magic i8 = 1 | attributes i8 | timestamp i64 | key | value
 * The CRC-32 (IEEE) covers magic to the end of the message. attributes bits
 * 0-2 are the codec, bit 3 (v1) LogAppendTime. A compressed entry is a wrapper
 * whose value is a whole inner message set in compressed form: for magic 1
 * the inner offsets are relative and the wrapper's offset is the absolute
 * offset of the last inner message; for magic 0 they are absolute. A
 * LogAppendTime wrapper's timestamp applies to every inner message. Wrappers
 * nest one level only.
 *
 * Consumers do not call this directly: proto_batch_iter_t hands legacy
 * entries out like batches, and proto_record_iter_t decodes them into the
 * same proto_record_t as magic 2 (see proto_record.h).
 */
#ifndef PROTO_LEGACY_H
#define PROTO_LEGACY_H

#include <stddef.h>
#include <stdint.h>

#include "proto_buf.h"
#include "proto_record.h"

#define PROTO_LEGACY_LOG_OVERHEAD         12 /* offset + size */
#define PROTO_LEGACY_V0_MIN_SIZE          14 /* crc, magic, attributes, key and value lengths */
#define PROTO_LEGACY_V1_MIN_SIZE          22 /* plus the timestamp */
#define PROTO_LEGACY_ATTR_CODEC_MASK      0x07
#define PROTO_LEGACY_ATTR_LOG_APPEND_TIME 0x08

/* One entry, parsed; slices point into the input. */
typedef struct proto_legacy_msg {
    int64_t offset;
    int32_t size; /* of the message, after the size field */
    uint32_t crc;
    int8_t magic;
    int8_t attributes;
    int64_t timestamp; /* -1 for magic 0 */
    proto_bytes_t key;
    proto_bytes_t value;
    const uint8_t *data; /* the entry, from its offset field */
} proto_legacy_msg_t;

/* Parses the entry at data[0..len). Returns 0; KC_ERR__PARTIAL when the
 * entry is cut off (m->size is then filled when the size field was there);
 * KC_ERR__BAD_MSG (message in errstr, may be NULL) when magic is not 0/1 or
 * the key and value do not exactly fill the message. */
int proto_legacy_msg_parse(const void *data, size_t len, proto_legacy_msg_t *m, char *errstr,
                           size_t errstr_size);

/* 0 if the message's CRC-32 matches, else KC_ERR__BAD_CRC. */
int proto_legacy_msg_verify_crc(const proto_legacy_msg_t *m);

/* Internal, shared by proto_record.c and proto_legacy.c: the legacy half of
 * proto_record_iter_t, and recording an error in a record iterator (ends it;
 * returns 0 so callers can `return proto_record_iter_fail(...)`). */
int proto_record_iter_fail(proto_record_iter_t *it, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int proto_legacy_iter_init(proto_record_iter_t *it, const proto_batch_view_t *v, int check_crc,
                           proto_wbuf_t *scratch, size_t max_decompressed);
int proto_legacy_iter_next(proto_record_iter_t *it, proto_record_t *r);

/* Converts the legacy entries of data[0..len) into magic 2 batches appended
 * to out, one batch per entry (a wrapper's inner messages become one batch),
 * keeping offsets, timestamps and their type; the batches are uncompressed.
 * Magic 2 batches met on the way are copied as they are; a partial trailing
 * entry is left out. scratch takes decompressed inner sets (clobbered).
 * Returns 0 or a kc_err_t with a message in errstr (may be NULL). */
int proto_legacy_to_batches(const void *data, size_t len, proto_wbuf_t *out, int check_crc,
                            proto_wbuf_t *scratch, size_t max_decompressed, char *errstr,
                            size_t errstr_size);

#endif
