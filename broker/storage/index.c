/* A segment's offset and time indexes: memory arrays mirrored to files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc/kc_err.h"
#include "storage/index.h"
#include "storage/io.h"
#include "storage/storage_err.h"

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void encode_o(uint8_t *p, const broker_oidx_ent_t *e)
{
    put_be32(p, e->rel);
    put_be32(p + 4, e->pos);
}

static void encode_t(uint8_t *p, const broker_tidx_ent_t *e)
{
    put_be32(p, (uint32_t)((uint64_t)e->ts >> 32));
    put_be32(p + 4, (uint32_t)e->ts);
    put_be32(p + 8, e->rel);
}

void broker_index_clear(broker_index_t *ix)
{
    ix->on = 0;
    ix->tn = 0;
}

void broker_index_free(broker_index_t *ix)
{
    free(ix->o);
    free(ix->t);
    memset(ix, 0, sizeof(*ix));
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * elem);
    if (!p) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Reads a whole index file; *buf is malloc'd (NULL when empty). */
static int slurp(int fd, uint8_t **buf, size_t *len, char *errstr, size_t errstr_size)
{
    struct stat st;
    *buf = NULL;
    *len = 0;
    if (fstat(fd, &st) != 0) return broker_store_io_err(errstr, errstr_size, "index fstat");
    if (st.st_size == 0) return 0;
    uint8_t *p = malloc((size_t)st.st_size);
    if (!p) return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "index: no memory");
    ssize_t r = broker_pread_full(fd, p, (size_t)st.st_size, 0);
    if (r < 0) {
        free(p);
        return broker_store_io_err(errstr, errstr_size, "index read");
    }
    *buf = p;
    *len = (size_t)r;
    return 0;
}

static int load_offsets(broker_index_t *ix, const uint8_t *p, size_t len, int64_t log_size,
                        char *errstr, size_t errstr_size)
{
    if (len % BROKER_OIDX_ENTRY)
        return broker_store_err(KC_ERR__BAD_MSG, errstr, errstr_size,
                                "offset index size %zu is not a multiple of %d", len,
                                BROKER_OIDX_ENTRY);
    size_t n = len / BROKER_OIDX_ENTRY;
    if (grow((void **)&ix->o, &ix->ocap, n, sizeof(*ix->o)))
        return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "index: no memory");
    for (size_t i = 0; i < n; i++) {
        broker_oidx_ent_t e = {get_be32(p + i * 8), get_be32(p + i * 8 + 4)};
        if (e.rel > INT32_MAX || (int64_t)e.pos >= log_size ||
            (i > 0 && (e.rel <= ix->o[i - 1].rel || e.pos <= ix->o[i - 1].pos)))
            return broker_store_err(KC_ERR__BAD_MSG, errstr, errstr_size,
                                    "offset index entry %zu (%u, %u) is out of order", i, e.rel,
                                    e.pos);
        ix->o[i] = e;
    }
    ix->on = n;
    return 0;
}

static int load_times(broker_index_t *ix, const uint8_t *p, size_t len, char *errstr,
                      size_t errstr_size)
{
    if (len % BROKER_TIDX_ENTRY)
        return broker_store_err(KC_ERR__BAD_MSG, errstr, errstr_size,
                                "time index size %zu is not a multiple of %d", len,
                                BROKER_TIDX_ENTRY);
    size_t n = len / BROKER_TIDX_ENTRY;
    if (grow((void **)&ix->t, &ix->tcap, n, sizeof(*ix->t)))
        return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "index: no memory");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *q = p + i * BROKER_TIDX_ENTRY;
        broker_tidx_ent_t e = {(int64_t)((uint64_t)get_be32(q) << 32 | get_be32(q + 4)),
                               get_be32(q + 8)};
        if (e.ts < 0 || e.rel > INT32_MAX ||
            (i > 0 && (e.ts <= ix->t[i - 1].ts || e.rel < ix->t[i - 1].rel)))
            return broker_store_err(KC_ERR__BAD_MSG, errstr, errstr_size,
                                    "time index entry %zu is out of order", i);
        ix->t[i] = e;
    }
    ix->tn = n;
    return 0;
}

int broker_index_load(broker_index_t *ix, int ofd, int tfd, int64_t log_size, char *errstr,
                      size_t errstr_size)
{
    uint8_t *buf;
    size_t len;
    broker_index_clear(ix);
    int rc = slurp(ofd, &buf, &len, errstr, errstr_size);
    if (rc) return rc;
    rc = load_offsets(ix, buf, len, log_size, errstr, errstr_size);
    free(buf);
    if (rc) goto fail;
    rc = slurp(tfd, &buf, &len, errstr, errstr_size);
    if (rc) goto fail;
    rc = load_times(ix, buf, len, errstr, errstr_size);
    free(buf);
    if (rc) goto fail;
    return 0;
fail:
    broker_index_clear(ix);
    return rc;
}

int broker_index_add_offset(broker_index_t *ix, int fd, uint32_t rel, uint32_t pos, char *errstr,
                            size_t errstr_size)
{
    if (grow((void **)&ix->o, &ix->ocap, ix->on + 1, sizeof(*ix->o)))
        return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "index: no memory");
    broker_oidx_ent_t e = {rel, pos};
    if (fd >= 0) {
        uint8_t b[BROKER_OIDX_ENTRY];
        encode_o(b, &e);
        if (broker_pwrite_all(fd, b, sizeof(b), (int64_t)ix->on * BROKER_OIDX_ENTRY))
            return broker_store_io_err(errstr, errstr_size, "offset index write");
    }
    ix->o[ix->on++] = e;
    return 0;
}

int broker_index_add_time(broker_index_t *ix, int fd, int64_t ts, uint32_t rel, char *errstr,
                          size_t errstr_size)
{
    if (grow((void **)&ix->t, &ix->tcap, ix->tn + 1, sizeof(*ix->t)))
        return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "index: no memory");
    broker_tidx_ent_t e = {ts, rel};
    if (fd >= 0) {
        uint8_t b[BROKER_TIDX_ENTRY];
        encode_t(b, &e);
        if (broker_pwrite_all(fd, b, sizeof(b), (int64_t)ix->tn * BROKER_TIDX_ENTRY))
            return broker_store_io_err(errstr, errstr_size, "time index write");
    }
    ix->t[ix->tn++] = e;
    return 0;
}

static int write_file(int fd, const uint8_t *buf, size_t len, const char *what, char *errstr,
                      size_t errstr_size)
{
    if (ftruncate(fd, 0) != 0) return broker_store_io_err(errstr, errstr_size, "%s truncate", what);
    if (len && broker_pwrite_all(fd, buf, len, 0))
        return broker_store_io_err(errstr, errstr_size, "%s write", what);
    return 0;
}

int broker_index_write_all(const broker_index_t *ix, int ofd, int tfd, char *errstr,
                           size_t errstr_size)
{
    size_t olen = ix->on * BROKER_OIDX_ENTRY, tlen = ix->tn * BROKER_TIDX_ENTRY;
    uint8_t *buf = malloc((olen > tlen ? olen : tlen) + 1);
    if (!buf) return broker_store_err(KC_ERR__NO_MEMORY, errstr, errstr_size, "index: no memory");
    for (size_t i = 0; i < ix->on; i++)
        encode_o(buf + i * BROKER_OIDX_ENTRY, &ix->o[i]);
    int rc = write_file(ofd, buf, olen, "offset index", errstr, errstr_size);
    if (!rc) {
        for (size_t i = 0; i < ix->tn; i++)
            encode_t(buf + i * BROKER_TIDX_ENTRY, &ix->t[i]);
        rc = write_file(tfd, buf, tlen, "time index", errstr, errstr_size);
    }
    free(buf);
    return rc;
}

uint32_t broker_index_lookup_offset(const broker_index_t *ix, uint32_t rel)
{
    size_t lo = 0, hi = ix->on; /* first entry with rel > target is at hi */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->o[mid].rel <= rel)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? ix->o[lo - 1].pos : 0;
}

uint32_t broker_index_lookup_pos(const broker_index_t *ix, uint32_t pos)
{
    size_t lo = 0, hi = ix->on; /* first entry with a position past pos is at hi */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->o[mid].pos <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? ix->o[lo - 1].pos : 0;
}

int64_t broker_index_lookup_time(const broker_index_t *ix, int64_t ts)
{
    size_t lo = 0, hi = ix->tn;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->t[mid].ts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? (int64_t)ix->t[lo - 1].rel : -1;
}
