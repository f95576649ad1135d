/* The consumer's side of group membership: until the group member (cgrp.c)
 * lands, a consumer works without a group (kc_assign); subscribe, commit
 * and committed report KC_ERR__UNSUPPORTED. */
#include "consumer/consumer_int.h"

kc_err_t cons_group_new(kc_consumer_t *c, char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    c->has_group = 0;
    return 0;
}

void cons_group_destroy(kc_consumer_t *c)
{
    (void)c;
}

kc_err_t cons_group_subscribe(kc_consumer_t *c, const char *const *topics, int topic_cnt)
{
    (void)c;
    (void)topics;
    (void)topic_cnt;
    return KC_ERR__UNSUPPORTED;
}

void cons_group_fetch_committed(kc_consumer_t *c, const kc_topic_partition_list_t *parts,
                                int timeout_ms, cons_offsets_cb cb, void *opaque)
{
    (void)c;
    (void)timeout_ms;
    cb(KC_ERR__UNSUPPORTED, "consumer groups are not available yet", parts, opaque);
}

void cons_group_commit(kc_consumer_t *c, const kc_topic_partition_list_t *parts, int timeout_ms,
                       cons_offsets_cb cb, void *opaque)
{
    (void)c;
    (void)timeout_ms;
    cb(KC_ERR__UNSUPPORTED, "consumer groups are not available yet", parts, opaque);
}

void cons_group_poll_seen(kc_consumer_t *c)
{
    (void)c;
}

void cons_group_revoke_done(kc_consumer_t *c)
{
    (void)c;
}

const char *cons_group_protocol(kc_consumer_t *c)
{
    (void)c;
    return "EAGER";
}

void cons_group_leave(kc_consumer_t *c, void (*done)(void *opaque), void *opaque)
{
    (void)c;
    done(opaque);
}
