/* Producer state across restarts.
 *
 * At a clean shutdown every partition's state is written to
 * `<dirs[0]>/kc-metadata/producers/<topic>-<partition>` together with the log
 * end offset it covers. On open, the state is the snapshot plus the batch
 * headers from that offset to the log end, so whatever was appended after
 * the snapshot (and survived a kill -9) is counted, and a crash needs no
 * snapshot at all: without one the whole log is replayed.
 *
 * A snapshot is ignored (and the whole log replayed) when it is damaged (CRC),
 * belongs to another topic of the same name (topic id), or covers more than
 * the log now holds (the log lost its unflushed tail after the snapshot was
 * written).
 *
 * File layout, big-endian: "KCPS" | version i16 (1) | topic id (16) |
 * partition i32 | covered offset i64 | count i32 | count x (producer id i64 |
 * epoch i16 | last append ms i64 | batches i8 | batches x (first seq i32 |
 * last seq i32 | first offset i64 | last offset i64 | timestamp i64)) |
 * CRC-32C of everything before it, u32. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/kc_err.h"
#include "proto/proto_crc.h"
#include "producers/producers.h"
#include "util/fsutil.h"
#include "util/log.h"

#define SNAP_MAGIC   "KCPS"
#define SNAP_VERSION 1

static int snap_path(broker_t *b, broker_partition_t *p, char *buf, size_t n, int dir_only)
{
    int w = dir_only ? snprintf(buf, n, "%s/kc-metadata/producers", b->conf->dirs[0])
                     : snprintf(buf, n, "%s/kc-metadata/producers/%s-%d", b->conf->dirs[0],
                                p->topic->name, p->index);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

int broker_producers_snapshot_write(broker_t *b, broker_partition_t *p, char *errstr,
                                    size_t errstr_size)
{
    broker_producer_state_t *s = p->producers;
    broker_log_offsets_t off;
    broker_log_offsets(p->log, &off);
    if (!s->dirty && s->covered == off.end) return 0; /* the file on disk says the same */
    char path[4096];
    if (snap_path(b, p, path, sizeof(path), 1) || util_mkdirs(path, errstr, errstr_size)) {
        if (errstr_size && !errstr[0]) snprintf(errstr, errstr_size, "path too long");
        return KC_ERR_KAFKA_STORAGE_ERROR;
    }
    snap_path(b, p, path, sizeof(path), 0);
    proto_wbuf_t w;
    proto_wbuf_init(&w, 256 + s->by_id.count * 64);
    proto_put_raw(&w, SNAP_MAGIC, 4);
    proto_put_i16(&w, SNAP_VERSION);
    proto_put_uuid(&w, &p->topic->id);
    proto_put_i32(&w, p->index);
    proto_put_i64(&w, off.end);
    proto_put_i32(&w, (int32_t)s->by_id.count);
    size_t it = 0;
    broker_producer_t *e;
    while (util_hmap_next(&s->by_id, &it, NULL, NULL, (void **)&e)) {
        proto_put_i64(&w, e->id);
        proto_put_i16(&w, e->epoch);
        proto_put_i64(&w, e->last_ms);
        proto_put_i8(&w, (int8_t)e->n);
        for (int i = 0; i < e->n; i++) {
            const broker_producer_batch_t *c = &e->batches[(e->head + i) % BROKER_PRODUCER_BATCHES];
            proto_put_i32(&w, c->first_seq);
            proto_put_i32(&w, c->last_seq);
            proto_put_i64(&w, c->first_offset);
            proto_put_i64(&w, c->last_offset);
            proto_put_i64(&w, c->timestamp);
        }
    }
    int rc = 0;
    if (w.oom) {
        snprintf(errstr, errstr_size, "out of memory");
        rc = KC_ERR__NO_MEMORY;
    } else {
        proto_put_u32(&w, proto_crc32c(0, w.data, w.len));
        if (w.oom || util_write_file_atomic(path, w.data, w.len, errstr, errstr_size))
            rc = KC_ERR_KAFKA_STORAGE_ERROR;
    }
    proto_wbuf_free(&w);
    if (!rc) {
        s->covered = off.end;
        s->dirty = 0;
    }
    return rc;
}

static int snap_parse(broker_partition_t *p, const uint8_t *data, size_t len,
                      broker_producer_state_t *s, int64_t log_end, const char **why)
{
    if (len < 4 + 2 + 16 + 4 + 8 + 4 + 4 || memcmp(data, SNAP_MAGIC, 4) != 0) {
        *why = "not a producer snapshot";
        return -1;
    }
    uint32_t stored = ((uint32_t)data[len - 4] << 24) | ((uint32_t)data[len - 3] << 16) |
                      ((uint32_t)data[len - 2] << 8) | data[len - 1];
    if (proto_crc32c(0, data, len - 4) != stored) {
        *why = "damaged (CRC mismatch)";
        return -1;
    }
    proto_rbuf_t r;
    proto_rbuf_init(&r, data + 4, len - 8);
    proto_uuid_t id;
    int16_t version = proto_get_i16(&r, "version");
    proto_get_uuid(&r, &id, "topic id");
    int32_t partition = proto_get_i32(&r, "partition");
    int64_t covered = proto_get_i64(&r, "covered offset");
    int32_t count = proto_get_i32(&r, "count");
    if (r.err || version != SNAP_VERSION) {
        *why = "unknown version";
        return -1;
    }
    if (memcmp(id.b, p->topic->id.b, sizeof(id.b)) != 0 || partition != p->index) {
        *why = "left by an earlier topic of the same name";
        return -1;
    }
    if (covered > log_end) {
        *why = "newer than the log (the log lost its tail after a crash)";
        return -1;
    }
    for (int32_t i = 0; i < count && !r.err; i++) {
        int64_t pid = proto_get_i64(&r, "producer id");
        broker_producer_t *e = broker_producers_entry(s, pid, 1);
        if (!e) {
            *why = "out of memory";
            return -1;
        }
        e->epoch = proto_get_i16(&r, "epoch");
        e->last_ms = proto_get_i64(&r, "last append");
        int8_t n = proto_get_i8(&r, "batches");
        e->n = n < 0 ? 0 : n > BROKER_PRODUCER_BATCHES ? BROKER_PRODUCER_BATCHES : n;
        e->head = 0;
        for (int j = 0; j < n; j++) {
            broker_producer_batch_t c;
            c.first_seq = proto_get_i32(&r, "first seq");
            c.last_seq = proto_get_i32(&r, "last seq");
            c.first_offset = proto_get_i64(&r, "first offset");
            c.last_offset = proto_get_i64(&r, "last offset");
            c.timestamp = proto_get_i64(&r, "timestamp");
            if (j < BROKER_PRODUCER_BATCHES) e->batches[j] = c;
        }
    }
    if (r.err) {
        *why = "truncated";
        return -1;
    }
    s->covered = covered;
    return 0;
}

static void state_clear(broker_producer_state_t *s)
{
    size_t it = 0;
    broker_producer_t *e;
    while (util_hmap_next(&s->by_id, &it, NULL, NULL, (void **)&e))
        free(e);
    util_hmap_destroy(&s->by_id);
    util_hmap_init(&s->by_id);
    s->covered = -1;
}

int broker_producers_snapshot_read(broker_t *b, broker_partition_t *p, broker_producer_state_t *s)
{
    char path[4096], errstr[256];
    if (snap_path(b, p, path, sizeof(path), 0)) return -1;
    char *data = NULL;
    size_t len = 0;
    int rc = util_read_file(path, &data, &len, errstr, sizeof(errstr));
    if (rc == 1) return -1; /* none: replay the whole log */
    if (rc < 0) {
        log_warn("producer snapshot of %s-%d: %s; replaying the log", p->topic->name, p->index,
                 errstr);
        return -1;
    }
    broker_log_offsets_t off;
    broker_log_offsets(p->log, &off);
    const char *why = NULL;
    rc = snap_parse(p, (const uint8_t *)data, len, s, off.end, &why);
    free(data);
    if (rc) {
        log_warn("producer snapshot of %s-%d is %s; replaying the log", p->topic->name, p->index,
                 why);
        state_clear(s);
        return -1;
    }
    return 0;
}

/* ---- Replay ------------------------------------------------------------------------ */

static int64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

static int32_t be32(const uint8_t *p)
{
    return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
                     p[3]);
}

/* Reads the header fields the state needs; the batch body is not needed. */
static void header_of(const uint8_t *d, proto_batch_header_t *h)
{
    memset(h, 0, sizeof(*h));
    h->base_offset = be64(d);
    h->batch_length = be32(d + 8);
    h->magic = (int8_t)d[16];
    h->attributes = (int16_t)((d[21] << 8) | d[22]);
    h->last_offset_delta = be32(d + 23);
    h->max_timestamp = be64(d + 35);
    h->producer_id = be64(d + 43);
    h->producer_epoch = (int16_t)((d[51] << 8) | d[52]);
    h->base_sequence = be32(d + 53);
    h->record_count = be32(d + 57);
}

#define REPLAY_CHUNK (64 * 1024)

/* Applies the headers of one read range; *next gets the offset after the
 * last whole batch seen. */
static int replay_range(broker_t *b, broker_producer_state_t *s, const broker_log_range_t *range,
                        int64_t from, uint8_t *buf, int64_t now, int64_t *next, char *errstr,
                        size_t errstr_size)
{
    size_t skip = 0;
    while (skip + PROTO_BATCH_HEADER_SIZE <= range->len) {
        int64_t got = broker_log_range_copy(range, skip, buf, REPLAY_CHUNK, errstr, errstr_size);
        if (got < 0) return KC_ERR_KAFKA_STORAGE_ERROR;
        size_t at = 0;
        while (at + PROTO_BATCH_HEADER_SIZE <= (size_t)got) {
            proto_batch_header_t h;
            header_of(buf + at, &h);
            if (h.magic != 2 || h.batch_length < PROTO_BATCH_HEADER_SIZE - 12) {
                snprintf(errstr, errstr_size, "batch at offset %lld is not magic 2",
                         (long long)h.base_offset);
                return KC_ERR_CORRUPT_MESSAGE;
            }
            size_t size = proto_batch_size(&h);
            if (skip + at + size > range->len) return 0; /* cut by the read's size limit */
            if (h.base_offset >= from && h.producer_id >= 0 &&
                !(h.attributes & PROTO_BATCH_ATTR_CONTROL) &&
                broker_producers_update(b, s, &h, h.base_offset, now) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return KC_ERR__NO_MEMORY;
            }
            *next = h.base_offset + h.last_offset_delta + 1;
            at += size; /* may pass the chunk: the body is skipped unread */
        }
        if (at == 0) return 0;
        skip += at;
    }
    return 0;
}

int broker_producers_replay(broker_t *b, broker_partition_t *p, broker_producer_state_t *s,
                            int64_t from, char *errstr, size_t errstr_size)
{
    broker_log_offsets_t off;
    broker_log_offsets(p->log, &off);
    if (from < off.start) from = off.start;
    uint8_t *buf = malloc(REPLAY_CHUNK);
    if (!buf) {
        snprintf(errstr, errstr_size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    int64_t now = b->now_ms(), at = from;
    int rc = 0;
    while (!rc && at < off.end) {
        broker_log_range_t range;
        memset(&range, 0, sizeof(range));
        rc = broker_log_read(p->log, at, -1, 4 << 20, &range, errstr, errstr_size);
        if (rc || range.len == 0) {
            broker_log_range_release(&range);
            break;
        }
        int64_t next = at;
        rc = replay_range(b, s, &range, from, buf, now, &next, errstr, errstr_size);
        broker_log_range_release(&range);
        if (!rc && next <= at) {
            snprintf(errstr, errstr_size, "no progress replaying at offset %lld", (long long)at);
            rc = KC_ERR_CORRUPT_MESSAGE;
        }
        at = next;
    }
    free(buf);
    return rc;
}
