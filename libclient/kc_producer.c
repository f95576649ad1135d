/* The public producer: kc_producer.h over libclient/producer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kc_conf_int.h"
#include "producer/prod_int.h"

struct kc_producer {
    prod_t p;
};

prod_t *prod_of(kc_producer_t *h)
{
    return &h->p;
}

static void prod_free(prod_t *p)
{
    prod_topics_free(p);
    prod_batch_free_all(p);
    proto_wbuf_free(&p->scratch);
    free(p->brokers);
    pthread_rwlock_destroy(&p->topics_lock);
    pthread_mutex_destroy(&p->space_lock);
    pthread_cond_destroy(&p->space_cond);
    pthread_mutex_destroy(&p->dr_lock);
    pthread_cond_destroy(&p->dr_cond);
    pthread_mutex_destroy(&p->free_lock);
}

static void init_locks(prod_t *p)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_rwlock_init(&p->topics_lock, NULL);
    pthread_mutex_init(&p->space_lock, NULL);
    pthread_cond_init(&p->space_cond, &ca);
    pthread_mutex_init(&p->dr_lock, NULL);
    pthread_cond_init(&p->dr_cond, &ca);
    pthread_mutex_init(&p->free_lock, NULL);
    pthread_condattr_destroy(&ca);
}

kc_producer_t *kc_producer_new(kc_conf_t *conf, char *errstr, size_t errstr_size)
{
    char dummy[1];
    if (!errstr || !errstr_size) {
        errstr = dummy;
        errstr_size = sizeof(dummy);
    }
    if (!conf) {
        snprintf(errstr, errstr_size, "no configuration");
        return NULL;
    }
    /* Finalized on a copy, so a refused conf is still the caller's, as it was. */
    kc_conf_t *copy = kc_conf_dup(conf);
    if (!copy) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (client_conf_finalize(&copy->client, CLIENT_ROLE_PRODUCER, errstr, errstr_size) != 0) {
        kc_conf_destroy(copy);
        return NULL;
    }
    kc_producer_t *h = calloc(1, sizeof(*h));
    if (!h) {
        kc_conf_destroy(copy);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    prod_t *p = &h->p;
    p->handle = h;
    prod_assign_serial(p);
    p->dr_cb = copy->cbs.delivery;
    p->dr_opaque = copy->cbs.delivery_opaque;
    p->part_cb = copy->cbs.partitioner;
    p->part_opaque = copy->cbs.partitioner_opaque;
    init_locks(p);
    util_hmap_init(&p->topics);
    TAILQ_INIT(&p->drq);
    p->bufs = calloc(PROD_FREE_MAX, sizeof(*p->bufs));
    p->pid = -1;
    p->epoch = -1;
    p->idem_state = copy->client.enable_idempotence ? PROD_IDEM_NEED_PID : PROD_IDEM_OFF;
    p->c = client_new(copy, errstr, errstr_size);
    if (!p->c) {
        kc_conf_destroy(copy);
        prod_free(p);
        free(h);
        return NULL;
    }
    p->conf = client_conf(p->c);
    p->max_bytes = (size_t)p->conf->queue_buffering_max_kbytes * 1024u;
    kc_err_t err = prod_sender_start(p);
    if (err) {
        snprintf(errstr, errstr_size, "cannot start the producer: %s", kc_err_str(err));
        prod_sender_stop(p);
        client_destroy(p->c);
        prod_free(p);
        free(h);
        return NULL;
    }
    kc_conf_destroy(conf);
    return h;
}

kc_err_t kc_produce(kc_producer_t *h, const kc_produce_rec_t *rec, int flags)
{
    if (!h || !rec) {
        if (rec && (flags & KC_PRODUCE_F_FREE) && rec->free_cb)
            rec->free_cb((void *)rec->value, rec->opaque);
        return KC_ERR__INVALID_ARG;
    }
    return prod_produce(&h->p, rec, flags);
}

int kc_poll(kc_producer_t *h, int timeout_ms)
{
    if (!h) return 0;
    return prod_dr_serve(&h->p, timeout_ms);
}

kc_err_t kc_flush(kc_producer_t *h, int timeout_ms)
{
    if (!h) return KC_ERR__INVALID_ARG;
    prod_t *p = &h->p;
    atomic_fetch_add(&p->flushing, 1);
    prod_wake(p);
    uint64_t deadline = prod_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    while (atomic_load(&p->msgs) > 0) {
        int wait = 100;
        if (timeout_ms >= 0) {
            uint64_t now = prod_now_ms();
            if (now >= deadline) break;
            if (deadline - now < (uint64_t)wait) wait = (int)(deadline - now);
        }
        prod_dr_serve(p, wait);
    }
    prod_dr_serve(p, 0);
    atomic_fetch_sub(&p->flushing, 1);
    return atomic_load(&p->msgs) > 0 ? KC_ERR__TIMED_OUT : 0;
}

typedef struct purge_arg {
    prod_t *p;
    int flags;
    kc_err_t err;
} purge_arg_t;

static void purge_io(client_t *c, void *arg)
{
    (void)c;
    purge_arg_t *a = arg;
    prod_purge_io(a->p, a->flags, a->err);
}

kc_err_t kc_purge(kc_producer_t *h, int flags)
{
    if (!h || (flags & ~(KC_PURGE_F_QUEUE | KC_PURGE_F_INFLIGHT))) return KC_ERR__INVALID_ARG;
    purge_arg_t a = {&h->p, flags, KC_ERR__PURGED};
    kc_err_t err = client_call(h->p.c, purge_io, &a);
    prod_wake(&h->p);
    return err;
}

int kc_outq_len(kc_producer_t *h)
{
    return h ? atomic_load(&h->p.msgs) : 0;
}

kc_err_t kc_fatal_error(kc_producer_t *h, char *errstr, size_t errstr_size)
{
    if (!h) return KC_ERR__INVALID_ARG;
    kc_err_t err = (kc_err_t)atomic_load(&h->p.fatal);
    if (errstr && errstr_size) snprintf(errstr, errstr_size, "%s", err ? h->p.fatal_str : "");
    return err;
}

static void close_io(client_t *c, void *arg)
{
    (void)c;
    prod_t *p = arg;
    prod_purge_io(p, KC_PURGE_F_QUEUE | KC_PURGE_F_INFLIGHT, KC_ERR__DESTROY);
}

void kc_producer_destroy(kc_producer_t *h, int timeout_ms)
{
    if (!h) return;
    prod_t *p = &h->p;
    kc_flush(h, timeout_ms);
    atomic_store(&p->closing, 1);
    client_call(p->c, close_io, p);
    prod_sender_stop(p);
    /* Requests still out fail with KC_ERR__DESTROY; their batches were
     * reported above, so their callbacks only free them. */
    client_destroy(p->c);
    while (atomic_load(&p->msgs) > 0 && prod_dr_serve(p, 0) > 0)
        ;
    prod_dr_serve(p, 0);
    prod_free(p);
    free(h);
}
