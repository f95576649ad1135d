/* The batched, off-loop flush.
 *
 * Appends that the flush policy says must reach the disk mark their partition
 * dirty and activate flush_ev. libevent runs it after the callbacks already
 * active in this loop turn, so one flush per partition covers every append of
 * the turn (Redis's write barrier). The flush itself comes in the storage's
 * three steps: flush_begin on the loop notes what is dirty, a flusher thread
 * runs the fsyncs while the loop goes on serving, and flush_end back on the
 * loop records the result and releases every ack that waited for it. Appends
 * made while a flush runs wait for the next one, which groups them.
 *
 * Only the ticket's run() is called off the loop; every other piece of state
 * here belongs to the loop thread, and the mutex guards the hand-over. */
#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>

#include "core/broker.h"
#include "core/broker_int.h"
#include "kc/kc_err.h"
#include "util/log.h"

typedef struct flush_waiter {
    void (*fn)(void *arg, int err);
    void *arg;
} flush_waiter_t;

typedef struct waiter_list {
    flush_waiter_t *v;
    size_t n, cap;
} waiter_list_t;

/* One round of flushing: the tickets of the partitions it covers and the acks
 * released when it is done. */
typedef struct flush_job {
    broker_partition_t **parts;
    broker_log_flush_t **tickets;
    int *rcs; /* begin's or run's result per partition */
    size_t n;
    waiter_list_t waiters;
} flush_job_t;

typedef struct flusher {
    broker_partition_t **dirty;
    size_t ndirty, capdirty;
    waiter_list_t waiters; /* for the next round */
    flush_job_t *job;      /* the round under way, or NULL */
    struct event *done_ev;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int job_ready; /* handed to the thread, not yet taken */
    int job_done;  /* the thread finished the job */
    int stop;
} flusher_t;

static flusher_t *flusher_of(broker_t *b)
{
    return (flusher_t *)b->flush_state;
}

static int waiters_push(waiter_list_t *l, flush_waiter_t w)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        flush_waiter_t *v = realloc(l->v, cap * sizeof(*v));
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = w;
    return 0;
}

static void waiters_remove(waiter_list_t *l, void *arg)
{
    size_t o = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].arg != arg) l->v[o++] = l->v[i];
    l->n = o;
}

static void *flusher_main(void *arg)
{
    flusher_t *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->job_ready && !f->stop)
            pthread_cond_wait(&f->cond, &f->mu);
        if (f->stop) break;
        flush_job_t *job = f->job;
        f->job_ready = 0;
        pthread_mutex_unlock(&f->mu);
        for (size_t i = 0; i < job->n; i++) {
            if (job->rcs[i] || !job->tickets[i]) continue;
            char err[256];
            job->rcs[i] = broker_log_flush_run(job->tickets[i], err, sizeof(err));
            if (job->rcs[i])
                log_error("flushing %s-%d: %s", job->parts[i]->topic->name, job->parts[i]->index,
                          err);
        }
        pthread_mutex_lock(&f->mu);
        f->job_done = 1;
        pthread_cond_broadcast(&f->cond);
        event_active(f->done_ev, 0, 0);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* On the loop: ends the job's tickets and releases its waiters. */
static void job_finish(broker_t *b, flush_job_t *job)
{
    int err = 0;
    for (size_t i = 0; i < job->n; i++) {
        if (job->tickets[i])
            job->rcs[i] =
                broker_log_flush_end(job->parts[i]->log, job->tickets[i], job->rcs[i], NULL);
        if (job->rcs[i]) err = job->rcs[i];
    }
    for (size_t i = 0; i < job->waiters.n; i++)
        job->waiters.v[i].fn(job->waiters.v[i].arg, err ? KC_ERR_KAFKA_STORAGE_ERROR : 0);
    free(job->waiters.v);
    free(job->parts);
    free(job->tickets);
    free(job->rcs);
    free(job);
}

/* Collects the dirty partitions and the waiting acks into a job, beginning
 * each partition's flush. NULL when there is nothing to do (or no memory:
 * then the next turn retries). */
static flush_job_t *job_build(broker_t *b)
{
    flusher_t *f = flusher_of(b);
    if (!f->ndirty && !f->waiters.n) return NULL;
    flush_job_t *job = calloc(1, sizeof(*job));
    size_t n = f->ndirty;
    if (job) {
        job->parts = calloc(n ? n : 1, sizeof(*job->parts));
        job->tickets = calloc(n ? n : 1, sizeof(*job->tickets));
        job->rcs = calloc(n ? n : 1, sizeof(*job->rcs));
    }
    if (!job || !job->parts || !job->tickets || !job->rcs) {
        if (job) {
            free(job->parts);
            free(job->tickets);
            free(job->rcs);
        }
        free(job);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        broker_partition_t *p = f->dirty[i];
        char err[256];
        job->parts[i] = p;
        job->rcs[i] = broker_log_flush_begin(p->log, &job->tickets[i], err, sizeof(err));
        if (job->rcs[i]) {
            job->tickets[i] = NULL;
            log_error("flushing %s-%d: %s", p->topic->name, p->index, err);
        }
        p->unflushed_msgs = 0;
        p->last_flush_ms = b->now_ms();
    }
    job->n = n;
    f->ndirty = 0;
    job->waiters = f->waiters;
    f->waiters = (waiter_list_t){0};
    return job;
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    broker_t *b = arg;
    flusher_t *f = flusher_of(b);
    if (f->job) return; /* the round under way re-arms us when it ends */
    flush_job_t *job = job_build(b);
    if (!job) return;
    pthread_mutex_lock(&f->mu);
    f->job = job;
    f->job_ready = 1;
    f->job_done = 0;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

/* Takes a finished job back on the loop. */
static void job_collect(broker_t *b)
{
    flusher_t *f = flusher_of(b);
    pthread_mutex_lock(&f->mu);
    flush_job_t *job = f->job_done ? f->job : NULL;
    if (job) {
        f->job = NULL;
        f->job_done = 0;
    }
    pthread_mutex_unlock(&f->mu);
    if (!job) return;
    job_finish(b, job);
    if (f->ndirty || f->waiters.n) event_active(b->flush_ev, 0, 0);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    job_collect(arg);
}

int broker_flush_mark(broker_t *b, broker_partition_t *p)
{
    flusher_t *f = flusher_of(b);
    for (size_t i = 0; i < f->ndirty; i++)
        if (f->dirty[i] == p) return 0;
    if (f->ndirty == f->capdirty) {
        size_t cap = f->capdirty ? f->capdirty * 2 : 16;
        broker_partition_t **d = realloc(f->dirty, cap * sizeof(*d));
        if (!d) return -1;
        f->dirty = d;
        f->capdirty = cap;
    }
    f->dirty[f->ndirty++] = p;
    event_active(b->flush_ev, 0, 0);
    return 0;
}

int broker_partition_note_append(broker_t *b, broker_partition_t *p, int64_t records)
{
    p->unflushed_msgs += records;
    int64_t every = b->conf->log_flush_interval_messages;
    if (every <= 0 || p->unflushed_msgs < every) return 0;
    return broker_flush_mark(b, p) == 0;
}

int broker_flush_wait(broker_t *b, void (*fn)(void *arg, int err), void *arg)
{
    flusher_t *f = flusher_of(b);
    if (waiters_push(&f->waiters, (flush_waiter_t){fn, arg}) != 0) return -1;
    event_active(b->flush_ev, 0, 0);
    return 0;
}

void broker_flush_cancel(broker_t *b, void *arg)
{
    flusher_t *f = flusher_of(b);
    waiters_remove(&f->waiters, arg);
    if (f->job) waiters_remove(&f->job->waiters, arg);
}

void broker_flush_forget(broker_t *b, broker_partition_t *p)
{
    flusher_t *f = flusher_of(b);
    size_t o = 0;
    for (size_t i = 0; i < f->ndirty; i++)
        if (f->dirty[i] != p) f->dirty[o++] = f->dirty[i];
    f->ndirty = o;
}

void broker_flush_run(broker_t *b)
{
    flusher_t *f = flusher_of(b);
    if (!f) return;
    /* Let the round under way finish, then do one more synchronously. */
    pthread_mutex_lock(&f->mu);
    while (f->job && !f->job_done)
        pthread_cond_wait(&f->cond, &f->mu);
    pthread_mutex_unlock(&f->mu);
    job_collect(b);
    flush_job_t *job = job_build(b);
    if (!job) return;
    for (size_t i = 0; i < job->n; i++) {
        if (job->rcs[i] || !job->tickets[i]) continue;
        char err[256];
        job->rcs[i] = broker_log_flush_run(job->tickets[i], err, sizeof(err));
        if (job->rcs[i])
            log_error("flushing %s-%d: %s", job->parts[i]->topic->name, job->parts[i]->index, err);
    }
    job_finish(b, job);
}

int broker_flusher_init(broker_t *b)
{
    flusher_t *f = calloc(1, sizeof(*f));
    if (!f) return -1;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    b->flush_ev = event_new(b->base, -1, 0, on_flush, b);
    f->done_ev = event_new(b->base, -1, 0, on_done, b);
    if (!b->flush_ev || !f->done_ev || pthread_create(&f->thread, NULL, flusher_main, f) != 0) {
        if (b->flush_ev) event_free(b->flush_ev);
        if (f->done_ev) event_free(f->done_ev);
        b->flush_ev = NULL;
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cond);
        free(f);
        return -1;
    }
    b->flush_state = f;
    return 0;
}

void broker_flusher_destroy(broker_t *b)
{
    flusher_t *f = flusher_of(b);
    if (!f) return;
    broker_flush_run(b);
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    event_free(f->done_ev);
    event_free(b->flush_ev);
    b->flush_ev = NULL;
    free(f->dirty);
    free(f->waiters.v);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cond);
    free(f);
    b->flush_state = NULL;
}
