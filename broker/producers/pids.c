/* Producer-id allocation.
 *
 * An id must never be handed out twice, or a new producer would inherit an
 * old one's sequence state. A persistent broker therefore reserves ids in
 * blocks and writes the end of the block to
 * `<dirs[0]>/kc-metadata/producer-ids` (atomically, fsynced) before handing
 * out the first id of it: after a restart or a kill -9 allocation resumes at
 * that end, skipping what the old run may not have used. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc/kc_err.h"
#include "producers/producers.h"
#include "util/fsutil.h"
#include "util/log.h"

#define PID_BLOCK 1000

typedef struct pids {
    int64_t next;     /* next id to hand out */
    int64_t reserved; /* ids below this are reserved on disk */
    int loaded;
} pids_t;

static int pids_path(broker_t *b, char *buf, size_t n, int dir_only)
{
    int w = snprintf(buf, n, dir_only ? "%s/kc-metadata" : "%s/kc-metadata/producer-ids",
                     b->conf->dirs[0]);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

static int pids_load(broker_t *b, pids_t *p, char *errstr, size_t errstr_size)
{
    char path[4096], *text = NULL;
    size_t len;
    if (pids_path(b, path, sizeof(path), 0)) {
        snprintf(errstr, errstr_size, "log dir path too long");
        return KC_ERR_KAFKA_STORAGE_ERROR;
    }
    int rc = util_read_file(path, &text, &len, errstr, errstr_size);
    if (rc < 0) return KC_ERR_KAFKA_STORAGE_ERROR;
    if (rc == 0) {
        const char *v = strstr(text, "next.block=");
        char *end = NULL;
        long long x = v ? strtoll(v + strlen("next.block="), &end, 10) : -1;
        free(text);
        if (!v || x < 0 || end == v + strlen("next.block=")) {
            /* Handing out ids again from 0 could repeat them: refuse. */
            snprintf(errstr, errstr_size, "%s is damaged (no next.block=N line)", path);
            return KC_ERR_KAFKA_STORAGE_ERROR;
        }
        p->next = p->reserved = x;
    }
    p->loaded = 1;
    return 0;
}

static int pids_reserve(broker_t *b, pids_t *p, char *errstr, size_t errstr_size)
{
    int64_t upto = p->next + PID_BLOCK;
    if (b->persistent) {
        char path[4096], body[64];
        pids_path(b, path, sizeof(path), 1);
        if (util_mkdirs(path, errstr, errstr_size)) return KC_ERR_KAFKA_STORAGE_ERROR;
        pids_path(b, path, sizeof(path), 0);
        int n = snprintf(body, sizeof(body), "next.block=%lld\n", (long long)upto);
        if (util_write_file_atomic(path, body, (size_t)n, errstr, errstr_size))
            return KC_ERR_KAFKA_STORAGE_ERROR;
    }
    p->reserved = upto;
    return 0;
}

/* The allocator, loaded from its file on first use. NULL with errstr. */
static pids_t *pids_get(broker_t *b, char *errstr, size_t errstr_size)
{
    pids_t *p = b->pids;
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p) {
            snprintf(errstr, errstr_size, "out of memory");
            return NULL;
        }
        b->pids = p;
    }
    if (!p->loaded && b->persistent && pids_load(b, p, errstr, errstr_size)) return NULL;
    p->loaded = 1;
    return p;
}

int broker_pids_next(broker_t *b, int64_t *out, char *errstr, size_t errstr_size)
{
    pids_t *p = pids_get(b, errstr, errstr_size);
    if (!p) return KC_ERR_KAFKA_STORAGE_ERROR;
    if (p->next >= p->reserved) {
        int rc = pids_reserve(b, p, errstr, errstr_size);
        if (rc) return rc;
    }
    *out = p->next++;
    return 0;
}

int broker_pids_issued(broker_t *b, int64_t id)
{
    char errstr[256];
    const pids_t *p = pids_get(b, errstr, sizeof(errstr));
    return p && id >= 0 && id < p->next;
}

void broker_pids_free(broker_t *b)
{
    free(b->pids);
    b->pids = NULL;
}
