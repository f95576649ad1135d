/* Records out of fetched data, on the poll thread, one at a time.
 *
 * The I/O thread only splits a response by partition; batches are walked
 * here, lazily, so the cost of parsing lands on the thread that consumes.
 * Messages point into the response frame, or for a compressed batch into
 * a buffer holding that batch decompressed. read_committed skips the
 * batches of aborted transactions (from the response's AbortedTransactions,
 * as Kafka's consumers do) and control batches are never delivered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer/consumer_int.h"
#include "proto_compress.h"

void cons_reader_start(cons_reader_t *rd, cons_ev_t *ev, int check_crcs, int read_committed)
{
    int64_t *open = rd->open_aborts;
    int cap = rd->capopen;
    proto_wbuf_t scratch = rd->scratch;
    memset(rd, 0, sizeof(*rd));
    rd->open_aborts = open;
    rd->capopen = cap;
    rd->scratch = scratch;
    rd->ev = ev;
    rd->check_crcs = check_crcs;
    rd->read_committed = read_committed;
    proto_batch_iter_init(&rd->bi, ev->data, ev->len);
}

static void drop_dbuf(cons_reader_t *rd)
{
    cons_buf_unref(rd->dbuf);
    rd->dbuf = NULL;
    rd->topic_in_dbuf = NULL;
}

void cons_reader_free(cons_reader_t *rd)
{
    free(rd->open_aborts);
    rd->open_aborts = NULL;
    rd->nopen = rd->capopen = 0;
    proto_wbuf_free(&rd->scratch);
}

void cons_reader_end(cons_reader_t *rd)
{
    drop_dbuf(rd);
    rd->ev = NULL;
    rd->in_batch = 0;
}

static int open_has(const cons_reader_t *rd, int64_t pid)
{
    for (int i = 0; i < rd->nopen; i++)
        if (rd->open_aborts[i] == pid) return 1;
    return 0;
}

static void open_del(cons_reader_t *rd, int64_t pid)
{
    for (int i = 0; i < rd->nopen; i++)
        if (rd->open_aborts[i] == pid) {
            rd->open_aborts[i] = rd->open_aborts[--rd->nopen];
            return;
        }
}

static int open_add(cons_reader_t *rd, int64_t pid)
{
    if (open_has(rd, pid)) return 0;
    if (rd->nopen == rd->capopen) {
        int cap = rd->capopen ? rd->capopen * 2 : 8;
        int64_t *n = realloc(rd->open_aborts, (size_t)cap * sizeof(*n));
        if (!n) return -1;
        rd->open_aborts = n;
        rd->capopen = cap;
    }
    rd->open_aborts[rd->nopen++] = pid;
    return 0;
}

/* Kafka's rule: a transactional batch is aborted when its producer has an
 * aborted transaction that started at or before the batch and whose abort
 * marker comes after it. Returns 1 to skip the batch. */
static int skip_batch(cons_reader_t *rd, const proto_batch_view_t *v)
{
    if (v->magic < 2) return 0;
    if (rd->read_committed) {
        int64_t last = proto_batch_view_next_offset(v) - 1;
        const cons_ev_t *ev = rd->ev;
        while (rd->next_aborted < ev->naborted &&
               ev->aborted[rd->next_aborted].first_offset <= last)
            open_add(rd, ev->aborted[rd->next_aborted++].producer_id);
    }
    if (proto_batch_view_is_control(v)) {
        if (rd->read_committed && rd->nopen) {
            /* An ABORT marker closes that producer's aborted transaction. */
            proto_record_iter_t ri;
            proto_record_t r;
            if (proto_record_iter_init(&ri, v, 0, NULL, 0) == 0 &&
                proto_record_iter_next(&ri, &r)) {
                int16_t type;
                int32_t epoch;
                if (proto_control_record_parse(&r, &type, &epoch) == 0 &&
                    type == PROTO_CONTROL_ABORT)
                    open_del(rd, v->h.producer_id);
            }
        }
        return 1;
    }
    if (rd->read_committed && proto_batch_view_is_transactional(v) &&
        open_has(rd, v->h.producer_id))
        return 1;
    return 0;
}

static int begin_batch(cons_reader_t *rd, kc_err_t *err, char *errstr, size_t es)
{
    for (;;) {
        if (!proto_batch_iter_next(&rd->bi, &rd->bv)) {
            if (rd->bi.err) {
                *err = (kc_err_t)rd->bi.err;
                snprintf(errstr, es, "%s", rd->bi.errstr);
            }
            return 0;
        }
        if (proto_batch_view_next_offset(&rd->bv) <= rd->ev->start_offset) continue;
        if (skip_batch(rd, &rd->bv)) continue;
        drop_dbuf(rd);
        int compressed = proto_batch_view_codec(&rd->bv) != PROTO_CODEC_NONE;
        if (compressed && !rd->scratch.data) cons_scratch_take(&rd->scratch);
        int rc = proto_record_iter_init(&rd->ri, &rd->bv, rd->check_crcs,
                                        compressed ? &rd->scratch : NULL, 0);
        if (rc) {
            *err = (kc_err_t)rc;
            snprintf(errstr, es, "batch at offset %lld: %s", (long long)rd->bv.h.base_offset,
                     rd->ri.errstr);
            return 0;
        }
        if (compressed) {
            /* The records point into the scratch buffer: it becomes the
             * batch's buffer (recycled when its messages are gone) and the
             * next batch takes another. */
            rd->dbuf = cons_buf_new_scratch(&rd->scratch);
            if (!rd->dbuf) {
                *err = KC_ERR__NO_MEMORY;
                snprintf(errstr, es, "out of memory");
                return 0;
            }
        }
        rd->in_batch = 1;
        return 1;
    }
}

static kc_message_t *make_msg(cons_reader_t *rd, const proto_record_t *r)
{
    cons_buf_t *b = rd->dbuf ? rd->dbuf : rd->ev->buf;
    const char **topic = rd->dbuf ? &rd->topic_in_dbuf : &rd->topic_in_buf;
    if (!*topic) {
        const char *t = rd->ev->part->topic;
        *topic = cons_buf_strdup(b, t, strlen(t));
        if (!*topic) return NULL;
    }
    cons_msg_t *cm = cons_msg_new(b, 0);
    if (!cm) return NULL;
    kc_message_t *m = &cm->m;
    m->topic = *topic;
    m->partition = rd->ev->part->partition;
    m->offset = r->offset;
    m->leader_epoch = rd->bv.magic >= 2 ? rd->bv.h.partition_leader_epoch : -1;
    if (r->key.len >= 0) {
        m->key = r->key.ptr ? r->key.ptr : (const void *)"";
        m->key_len = (size_t)r->key.len;
    }
    if (r->value.len >= 0) {
        m->value = r->value.ptr ? r->value.ptr : (const void *)"";
        m->value_len = (size_t)r->value.len;
    }
    m->timestamp_ms = r->timestamp;
    m->timestamp_type = (kc_timestamp_type_t)r->ts_type;
    if (r->header_count > 0) {
        kc_header_t *h = cons_buf_alloc(b, (size_t)r->header_count * sizeof(*h), 0);
        if (!h) {
            cons_buf_unref(b);
            return NULL;
        }
        proto_header_iter_t hi;
        proto_record_header_t rh;
        proto_header_iter_init(&hi, r);
        size_t i = 0;
        while (i < (size_t)r->header_count && proto_header_iter_next(&hi, &rh)) {
            h[i].name = cons_buf_strdup(b, (const char *)rh.key.ptr, (size_t)rh.key.len);
            if (!h[i].name) {
                cons_buf_unref(b);
                return NULL;
            }
            h[i].value =
                rh.value.len >= 0 ? (rh.value.ptr ? rh.value.ptr : (const void *)"") : NULL;
            h[i].value_len = rh.value.len >= 0 ? (size_t)rh.value.len : 0;
            i++;
        }
        m->headers = h;
        m->header_cnt = i;
    }
    return m;
}

kc_message_t *cons_reader_next(cons_reader_t *rd, kc_err_t *err, char *errstr, size_t es)
{
    *err = 0;
    for (;;) {
        if (!rd->in_batch && !begin_batch(rd, err, errstr, es)) return NULL;
        proto_record_t r;
        if (!proto_record_iter_next(&rd->ri, &r)) {
            rd->in_batch = 0;
            if (rd->ri.err) {
                *err = (kc_err_t)rd->ri.err;
                snprintf(errstr, es, "batch at offset %lld: %s", (long long)rd->bv.h.base_offset,
                         rd->ri.errstr);
                return NULL;
            }
            continue;
        }
        if (r.offset < rd->ev->start_offset) continue;
        kc_message_t *m = make_msg(rd, &r);
        if (!m) {
            *err = KC_ERR__NO_MEMORY;
            snprintf(errstr, es, "out of memory");
        }
        return m;
    }
}
