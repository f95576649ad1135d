/* Which versions kc's client sends, per API: the codec's range narrowed to
 * TARGET.md's "kc client sends" column where the two differ. */
#include "net/net_conn.h"
#include "proto_msgs.h"

static const struct {
    int16_t key, min, max;
} client_narrow[] = {
    /* TARGET.md says 4-13 (v0-3 lack AllowAutoTopicCreation, so a lookup of
     * a missing topic may create it on a broker that auto-creates). But
     * librdkafka 2.0.2's mock cluster, our multi-broker test peer, offers
     * only v0-2, so v1-3 stay usable; every broker since 0.11 gets v4+. v0
     * cannot say "all topics" the way the client asks (null). */
    {PROTO_API_METADATA, 1, 13},
    /* v13+ name topics by id; the client tracks names until it keeps ids. */
    {PROTO_API_FETCH, 4, 12},
    /* v0 lacks the key type, which transactions need. */
    {PROTO_API_FIND_COORDINATOR, 1, 6},
    /* v4+: the MEMBER_ID_REQUIRED rejoin, which the group code implements. */
    {PROTO_API_JOIN_GROUP, 4, 9},
    /* v0 sends SASL tokens as raw frames; kc uses SaslAuthenticate. */
    {PROTO_API_SASL_HANDSHAKE, 1, 1},
    {PROTO_API_CONSUMER_GROUP_HEARTBEAT, 1, 1},
};

int net_client_range(int16_t api_key, int16_t *min, int16_t *max)
{
    const proto_api_t *api = proto_api_find(api_key);
    if (!api) return -1;
    int16_t lo = api->min_ver, hi = api->max_ver;
    for (size_t i = 0; i < sizeof(client_narrow) / sizeof(client_narrow[0]); i++) {
        if (client_narrow[i].key != api_key) continue;
        if (client_narrow[i].min > lo) lo = client_narrow[i].min;
        if (client_narrow[i].max < hi) hi = client_narrow[i].max;
    }
    *min = lo;
    *max = hi;
    return 0;
}

const void *net_body_for_version(int16_t api_key, int16_t version, const void *body, void *scratch,
                                 size_t scratch_size)
{
    if (api_key == PROTO_API_METADATA && version < 4 &&
        scratch_size >= sizeof(proto_metadata_request_t)) {
        const proto_metadata_request_t *m = body;
        if (m->allow_auto_topic_creation) return body;
        /* Versions before 4 cannot say "do not create": the broker's
         * auto.create.topics.enable decides, as librdkafka lets it. */
        proto_metadata_request_t *copy = scratch;
        *copy = *m;
        copy->allow_auto_topic_creation = true;
        return copy;
    }
    if (api_key == PROTO_API_FIND_COORDINATOR &&
        scratch_size >= sizeof(proto_find_coordinator_request_t)) {
        /* The caller fills both the single key (v0-3) and the batched keys
         * (v4+) with the same key; the version keeps one. */
        proto_find_coordinator_request_t *copy = scratch;
        *copy = *(const proto_find_coordinator_request_t *)body;
        if (version < 4) {
            copy->coordinator_keys.v = NULL;
            copy->coordinator_keys.n = 0;
        } else {
            copy->key = proto_str_of("");
        }
        return copy;
    }
    if (api_key == PROTO_API_OFFSET_FETCH && scratch_size >= sizeof(proto_offset_fetch_request_t)) {
        /* Same for OffsetFetch: one group, as GroupId/Topics (v0-7) and as
         * Groups (v8+); RequireStable only where the version has it. */
        proto_offset_fetch_request_t *copy = scratch;
        *copy = *(const proto_offset_fetch_request_t *)body;
        if (version < 8) {
            copy->groups.v = NULL;
            copy->groups.n = 0;
        } else {
            copy->group_id = proto_str_of("");
            copy->topics.v = NULL;
            copy->topics.n = 0;
        }
        if (version < 7) copy->require_stable = false;
        return copy;
    }
    if (api_key == PROTO_API_LEAVE_GROUP && version < 3 &&
        scratch_size >= sizeof(proto_leave_group_request_t)) {
        /* Before v3 one member leaves, named at the top: the first of
         * Members. */
        proto_leave_group_request_t *copy = scratch;
        *copy = *(const proto_leave_group_request_t *)body;
        if (copy->members.n > 0) copy->member_id = copy->members.v[0].member_id;
        copy->members.v = NULL;
        copy->members.n = 0;
        return copy;
    }
    return body;
}
