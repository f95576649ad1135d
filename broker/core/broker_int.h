/* The core's functions that only the core's own files call. */
#ifndef BROKER_CORE_BROKER_INT_H
#define BROKER_CORE_BROKER_INT_H

#include "core/broker.h"

/* topics.c */
void broker_topic_free(broker_topic_t *t);
int broker_topics_load(broker_t *b, char *errstr, size_t errstr_size);
int broker_open_file_log(broker_t *b, broker_topic_t *t, int32_t partition, broker_log_t **out,
                         char *errstr, size_t errstr_size);

#endif
