/* Injected errors: a response of the request's own API and version, built
 * from the codec's descriptions rather than by one function per API.
 *
 * The response mirrors the request: each response array of structs is
 * matched to a request array (same name, or for the usual renamings --
 * Responses, Results, Coordinators, PartitionResponses -- the request's
 * first array), element by element, copying the fields that identify the
 * element (same name and type: Name, TopicId, PartitionIndex, ... and the
 * Partition/Index/PartitionIndex and Topic/Name spellings), and every
 * ErrorCode at any depth gets the injected error. What a client needs to
 * route the error (which topic, which partition, which key) is thus there
 * for every API, including ones added to the codec later. */
#include <stdbool.h>
#include <string.h>

#include "mock_int.h"
#include "proto_msgs.h"
#include "util/log.h"

#define MIRROR_MAX_DEPTH 8

static int present(const proto_field_desc_t *f, int16_t v)
{
    return v >= f->ver_lo && v <= f->ver_hi;
}

static size_t scalar_size(uint8_t type)
{
    switch (type) {
    case PROTO_T_BOOL: return sizeof(bool);
    case PROTO_T_INT8: return sizeof(int8_t);
    case PROTO_T_INT16: return sizeof(int16_t);
    case PROTO_T_UINT16: return sizeof(uint16_t);
    case PROTO_T_INT32: return sizeof(int32_t);
    case PROTO_T_INT64: return sizeof(int64_t);
    case PROTO_T_STRING: return sizeof(proto_str_t);
    case PROTO_T_UUID: return sizeof(proto_uuid_t);
    default: return 0;
    }
}

/* Names that mean the same key in a request and its response. */
static const char *const alias_groups[][4] = {
    {"Partition", "PartitionIndex", "Index", NULL},
    {"Name", "Topic", "TopicName", NULL},
};

static int same_key(const char *a, const char *b)
{
    if (!strcmp(a, b)) return 1;
    for (size_t g = 0; g < sizeof(alias_groups) / sizeof(alias_groups[0]); g++) {
        int ina = 0, inb = 0;
        for (int i = 0; alias_groups[g][i]; i++) {
            ina |= !strcmp(a, alias_groups[g][i]);
            inb |= !strcmp(b, alias_groups[g][i]);
        }
        if (ina && inb) return 1;
    }
    return 0;
}

static const proto_field_desc_t *req_scalar(const proto_struct_desc_t *qs, int16_t v,
                                            const proto_field_desc_t *rf)
{
    for (uint16_t i = 0; i < qs->nfields; i++) {
        const proto_field_desc_t *q = &qs->fields[i];
        if (!q->is_array && q->type == rf->type && present(q, v) && same_key(q->name, rf->name))
            return q;
    }
    return NULL;
}

static const proto_field_desc_t *req_array(const proto_struct_desc_t *qs, int16_t v,
                                           const proto_field_desc_t *rf)
{
    static const char *const renamed[] = {"Responses", "Results", "Coordinators",
                                          "PartitionResponses"};
    for (uint16_t i = 0; i < qs->nfields; i++) {
        const proto_field_desc_t *q = &qs->fields[i];
        if (q->is_array && present(q, v) && !strcmp(q->name, rf->name)) return q;
    }
    int renaming = 0;
    for (size_t i = 0; i < sizeof(renamed) / sizeof(renamed[0]); i++)
        renaming |= !strcmp(rf->name, renamed[i]);
    if (!renaming) return NULL;
    for (uint16_t i = 0; i < qs->nfields; i++) {
        const proto_field_desc_t *q = &qs->fields[i];
        if (q->is_array && present(q, v) &&
            (q->type == PROTO_T_STRUCT || q->type == PROTO_T_STRING))
            return q;
    }
    return NULL;
}

/* The response element's field that takes a key sent as a bare string
 * (FindCoordinator's CoordinatorKeys, DescribeGroups' Groups, ...). */
static const proto_field_desc_t *key_field(const proto_struct_desc_t *rs, int16_t v)
{
    for (uint16_t i = 0; i < rs->nfields; i++) {
        const proto_field_desc_t *f = &rs->fields[i];
        if (!f->is_array && f->type == PROTO_T_STRING && present(f, v) &&
            strcmp(f->name, "ErrorMessage") != 0)
            return f;
    }
    return NULL;
}

static void mirror(broker_call_t *call, int16_t v, int depth, const proto_struct_desc_t *rs,
                   uint8_t *resp, const proto_struct_desc_t *qs, const uint8_t *req, int16_t err)
{
    for (uint16_t i = 0; i < rs->nfields; i++) {
        const proto_field_desc_t *rf = &rs->fields[i];
        if (!present(rf, v)) continue;
        uint8_t *dst = resp + rf->offset;
        if (!rf->is_array && rf->type == PROTO_T_INT16 && !strcmp(rf->name, "ErrorCode")) {
            *(int16_t *)dst = err;
            continue;
        }
        if (!rf->is_array) {
            size_t size = scalar_size(rf->type);
            const proto_field_desc_t *q = size && qs ? req_scalar(qs, v, rf) : NULL;
            if (q) memcpy(dst, req + q->offset, size);
            continue;
        }
        if (rf->type != PROTO_T_STRUCT || !qs || depth >= MIRROR_MAX_DEPTH) continue;
        const proto_field_desc_t *q = req_array(qs, v, rf);
        if (!q) continue;
        const proto_array_t *src = (const proto_array_t *)(req + q->offset);
        int32_t n = src->n > 0 ? src->n : 0;
        uint8_t *elems = broker_call_structs(call, n, rf->sub);
        if (n && !elems) continue;
        for (int32_t e = 0; e < n; e++) {
            uint8_t *out = elems + (size_t)e * rf->sub->size;
            if (q->type == PROTO_T_STRUCT) {
                mirror(call, v, depth + 1, rf->sub, out, q->sub,
                       (const uint8_t *)src->v + (size_t)e * q->sub->size, err);
            } else if (q->type == PROTO_T_STRING) {
                mirror(call, v, depth + 1, rf->sub, out, NULL, NULL, err);
                const proto_field_desc_t *k = key_field(rf->sub, v);
                if (k) *(proto_str_t *)(out + k->offset) = ((const proto_str_t *)src->v)[e];
            }
        }
        proto_array_t *arr = (proto_array_t *)dst;
        arr->v = elems;
        arr->n = n;
    }
}

void mock_respond_error(broker_call_t *call, int16_t err)
{
    const proto_api_t *api = call->api;
    int16_t v = call->hdr.api_version;
    if (api->key == PROTO_API_PRODUCE &&
        ((const proto_produce_request_t *)call->request)->acks == 0) {
        broker_call_finish_silent(call); /* acks=0: the client waits for nothing */
        return;
    }
    void *resp = broker_call_alloc(call, api->response->root->size);
    if (!resp) {
        broker_call_close(call, "mock: out of memory for an injected error");
        return;
    }
    proto_msg_init(api->response, resp);
    mirror(call, v, 0, api->response->root, resp, api->request->root, call->request, err);
    log_debug("mock: %s v%d answered with injected error %d", api->name, v, err);
    broker_call_respond(call, resp);
}
