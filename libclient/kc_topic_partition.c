/* kc_topic_partition_list_t: the list type the consumer API takes and gives.
 * The list owns its strings (topic, metadata), freed with the list. */
#include <stdlib.h>
#include <string.h>

#include "kc/kc_err.h"
#include "kc/kc_record.h"

static int list_grow(kc_topic_partition_list_t *list)
{
    int size = list->size ? list->size * 2 : 8;
    kc_topic_partition_t *elems = realloc(list->elems, (size_t)size * sizeof(*elems));
    if (!elems) return -1;
    list->elems = elems;
    list->size = size;
    return 0;
}

kc_topic_partition_list_t *kc_topic_partition_list_new(int size)
{
    kc_topic_partition_list_t *list = calloc(1, sizeof(*list));
    if (!list) return NULL;
    if (size > 0) {
        list->elems = calloc((size_t)size, sizeof(*list->elems));
        if (!list->elems) {
            free(list);
            return NULL;
        }
        list->size = size;
    }
    return list;
}

kc_topic_partition_t *kc_topic_partition_list_add(kc_topic_partition_list_t *list,
                                                  const char *topic, int32_t partition)
{
    if (!list || !topic) return NULL;
    if (list->cnt == list->size && list_grow(list)) return NULL;
    char *name = strdup(topic);
    if (!name) return NULL;
    kc_topic_partition_t *e = &list->elems[list->cnt++];
    memset(e, 0, sizeof(*e));
    e->topic = name;
    e->partition = partition;
    e->offset = KC_OFFSET_INVALID;
    e->leader_epoch = -1;
    return e;
}

kc_topic_partition_t *kc_topic_partition_list_find(const kc_topic_partition_list_t *list,
                                                   const char *topic, int32_t partition)
{
    if (!list || !topic) return NULL;
    for (int i = 0; i < list->cnt; i++)
        if (list->elems[i].partition == partition && !strcmp(list->elems[i].topic, topic))
            return &list->elems[i];
    return NULL;
}

int kc_topic_partition_set_metadata(kc_topic_partition_list_t *list, kc_topic_partition_t *elem,
                                    const char *metadata)
{
    (void)list;
    if (!elem) return KC_ERR__INVALID_ARG;
    char *copy = NULL;
    if (metadata && !(copy = strdup(metadata))) return KC_ERR__NO_MEMORY;
    free((char *)elem->metadata);
    elem->metadata = copy;
    return 0;
}

kc_topic_partition_list_t *kc_topic_partition_list_copy(const kc_topic_partition_list_t *list)
{
    if (!list) return NULL;
    kc_topic_partition_list_t *copy = kc_topic_partition_list_new(list->cnt);
    if (!copy) return NULL;
    for (int i = 0; i < list->cnt; i++) {
        const kc_topic_partition_t *src = &list->elems[i];
        kc_topic_partition_t *e = kc_topic_partition_list_add(copy, src->topic, src->partition);
        if (!e) goto oom;
        e->offset = src->offset;
        e->leader_epoch = src->leader_epoch;
        e->err = src->err;
        if (kc_topic_partition_set_metadata(copy, e, src->metadata)) goto oom;
    }
    return copy;
oom:
    kc_topic_partition_list_destroy(copy);
    return NULL;
}

void kc_topic_partition_list_destroy(kc_topic_partition_list_t *list)
{
    if (!list) return;
    for (int i = 0; i < list->cnt; i++) {
        free((char *)list->elems[i].topic);
        free((char *)list->elems[i].metadata);
    }
    free(list->elems);
    free(list);
}
