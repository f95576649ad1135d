/* Fetch sessions (KIP-227): the broker remembers what a fetcher asked for,
 * so that later requests list only the partitions that changed and
 * responses only the partitions that have something new.
 *
 * Sessions belong to the broker, not to a connection (as in Kafka): a
 * client may reconnect and go on with its session. The cache holds at most
 * `slots` sessions; creating one in a full cache evicts the least recently
 * used (Kafka's max.incremental.fetch.session.cache.slots, 1000 by default;
 * Kafka additionally protects recently used sessions of many partitions, we
 * keep plain LRU).
 *
 * Everything here runs on the broker's loop thread. */
#ifndef BROKER_HANDLERS_FETCH_SESSION_H
#define BROKER_HANDLERS_FETCH_SESSION_H

#include <stdint.h>

#include "core/broker.h"

#define FETCH_SESSION_SLOTS_DEFAULT 1000

/* One partition a session fetches: the request parameters last sent by the
 * client and what the last response told it. */
typedef struct fetch_spart {
    char *topic; /* owned; "" in a session that uses topic ids */
    proto_uuid_t topic_id;
    int32_t partition;
    int64_t fetch_offset;
    int32_t max_bytes;
    int32_t current_leader_epoch;
    int32_t last_fetched_epoch;
    int64_t high_watermark; /* as last answered; -1 forces the next answer */
    int64_t log_start;
} fetch_spart_t;

typedef struct fetch_session fetch_session_t;
struct fetch_session {
    int32_t id;
    int32_t epoch; /* the epoch the next request must carry */
    int uses_topic_ids;
    int64_t last_used_ms;
    fetch_spart_t *parts; /* in session order (round-robin: see fetch.c) */
    int32_t n, cap;
    fetch_session_t *newer, *older; /* LRU list */
};

/* Kafka's epoch sequence: 1, 2, ... INT32_MAX, 1, ... */
static inline int32_t fetch_session_next_epoch(int32_t e)
{
    return e < 0 ? -1 : e == INT32_MAX ? 1 : e + 1;
}

fetch_session_t *fetch_session_find(broker_t *b, int32_t id);
/* Removes and frees session id, if it exists. */
void fetch_session_remove(broker_t *b, int32_t id);
/* A new empty session (epoch 1), evicting the least recently used one when
 * the cache is full; NULL when out of memory or the cache has 0 slots. */
fetch_session_t *fetch_session_create(broker_t *b, int uses_topic_ids, int64_t now_ms);
/* Marks s as just used (front of the LRU list). */
void fetch_session_touch(broker_t *b, fetch_session_t *s, int64_t now_ms);

/* The session's entry for (topic, topic_id, partition): by id when the
 * session uses topic ids, by name otherwise; NULL if absent. */
fetch_spart_t *fetch_session_part(fetch_session_t *s, proto_str_t topic,
                                  const proto_uuid_t *topic_id, int32_t partition);
/* Appends an entry (topic copied); NULL when out of memory. */
fetch_spart_t *fetch_session_add(fetch_session_t *s, proto_str_t topic,
                                 const proto_uuid_t *topic_id, int32_t partition);
/* Removes entry i, keeping the order of the rest. */
void fetch_session_del(fetch_session_t *s, int32_t i);
/* Moves entry i to the end. */
void fetch_session_move_last(fetch_session_t *s, int32_t i);

/* How many fetches are parked on p (fetch.c; for tests). */
int broker_fetch_parked_count(const broker_partition_t *p);

/* Cache size (tests and the mock); evicts down to the new size. */
void fetch_session_set_slots(broker_t *b, int slots);
int fetch_session_count(broker_t *b);

#endif
