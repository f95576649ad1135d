/* What storing bytes received from a loopback TCP connection in a file costs
 * the receiver: the floor under a broker's Produce CPU per GB. Run by hand;
 * not a test.
 *
 *   bench_recv_store [--mb N] [--rounds N] [--dir DIR] [--json]
 *
 * A child process writes N MB in 1 MiB write()s into one connection; the
 * parent stores them at the end of a new file in DIR (default /tmp) in one
 * of three ways, alternated round by round so each sees the same machine:
 *   recv+pwrite   recv() 1 MiB into a buffer, pwrite() it (what kc-broker
 *                 does: two copies, socket -> buffer -> page cache);
 *   splice        splice() socket -> pipe -> file (one copy, in the kernel);
 *   splice+pread  the same, then pread() of each piece back into a buffer,
 *                 as a broker would to check the batch CRC before it counts
 *                 the bytes as appended;
 *   recv          recv() only, the bytes dropped: the socket's own share;
 *   recv+memcpy   recv(), then memcpy() into an 8 MiB ring in memory, about
 *                 what a broker keeping the log in memory (librdkafka's
 *                 mock) does with them.
 * Prints the receiver's CPU seconds per GB (getrusage) per round and the
 * median per mode; --json adds one JSON object. */
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { CHUNK = 1 << 20, MODES = 5, MAX_ROUNDS = 25, RING = 8 * CHUNK };

static const char *const mode_names[MODES] = {"recv+pwrite", "splice", "splice+pread", "recv",
                                              "recv+memcpy"};

static double cpu_sec(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
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

static int pwrite_all(int fd, const char *p, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Receives `total` bytes from sock into fd in the given mode; returns the
 * bytes stored, or -1. */
static int64_t store(int mode, int sock, int fd, uint64_t total, char *buf, char *ring)
{
    uint64_t got = 0;
    if (mode == 0 || mode >= 3) {
        while (got < total) {
            ssize_t n = recv(sock, buf, CHUNK, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return -1;
            if (mode == 0 && pwrite_all(fd, buf, (size_t)n, (off_t)got) != 0) return -1;
            if (mode == 4) {
                size_t at = (size_t)(got % RING),
                       first = RING - at < (size_t)n ? RING - at : (size_t)n;
                memcpy(ring + at, buf, first);
                memcpy(ring, buf + first, (size_t)n - first);
            }
            got += (uint64_t)n;
        }
        return (int64_t)got;
    }
    int p[2];
    if (pipe(p) != 0) return -1;
    fcntl(p[1], F_SETPIPE_SZ, CHUNK); /* as large as allowed: fewer round trips */
    loff_t off = 0;
    int rc = 0;
    while (got < total && !rc) {
        ssize_t n = splice(sock, NULL, p[1], NULL, CHUNK, SPLICE_F_MOVE);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = -1;
            break;
        }
        loff_t start = off;
        for (ssize_t moved = 0; moved < n;) {
            ssize_t k = splice(p[0], NULL, fd, &off, (size_t)(n - moved), SPLICE_F_MOVE);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) {
                rc = -1;
                break;
            }
            moved += k;
        }
        if (!rc && mode == 2 && pread(fd, buf, (size_t)n, start) != n) rc = -1;
        got += (uint64_t)n;
    }
    close(p[0]);
    close(p[1]);
    return rc ? -1 : (int64_t)got;
}

/* One round: CPU seconds per GB for the receiver, or a negative value. */
static double one_round(int mode, uint64_t total, const char *dir, char *buf, char *ring)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 1) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &alen) != 0) {
        fprintf(stderr, "bench_recv_store: listen: %s\n", strerror(errno));
        if (ls >= 0) close(ls);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(ls);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) _exit(1);
        char *src = malloc(CHUNK);
        if (!src) _exit(1);
        for (size_t i = 0; i < CHUNK; i++)
            src[i] = (char)('a' + (i * 7 + i / 13) % 26);
        for (uint64_t sent = 0; sent < total; sent += CHUNK)
            if (write_all(s, src, total - sent < CHUNK ? (size_t)(total - sent) : CHUNK) != 0)
                _exit(1);
        _exit(0);
    }
    if (pid < 0) {
        close(ls);
        return -1;
    }
    int s = accept(ls, NULL, NULL);
    close(ls);
    char path[4096];
    snprintf(path, sizeof(path), "%s/bench_recv_store.XXXXXX", dir);
    int fd = mkstemp(path);
    double per_gb = -1;
    if (s >= 0 && fd >= 0) {
        unlink(path);
        double c0 = cpu_sec();
        int64_t got = store(mode, s, fd, total, buf, ring);
        double c1 = cpu_sec();
        if (got == (int64_t)total)
            per_gb = (c1 - c0) / ((double)total / 1e9);
        else
            fprintf(stderr, "bench_recv_store: %s failed: %s\n", mode_names[mode], strerror(errno));
    } else {
        fprintf(stderr, "bench_recv_store: %s: %s\n", path, strerror(errno));
    }
    if (fd >= 0) close(fd);
    if (s >= 0) close(s);
    int status = 0;
    waitpid(pid, &status, 0);
    return per_gb;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    uint64_t mb = 512;
    int rounds = 5, json = 0;
    const char *dir = "/tmp";
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (v && !strcmp(argv[i], "--mb")) {
            mb = strtoull(v, NULL, 10), i++;
        } else if (v && !strcmp(argv[i], "--rounds")) {
            rounds = atoi(v), i++;
        } else if (v && !strcmp(argv[i], "--dir")) {
            dir = v, i++;
        } else {
            fprintf(stderr, "usage: bench_recv_store [--mb N] [--rounds N] [--dir DIR] [--json]\n");
            return 2;
        }
    }
    if (mb == 0 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench_recv_store: need --mb > 0 and 1 <= --rounds <= %d\n", MAX_ROUNDS);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    char *buf = malloc(CHUNK), *ring = malloc(RING);
    if (!buf || !ring) return 1;
    memset(ring, 0, RING); /* touched once, as a long-lived broker's memory is */
    double v[MODES][MAX_ROUNDS];
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < MODES; k++) {
            int m = (k + r) % MODES; /* rotate the order */
            v[m][r] = one_round(m, mb << 20, dir, buf, ring);
            if (v[m][r] < 0) return 1;
            printf("round %d %-13s %.3f CPU-s/GB (receiver)\n", r, mode_names[m], v[m][r]);
        }
    double med[MODES];
    for (int m = 0; m < MODES; m++) {
        qsort(v[m], (size_t)rounds, sizeof(double), cmp_double);
        med[m] = v[m][rounds / 2];
        printf("median %-13s %.3f CPU-s/GB over %d rounds of %llu MB\n", mode_names[m], med[m],
               rounds, (unsigned long long)mb);
    }
    if (json)
        printf("{\"bench\":\"recv_store\",\"mb\":%llu,\"rounds\":%d,\"recv_pwrite\":%.3f,"
               "\"splice\":%.3f,\"splice_pread\":%.3f,\"recv\":%.3f,\"recv_memcpy\":%.3f}\n",
               (unsigned long long)mb, rounds, med[0], med[1], med[2], med[3], med[4]);
    free(buf);
    free(ring);
    return 0;
}
