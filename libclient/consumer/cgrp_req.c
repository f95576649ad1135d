/* Requests of the group member. A request's body and everything it points
 * to live with it until its response, which may come after cgrp_destroy():
 * then the response is dropped and only the request freed. */
#include <stdlib.h>

#include "client_int.h"
#include "consumer/cgrp_int.h"

cgrp_req_t *cgrp_req_new(cgrp_t *g, cgrp_req_handler h, void *ctx)
{
    cgrp_req_t *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->g = g;
    r->handle = h;
    r->ctx = ctx;
    r->epoch = g->epoch;
    return r;
}

void *cgrp_req_alloc(cgrp_req_t *r, size_t n)
{
    cgrp_mem_t *m = calloc(1, sizeof(*m) + n + 1);
    if (!m) return NULL;
    m->next = r->mem;
    r->mem = m;
    return m + 1;
}

void cgrp_req_free(cgrp_req_t *r)
{
    while (r->mem) {
        cgrp_mem_t *m = r->mem;
        r->mem = m->next;
        free(m);
    }
    free(r);
}

static void on_resp(const net_resp_t *resp, void *opaque)
{
    cgrp_req_t *r = opaque;
    if (r->g) {
        LIST_REMOVE(r, link);
        r->handle(r->g, r, resp);
    }
    cgrp_req_free(r);
}

kc_err_t cgrp_req_send(cgrp_req_t *r, int32_t node, int attempt, int16_t api_key, int timeout_ms)
{
    cgrp_t *g = r->g;
    kc_err_t err;
    /* Linked first: a callback may fire before net_request_send returns. */
    LIST_INSERT_HEAD(&g->reqs, r, link);
    if (node == -1) {
        client_broker_t *b = client_broker_pick(g->c, attempt);
        err = b ? net_request_send(b->conn, api_key, &r->body, timeout_ms, NET_REQ_FAIL_FAST,
                                   on_resp, r)
                : KC_ERR__NOENT;
    } else {
        net_conn_t *conn = client_broker_conn(g->c, node);
        err = conn ? net_request_send(conn, api_key, &r->body, timeout_ms, 0, on_resp, r)
                   : KC_ERR__NOENT;
    }
    if (err) {
        LIST_REMOVE(r, link);
        cgrp_req_free(r);
    }
    return err;
}

kc_err_t cgrp_req_send_coord(cgrp_req_t *r, int16_t api_key, int timeout_ms)
{
    if (r->g->coord_id < 0) {
        cgrp_req_free(r);
        return KC_ERR__STATE;
    }
    return cgrp_req_send(r, r->g->coord_conn, 0, api_key, timeout_ms);
}

void cgrp_req_orphan_all(cgrp_t *g)
{
    while (!LIST_EMPTY(&g->reqs)) {
        cgrp_req_t *r = LIST_FIRST(&g->reqs);
        LIST_REMOVE(r, link);
        r->g = NULL;
    }
}
