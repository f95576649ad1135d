/* Idempotence, on the I/O thread: the producer id and epoch from
 * InitProducerId (any broker), and the epoch bump (KIP-360) after the
 * sequence numbers of some partition can no longer follow on: a sent batch
 * failed for good, was purged, or the broker answered OUT_OF_ORDER_SEQUENCE
 * or UNKNOWN_PRODUCER_ID unexpectedly. A bump waits until no batch is in
 * flight, asks InitProducerId v3+ with the current id and epoch, and
 * restarts every partition's sequence at 0; queued batches are re-stamped
 * when they are next sent. A broker without InitProducerId v3 cannot bump:
 * the producer then fails fatally rather than risk duplicates or reordering. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client_int.h"
#include "producer/prod_int.h"
#include "util/log.h"

void prod_set_fatal(prod_t *p, kc_err_t err, const char *fmt, ...)
{
    if (p->idem_state == PROD_IDEM_FATAL) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->fatal_str, sizeof(p->fatal_str), fmt, ap);
    va_end(ap);
    log_error("producer: fatal error: %s", p->fatal_str);
    p->idem_state = PROD_IDEM_FATAL;
    atomic_store(&p->fatal, err ? err : KC_ERR__FATAL);
    prod_purge_io(p, KC_PURGE_F_QUEUE, KC_ERR__FATAL);
}

void prod_idem_request_bump(prod_t *p, const char *why)
{
    /* Before the first id there is no sequence to repair. */
    if (p->idem_state == PROD_IDEM_OFF || p->idem_state == PROD_IDEM_FATAL || p->pid < 0) return;
    if (p->bump && p->idem_state != PROD_IDEM_ASSIGNED) return;
    log_info("producer: bumping the epoch of producer id %lld: %s", (long long)p->pid, why);
    p->bump = 1;
    /* A bump already on its way covers this one too. */
    if (p->idem_state == PROD_IDEM_ASSIGNED) p->idem_state = PROD_IDEM_DRAIN;
}

static void reset_sequences(prod_t *p)
{
    pthread_rwlock_rdlock(&p->topics_lock);
    for (int i = 0; i < p->ntopics; i++) {
        prod_topic_t *t = p->topic_list[i];
        for (int32_t j = 0; j < t->npart; j++) {
            t->parts[j]->next_seq = 0;
            t->parts[j]->hold = 0;
        }
    }
    pthread_rwlock_unlock(&p->topics_lock);
}

static int pid_retriable(kc_err_t err)
{
    return kc_err_is_retriable(err) || err == KC_ERR__TIMED_OUT || err == KC_ERR__TRANSPORT ||
           err == KC_ERR_COORDINATOR_LOAD_IN_PROGRESS || err == KC_ERR_CONCURRENT_TRANSACTIONS;
}

/* The next InitProducerId waits retry.backoff.ms, doubled with every
 * failure in a row up to retry.backoff.max.ms, as Produce retries do. */
static void pid_retry_later(prod_t *p, uint64_t now)
{
    p->pid_failures++;
    p->pid_retry_at_ms = now + (uint64_t)client_retry_backoff_ms(p->conf, p->pid_failures);
}

static void on_pid_resp(const net_resp_t *resp, void *opaque)
{
    prod_t *p = opaque;
    if (p->stopped || p->idem_state != PROD_IDEM_WAIT_PID) return;
    const proto_init_producer_id_response_t *r = resp->body;
    kc_err_t err = resp->err ? resp->err : (kc_err_t)r->error_code;
    if (err) {
        if (err == KC_ERR__DESTROY) return;
        if (p->bump && !resp->err) {
            /* The broker keeps no bumpable state for an idempotent producer
             * (librdkafka's mock answers INVALID_PRODUCER_ID_MAPPING): start
             * over with a new producer id, as librdkafka does. */
            log_info("producer: epoch bump refused (%s): asking for a new producer id",
                     kc_err_str(err));
            p->bump = 0;
            p->idem_state = PROD_IDEM_NEED_PID;
            prod_wake(p);
            return;
        }
        if (!pid_retriable(err)) {
            prod_set_fatal(p, err, "InitProducerId failed: %s",
                           resp->errstr ? resp->errstr : kc_err_str(err));
            return;
        }
        log_debug("producer: InitProducerId failed (%s), retrying",
                  resp->errstr ? resp->errstr : kc_err_str(err));
        p->idem_state = PROD_IDEM_NEED_PID;
        pid_retry_later(p, prod_now_ms());
        prod_wake(p);
        return;
    }
    log_debug("producer: producer id %lld epoch %d", (long long)r->producer_id,
              (int)r->producer_epoch);
    p->pid = r->producer_id;
    p->epoch = r->producer_epoch;
    p->bump = 0;
    p->pid_failures = 0;
    p->idem_state = PROD_IDEM_ASSIGNED;
    if (++p->pid_gen == 0) p->pid_gen = 1;
    reset_sequences(p);
    prod_wake(p);
}

/* A bump needs InitProducerId v3+: ask a broker whose connection is up, so
 * the version is known before the request goes. 0 and *node_id, or -1 to
 * try again later (connections are started). */
static int bump_target(prod_t *p, int32_t *node_id)
{
    client_t *c = p->c;
    for (int i = 0; i < c->nbrokers; i++) {
        client_broker_t *b = c->brokers[i];
        if (b->node_id < 0 || net_conn_state(b->conn) != NET_UP) continue;
        int16_t v = -1;
        char errstr[200];
        if (net_conn_pick_version(b->conn, PROTO_API_INIT_PRODUCER_ID, &v, errstr,
                                  sizeof(errstr)) != 0 ||
            v < 3) {
            prod_set_fatal(p, KC_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                           "idempotent producer lost its sequence and broker %s cannot bump "
                           "the epoch (InitProducerId v%d, v3+ needed)",
                           net_conn_name(b->conn), (int)v);
            return -1;
        }
        *node_id = b->node_id;
        return 0;
    }
    for (int i = 0; i < c->nbrokers; i++)
        if (c->brokers[i]->node_id >= 0) net_conn_connect(c->brokers[i]->conn);
    return -1;
}

static void send_pid_request(prod_t *p, uint64_t now)
{
    int32_t node_id = -1;
    if (p->bump && bump_target(p, &node_id) != 0) {
        pid_retry_later(p, now);
        return;
    }
    proto_msg_init(&proto_init_producer_id_request_desc, &p->pid_req);
    p->pid_req.transactional_id = PROTO_NULL_SLICE;
    p->pid_req.transaction_timeout_ms = -1;
    p->pid_req.producer_id = p->bump ? p->pid : -1;
    p->pid_req.producer_epoch = p->bump ? p->epoch : -1;
    kc_err_t err = client_broker_request(p->c, node_id, PROTO_API_INIT_PRODUCER_ID, &p->pid_req,
                                         p->conf->request_timeout_ms, 0, on_pid_resp, p);
    if (err) {
        pid_retry_later(p, now);
        return;
    }
    p->idem_state = PROD_IDEM_WAIT_PID;
}

int prod_idem_ready(prod_t *p, uint64_t now, uint64_t *next_ms)
{
    switch (p->idem_state) {
    case PROD_IDEM_OFF:
    case PROD_IDEM_ASSIGNED: return 1;
    case PROD_IDEM_DRAIN:
        if (p->inflight_batches > 0) return 0;
        p->idem_state = PROD_IDEM_NEED_PID;
        /* fall through */
    case PROD_IDEM_NEED_PID:
        if (now >= p->pid_retry_at_ms)
            send_pid_request(p, now);
        else if (p->pid_retry_at_ms < *next_ms)
            *next_ms = p->pid_retry_at_ms;
        if (p->idem_state == PROD_IDEM_NEED_PID && p->pid_retry_at_ms < *next_ms)
            *next_ms = p->pid_retry_at_ms;
        return 0;
    default: return 0;
    }
}
