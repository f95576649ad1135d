/* A minimal Fetch client: what a broker serves over one connection when the
 * client does nothing with the records. Run by hand or by
 * bench/run_broker_bench.py; not a test.
 *
 *   bench_fetch_raw --bootstrap HOST:PORT --topic T --count N
 *                   [--partition P] [--max-bytes B] [--rewind] [--json]
 *
 * librdkafka's consumer builds a message object per record, so with small
 * records it, not the broker, sets the pace. This client sends Fetch v5 (one
 * partition, partition_max_bytes B, default 16 MiB) with kc's codec, one
 * request in flight, reads each response with large reads, decodes it, and
 * walks only the batch headers (record counts, next offset; no CRC check, no
 * record parsing). It stops after N records. --rewind goes back to the log
 * start offset at the end of the log (for librdkafka's mock, which keeps only
 * the newest few MB). Prints records/s, MB/s of response bytes and its own
 * CPU seconds; --json adds one JSON line. */
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

#include "proto/proto_arena.h"
#include "proto/proto_buf.h"
#include "proto/proto_header.h"
#include "proto/proto_msg.h"
#include "proto_msgs.h"

enum { FETCH_KEY = 1, FETCH_VERSION = 5 };

typedef struct {
    const char *bootstrap;
    const char *topic;
    long long count;
    int partition;
    int32_t max_bytes;
    int rewind;
    int json;
} opts_t;

typedef struct {
    long long records;
    uint64_t wire_bytes;    /* response frames, headers included */
    uint64_t records_bytes; /* the partition's record set bytes */
    long long fetches;
    long long rewinds;
} totals_t;

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

static int io_all(int fd, void *buf, size_t n, int writing)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = writing ? write(fd, p, n) : read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int send_fetch(int fd, const opts_t *o, int32_t corr, int64_t offset, proto_wbuf_t *w)
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
    return io_all(fd, w->data, w->len, 1);
}

/* Walks the batch headers of a record set: adds complete batches' record
 * counts and returns the offset after the last complete one (or `offset`). */
static int64_t walk_batches(proto_bytes_t set, int64_t offset, long long *records)
{
    proto_rbuf_t r;
    proto_rbuf_init(&r, set.ptr, set.len > 0 ? (size_t)set.len : 0);
    while (proto_rbuf_left(&r) >= 61) {
        const uint8_t *start = r.p;
        int64_t base = proto_get_i64(&r, "baseOffset");
        int32_t len = proto_get_i32(&r, "batchLength");
        if (len < 49 || (size_t)len > proto_rbuf_left(&r)) break; /* partial batch at the end */
        proto_rbuf_t h;
        proto_rbuf_init(&h, start + 23, 38);
        int32_t last_delta = proto_get_i32(&h, "lastOffsetDelta");
        proto_get_raw(&h, 30, "timestamps, producer");
        int32_t n = proto_get_i32(&h, "recordsCount");
        if (base + last_delta + 1 > offset) {
            /* A batch may start before the requested offset; count what is new. */
            long long skip = offset > base ? offset - base : 0;
            *records += n > skip ? n - skip : 0;
            offset = base + last_delta + 1;
        }
        proto_get_raw(&r, (size_t)len, "batch");
    }
    return offset;
}

static int run(int fd, const opts_t *o, totals_t *t)
{
    proto_wbuf_t w = {0};
    proto_arena_t arena;
    proto_arena_init(&arena);
    uint8_t *buf = NULL;
    size_t cap = 0;
    int64_t offset = 0;
    int rc = -1;
    for (int32_t corr = 1; t->records < o->count; corr++) {
        uint8_t szb[4];
        if (send_fetch(fd, o, corr, offset, &w) != 0 || io_all(fd, szb, 4, 0) != 0) {
            fprintf(stderr, "bench_fetch_raw: connection lost\n");
            break;
        }
        size_t size =
            ((size_t)szb[0] << 24) | ((size_t)szb[1] << 16) | ((size_t)szb[2] << 8) | szb[3];
        if (size > cap) {
            free(buf);
            cap = size;
            buf = malloc(cap);
            if (!buf) {
                fprintf(stderr, "bench_fetch_raw: out of memory\n");
                break;
            }
        }
        if (io_all(fd, buf, size, 0) != 0) {
            fprintf(stderr, "bench_fetch_raw: connection lost\n");
            break;
        }
        t->wire_bytes += 4 + size;
        t->fetches++;
        proto_rbuf_t r;
        proto_rbuf_init(&r, buf, size);
        int32_t got_corr;
        proto_fetch_response_t resp;
        proto_arena_reset(&arena);
        if (proto_resp_header_decode(&r, 0, &got_corr) != 0 ||
            proto_msg_decode(&proto_fetch_response_desc, FETCH_VERSION, &r, &resp, &arena) != 0) {
            fprintf(stderr, "bench_fetch_raw: bad response: %s\n", r.errstr);
            break;
        }
        if (got_corr != corr || resp.responses.n != 1 || resp.responses.v[0].partitions.n != 1) {
            fprintf(stderr, "bench_fetch_raw: unexpected response (correlation %d)\n", got_corr);
            break;
        }
        const proto_fetch_response_partition_data_t *p = &resp.responses.v[0].partitions.v[0];
        /* OFFSET_OUT_OF_RANGE below the log start: the mock dropped the
         * oldest batches; start where its log starts now. */
        if (p->error_code == 1 && p->log_start_offset > offset) {
            offset = p->log_start_offset;
            continue;
        }
        if (p->error_code != 0) {
            fprintf(stderr, "bench_fetch_raw: partition error %d at offset %lld\n", p->error_code,
                    (long long)offset);
            break;
        }
        if (p->records.len > 0) t->records_bytes += (uint64_t)p->records.len;
        offset = walk_batches(p->records, offset, &t->records);
        if (offset >= p->high_watermark && t->records < o->count) {
            if (!o->rewind) {
                fprintf(stderr, "bench_fetch_raw: end of the log at %lld records\n", t->records);
                break;
            }
            offset = p->log_start_offset > 0 ? p->log_start_offset : 0;
            t->rewinds++;
        }
    }
    if (t->records >= o->count) rc = 0;
    free(buf);
    proto_wbuf_free(&w);
    proto_arena_destroy(&arena);
    return rc;
}

int main(int argc, char **argv)
{
    opts_t o = {.count = -1, .max_bytes = 16 << 20};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--rewind")) {
            o.rewind = 1;
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
                        "                       [--partition P] [--max-bytes B] [--rewind] "
                        "[--json]\n");
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
           "%lld fetches, %lld rewinds, client CPU %.2f s\n",
           t.records, secs, (double)t.records / secs, (double)t.wire_bytes / secs / 1e6, t.fetches,
           t.rewinds, cpu);
    if (o.json)
        printf("{\"bench\":\"fetch_raw\",\"fetch_version\":%d,\"max_bytes\":%d,\"records\":%lld,"
               "\"wire_bytes\":%llu,\"records_bytes\":%llu,\"elapsed_s\":%.4f,"
               "\"records_per_s\":%.0f,\"wire_mb_per_s\":%.2f,\"fetches\":%lld,\"rewinds\":%lld,"
               "\"client_cpu_s\":%.3f%s}\n",
               FETCH_VERSION, o.max_bytes, t.records, (unsigned long long)t.wire_bytes,
               (unsigned long long)t.records_bytes, secs, (double)t.records / secs,
               (double)t.wire_bytes / secs / 1e6, t.fetches, t.rewinds, cpu,
               rc == 0 ? "" : ",\"error\":\"did not reach --count records\"");
    return rc == 0 ? 0 : 1;
}
