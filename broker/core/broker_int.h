/* The core's functions that only the core's own files call. */
#ifndef BROKER_CORE_BROKER_INT_H
#define BROKER_CORE_BROKER_INT_H

#include "core/broker.h"

/* topics.c */
void broker_topic_free(broker_topic_t *t);
int broker_topics_load(broker_t *b, char *errstr, size_t errstr_size);
int broker_open_file_log(broker_t *b, broker_topic_t *t, int32_t partition, broker_log_t **out,
                         char *errstr, size_t errstr_size);

/* flusher.c */
int broker_flusher_init(broker_t *b);
/* Flushes what is dirty, waits for the flusher thread and stops it. */
void broker_flusher_destroy(broker_t *b);
/* Queues p for the next flush round. Returns 0, or -1 when out of memory. */
int broker_flush_mark(broker_t *b, broker_partition_t *p);
/* Drops p from the next round (its log is about to close). */
void broker_flush_forget(broker_t *b, broker_partition_t *p);

#endif
