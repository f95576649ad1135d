/* What one 127.0.0.1 TCP connection carries on this machine: the ceiling for
 * a broker serving Fetch over one connection (bench/run_broker_bench.py
 * compares kc-broker's fetch rate with it). Run by hand; not a test.
 *
 *   bench_loopback [--bytes N] [--chunk N] [--rounds N]
 *                  [--sendfile DIR [--file-bytes N] [--pread | --mmap]] [--json]
 *
 * A child process writes N bytes in large write()s (or with sendfile() from
 * a file in the page cache, as a broker serving Fetch does) into one
 * connection; the parent reads them in large read()s and times first byte
 * to EOF. Default socket buffers (autotuned), as both brokers use. One line
 * per round, then the median; --json adds one JSON object at the end.
 * --file-bytes makes the sendfile source that large (sent round and round in
 * --chunk pieces): a file much larger than the CPU caches is what a broker
 * serving a log from the page cache sends, where a 1 MiB file stays in the
 * cache and flatters sendfile. --pread reads each chunk of the file into
 * memory and write()s it; --mmap maps each chunk (MAP_POPULATE), write()s it
 * from the mapping and unmaps it, as kc-broker serves a large Fetch. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    uint64_t bytes;
    size_t chunk;
    int rounds;
    const char *sendfile_dir;
    int pread_mode;      /* --pread: pread() the file into memory, then write() */
    int mmap_mode;       /* --mmap: write() each chunk from a mapping of it */
    uint64_t file_bytes; /* sendfile source size; 0: chunk */
    int json;
} opts_t;

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_sec(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The file the sendfile writer serves from: file_bytes (or `chunk`) bytes,
 * written once so the rounds find it in the page cache. Unlinked at once;
 * the fd keeps it. */
static int make_source_file(const opts_t *o, const char *buf)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/bench_loopback.XXXXXX", o->sendfile_dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "bench_loopback: %s: %s\n", path, strerror(errno));
        return -1;
    }
    unlink(path);
    uint64_t size = o->file_bytes ? o->file_bytes : o->chunk;
    for (uint64_t done = 0; done < size;) {
        size_t n = size - done < o->chunk ? (size_t)(size - done) : o->chunk;
        if (write_all(fd, buf, n) != 0) {
            fprintf(stderr, "bench_loopback: cannot write %s: %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
        done += n;
    }
    return fd;
}

static int writer(int sock, const opts_t *o, char *buf, int file)
{
    uint64_t left = o->bytes;
    uint64_t fsize = o->file_bytes ? o->file_bytes : o->chunk, fpos = 0;
    while (left > 0) {
        size_t n = left < o->chunk ? (size_t)left : o->chunk;
        if (file >= 0) {
            if (fpos >= fsize) fpos = 0;
            if (n > fsize - fpos) n = (size_t)(fsize - fpos);
            off_t off = (off_t)fpos, stop = (off_t)(fpos + n);
            if (o->mmap_mode) {
                /* A mapping per chunk, as kc-broker maps each response. */
                void *m = mmap(NULL, n, PROT_READ, MAP_SHARED | MAP_POPULATE, file, off);
                if (m == MAP_FAILED) return -1;
                int rc = write_all(sock, m, n);
                munmap(m, n);
                if (rc) return -1;
                off = stop;
            } else if (o->pread_mode) {
                if (pread(file, buf, n, off) != (ssize_t)n || write_all(sock, buf, n) != 0)
                    return -1;
                off = stop;
            }
            while (off < stop) {
                ssize_t w = sendfile(sock, file, &off, (size_t)(stop - off));
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) return -1;
            }
            fpos += n;
        } else if (write_all(sock, buf, n) != 0) {
            return -1;
        }
        left -= n;
    }
    return 0;
}

/* Returns GB/s for one round, or a negative value on failure. */
static double one_round(const opts_t *o, char *buf, char *rbuf, int file, double *rcpu,
                        double *wcpu)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 1) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &alen) != 0) {
        fprintf(stderr, "bench_loopback: listen: %s\n", strerror(errno));
        if (ls >= 0) close(ls);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(ls);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) _exit(1);
        _exit(writer(s, o, buf, file) == 0 ? 0 : 1);
    }
    if (pid < 0) {
        close(ls);
        return -1;
    }
    int s = accept(ls, NULL, NULL);
    close(ls);
    uint64_t got = 0;
    double cpu0 = cpu_sec(RUSAGE_SELF), t0 = 0;
    while (s >= 0) {
        ssize_t r = read(s, rbuf, o->chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (!got) t0 = now_sec();
        got += (uint64_t)r;
    }
    double secs = now_sec() - t0;
    *rcpu = cpu_sec(RUSAGE_SELF) - cpu0;
    if (s >= 0) close(s);
    int status = 0;
    struct rusage wru;
    wait4(pid, &status, 0, &wru);
    *wcpu = (double)wru.ru_utime.tv_sec + (double)wru.ru_utime.tv_usec / 1e6 +
            (double)wru.ru_stime.tv_sec + (double)wru.ru_stime.tv_usec / 1e6;
    if (got != o->bytes || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_loopback: round failed (%llu of %llu bytes)\n",
                (unsigned long long)got, (unsigned long long)o->bytes);
        return -1;
    }
    return (double)got / secs / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int parse_opts(opts_t *o, int argc, char **argv)
{
    *o = (opts_t){.bytes = 8ull << 30, .chunk = 1 << 20, .rounds = 3};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--json")) {
            o->json = 1;
        } else if (v && !strcmp(argv[i], "--bytes")) {
            o->bytes = strtoull(v, NULL, 10), i++;
        } else if (v && !strcmp(argv[i], "--chunk")) {
            o->chunk = (size_t)strtoull(v, NULL, 10), i++;
        } else if (v && !strcmp(argv[i], "--rounds")) {
            o->rounds = atoi(v), i++;
        } else if (v && !strcmp(argv[i], "--sendfile")) {
            o->sendfile_dir = v, i++;
        } else if (!strcmp(argv[i], "--pread")) {
            o->pread_mode = 1;
        } else if (!strcmp(argv[i], "--mmap")) {
            o->mmap_mode = 1;
        } else if (v && !strcmp(argv[i], "--file-bytes")) {
            o->file_bytes = strtoull(v, NULL, 10), i++;
        } else {
            fprintf(stderr, "usage: bench_loopback [--bytes N] [--chunk N] [--rounds N] "
                            "[--sendfile DIR [--file-bytes N] [--pread | --mmap]] [--json]\n");
            return -1;
        }
    }
    if (o->bytes == 0 || o->chunk == 0 || o->chunk > (256u << 20) || o->rounds < 1 ||
        o->rounds > 99) {
        fprintf(stderr, "bench_loopback: need --bytes > 0, 0 < --chunk <= 256 MiB, "
                        "1 <= --rounds <= 99\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o;
    if (parse_opts(&o, argc, argv) != 0) return 2;
    signal(SIGPIPE, SIG_IGN);
    char *buf = malloc(o.chunk), *rbuf = malloc(o.chunk);
    if (!buf || !rbuf) {
        fprintf(stderr, "bench_loopback: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < o.chunk; i++)
        buf[i] = (char)('a' + i % 26);
    int file = o.sendfile_dir ? make_source_file(&o, buf) : -1;
    if (o.sendfile_dir && file < 0) return 1;
    const char *mode = file < 0       ? "write"
                       : o.pread_mode ? "pread"
                       : o.mmap_mode  ? "mmap"
                                      : "sendfile";

    double gbs[99], rcpu[99], wcpu[99];
    for (int r = 0; r < o.rounds; r++) {
        gbs[r] = one_round(&o, buf, rbuf, file, &rcpu[r], &wcpu[r]);
        if (gbs[r] < 0) return 1;
        printf("loopback tcp %-8s %6.2f GB in %zu KiB chunks: %6.2f GB/s (CPU reader %.2f s, "
               "writer %.2f s)\n",
               mode, (double)o.bytes / 1e9, o.chunk / 1024, gbs[r], rcpu[r], wcpu[r]);
    }
    double sorted[99];
    memcpy(sorted, gbs, sizeof(double) * (size_t)o.rounds);
    qsort(sorted, (size_t)o.rounds, sizeof(double), cmp_double);
    double median = sorted[o.rounds / 2];
    /* CPU seconds per GB, both ends together: steadier than GB/s on a
     * shared machine, and comparable with a broker plus its client. */
    double cpu_gb[99];
    for (int r = 0; r < o.rounds; r++)
        cpu_gb[r] = (rcpu[r] + wcpu[r]) / ((double)o.bytes / 1e9);
    qsort(cpu_gb, (size_t)o.rounds, sizeof(double), cmp_double);
    printf("loopback tcp %-8s median %6.2f GB/s over %d rounds, %.2f CPU-s/GB (both ends)\n", mode,
           median, o.rounds, cpu_gb[o.rounds / 2]);
    if (o.json) {
        printf("{\"bench\":\"loopback\",\"mode\":\"%s\",\"bytes\":%llu,\"chunk\":%zu,"
               "\"file_bytes\":%llu,\"rounds\":[",
               mode, (unsigned long long)o.bytes, o.chunk,
               (unsigned long long)(file >= 0 ? (o.file_bytes ? o.file_bytes : o.chunk) : 0));
        for (int r = 0; r < o.rounds; r++)
            printf("%s%.3f", r ? "," : "", gbs[r]);
        printf("],\"median_gb_per_s\":%.3f,\"best_gb_per_s\":%.3f,"
               "\"median_cpu_s_per_gb\":%.3f}\n",
               median, sorted[o.rounds - 1], cpu_gb[o.rounds / 2]);
    }
    if (file >= 0) close(file);
    free(buf);
    free(rbuf);
    return 0;
}
