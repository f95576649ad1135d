/* Types shared by the producer and the consumer: record headers, timestamp
 * types and the "any partition" / special offset values. */
#ifndef KC_RECORD_H
#define KC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One record header. name is NUL-terminated; value may be NULL (a null
 * header value, which Kafka distinguishes from an empty one). */
typedef struct kc_header {
    const char *name;
    const void *value;
    size_t value_len;
} kc_header_t;

/* kc_produce(): let the partitioner choose. */
#define KC_PARTITION_ANY (-1)

/* Logical offsets for kc_assign(), kc_seek() and kc_consume's -o. */
#define KC_OFFSET_BEGINNING (-2)
#define KC_OFFSET_END       (-1)
#define KC_OFFSET_STORED    (-1000) /* the group's committed offset, else auto.offset.reset */
#define KC_OFFSET_INVALID   (-1001)

typedef enum kc_timestamp_type {
    KC_TIMESTAMP_NONE = -1,           /* legacy magic 0 records carry none */
    KC_TIMESTAMP_CREATE_TIME = 0,     /* set by the producer */
    KC_TIMESTAMP_LOG_APPEND_TIME = 1, /* set by the broker */
} kc_timestamp_type_t;

/* A topic and partition, with an offset and error where a call needs them. */
typedef struct kc_topic_partition {
    const char *topic;
    int32_t partition;
    int64_t offset;       /* or KC_OFFSET_*; -1 where not applicable */
    int32_t leader_epoch; /* -1 if unknown */
    const char *metadata; /* commit metadata, NULL for none */
    int err;              /* kc_err_t: this partition's result */
} kc_topic_partition_t;

/* A list of kc_topic_partition_t owned by whoever got it from a _new call or
 * from kc; the strings in it are owned by the list. */
typedef struct kc_topic_partition_list {
    int cnt;
    int size;
    kc_topic_partition_t *elems;
} kc_topic_partition_list_t;

/* An empty list with room for size elements; NULL if out of memory. */
kc_topic_partition_list_t *kc_topic_partition_list_new(int size);
/* Appends topic/partition (topic copied) with offset KC_OFFSET_INVALID;
 * returns the new element, NULL if out of memory. */
kc_topic_partition_t *kc_topic_partition_list_add(kc_topic_partition_list_t *list,
                                                  const char *topic, int32_t partition);
/* The element for topic/partition, NULL if absent. */
kc_topic_partition_t *kc_topic_partition_list_find(const kc_topic_partition_list_t *list,
                                                   const char *topic, int32_t partition);
/* Sets elem's metadata (copied; NULL clears). 0, or KC_ERR__NO_MEMORY. */
int kc_topic_partition_set_metadata(kc_topic_partition_list_t *list, kc_topic_partition_t *elem,
                                    const char *metadata);
/* A deep copy; NULL if out of memory. */
kc_topic_partition_list_t *kc_topic_partition_list_copy(const kc_topic_partition_list_t *list);
/* NULL is allowed. */
void kc_topic_partition_list_destroy(kc_topic_partition_list_t *list);

#ifdef __cplusplus
}
#endif
#endif
