/* OffsetFetch (v1-9; v8+ asks for several groups) and OffsetDelete (v0).
 *
 * OffsetFetch answers whatever is committed regardless of the group's state
 * (a group may use committed offsets without group management): a
 * partition without an offset gets -1 and "" metadata, a null topic list
 * (v2+) means every committed offset of the group. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/groups_common.h"
#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"

/* v0-7 and v8+ carry the same topic and partition shapes under different
 * names; the code builds the v8+ ones and the v0-7 response reuses them. */
typedef proto_offset_fetch_response_topics_t of_topic_t;
typedef proto_offset_fetch_response_partitions_t of_part_t;
typedef proto_offset_fetch_request_topics_t of_req_topic_t;

#define SAME_FIELD(a, b, f) (offsetof(a, f) == offsetof(b, f))
_Static_assert(sizeof(of_part_t) == sizeof(proto_offset_fetch_response_partition_t) &&
                   SAME_FIELD(of_part_t, proto_offset_fetch_response_partition_t, error_code) &&
                   SAME_FIELD(of_part_t, proto_offset_fetch_response_partition_t, metadata) &&
                   SAME_FIELD(of_part_t, proto_offset_fetch_response_partition_t,
                              committed_leader_epoch),
               "OffsetFetch partition layouts differ");
_Static_assert(sizeof(of_topic_t) == sizeof(proto_offset_fetch_response_topic_t) &&
                   SAME_FIELD(of_topic_t, proto_offset_fetch_response_topic_t, partitions),
               "OffsetFetch topic layouts differ");
_Static_assert(sizeof(of_req_topic_t) == sizeof(proto_offset_fetch_request_topic_t) &&
                   SAME_FIELD(of_req_topic_t, proto_offset_fetch_request_topic_t,
                              partition_indexes),
               "OffsetFetch request topic layouts differ");

static void part_fill(of_part_t *p, int32_t index, const group_offset_t *o, int err)
{
    p->partition_index = index;
    p->committed_offset = o ? o->offset : -1;
    p->committed_leader_epoch = o ? o->leader_epoch : -1;
    p->metadata = proto_str_of(o ? o->metadata : "");
    p->error_code = (int16_t)err;
}

static int cmp_offsets(const void *a, const void *b)
{
    const group_offset_t *x = *(group_offset_t *const *)a, *y = *(group_offset_t *const *)b;
    int c = strcmp(x->topic, y->topic);
    if (c) return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

/* Every committed offset of g, grouped by topic. Returns 0 or -1 (memory). */
static int fetch_all(broker_call_t *call, group_t *g, of_topic_t **out, int32_t *nout)
{
    *out = NULL;
    *nout = 0;
    size_t n = g ? g->offsets.count : 0;
    if (!n) return 0;
    group_offset_t **all = broker_call_array(call, (int32_t)n, sizeof(*all));
    of_topic_t *topics = broker_call_array(call, (int32_t)n, sizeof(*topics));
    of_part_t *parts = broker_call_array(call, (int32_t)n, sizeof(*parts));
    if (!all || !topics || !parts) return -1;
    size_t it = 0, k = 0;
    group_offset_t *o;
    while (k < n && util_hmap_next(&g->offsets, &it, NULL, NULL, (void **)&o))
        all[k++] = o;
    qsort(all, k, sizeof(*all), cmp_offsets);
    int32_t nt = 0;
    for (size_t i = 0; i < k; i++) {
        if (!nt || strcmp(all[i]->topic, all[i - 1]->topic)) {
            topics[nt].name = proto_str_of(all[i]->topic);
            topics[nt].partitions.v = &parts[i];
            topics[nt].partitions.n = 0;
            nt++;
        }
        part_fill(&parts[i], all[i]->partition, all[i], 0);
        topics[nt - 1].partitions.n++;
    }
    *out = topics;
    *nout = nt;
    return 0;
}

/* The requested partitions; err (if any) goes on every partition. */
static int fetch_some(broker_call_t *call, group_t *g, const of_req_topic_t *req, int32_t nreq,
                      int err, of_topic_t **out, int32_t *nout)
{
    of_topic_t *topics = broker_call_array(call, nreq, sizeof(*topics));
    if (nreq && !topics) return -1;
    for (int32_t t = 0; t < nreq; t++) {
        int32_t np = req[t].partition_indexes.n > 0 ? req[t].partition_indexes.n : 0;
        of_part_t *parts = broker_call_array(call, np, sizeof(*parts));
        if (np && !parts) return -1;
        topics[t].name = req[t].name;
        topics[t].partitions.v = parts;
        topics[t].partitions.n = np;
        for (int32_t i = 0; i < np; i++) {
            int32_t p = req[t].partition_indexes.v[i];
            part_fill(&parts[i], p, g && !err ? group_offset_find(g, req[t].name, p) : NULL, err);
        }
    }
    *out = topics;
    *nout = nreq;
    return 0;
}

/* One group's answer: a group error (v2+ report it once) or its topics. */
static int fetch_group(broker_call_t *call, proto_str_t group_id, const of_req_topic_t *req,
                       int32_t nreq, int per_partition_errors, int16_t *group_err, of_topic_t **out,
                       int32_t *nout)
{
    int err = group_id.len < 0 ? KC_ERR_INVALID_GROUP_ID : groups_coordinator_error(call, group_id);
    *group_err = (int16_t)err;
    group_t *g = err ? NULL : group_find(call->b, group_id);
    if (err && !per_partition_errors) {
        *out = NULL;
        *nout = 0;
        return 0;
    }
    if (nreq < 0) return fetch_all(call, g, out, nout);
    return fetch_some(call, g, req, nreq, per_partition_errors ? err : 0, out, nout);
}

void broker_handle_offset_fetch(broker_call_t *call)
{
    const proto_offset_fetch_request_t *req = call->request;
    int16_t ver = call->hdr.api_version;
    proto_offset_fetch_response_t resp;
    proto_msg_init(&proto_offset_fetch_response_desc, &resp);
    if (ver < 8) {
        of_topic_t *topics;
        int32_t nt;
        int16_t gerr;
        if (fetch_group(call, req->group_id, (const of_req_topic_t *)req->topics.v, req->topics.n,
                        ver < 2, &gerr, &topics, &nt) != 0) {
            broker_call_close(call, "out of memory");
            return;
        }
        resp.error_code = gerr;
        resp.topics.v = (proto_offset_fetch_response_topic_t *)topics;
        resp.topics.n = nt;
        broker_call_respond(call, &resp);
        return;
    }
    int32_t ng = req->groups.n > 0 ? req->groups.n : 0;
    proto_offset_fetch_response_group_t *groups =
        broker_call_structs(call, ng, &proto_offset_fetch_response_group_sdesc);
    if (ng && !groups) {
        broker_call_close(call, "out of memory");
        return;
    }
    for (int32_t i = 0; i < ng; i++) {
        const proto_offset_fetch_request_group_t *rg = &req->groups.v[i];
        groups[i].group_id = rg->group_id;
        if (fetch_group(call, rg->group_id, rg->topics.v, rg->topics.n, 0, &groups[i].error_code,
                        &groups[i].topics.v, &groups[i].topics.n) != 0) {
            broker_call_close(call, "out of memory");
            return;
        }
    }
    resp.groups.v = groups;
    resp.groups.n = ng;
    broker_call_respond(call, &resp);
}

/* ---- OffsetDelete ------------------------------------------------------------------------ */

void broker_handle_offset_delete(broker_call_t *call)
{
    const proto_offset_delete_request_t *req = call->request;
    proto_offset_delete_response_t resp;
    proto_msg_init(&proto_offset_delete_response_desc, &resp);
    int err = req->group_id.len <= 0 ? KC_ERR_INVALID_GROUP_ID
                                     : groups_coordinator_error(call, req->group_id);
    group_t *g = err ? NULL : group_find(call->b, req->group_id);
    if (!err && (!g || g->state == GROUP_DEAD)) err = KC_ERR_GROUP_ID_NOT_FOUND;
    int consumer = g && g->protocol_type && !strcmp(g->protocol_type, "consumer");
    if (!err && g->state != GROUP_EMPTY && !consumer) err = KC_ERR_NON_EMPTY_GROUP;
    if (err) {
        resp.error_code = (int16_t)err;
        broker_call_respond(call, &resp);
        return;
    }
    int32_t nt = req->topics.n > 0 ? req->topics.n : 0;
    proto_offset_delete_response_topic_t *topics =
        broker_call_structs(call, nt, &proto_offset_delete_response_topic_sdesc);
    if (nt && !topics) {
        broker_call_close(call, "out of memory");
        return;
    }
    for (int32_t t = 0; t < nt; t++) {
        const proto_offset_delete_request_topic_t *rt = &req->topics.v[t];
        int32_t np = rt->partitions.n > 0 ? rt->partitions.n : 0;
        proto_offset_delete_response_partition_t *parts =
            broker_call_structs(call, np, &proto_offset_delete_response_partition_sdesc);
        if (np && !parts) {
            broker_call_close(call, "out of memory");
            return;
        }
        topics[t].name = rt->name;
        topics[t].partitions.v = parts;
        topics[t].partitions.n = np;
        char *topic = broker_call_alloc(call, rt->name.len > 0 ? (size_t)rt->name.len + 1 : 1);
        if (!topic) {
            broker_call_close(call, "out of memory");
            return;
        }
        if (rt->name.len > 0) memcpy(topic, rt->name.ptr, (size_t)rt->name.len);
        int subscribed = g->state != GROUP_EMPTY && group_subscribed_to(g, topic);
        for (int32_t i = 0; i < np; i++) {
            int32_t p = rt->partitions.v[i].partition_index;
            parts[i].partition_index = p;
            if (!broker_partition_find(call->b, rt->name, p))
                parts[i].error_code = KC_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (subscribed)
                parts[i].error_code = KC_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
            else
                group_offset_delete(g, topic, p);
        }
    }
    resp.topics.v = topics;
    resp.topics.n = nt;
    broker_call_respond(call, &resp);
}
