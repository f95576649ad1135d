/* ConsumerProtocolSubscription and ConsumerProtocolAssignment: the bytes the
 * group coordinator relays without reading (JoinGroup metadata, SyncGroup
 * assignment). Non-flexible: an int16 version, then the fields. Every
 * version only appends fields, so a newer version is read as the newest we
 * know and the rest ignored, as the Java client does.
 *
 * Subscription: Topics [string], UserData nullable bytes,
 *   v1+ OwnedPartitions [Topic string, Partitions [int32]],
 *   v2+ GenerationId int32, v3+ RackId nullable string.
 * Assignment: AssignedPartitions [Topic string, Partitions [int32]],
 *   UserData nullable bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "consumer/assignor_int.h"

#define SUBSCRIPTION_VERSION 3
#define ASSIGNMENT_VERSION   3

static _Thread_local const kc_topic_partition_list_t *sort_list;

static int cmp_elem(const void *pa, const void *pb)
{
    const kc_topic_partition_t *a = &sort_list->elems[*(const int *)pa];
    const kc_topic_partition_t *b = &sort_list->elems[*(const int *)pb];
    int r = strcmp(a->topic, b->topic);
    if (r) return r;
    return (a->partition > b->partition) - (a->partition < b->partition);
}

static int str_fits(const char *s)
{
    return !s || strlen(s) <= INT16_MAX;
}

static int parts_valid(const kc_topic_partition_list_t *parts)
{
    for (int i = 0; parts && i < parts->cnt; i++)
        if (!parts->elems[i].topic || !str_fits(parts->elems[i].topic)) return 0;
    return 1;
}

/* [Topic, [Partition]]: the list grouped by topic, topics by name. */
static int put_partitions(proto_wbuf_t *w, const kc_topic_partition_list_t *parts)
{
    int n = parts ? parts->cnt : 0;
    if (n <= 0) {
        proto_put_array_len(w, 0);
        return 0;
    }
    int *idx = malloc(sizeof(int) * (size_t)n);
    if (!idx) {
        /* Callers that only check the writer's flag must see it too. */
        w->oom = 1;
        return KC_ERR__NO_MEMORY;
    }
    for (int i = 0; i < n; i++)
        idx[i] = i;
    sort_list = parts;
    qsort(idx, (size_t)n, sizeof(int), cmp_elem);
    int groups = 0;
    for (int i = 0; i < n; i++)
        if (!i || strcmp(parts->elems[idx[i]].topic, parts->elems[idx[i - 1]].topic)) groups++;
    proto_put_array_len(w, groups);
    for (int i = 0; i < n;) {
        const char *topic = parts->elems[idx[i]].topic;
        int j = i;
        while (j < n && !strcmp(parts->elems[idx[j]].topic, topic))
            j++;
        proto_put_str(w, proto_str_of(topic));
        proto_put_array_len(w, j - i);
        for (; i < j; i++)
            proto_put_i32(w, parts->elems[idx[i]].partition);
    }
    free(idx);
    return 0;
}

int assignor_subscription_encode(proto_wbuf_t *w, const char *const *topics, int topic_cnt,
                                 const kc_topic_partition_list_t *owned, int32_t generation,
                                 const char *rack)
{
    if (topic_cnt < 0 || (topic_cnt && !topics) || !str_fits(rack) || !parts_valid(owned))
        return KC_ERR__INVALID_ARG;
    for (int i = 0; i < topic_cnt; i++)
        if (!topics[i] || !str_fits(topics[i])) return KC_ERR__INVALID_ARG;
    proto_put_i16(w, SUBSCRIPTION_VERSION);
    proto_put_array_len(w, topic_cnt);
    for (int i = 0; i < topic_cnt; i++)
        proto_put_str(w, proto_str_of(topics[i]));
    proto_put_bytes(w, PROTO_NULL_SLICE); /* UserData: kc keeps none */
    int err = put_partitions(w, owned);
    if (err) return err;
    proto_put_i32(w, generation);
    proto_put_str(w, proto_str_of(rack));
    return w->oom ? KC_ERR__NO_MEMORY : 0;
}

int assignor_assignment_encode(proto_wbuf_t *w, const kc_topic_partition_list_t *parts)
{
    if (!parts_valid(parts)) return KC_ERR__INVALID_ARG;
    proto_put_i16(w, ASSIGNMENT_VERSION);
    int err = put_partitions(w, parts);
    if (err) return err;
    proto_put_bytes(w, PROTO_NULL_SLICE);
    return w->oom ? KC_ERR__NO_MEMORY : 0;
}

/* ---- Decoding ------------------------------------------------------------ */

static char *dup_str(proto_rbuf_t *r, proto_str_t s, const char *what)
{
    if (r->err) return NULL;
    if (s.len < 0) {
        proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: null where a string is required", what);
        return NULL;
    }
    char *out = malloc((size_t)s.len + 1);
    if (!out) {
        proto_rbuf_fail(r, KC_ERR__NO_MEMORY, "%s: out of memory", what);
        return NULL;
    }
    if (s.len) memcpy(out, s.ptr, (size_t)s.len);
    out[s.len] = '\0';
    return out;
}

static int16_t get_version(proto_rbuf_t *r, const char *what)
{
    int16_t v = proto_get_i16(r, what);
    if (!r->err && v < 0)
        proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: unsupported version %d", what, v);
    return v;
}

/* A new list, or NULL with r->err set. */
static kc_topic_partition_list_t *get_partitions(proto_rbuf_t *r, const char *what)
{
    /* A topic entry is at least an empty string and an empty array. */
    int32_t n = proto_get_array_len(r, 2 + 4, what);
    if (!r->err && n < 0) proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: null array", what);
    if (r->err) return NULL;
    kc_topic_partition_list_t *list = kc_topic_partition_list_new(0);
    if (!list) {
        proto_rbuf_fail(r, KC_ERR__NO_MEMORY, "%s: out of memory", what);
        return NULL;
    }
    for (int32_t i = 0; i < n && !r->err; i++) {
        char *topic = dup_str(r, proto_get_str(r, what), what);
        int32_t np = proto_get_array_len(r, 4, what);
        if (!r->err && np < 0)
            proto_rbuf_fail(r, KC_ERR__BAD_MSG, "%s: null partition array", what);
        for (int32_t j = 0; j < np && !r->err; j++) {
            int32_t p = proto_get_i32(r, what);
            if (!r->err && !kc_topic_partition_list_add(list, topic, p))
                proto_rbuf_fail(r, KC_ERR__NO_MEMORY, "%s: out of memory", what);
        }
        free(topic);
    }
    if (r->err) {
        kc_topic_partition_list_destroy(list);
        return NULL;
    }
    return list;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What the decode allocates; the caller's member_id, group_instance_id and
 * assigned are not ours. */
static void subscription_clear(assignor_member_t *m)
{
    for (int i = 0; i < m->topic_cnt; i++)
        free(m->topics[i]);
    free(m->topics);
    m->topics = NULL;
    m->topic_cnt = 0;
    kc_topic_partition_list_destroy(m->owned);
    m->owned = NULL;
    free((char *)m->rack);
    m->rack = NULL;
    m->generation = -1;
}

kc_err_t assignor_subscription_decode(const uint8_t *buf, size_t len, assignor_member_t *out,
                                      char *errstr, size_t errstr_size)
{
    proto_rbuf_t r;
    proto_rbuf_init(&r, buf, len);
    out->topics = NULL;
    out->topic_cnt = 0;
    out->owned = NULL;
    out->generation = -1;
    out->rack = NULL;

    int16_t version = get_version(&r, "ConsumerProtocolSubscription.Version");
    int32_t n = proto_get_array_len(&r, 2, "ConsumerProtocolSubscription.Topics");
    if (!r.err && n < 0)
        proto_rbuf_fail(&r, KC_ERR__BAD_MSG, "ConsumerProtocolSubscription.Topics: null array");
    if (!r.err && n > 0 && !(out->topics = calloc((size_t)n, sizeof(char *))))
        proto_rbuf_fail(&r, KC_ERR__NO_MEMORY,
                        "ConsumerProtocolSubscription.Topics: out of memory");
    for (int32_t i = 0; i < n && !r.err; i++) {
        const char *what = "ConsumerProtocolSubscription.Topics";
        out->topics[i] = dup_str(&r, proto_get_str(&r, what), what);
        if (out->topics[i]) out->topic_cnt = i + 1;
    }
    proto_bytes_t user = proto_get_bytes(&r, "ConsumerProtocolSubscription.UserData");
    if (!r.err && version >= 1)
        out->owned = get_partitions(&r, "ConsumerProtocolSubscription.OwnedPartitions");
    if (!r.err && version >= 2)
        out->generation = proto_get_i32(&r, "ConsumerProtocolSubscription.GenerationId");
    if (!r.err && version >= 3) {
        proto_str_t rack = proto_get_str(&r, "ConsumerProtocolSubscription.RackId");
        /* Java treats an empty rack as none. */
        if (!r.err && rack.len > 0)
            out->rack = dup_str(&r, rack, "ConsumerProtocolSubscription.RackId");
    }
    if (r.err) {
        subscription_clear(out);
        return proto_errf(errstr, errstr_size, r.err, "%s", r.errstr);
    }
    /* Java's CooperativeStickyAssignor before GenerationId existed (v0/v1)
     * sent its generation as UserData holding one int32; Java still reads
     * it there when the field is absent. Other assignors' user data is
     * never exactly 4 bytes in practice, and only cooperative-sticky looks
     * at the generation. */
    if (out->generation == -1 && user.len == 4) out->generation = (int32_t)be32(user.ptr);
    return 0;
}

kc_err_t assignor_assignment_decode(const uint8_t *buf, size_t len, kc_topic_partition_list_t **out,
                                    char *errstr, size_t errstr_size)
{
    *out = NULL;
    if (!len) {
        if (!(*out = kc_topic_partition_list_new(0)))
            return proto_errf(errstr, errstr_size, KC_ERR__NO_MEMORY,
                              "ConsumerProtocolAssignment: out of memory");
        return 0;
    }
    proto_rbuf_t r;
    proto_rbuf_init(&r, buf, len);
    get_version(&r, "ConsumerProtocolAssignment.Version");
    kc_topic_partition_list_t *parts =
        get_partitions(&r, "ConsumerProtocolAssignment.AssignedPartitions");
    proto_get_bytes(&r, "ConsumerProtocolAssignment.UserData");
    if (r.err) {
        kc_topic_partition_list_destroy(parts);
        return proto_errf(errstr, errstr_size, r.err, "%s", r.errstr);
    }
    *out = parts;
    return 0;
}
