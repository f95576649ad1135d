/* Partitioners. See partitioner.h. The hashes and their vectors live in
 * libclient/proto/proto_crc.h; here is only which key goes where. */
#include "producer/partitioner.h"

#include "conf_client.h"
#include "proto/proto_crc.h"

int producer_partition_is_random(int kind, const void *key, size_t keylen)
{
    switch (kind) {
    case CLIENT_PARTITIONER_RANDOM: return 1;
    case CLIENT_PARTITIONER_CONSISTENT_RANDOM: return key == NULL || keylen == 0;
    case CLIENT_PARTITIONER_MURMUR2_RANDOM:
    case CLIENT_PARTITIONER_FNV1A_RANDOM: return key == NULL;
    default: return 0;
    }
}

int32_t producer_partition(int kind, const void *key, size_t keylen, int32_t partition_cnt,
                           int32_t sticky)
{
    if (partition_cnt <= 1) return 0;
    if (producer_partition_is_random(kind, key, keylen)) return sticky;
    if (!key) { /* a NULL key hashes as the empty one */
        key = "";
        keylen = 0;
    }
    uint32_t n = (uint32_t)partition_cnt;
    switch (kind) {
    case CLIENT_PARTITIONER_MURMUR2:
    case CLIENT_PARTITIONER_MURMUR2_RANDOM:
        return (int32_t)((proto_murmur2(key, keylen) & 0x7fffffff) % n);
    case CLIENT_PARTITIONER_FNV1A:
    case CLIENT_PARTITIONER_FNV1A_RANDOM: {
        /* Sarama's NewHashPartitioner, as librdkafka follows it: the hash as
         * an int32, made non-negative, then modulo. */
        uint32_t h = proto_fnv1a(key, keylen);
        if (h & 0x80000000u) h = (uint32_t)(-(int64_t)(int32_t)h);
        return (int32_t)(h % n);
    }
    case CLIENT_PARTITIONER_CONSISTENT:
    case CLIENT_PARTITIONER_CONSISTENT_RANDOM:
    default: return (int32_t)(proto_crc32(0, key, keylen) % n);
    }
}
