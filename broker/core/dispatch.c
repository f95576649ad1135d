/* From a frame to a handler: header, version gate, decode, dispatch; and the
 * ApiVersions answer, which is made from the same table.
 *
 * What Kafka does with requests it cannot serve, we do too: an API key it
 * does not know, or a version outside the served range, closes the
 * connection (logged); only ApiVersions answers an unknown version, with a
 * v0 body carrying UNSUPPORTED_VERSION and the versions we do serve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/broker.h"
#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"
#include "util/log.h"

/* One row per API kc-broker serves. adv_min/adv_max are what ApiVersions
 * advertises; serve_min is the lowest version actually answered (Produce
 * advertises 0 because librdkafka < 2.11.1 stops compressing otherwise, but
 * serves 3+, as Kafka 4 does). See shared TARGET.md "advertisement rules". */
typedef struct api_row {
    int16_t key;
    int16_t adv_min, adv_max;
    int16_t serve_min;
    broker_handler_fn handle;
} api_row_t;

static const api_row_t api_rows[] = {
    {1, 4, 17, 4, broker_handle_fetch},
    {2, 1, 10, 1, broker_handle_list_offsets},
    {0, 0, 12, 3, broker_handle_produce},
    {3, 0, 13, 0, broker_handle_metadata},
    {8, 2, 9, 2, broker_handle_offset_commit},
    {9, 1, 9, 1, broker_handle_offset_fetch},
    {10, 0, 6, 0, broker_handle_find_coordinator},
    {11, 0, 9, 0, broker_handle_join_group},
    {12, 0, 4, 0, broker_handle_heartbeat},
    {13, 0, 5, 0, broker_handle_leave_group},
    {14, 0, 5, 0, broker_handle_sync_group},
    {15, 0, 6, 0, broker_handle_describe_groups},
    {16, 0, 5, 0, broker_handle_list_groups},
    {18, 0, 4, 0, broker_handle_api_versions},
    {21, 0, 2, 0, broker_handle_delete_records},
    {23, 2, 4, 2, broker_handle_offset_for_leader_epoch},
    {19, 2, 7, 2, broker_handle_create_topics},
    {20, 1, 6, 1, broker_handle_delete_topics},
    {32, 1, 4, 1, broker_handle_describe_configs},
    {33, 0, 2, 0, broker_handle_alter_configs},
    {35, 1, 4, 1, broker_handle_describe_log_dirs},
    {37, 0, 3, 0, broker_handle_create_partitions},
    {44, 0, 1, 0, broker_handle_incremental_alter_configs},
    {22, 0, 5, 0, broker_handle_init_producer_id},
    {42, 0, 2, 0, broker_handle_delete_groups},
    {47, 0, 0, 0, broker_handle_offset_delete},
    {60, 0, 2, 0, broker_handle_describe_cluster},
};

#define API_ROW_COUNT (sizeof(api_rows) / sizeof(api_rows[0]))

static const api_row_t *api_row_find(int16_t key)
{
    for (size_t i = 0; i < API_ROW_COUNT; i++)
        if (api_rows[i].key == key) return &api_rows[i];
    return NULL;
}

int broker_api_range(int16_t api_key, int16_t *min, int16_t *max)
{
    const api_row_t *row = api_row_find(api_key);
    if (!row) return -1;
    *min = row->adv_min;
    *max = row->adv_max;
    return 0;
}

/* ---- Calls --------------------------------------------------------------------- */

static void call_free(broker_call_t *call)
{
    /* Mock fault injection: the request log notes when the call ended. */
    const broker_hooks_t *hooks = call->b ? call->b->hooks : NULL;
    if (hooks && hooks->on_call_end) hooks->on_call_end(hooks->opaque, call);
    proto_arena_destroy(&call->arena);
    free(call);
}

static void call_abandoned(broker_req_t *req)
{
    broker_call_t *call = req->handler_state;
    if (call->on_abandon) call->on_abandon(call);
    call_free(call);
}

static void wbuf_release(const void *data, size_t len, void *arg)
{
    free((void *)data);
}

/* Hands an encoded body to the connection without copying it. */
static void call_send(broker_call_t *call, proto_wbuf_t *w)
{
    broker_req_t *req = call->req;
    req->on_abandon = NULL;
    if (w->len) {
        evbuffer_add_reference(req->out, w->data, w->len, wbuf_release, NULL);
        w->data = NULL; /* now owned by the evbuffer */
    }
    proto_wbuf_free(w);
    call_free(call);
    broker_req_done(req);
}

void broker_call_respond(broker_call_t *call, const void *resp)
{
    proto_wbuf_t w;
    proto_wbuf_init(&w, 256);
    char err[256];
    if (proto_msg_encode(call->api->response, call->hdr.api_version, resp, &w, err, sizeof(err))) {
        proto_wbuf_free(&w);
        log_error("%s v%d response to %s: cannot encode: %s", call->api->name,
                  call->hdr.api_version, broker_conn_peer(call->req->conn), err);
        broker_call_close(call, "response could not be encoded");
        return;
    }
    call_send(call, &w);
}

void broker_call_respond_out(broker_call_t *call)
{
    broker_req_t *req = call->req;
    req->on_abandon = NULL;
    call_free(call);
    broker_req_done(req);
}

void broker_call_finish_silent(broker_call_t *call)
{
    broker_req_t *req = call->req;
    req->on_abandon = NULL;
    req->no_response = 1;
    call_free(call);
    broker_req_done(req);
}

void broker_call_close(broker_call_t *call, const char *why)
{
    broker_req_t *req = call->req;
    broker_conn_t *conn = req->conn;
    log_warn("closing connection %s: %s", broker_conn_peer(conn), why);
    /* The request stays queued; closing the connection frees it (and, through
     * on_abandon, the call). */
    broker_conn_close(conn, 1);
}

void *broker_call_alloc(broker_call_t *call, size_t n)
{
    return proto_arena_alloc(&call->arena, n);
}

void *broker_call_array(broker_call_t *call, int32_t n, size_t size)
{
    return proto_arena_alloc(&call->arena, n > 0 ? (size_t)n * size : 0);
}

void *broker_call_structs(broker_call_t *call, int32_t n, const proto_struct_desc_t *s)
{
    uint8_t *v = broker_call_array(call, n, s->size);
    for (int32_t i = 0; v && i < n; i++)
        proto_struct_init(s, v + (size_t)i * s->size);
    return v;
}

proto_str_t broker_call_str(broker_call_t *call, const char *s)
{
    if (!s) return PROTO_NULL_SLICE;
    size_t n = strlen(s);
    char *copy = proto_arena_alloc(&call->arena, n + 1);
    if (!copy) return PROTO_NULL_SLICE;
    memcpy(copy, s, n);
    return proto_slice_of(copy, n);
}

/* ---- ApiVersions ------------------------------------------------------------- */

static void fill_api_keys(broker_call_t *call, proto_api_versions_response_t *resp)
{
    proto_api_versions_response_api_version_t *keys = broker_call_structs(
        call, (int32_t)API_ROW_COUNT, &proto_api_versions_response_api_version_sdesc);
    for (size_t i = 0; i < API_ROW_COUNT; i++) {
        keys[i].api_key = api_rows[i].key;
        keys[i].min_version = api_rows[i].adv_min;
        keys[i].max_version = api_rows[i].adv_max;
    }
    resp->api_keys.v = keys;
    resp->api_keys.n = (int32_t)API_ROW_COUNT;
}

void broker_handle_api_versions(broker_call_t *call)
{
    proto_api_versions_response_t resp;
    proto_msg_init(&proto_api_versions_response_desc, &resp);
    fill_api_keys(call, &resp);
    broker_call_respond(call, &resp);
}

/* KIP-511: a client that asks with a newer ApiVersions than we know gets a
 * v0 body (which every version can read) with UNSUPPORTED_VERSION and our
 * ranges, so it can retry with a version we serve. */
static void api_versions_unsupported(broker_call_t *call)
{
    proto_api_versions_response_t resp;
    proto_msg_init(&proto_api_versions_response_desc, &resp);
    resp.error_code = KC_ERR_UNSUPPORTED_VERSION;
    fill_api_keys(call, &resp);
    call->hdr.api_version = 0;
    call->req->resp_header_version = 0;
    broker_call_respond(call, &resp);
}

/* ---- Dispatch ---------------------------------------------------------------- */

int broker_dispatch(void *opaque, broker_req_t *req)
{
    broker_node_t *node = opaque;
    broker_call_t *call = calloc(1, sizeof(*call));
    if (!call) {
        log_error("connection %s: out of memory for a request", broker_conn_peer(req->conn));
        return -1;
    }
    call->b = node->broker;
    call->node = node;
    call->req = req;
    proto_arena_init(&call->arena);
    /* A decoded request may not take more memory than a generous multiple of
     * its frame: hostile counts fail instead of exhausting memory. */
    proto_arena_set_limit(&call->arena, 64 * req->frame_len + 65536);
    req->handler_state = call;
    req->on_abandon = call_abandoned;

    proto_rbuf_t r;
    proto_rbuf_init(&r, req->frame, req->frame_len);
    const char *peer = broker_conn_peer(req->conn);
    if (proto_req_header_decode(&r, &call->hdr) != 0) {
        log_warn("connection %s: bad request header: %s; closing", peer, r.errstr);
        return -1;
    }
    int16_t key = call->hdr.api_key, ver = call->hdr.api_version;
    const api_row_t *row = api_row_find(key);
    call->api = proto_api_find(key);
    if (!row || !row->handle || !call->api) {
        log_warn("connection %s: API key %d is not served; closing", peer, key);
        return -1;
    }
    req->resp_header_version = (int16_t)proto_resp_header_version(key, ver);
    if (ver < row->serve_min || ver > row->adv_max) {
        if (key == 18 && ver > row->adv_max) {
            api_versions_unsupported(call);
            return 0;
        }
        log_warn("connection %s: %s v%d is not served (v%d-%d); closing", peer, call->api->name,
                 ver, row->serve_min, row->adv_max);
        return -1;
    }
    call->request = proto_arena_alloc(&call->arena, call->api->request->root->size);
    if (!call->request ||
        proto_msg_decode(call->api->request, ver, &r, call->request, &call->arena) != 0) {
        log_warn("connection %s: malformed %s v%d request: %s; closing", peer, call->api->name, ver,
                 r.err ? r.errstr : "out of memory");
        return -1;
    }
    /* Mock fault injection: the hook may delay the call or answer it with an
     * injected error instead of the handler. */
    const broker_hooks_t *hooks = call->b->hooks;
    if (hooks && hooks->on_call && hooks->on_call(hooks->opaque, call, row->handle)) return 0;
    row->handle(call);
    return 0;
}
