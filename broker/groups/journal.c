/* The group journal's file format, replay and durable appends. See journal.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groups/journal.h"
#include "kc/kc_err.h"
#include "proto/proto_crc.h"
#include "util/fsutil.h"
#include "util/log.h"

/* A body larger than this is damage, not a record: the largest real one is a
 * commit with two strings bounded by the request frame plus 4 KiB metadata. */
#define RECORD_MAX (64u << 20)

struct group_journal {
    char path[4096];
    int fd;
    int64_t size; /* bytes in the file */
    proto_wbuf_t pending;
};

static void put_str(proto_wbuf_t *w, proto_str_t s)
{
    proto_put_bytes(w, s); /* int32 length: group ids may exceed int16 */
}

static void encode_body(proto_wbuf_t *w, const group_record_t *r)
{
    proto_put_i8(w, (int8_t)r->type);
    put_str(w, r->group);
    switch (r->type) {
    case GROUP_REC_OFFSET:
        put_str(w, r->topic);
        proto_put_i32(w, r->partition);
        proto_put_i64(w, r->offset);
        proto_put_i32(w, r->leader_epoch);
        put_str(w, r->metadata);
        proto_put_i64(w, r->commit_ts);
        proto_put_i64(w, r->expire_ts);
        break;
    case GROUP_REC_OFFSET_DEL:
        put_str(w, r->topic);
        proto_put_i32(w, r->partition);
        break;
    case GROUP_REC_GROUP:
        put_str(w, r->protocol_type);
        put_str(w, r->protocol_name);
        proto_put_i32(w, r->generation);
        proto_put_i64(w, r->state_ts);
        break;
    default: break;
    }
}

static size_t str_size(proto_str_t s)
{
    return 4 + (s.len > 0 ? (size_t)s.len : 0);
}

size_t group_record_size(const group_record_t *r)
{
    size_t n = 8 + 1 + str_size(r->group);
    switch (r->type) {
    case GROUP_REC_OFFSET:
        n += str_size(r->topic) + 4 + 8 + 4 + str_size(r->metadata) + 8 + 8;
        break;
    case GROUP_REC_OFFSET_DEL: n += str_size(r->topic) + 4; break;
    case GROUP_REC_GROUP: n += str_size(r->protocol_type) + str_size(r->protocol_name) + 12; break;
    default: break;
    }
    return n;
}

void group_record_encode(proto_wbuf_t *w, const group_record_t *r)
{
    size_t at = proto_wbuf_skip(w, 8);
    encode_body(w, r);
    if (w->oom || at == (size_t)-1) return;
    size_t body = w->len - at - 8;
    proto_put_u32_at(w, at, (uint32_t)body);
    proto_put_u32_at(w, at + 4, proto_crc32c(0, w->data + at + 8, body));
}

/* Decodes one body; 0 or -1 when it is not a record we know. */
static int decode_body(const uint8_t *p, size_t n, group_record_t *r)
{
    proto_rbuf_t rb;
    proto_rbuf_init(&rb, p, n);
    memset(r, 0, sizeof(*r));
    r->type = proto_get_i8(&rb, "type");
    r->group = proto_get_bytes(&rb, "group");
    switch (r->type) {
    case GROUP_REC_OFFSET:
        r->topic = proto_get_bytes(&rb, "topic");
        r->partition = proto_get_i32(&rb, "partition");
        r->offset = proto_get_i64(&rb, "offset");
        r->leader_epoch = proto_get_i32(&rb, "leader epoch");
        r->metadata = proto_get_bytes(&rb, "metadata");
        r->commit_ts = proto_get_i64(&rb, "commit time");
        r->expire_ts = proto_get_i64(&rb, "expire time");
        break;
    case GROUP_REC_OFFSET_DEL:
        r->topic = proto_get_bytes(&rb, "topic");
        r->partition = proto_get_i32(&rb, "partition");
        break;
    case GROUP_REC_GROUP:
        r->protocol_type = proto_get_bytes(&rb, "protocol type");
        r->protocol_name = proto_get_bytes(&rb, "protocol name");
        r->generation = proto_get_i32(&rb, "generation");
        r->state_ts = proto_get_i64(&rb, "state time");
        break;
    case GROUP_REC_GROUP_DEL: break;
    default: return -1;
    }
    if (rb.err || r->group.len < 0) return -1;
    if ((r->type == GROUP_REC_OFFSET || r->type == GROUP_REC_OFFSET_DEL) && r->topic.len < 0)
        return -1;
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Applies every good record; returns the length of the good prefix. */
static size_t replay(const uint8_t *data, size_t len,
                     void (*apply)(void *arg, const group_record_t *r), void *arg)
{
    size_t at = 0;
    while (len - at >= 8) {
        uint32_t n = be32(data + at);
        if (n > RECORD_MAX || n > len - at - 8) break;
        if (proto_crc32c(0, data + at + 8, n) != be32(data + at + 4)) break;
        group_record_t r;
        if (decode_body(data + at + 8, n, &r) != 0) break;
        apply(arg, &r);
        at += 8 + (size_t)n;
    }
    return at;
}

int group_journal_open(const char *dir, void (*apply)(void *arg, const group_record_t *r),
                       void *arg, group_journal_t **out, char *errstr, size_t errstr_size)
{
    group_journal_t *j = calloc(1, sizeof(*j));
    if (!j) {
        snprintf(errstr, errstr_size, "out of memory");
        return KC_ERR__NO_MEMORY;
    }
    j->fd = -1;
    if (util_mkdirs(dir, errstr, errstr_size) != 0) {
        free(j);
        return KC_ERR_KAFKA_STORAGE_ERROR;
    }
    snprintf(j->path, sizeof(j->path), "%s/journal", dir);
    char *data = NULL;
    size_t len = 0;
    if (util_read_file(j->path, &data, &len, errstr, errstr_size) < 0) {
        free(j);
        return KC_ERR_KAFKA_STORAGE_ERROR;
    }
    size_t good = data ? replay((const uint8_t *)data, len, apply, arg) : 0;
    free(data);
    j->fd = open(j->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        snprintf(errstr, errstr_size, "%s: %s", j->path, strerror(errno));
        free(j);
        return KC_ERR_KAFKA_STORAGE_ERROR;
    }
    if (good < len) {
        log_warn("%s: cutting a damaged tail of %zu bytes at offset %zu (a write torn by a crash)",
                 j->path, len - good, good);
        if (ftruncate(j->fd, (off_t)good) != 0 || fdatasync(j->fd) != 0) {
            snprintf(errstr, errstr_size, "%s: cutting the damaged tail: %s", j->path,
                     strerror(errno));
            close(j->fd);
            free(j);
            return KC_ERR_KAFKA_STORAGE_ERROR;
        }
    }
    j->size = (int64_t)good;
    *out = j;
    return 0;
}

void group_journal_close(group_journal_t *j)
{
    if (!j) return;
    if (j->fd >= 0) close(j->fd);
    proto_wbuf_free(&j->pending);
    free(j);
}

void group_journal_append(group_journal_t *j, const group_record_t *r)
{
    group_record_encode(&j->pending, r);
}

int group_journal_dirty(const group_journal_t *j)
{
    return j->pending.len > 0 || j->pending.oom;
}

proto_wbuf_t group_journal_take_pending(group_journal_t *j)
{
    proto_wbuf_t w = j->pending;
    memset(&j->pending, 0, sizeof(j->pending));
    return w;
}

int64_t group_journal_file_size(const group_journal_t *j)
{
    return j->size;
}

static int write_all(int fd, const uint8_t *p, size_t n, off_t at)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, at);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

int group_journal_sync(group_journal_t *j, char *errstr, size_t errstr_size)
{
    if (j->pending.oom) {
        proto_wbuf_free(&j->pending);
        snprintf(errstr, errstr_size, "%s: out of memory buffering records", j->path);
        return -1;
    }
    if (!j->pending.len) return 0;
    int rc = 0;
    if (j->fd < 0 || write_all(j->fd, j->pending.data, j->pending.len, (off_t)j->size) != 0 ||
        fdatasync(j->fd) != 0) {
        snprintf(errstr, errstr_size, "%s: %s", j->path,
                 j->fd < 0 ? "not open after a failed rewrite" : strerror(errno));
        /* What may have reached the file is not acknowledged: cut it off. */
        if (j->fd >= 0 && ftruncate(j->fd, (off_t)j->size) != 0)
            log_warn("%s: cutting back a failed write: %s", j->path, strerror(errno));
        rc = -1;
    } else {
        j->size += (int64_t)j->pending.len;
    }
    proto_wbuf_reset(&j->pending);
    return rc;
}

int group_journal_rewrite(group_journal_t *j, const proto_wbuf_t *snapshot, char *errstr,
                          size_t errstr_size)
{
    if (snapshot->oom) {
        snprintf(errstr, errstr_size, "%s: out of memory building the snapshot", j->path);
        return -1;
    }
    if (util_write_file_atomic(j->path, snapshot->data ? snapshot->data : (const uint8_t *)"",
                               snapshot->len, errstr, errstr_size) != 0)
        return -1;
    /* The old descriptor points at the replaced inode. */
    if (j->fd >= 0) close(j->fd);
    j->fd = open(j->path, O_WRONLY | O_CLOEXEC);
    if (j->fd < 0) {
        snprintf(errstr, errstr_size, "%s: reopening after the rewrite: %s", j->path,
                 strerror(errno));
        return -1;
    }
    j->size = (int64_t)snapshot->len;
    proto_wbuf_reset(&j->pending);
    return 0;
}
