/* Peers for the client tests: librdkafka's mock cluster in-process, a
 * kc-broker process, and a scripted fake broker for protocol misbehaviour.
 * Header-only; each test program includes it once. */
#ifndef CLIENT_TEST_UTIL_H
#define CLIENT_TEST_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "proto_header.h"
#include "proto_msgs.h"

/* ---- librdkafka's mock cluster ---- */

typedef struct tmock {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    char bootstrap[256];
} tmock_t;

static inline int tmock_start(tmock_t *m, int brokers)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!m->rk) return -1;
    m->mc = rd_kafka_mock_cluster_new(m->rk, brokers);
    if (!m->mc) return -1;
    snprintf(m->bootstrap, sizeof(m->bootstrap), "%s", rd_kafka_mock_cluster_bootstraps(m->mc));
    return 0;
}

static inline void tmock_stop(tmock_t *m)
{
    if (m->mc) rd_kafka_mock_cluster_destroy(m->mc);
    if (m->rk) rd_kafka_destroy(m->rk);
    memset(m, 0, sizeof(*m));
}

/* The first "host:port" of the bootstrap list, split. */
static inline void tmock_first(const tmock_t *m, char *host, size_t hn, int *port)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", m->bootstrap);
    char *comma = strchr(tmp, ',');
    if (comma) *comma = '\0';
    char *colon = strrchr(tmp, ':');
    *colon = '\0';
    size_t l = strlen(tmp) < hn - 1 ? strlen(tmp) : hn - 1;
    memcpy(host, tmp, l);
    host[l] = '\0';
    *port = atoi(colon + 1);
}

/* ---- a kc-broker process ---- */

typedef struct tbroker {
    pid_t pid;
    char dir[128];
    char addr[128];
} tbroker_t;

/* Starts kc-broker on an ephemeral port, its log in a fresh directory made
 * from dir_template (mkdtemp), with the "key=value" --override properties
 * in overrides (NULL-terminated; NULL: none). 0 once it listens (b->addr). */
static inline int tbroker_start_with(tbroker_t *b, const char *dir_template,
                                     const char *const *overrides)
{
    snprintf(b->dir, sizeof(b->dir), "%s", dir_template);
    if (!mkdtemp(b->dir)) return -1;
    char dirs[200];
    snprintf(dirs, sizeof(dirs), "log.dirs=%s", b->dir);
    char *argv[32];
    int argc = 0;
    argv[argc++] = "kc-broker";
    argv[argc++] = "--override";
    argv[argc++] = "listeners=PLAINTEXT://127.0.0.1:0";
    argv[argc++] = "--override";
    argv[argc++] = dirs;
    for (int i = 0; overrides && overrides[i] && argc < 30; i++) {
        argv[argc++] = "--override";
        argv[argc++] = (char *)overrides[i];
    }
    argv[argc] = NULL;
    int fds[2];
    if (pipe(fds) != 0) return -1;
    b->pid = fork();
    if (b->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 2);
        execv(KC_BIN_DIR "/kc-broker", argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256];
    int rc = -1;
    if (f && fgets(line, sizeof(line), f) && sscanf(line, "listening on %127s", b->addr) == 1)
        rc = 0;
    if (f) fclose(f);
    return rc;
}

/* A kc-broker with default settings, for the client tests. */
static inline int tbroker_start(tbroker_t *b)
{
    return tbroker_start_with(b, "/tmp/kc-client-test-XXXXXX", NULL);
}

static inline void tbroker_stop(tbroker_t *b)
{
    if (b->pid > 0) {
        kill(b->pid, SIGTERM);
        waitpid(b->pid, NULL, 0);
    }
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", b->dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", b->dir);
}

/* ---- a scripted fake broker (one connection, its own thread) ---- */

typedef enum fake_mode {
    FAKE_WRONG_CORR, /* answers ApiVersions, then a Metadata with a wrong correlation id */
    FAKE_HUGE_FRAME, /* answers ApiVersions, then announces a 2 GiB frame */
} fake_mode_t;

typedef struct fake_broker {
    int lfd;
    int port;
    fake_mode_t mode;
    pthread_t thread;
} fake_broker_t;

static inline int read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static inline void send_frame(int fd, proto_wbuf_t *w)
{
    proto_put_i32_at(w, 0, (int32_t)(w->len - 4));
    if (write(fd, w->data, w->len) != (ssize_t)w->len) return;
}

static void *fake_main(void *arg)
{
    fake_broker_t *fb = arg;
    int fd = accept(fb->lfd, NULL, NULL);
    if (fd < 0) return NULL;
    for (;;) {
        uint8_t hdr[4];
        if (read_full(fd, hdr, 4)) break;
        uint32_t n =
            (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
        uint8_t *buf = malloc(n);
        if (!buf || read_full(fd, buf, n)) {
            free(buf);
            break;
        }
        proto_rbuf_t r;
        proto_rbuf_init(&r, buf, n);
        proto_req_header_t h;
        proto_req_header_decode(&r, &h);
        proto_wbuf_t w;
        proto_wbuf_init(&w, 128);
        proto_put_i32(&w, 0);
        if (h.api_key == PROTO_API_API_VERSIONS) {
            proto_resp_header_encode(&w, 0, h.correlation_id);
            proto_api_versions_response_t resp;
            proto_msg_init(&proto_api_versions_response_desc, &resp);
            proto_api_versions_response_api_version_t keys[2] = {{3, 0, 13}, {18, 0, 4}};
            resp.api_keys.v = keys;
            resp.api_keys.n = 2;
            char e[128];
            proto_response_encode(18, h.api_version, &resp, &w, e, sizeof(e));
            send_frame(fd, &w);
        } else if (fb->mode == FAKE_WRONG_CORR) {
            proto_resp_header_encode(&w, proto_resp_header_version(h.api_key, h.api_version),
                                     h.correlation_id + 7);
            proto_metadata_response_t resp;
            proto_msg_init(&proto_metadata_response_desc, &resp);
            char e[128];
            proto_response_encode(h.api_key, h.api_version, &resp, &w, e, sizeof(e));
            send_frame(fd, &w);
        } else {
            uint8_t huge[4] = {0x7f, 0xff, 0xff, 0xff};
            if (write(fd, huge, 4) != 4) break;
        }
        proto_wbuf_free(&w);
        free(buf);
    }
    close(fd);
    return NULL;
}

static inline int fake_start(fake_broker_t *fb, fake_mode_t mode)
{
    fb->mode = mode;
    fb->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    if (bind(fb->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(fb->lfd, 4) ||
        getsockname(fb->lfd, (struct sockaddr *)&a, &al))
        return -1;
    fb->port = ntohs(a.sin_port);
    return pthread_create(&fb->thread, NULL, fake_main, fb);
}

static inline void fake_stop(fake_broker_t *fb)
{
    shutdown(fb->lfd, SHUT_RDWR);
    close(fb->lfd);
    pthread_join(fb->thread, NULL);
}

/* A loopback port nothing listens on (bound, then closed). */
static inline int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

#endif
