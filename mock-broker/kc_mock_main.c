/* kc-mock: a mock cluster as a process, driven by JSON lines on stdin.
 *
 *   kc-mock --brokers N [--topic name:partitions[:replicas]]... [--override key=value]...
 *
 * Prints the bootstrap servers as its first stdout line, then answers each
 * command line with one JSON line, until stdin closes or SIGTERM/SIGINT. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc/kc_mock.h"
#include "mock_cmd.h"
#include "util/log.h"

#define LINE_MAX_BYTES (1 << 20)

static int stop_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    if (write(stop_pipe[1], "x", 1) < 0) { /* the loop wakes anyway on EINTR */
    }
    errno = saved;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: kc-mock --brokers N [--topic name:partitions[:replicas]]... "
               "[--override key=value]...\n"
               "Prints the bootstrap servers, then reads JSON commands on stdin, one per line\n"
               "(see docs/mock.md), answering each with one JSON line.\n");
}

typedef struct opts {
    int brokers;
    const char **topics;
    int ntopics;
    const char **props;
    int nprops;
} opts_t;

static int parse_args(int argc, char **argv, opts_t *o)
{
    o->brokers = 1;
    o->topics = calloc((size_t)argc, sizeof(char *));
    o->props = calloc((size_t)argc + 1, sizeof(char *));
    if (!o->topics || !o->props) return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!v) {
            fprintf(stderr, "kc-mock: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--brokers")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > KC_MOCK_MAX_BROKERS) {
                fprintf(stderr, "kc-mock: --brokers must be 1..%d, not '%s'\n", KC_MOCK_MAX_BROKERS,
                        v);
                return -1;
            }
            o->brokers = (int)n;
        } else if (!strcmp(a, "--topic")) {
            o->topics[o->ntopics++] = v;
        } else if (!strcmp(a, "--override")) {
            o->props[o->nprops++] = v;
        } else {
            fprintf(stderr, "kc-mock: unknown option '%s'\n", a);
            return -1;
        }
    }
    return 0;
}

/* "name:partitions[:replicas]" */
static int create_topic(kc_mock_cluster_t *mc, const char *spec)
{
    char name[256];
    int partitions = 1, replicas = 1;
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n == 0 || n >= sizeof(name)) {
        fprintf(stderr, "kc-mock: bad --topic '%s'\n", spec);
        return -1;
    }
    memcpy(name, spec, n);
    name[n] = '\0';
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10), r = 1;
        if (*end == ':') r = strtol(end + 1, &end, 10);
        if (*end || p < 1 || p > 100000 || r < 1) {
            fprintf(stderr, "kc-mock: bad --topic '%s' (want name:partitions[:replicas])\n", spec);
            return -1;
        }
        partitions = (int)p;
        replicas = (int)r;
    }
    kc_err_t err = kc_mock_topic_create(mc, name, partitions, replicas);
    if (err) {
        fprintf(stderr, "kc-mock: cannot create topic '%s': %s\n", name, kc_err_str(err));
        return -1;
    }
    return 0;
}

static void answer(kc_mock_cluster_t *mc, const char *line, size_t len)
{
    mock_jbuf_t out = {0};
    mock_cmd_exec(mc, line, len, &out);
    if (out.oom)
        fputs("{\"ok\":false,\"error\":\"out of memory\"}\n", stdout);
    else
        printf("%s\n", out.p);
    fflush(stdout);
    mock_jbuf_free(&out);
}

/* Reads stdin until EOF or a stop signal, answering every complete line.
 * A line longer than LINE_MAX_BYTES is answered with an error and skipped. */
static void serve(kc_mock_cluster_t *mc)
{
    char *buf = malloc(LINE_MAX_BYTES);
    if (!buf) return;
    size_t len = 0;
    int skipping = 0;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = 0, .events = POLLIN},
                                {.fd = stop_pipe[0], .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (pfd[1].revents) break;
        ssize_t r = read(0, buf + len, LINE_MAX_BYTES - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
        size_t start = 0;
        for (size_t i = len - (size_t)r; i < len; i++) {
            if (buf[i] != '\n') continue;
            size_t n = i - start;
            if (n && buf[start + n - 1] == '\r') n--;
            if (skipping)
                skipping = 0;
            else if (n)
                answer(mc, buf + start, n);
            start = i + 1;
        }
        memmove(buf, buf + start, len - start);
        len -= start;
        if (len == LINE_MAX_BYTES) {
            if (!skipping) {
                fputs("{\"ok\":false,\"error\":\"line longer than 1 MiB\"}\n", stdout);
                fflush(stdout);
            }
            skipping = 1;
            len = 0;
        }
    }
    free(buf);
}

static void opts_free(opts_t *o)
{
    free(o->topics);
    free(o->props);
}

int main(int argc, char **argv)
{
    opts_t o = {0};
    if (parse_args(argc, argv, &o) != 0) {
        usage(stderr);
        opts_free(&o);
        return 2;
    }
    util_log_set_level(getenv("KC_MOCK_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
    if (pipe(stop_pipe) != 0) {
        perror("kc-mock: pipe");
        opts_free(&o);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    char err[512];
    kc_mock_cluster_t *mc = kc_mock_cluster_new_with(o.brokers, o.props, err, sizeof(err));
    if (!mc) {
        fprintf(stderr, "kc-mock: %s\n", err);
        opts_free(&o);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < o.ntopics && !rc; i++)
        rc = create_topic(mc, o.topics[i]);
    if (!rc) {
        printf("%s\n", kc_mock_cluster_bootstrap(mc));
        fflush(stdout);
        serve(mc);
    }
    kc_mock_cluster_destroy(mc);
    opts_free(&o);
    return rc ? 1 : 0;
}
