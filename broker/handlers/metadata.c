/* Metadata and DescribeCluster: who the brokers are, which topics exist and
 * who leads each partition.
 *
 * Version rules worth knowing (TARGET.md): in v0 an empty topic list means
 * every topic, from v1 null does; auto-creation happens in v0-3 whenever the
 * broker allows it, from v4 only when the request also allows it; v10+ carry
 * topic ids and v12+ may ask by id. */
#include <string.h>

#include "handlers/handlers.h"
#include "kc/kc_err.h"
#include "proto_msgs.h"

/* Kafka's ACL operation bits that apply to a topic, all granted: kc-broker
 * has no authorizer. READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE,
 * DESCRIBE_CONFIGS, ALTER_CONFIGS. */
#define TOPIC_ALL_OPERATIONS \
    ((1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11))
#define CLUSTER_ALL_OPERATIONS ((1 << 4) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11))

typedef proto_metadata_response_topic_t md_topic_t;
typedef proto_metadata_response_partition_t md_part_t;

static void fill_brokers(broker_call_t *call, proto_metadata_response_t *resp)
{
    broker_t *b = call->b;
    proto_metadata_response_broker_t *brokers =
        broker_call_structs(call, b->node_count, &proto_metadata_response_broker_sdesc);
    int32_t n = 0;
    for (int i = 0; i < b->node_count; i++) {
        if (!b->nodes[i].up) continue;
        brokers[n].node_id = b->nodes[i].id;
        brokers[n].host = proto_str_of(b->nodes[i].host);
        brokers[n].port = b->nodes[i].port;
        brokers[n].rack = proto_str_of(b->nodes[i].rack);
        n++;
    }
    resp->brokers.v = brokers;
    resp->brokers.n = n;
}

/* The leader alone, or the replica list the mock set; replicas on nodes that
 * are down are offline and out of the ISR. */
static void fill_replicas(broker_call_t *call, md_part_t *out, const broker_partition_t *p)
{
    int32_t n = p->replicas ? p->replica_count : 1;
    int32_t *replicas = broker_call_array(call, n, sizeof(int32_t));
    int32_t *isr = broker_call_array(call, n, sizeof(int32_t));
    int32_t *offline = broker_call_array(call, n, sizeof(int32_t));
    int32_t nisr = 0, noff = 0;
    for (int32_t r = 0; r < n; r++) {
        replicas[r] = p->replicas ? p->replicas[r] : p->leader_id;
        broker_node_t *node = broker_node_find(call->b, replicas[r]);
        if (node && node->up)
            isr[nisr++] = replicas[r];
        else if (p->replicas)
            offline[noff++] = replicas[r];
    }
    out->replica_nodes.v = replicas;
    out->replica_nodes.n = n;
    out->isr_nodes.v = isr;
    out->isr_nodes.n = nisr;
    out->offline_replicas.v = offline;
    out->offline_replicas.n = noff;
}

static void fill_topic(broker_call_t *call, md_topic_t *out, broker_topic_t *t, int include_ops)
{
    out->error_code = 0;
    out->name = proto_str_of(t->name);
    out->topic_id = t->id;
    out->is_internal = (int8_t)t->internal;
    if (include_ops) out->topic_authorized_operations = TOPIC_ALL_OPERATIONS;
    md_part_t *parts =
        broker_call_structs(call, t->partition_count, &proto_metadata_response_partition_sdesc);
    for (int32_t i = 0; i < t->partition_count; i++) {
        broker_partition_t *p = t->partitions[i];
        broker_node_t *leader = broker_node_find(call->b, p->leader_id);
        parts[i].error_code = leader && leader->up ? 0 : KC_ERR_LEADER_NOT_AVAILABLE;
        parts[i].partition_index = i;
        parts[i].leader_id = leader && leader->up ? p->leader_id : -1;
        parts[i].leader_epoch = p->leader_epoch;
        fill_replicas(call, &parts[i], p);
    }
    out->partitions.v = parts;
    out->partitions.n = t->partition_count;
}

static void fill_error_topic(md_topic_t *out, proto_str_t name, const proto_uuid_t *id, int err)
{
    out->error_code = (int16_t)err;
    out->name = name;
    if (id) out->topic_id = *id;
    out->partitions.n = 0;
}

void broker_handle_metadata(broker_call_t *call)
{
    broker_t *b = call->b;
    const proto_metadata_request_t *req = call->request;
    int16_t ver = call->hdr.api_version;
    proto_metadata_response_t resp;
    proto_msg_init(&proto_metadata_response_desc, &resp);
    fill_brokers(call, &resp);
    resp.cluster_id = proto_str_of(b->cluster_id);
    resp.controller_id = b->controller_id;
    int include_ops = req->include_topic_authorized_operations;
    if (ver >= 8 && ver <= 10 && req->include_cluster_authorized_operations)
        resp.cluster_authorized_operations = CLUSTER_ALL_OPERATIONS;

    int all = req->topics.n < 0 || (ver == 0 && req->topics.n == 0);
    if (all) {
        md_topic_t *topics = broker_call_structs(call, (int32_t)b->topics.count,
                                                 &proto_metadata_response_topic_sdesc);
        int32_t n = 0;
        size_t it = 0;
        broker_topic_t *t;
        while (util_hmap_next(&b->topics, &it, NULL, NULL, (void **)&t))
            if (!t->internal) fill_topic(call, &topics[n++], t, include_ops);
        resp.topics.v = topics;
        resp.topics.n = n;
        broker_call_respond(call, &resp);
        return;
    }

    int may_create =
        b->conf->auto_create_topics_enable && (ver < 4 || req->allow_auto_topic_creation);
    md_topic_t *topics =
        broker_call_structs(call, req->topics.n, &proto_metadata_response_topic_sdesc);
    for (int32_t i = 0; i < req->topics.n; i++) {
        const proto_metadata_request_topic_t *rt = &req->topics.v[i];
        broker_topic_t *t;
        if (rt->name.len < 0) { /* v12+: by id */
            t = broker_topic_find_id(b, &rt->topic_id);
            if (t)
                fill_topic(call, &topics[i], t, include_ops);
            else
                fill_error_topic(&topics[i], PROTO_NULL_SLICE, &rt->topic_id,
                                 KC_ERR_UNKNOWN_TOPIC_ID);
            continue;
        }
        t = broker_topic_find(b, rt->name);
        if (!t) {
            char why[256];
            int err = broker_topic_name_check(rt->name, why, sizeof(why));
            if (!err && may_create) t = broker_topic_auto_create(b, rt->name, &err);
            if (!t) {
                fill_error_topic(&topics[i], rt->name, NULL,
                                 err ? err : KC_ERR_UNKNOWN_TOPIC_OR_PARTITION);
                continue;
            }
        }
        fill_topic(call, &topics[i], t, include_ops);
    }
    resp.topics.v = topics;
    resp.topics.n = req->topics.n;
    broker_call_respond(call, &resp);
}

void broker_handle_describe_cluster(broker_call_t *call)
{
    broker_t *b = call->b;
    const proto_describe_cluster_request_t *req = call->request;
    proto_describe_cluster_response_t resp;
    proto_msg_init(&proto_describe_cluster_response_desc, &resp);
    resp.cluster_id = proto_str_of(b->cluster_id);
    resp.controller_id = b->controller_id;
    if (req->include_cluster_authorized_operations)
        resp.cluster_authorized_operations = CLUSTER_ALL_OPERATIONS;
    proto_describe_cluster_response_describe_cluster_broker_t *brokers = broker_call_structs(
        call, b->node_count, &proto_describe_cluster_response_describe_cluster_broker_sdesc);
    int32_t n = 0;
    for (int i = 0; i < b->node_count; i++) {
        if (!b->nodes[i].up) continue;
        brokers[n].broker_id = b->nodes[i].id;
        brokers[n].host = proto_str_of(b->nodes[i].host);
        brokers[n].port = b->nodes[i].port;
        brokers[n].rack = proto_str_of(b->nodes[i].rack);
        n++;
    }
    resp.brokers.v = brokers;
    resp.brokers.n = n;
    broker_call_respond(call, &resp);
}
