/* Helpers for the assignor tests: members built from short strings, results
 * printed as short strings, and a deterministic random source. */
#ifndef TEST_CLIENT_ASSIGNOR_UTIL_H
#define TEST_CLIENT_ASSIGNOR_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer/assignor.h"

/* topics: space-separated names; copied, so assignor_member_clear frees
 * them. member_id is borrowed. */
static inline void tm_init(assignor_member_t *m, const char *member_id, const char *topics)
{
    memset(m, 0, sizeof(*m));
    m->member_id = member_id;
    m->generation = -1;
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", topics ? topics : "");
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        m->topics = realloc(m->topics, sizeof(char *) * (size_t)(m->topic_cnt + 1));
        m->topics[m->topic_cnt++] = strdup(t);
    }
}

/* Adds "topic:partition ..." to the member's owned list. */
static inline void tm_own(assignor_member_t *m, const char *parts, int32_t generation)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", parts);
    if (!m->owned) m->owned = kc_topic_partition_list_new(0);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *colon = strrchr(t, ':');
        *colon = '\0';
        kc_topic_partition_list_add(m->owned, t, atoi(colon + 1));
    }
    m->generation = generation;
}

/* "t0p0 t0p1 t1p0": a list as a string, in list order. */
static inline const char *tm_str(const kc_topic_partition_list_t *l, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; l && i < l->cnt && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%sp%d", i ? " " : "", l->elems[i].topic,
                              l->elems[i].partition);
    return buf;
}

/* xorshift64*: the same sequence on every machine. */
static inline uint32_t tm_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

#endif
