/* A minimal Fetch client: what a broker serves over one connection when the
 * client does nothing with the records. Run by hand or by
 * bench/run_broker_bench.py; not a test.
 *
 *   bench_fetch_raw --bootstrap HOST:PORT --topic T --count N
 *                   [--partition P] [--max-bytes B] [--serial] [--rewind] [--json]
 *
 * librdkafka's consumer builds a message object per record, so with small
 * records it, not the broker, sets the pace. This client sends Fetch v5 (one
 * partition, max_bytes and partition_max_bytes B, default 16 MiB, request
 * encoded with kc's codec) and reads each response as a stream through one
 * 1 MiB buffer, the way bench_loopback's reader reads: it decodes the few
 * bytes before the records, then walks only the batch headers as they pass
 * (record counts, next offset; no CRC check, no record parsing) and drops
 * the rest. A response is never held whole, so the client's own memory
 * traffic stays that of a loopback reader.
 *
 * Pipelining: the next fetch goes out as soon as the current response tells
 * where it ends -- at the header of its last batch (a batch the size limit
 * cut, or one ending exactly at the end of the records) -- so the request,
 * the broker's work on it and its first bytes overlap the tail of the
 * response still arriving: at most two fetches in flight, no byte fetched
 * twice. --serial sends the next fetch only after the whole response, one
 * round trip per fetch.
 *
 * It stops after N records. --rewind goes back to the log start offset at
 * the end of the log (for librdkafka's mock, which keeps only the newest few
 * MB). Prints records/s, MB/s of response bytes and its own CPU seconds;
 * --json adds one JSON line. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto_buf.h"
#include "proto/proto_header.h"
#include "proto/proto_msg.h"
#include "proto_msgs.h"

enum {
    FETCH_KEY = 1,
    FETCH_VERSION = 5,
    READ_BUF = 1 << 20,
    BATCH_HEAD = 61,       /* a magic-2 batch header, up to recordsCount */
    RESP_HEAD_MAX = 65536, /* what precedes the records in our one-partition response */
};

typedef struct {
    const char *bootstrap;
    const char *topic;
    long long count;
    int partition;
    int32_t max_bytes;
    int serial;
    int rewind;
    int json;
} opts_t;

typedef struct {
    long long records;
    uint64_t wire_bytes;    /* response frames, headers included */
    uint64_t records_bytes; /* the partition's record set bytes */
    long long fetches;
    long long pipelined; /* fetches sent before the previous response ended */
    long long rewinds;
} totals_t;

/* The connection's input: one buffer that read() fills and the parser eats. */
typedef struct {
    int fd;
    uint8_t *buf;
    size_t pos, len;
} reader_t;

/* Requests sent and not yet answered, oldest first (at most two). */
typedef struct {
    int32_t corr[2];
    int64_t offset[2];
    int n;
    int32_t next_corr;
} inflight_t;

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_sec(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int connect_to(const char *hostport)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof(host)) {
        fprintf(stderr, "bench_fetch_raw: bad address '%s' (want HOST:PORT)\n", hostport);
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "bench_fetch_raw: %s: %s\n", hostport, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        fprintf(stderr, "bench_fetch_raw: connect %s: %s\n", hostport, strerror(errno));
        if (fd >= 0) close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    return fd;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Makes at least n (<= READ_BUF) unread bytes available at r->buf + r->pos. */
static int need(reader_t *r, size_t n)
{
    if (r->len - r->pos >= n) return 0;
    if (r->pos + n > READ_BUF) { /* not enough room behind: move the unread bytes down */
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    while (r->len - r->pos < n) {
        ssize_t got = read(r->fd, r->buf + r->len, READ_BUF - r->len);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        r->len += (size_t)got;
    }
    return 0;
}

/* Drops n bytes of the stream, reading them through the buffer. */
static int skip(reader_t *r, uint64_t n)
{
    while (n > 0) {
        if (r->pos == r->len) {
            r->pos = r->len = 0;
            if (need(r, 1) != 0) return -1;
        }
        size_t have = r->len - r->pos;
        size_t take = n < have ? (size_t)n : have;
        r->pos += take;
        n -= take;
    }
    return 0;
}

static int send_fetch(int fd, const opts_t *o, inflight_t *q, int64_t offset, proto_wbuf_t *w)
{
    proto_fetch_request_t req;
    proto_fetch_request_fetch_topic_t topic;
    proto_fetch_request_fetch_partition_t part;
    proto_msg_init(&proto_fetch_request_desc, &req);
    proto_struct_init(&proto_fetch_request_fetch_topic_sdesc, &topic);
    proto_struct_init(&proto_fetch_request_fetch_partition_sdesc, &part);
    req.max_wait_ms = 100;
    req.min_bytes = 1;
    req.max_bytes = o->max_bytes;
    part.partition = o->partition;
    part.fetch_offset = offset;
    part.partition_max_bytes = o->max_bytes;
    topic.topic = proto_str_of(o->topic);
    topic.partitions.v = &part;
    topic.partitions.n = 1;
    req.topics.v = &topic;
    req.topics.n = 1;

    int32_t corr = ++q->next_corr;
    char err[256];
    proto_wbuf_reset(w);
    proto_put_i32(w, 0); /* frame size, patched below */
    proto_req_header_t h = {.api_key = FETCH_KEY,
                            .api_version = FETCH_VERSION,
                            .correlation_id = corr,
                            .client_id = proto_str_of("bench_fetch_raw")};
    proto_req_header_encode(w, &h);
    if (proto_msg_encode(&proto_fetch_request_desc, FETCH_VERSION, &req, w, err, sizeof(err)) !=
            0 ||
        w->oom) {
        fprintf(stderr, "bench_fetch_raw: encode: %s\n", w->oom ? "out of memory" : err);
        return -1;
    }
    proto_put_i32_at(w, 0, (int32_t)(w->len - 4));
    if (write_all(fd, w->data, w->len) != 0) return -1;
    q->corr[q->n] = corr;
    q->offset[q->n] = offset;
    q->n++;
    return 0;
}

/* What precedes the records in a one-topic, one-partition Fetch v5 response. */
typedef struct {
    int32_t corr;
    int16_t error;
    int64_t hw, log_start;
    int32_t records_len; /* -1: null */
    size_t head_len;     /* bytes of the frame up to and including the records length */
} resp_head_t;

static int parse_head(reader_t *r, uint32_t size, resp_head_t *out)
{
    size_t want = size < RESP_HEAD_MAX ? size : RESP_HEAD_MAX;
    if (need(r, want) != 0) return -1;
    proto_rbuf_t b;
    proto_rbuf_init(&b, r->buf + r->pos, want);
    out->corr = proto_get_i32(&b, "correlationId");
    proto_get_i32(&b, "throttleTimeMs");
    int32_t nt = proto_get_array_len(&b, 6, "responses");
    proto_get_str(&b, "topic");
    int32_t np = proto_get_array_len(&b, 4, "partitions");
    out->error = 0;
    if (!b.err && (nt != 1 || np != 1)) {
        fprintf(stderr, "bench_fetch_raw: %d topics, %d partitions in a response\n", nt, np);
        return -1;
    }
    proto_get_i32(&b, "partitionIndex");
    out->error = proto_get_i16(&b, "errorCode");
    out->hw = proto_get_i64(&b, "highWatermark");
    proto_get_i64(&b, "lastStableOffset");
    out->log_start = proto_get_i64(&b, "logStartOffset");
    int32_t na = proto_get_array_len(&b, 16, "abortedTransactions");
    for (int32_t i = 0; i < na; i++)
        proto_get_raw(&b, 16, "abortedTransaction");
    out->records_len = proto_get_i32(&b, "records length");
    if (b.err) {
        fprintf(stderr, "bench_fetch_raw: bad response: %s\n", b.errstr);
        return -1;
    }
    out->head_len = want - proto_rbuf_left(&b);
    if (out->records_len > 0 && out->head_len + (size_t)out->records_len > size) {
        fprintf(stderr, "bench_fetch_raw: records of %d bytes overrun the response\n",
                out->records_len);
        return -1;
    }
    r->pos += out->head_len;
    return 0;
}

static int64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

static int32_t get_be32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* Reads a record set of `left` bytes as it streams in, walking the batch
 * headers: counts the records of complete batches past *offset and moves
 * *offset after them. *last is set when the batch just read is the last one
 * (cut by the size limit, or ending exactly at the end): *offset is then
 * final before its body has arrived, which is when the caller may send the
 * next fetch (on_last). */
typedef int (*on_last_fn)(void *arg, int64_t offset);

static int stream_records(reader_t *r, uint64_t left, int64_t *offset, long long *records,
                          on_last_fn on_last, void *arg)
{
    int told = 0;
    while (left > 0) {
        if (left < BATCH_HEAD) { /* the start of a batch the limit cut */
            if (!told && on_last && on_last(arg, *offset) != 0) return -1;
            return skip(r, left);
        }
        if (need(r, BATCH_HEAD) != 0) return -1;
        const uint8_t *h = r->buf + r->pos;
        int64_t base = get_be64(h);
        int32_t len = get_be32(h + 8);
        int32_t last_delta = get_be32(h + 23);
        int32_t n = get_be32(h + 57);
        if (len < BATCH_HEAD - 12) {
            fprintf(stderr, "bench_fetch_raw: batch length %d at offset %lld\n", len,
                    (long long)base);
            return -1;
        }
        uint64_t total = 12 + (uint64_t)len;
        if (total > left) { /* cut by the limit: the next fetch starts at it */
            if (!told && on_last && on_last(arg, *offset) != 0) return -1;
            return skip(r, left);
        }
        if (base + last_delta + 1 > *offset) {
            /* A batch may start before the requested offset; count what is new. */
            long long skipn = *offset > base ? *offset - base : 0;
            *records += n > skipn ? n - skipn : 0;
            *offset = base + last_delta + 1;
        }
        if (total == left && !told && on_last) {
            if (on_last(arg, *offset) != 0) return -1;
            told = 1;
        }
        if (skip(r, total) != 0) return -1;
        left -= total;
    }
    return 0;
}

typedef struct {
    int fd;
    const opts_t *o;
    inflight_t *q;
    proto_wbuf_t *w;
    totals_t *t;
    int64_t hw;
    int sent;
} pipe_ctx_t;

/* The next fetch, sent while the rest of this response still arrives, unless
 * it would wait at the end of the log or is not needed (the records of every
 * complete batch so far are counted by now). */
static int pipeline_next(void *arg, int64_t offset)
{
    pipe_ctx_t *p = arg;
    if (offset >= p->hw || p->t->records >= p->o->count) return 0;
    if (send_fetch(p->fd, p->o, p->q, offset, p->w) != 0) return -1;
    p->t->fetches++;
    p->t->pipelined++;
    p->sent = 1;
    return 0;
}

static int run(int fd, const opts_t *o, totals_t *t)
{
    proto_wbuf_t w = {0};
    inflight_t q = {0};
    reader_t r = {.fd = fd, .buf = malloc(READ_BUF)};
    int rc = -1;
    if (!r.buf) {
        fprintf(stderr, "bench_fetch_raw: out of memory\n");
        return -1;
    }
    if (send_fetch(fd, o, &q, 0, &w) != 0) goto lost;
    t->fetches++;
    while (t->records < o->count) {
        if (need(&r, 4) != 0) goto lost;
        uint32_t size = (uint32_t)get_be32(r.buf + r.pos);
        r.pos += 4;
        resp_head_t h;
        if (q.n == 0 || parse_head(&r, size, &h) != 0) goto lost;
        if (h.corr != q.corr[0]) {
            fprintf(stderr, "bench_fetch_raw: correlation id %d, want %d\n", h.corr, q.corr[0]);
            goto out;
        }
        int64_t offset = q.offset[0];
        q.corr[0] = q.corr[1];
        q.offset[0] = q.offset[1];
        q.n--;
        t->wire_bytes += 4 + (uint64_t)size;
        /* OFFSET_OUT_OF_RANGE below the log start: the mock dropped the
         * oldest batches; start where its log starts now. */
        if (h.error == 1 && h.log_start > offset) {
            /* Nothing was pipelined: that happens only after records. */
            if (skip(&r, size - h.head_len) != 0 || send_fetch(fd, o, &q, h.log_start, &w) != 0)
                goto lost;
            t->fetches++;
            continue;
        }
        if (h.error != 0) {
            fprintf(stderr, "bench_fetch_raw: partition error %d at offset %lld\n", h.error,
                    (long long)offset);
            goto out;
        }
        uint64_t rlen = h.records_len > 0 ? (uint64_t)h.records_len : 0;
        t->records_bytes += rlen;
        pipe_ctx_t pc = {fd, o, &q, &w, t, h.hw, 0};
        if (stream_records(&r, rlen, &offset, &t->records, o->serial ? NULL : pipeline_next, &pc) !=
            0)
            goto lost;
        if (skip(&r, size - h.head_len - rlen) != 0) goto lost;
        if (pc.sent || t->records >= o->count) continue;
        if (offset >= h.hw) {
            if (!o->rewind) {
                fprintf(stderr, "bench_fetch_raw: end of the log at %lld records\n", t->records);
                goto out;
            }
            offset = h.log_start > 0 ? h.log_start : 0;
            t->rewinds++;
        }
        if (send_fetch(fd, o, &q, offset, &w) != 0) goto lost;
        t->fetches++;
    }
    rc = 0;
    goto out;
lost:
    fprintf(stderr, "bench_fetch_raw: connection lost or bad response\n");
out:
    free(r.buf);
    proto_wbuf_free(&w);
    return rc;
}

int main(int argc, char **argv)
{
    opts_t o = {.count = -1, .max_bytes = 16 << 20};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--rewind")) {
            o.rewind = 1;
        } else if (!strcmp(argv[i], "--serial")) {
            o.serial = 1;
        } else if (!strcmp(argv[i], "--json")) {
            o.json = 1;
        } else if (v && !strcmp(argv[i], "--bootstrap")) {
            o.bootstrap = v, i++;
        } else if (v && !strcmp(argv[i], "--topic")) {
            o.topic = v, i++;
        } else if (v && !strcmp(argv[i], "--count")) {
            o.count = strtoll(v, NULL, 10), i++;
        } else if (v && !strcmp(argv[i], "--partition")) {
            o.partition = atoi(v), i++;
        } else if (v && !strcmp(argv[i], "--max-bytes")) {
            o.max_bytes = atoi(v), i++;
        } else {
            o.bootstrap = NULL;
            break;
        }
    }
    if (!o.bootstrap || !o.topic || o.count <= 0 || o.max_bytes <= 0) {
        fprintf(stderr, "usage: bench_fetch_raw --bootstrap HOST:PORT --topic T --count N\n"
                        "                       [--partition P] [--max-bytes B] [--serial] "
                        "[--rewind] [--json]\n");
        return 2;
    }
    int fd = connect_to(o.bootstrap);
    if (fd < 0) return 1;
    totals_t t = {0};
    double cpu0 = cpu_sec(), t0 = now_sec();
    int rc = run(fd, &o, &t);
    double secs = now_sec() - t0, cpu = cpu_sec() - cpu0;
    close(fd);
    printf("fetch_raw %lld records in %.3f s: %.0f records/s, %.1f MB/s on the wire, "
           "%lld fetches (%lld pipelined), %lld rewinds, client CPU %.2f s\n",
           t.records, secs, (double)t.records / secs, (double)t.wire_bytes / secs / 1e6, t.fetches,
           t.pipelined, t.rewinds, cpu);
    if (o.json)
        printf("{\"bench\":\"fetch_raw\",\"fetch_version\":%d,\"max_bytes\":%d,\"pipeline\":%s,"
               "\"records\":%lld,\"wire_bytes\":%llu,\"records_bytes\":%llu,\"elapsed_s\":%.4f,"
               "\"records_per_s\":%.0f,\"wire_mb_per_s\":%.2f,\"fetches\":%lld,"
               "\"pipelined\":%lld,\"rewinds\":%lld,\"client_cpu_s\":%.3f%s}\n",
               FETCH_VERSION, o.max_bytes, o.serial ? "false" : "true", t.records,
               (unsigned long long)t.wire_bytes, (unsigned long long)t.records_bytes, secs,
               (double)t.records / secs, (double)t.wire_bytes / secs / 1e6, t.fetches, t.pipelined,
               t.rewinds, cpu, rc == 0 ? "" : ",\"error\":\"did not reach --count records\"");
    return rc == 0 ? 0 : 1;
}
