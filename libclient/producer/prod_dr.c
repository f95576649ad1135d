/* Delivery reports. The I/O thread queues finished batches (one lock per
 * batch, not per record); kc_poll() takes the whole queue at once and calls
 * the delivery callback for each record on the application thread. */
#include <errno.h>
#include <time.h>

#include "producer/prod_int.h"

void prod_dr_enqueue(prod_t *p, prod_batch_t *b)
{
    /* Only the per-record data is needed from here on. In flight (a purge)
     * the request still points at the bytes. */
    if (!b->in_flight) prod_batch_drop_buf(p, b);
    pthread_mutex_lock(&p->dr_lock);
    TAILQ_INSERT_TAIL(&p->drq, b, link);
    pthread_cond_broadcast(&p->dr_cond);
    pthread_mutex_unlock(&p->dr_lock);
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int serve_batch(prod_t *p, prod_batch_t *b)
{
    kc_delivery_t d = {0};
    d.topic = b->topic->name;
    d.partition = b->partition;
    d.err = b->err;
    d.errstr = b->err ? (b->errstr[0] ? b->errstr : kc_err_str(b->err)) : NULL;
    d.possibly_persisted = b->possibly_persisted;
    int lat = b->err == 0 && b->log_append_time >= 0;
    d.timestamp_type = lat ? KC_TIMESTAMP_LOG_APPEND_TIME : KC_TIMESTAMP_CREATE_TIME;
    for (int32_t i = 0; i < b->nrec; i++) {
        d.offset = b->err == 0 && b->base_offset >= 0 ? b->base_offset + i : -1;
        d.timestamp_ms = lat ? b->log_append_time : b->meta[i].timestamp;
        d.opaque = b->meta[i].opaque;
        if (p->dr_cb) p->dr_cb(p->handle, &d, p->dr_opaque);
    }
    int n = b->nrec;
    prod_unreserve(p, n, b->bytes);
    prod_batch_release(p, b);
    return n;
}

int prod_dr_serve(prod_t *p, int timeout_ms)
{
    struct prod_batch_q q = TAILQ_HEAD_INITIALIZER(q);
    pthread_mutex_lock(&p->dr_lock);
    if (TAILQ_EMPTY(&p->drq) && timeout_ms != 0) {
        if (timeout_ms < 0) {
            while (TAILQ_EMPTY(&p->drq))
                pthread_cond_wait(&p->dr_cond, &p->dr_lock);
        } else {
            struct timespec ts;
            deadline_in(&ts, timeout_ms);
            while (TAILQ_EMPTY(&p->drq))
                if (pthread_cond_timedwait(&p->dr_cond, &p->dr_lock, &ts) == ETIMEDOUT) break;
        }
    }
    TAILQ_CONCAT(&q, &p->drq, link);
    pthread_mutex_unlock(&p->dr_lock);
    int n = 0;
    prod_batch_t *b;
    while ((b = TAILQ_FIRST(&q)) != NULL) {
        TAILQ_REMOVE(&q, b, link);
        n += serve_batch(p, b);
    }
    return n;
}
