/* Partitioners: which partition a record's key picks, as librdkafka and the
 * Java client pick it, so that kc, librdkafka and Java producers writing the
 * same keys to the same topic agree.
 *
 *   murmur2            Java's DefaultPartitioner: (murmur2(key) & 0x7fffffff) % n;
 *                      a NULL key hashes like an empty one
 *   murmur2_random     the same, NULL keys random (the Java client's choice)
 *   consistent         CRC-32(key) % n; NULL and empty keys land on 0
 *   consistent_random  the same, NULL and empty keys random (librdkafka's default)
 *   fnv1a              |FNV-1a(key) as int32| % n (Sarama's hash partitioner, as
 *                      librdkafka does it); NULL like empty
 *   fnv1a_random       the same, NULL keys random
 *   random             every record random
 *
 * "Random" records are where sticky partitioning applies: the producer keeps
 * them on one partition for sticky.partitioning.linger.ms (producer_partition
 * is given that partition as `sticky`). The kinds are conf_client.h's
 * CLIENT_PARTITIONER_* values. Pure functions: no state, any thread. */
#ifndef PRODUCER_PARTITIONER_H
#define PRODUCER_PARTITIONER_H

#include <stddef.h>
#include <stdint.h>

/* Non-zero if a record with this key is placed at random (so, sticky) by
 * partitioner `kind`. key == NULL is a null key; keylen 0 with a non-NULL key
 * is an empty one. */
int producer_partition_is_random(int kind, const void *key, size_t keylen);

/* The partition for key among partition_cnt (>= 1). For records that
 * producer_partition_is_random() places at random, returns `sticky` (the
 * caller's current random choice, 0 <= sticky < partition_cnt). */
int32_t producer_partition(int kind, const void *key, size_t keylen, int32_t partition_cnt,
                           int32_t sticky);

#endif
