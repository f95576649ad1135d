/* What the admin handlers (admin_topics.c, admin_configs.c) share. */
#ifndef BROKER_HANDLERS_ADMIN_H
#define BROKER_HANDLERS_ADMIN_H

#include "core/broker.h"
#include "core/topic_conf.h"

/* DescribeConfigs / AlterConfigs resource types. */
enum { ADMIN_RES_TOPIC = 2, ADMIN_RES_BROKER = 4 };

/* One topic property as DescribeConfigs and CreateTopics v5+ show it. */
typedef struct admin_topic_entry {
    const util_conf_prop_t *prop;
    proto_str_t value; /* in the call's arena */
    int8_t source;     /* BROKER_CONF_SRC_* */
    broker_topic_conf_synonym_t syn[BROKER_TOPIC_SYNONYMS_MAX];
    int nsyn;
} admin_topic_entry_t;

/* Fills e for property row p of topic t (t's overrides; t may be NULL),
 * whose resolved settings are s. */
void admin_topic_entry(broker_call_t *call, const broker_topic_t *t,
                       const broker_topic_settings_t *s, const util_conf_prop_t *p,
                       admin_topic_entry_t *e);

/* A NUL-terminated copy of a wire string in the call's arena ("" for null). */
const char *admin_cstr(broker_call_t *call, proto_str_t s);

#endif
