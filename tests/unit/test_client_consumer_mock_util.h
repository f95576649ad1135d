/* For the consumer tests on librdkafka's mock cluster
 * (test_client_consumer_mock*.c): a topic spread over the mock's brokers and
 * filled. Include after client_test_util.h and test_client_consumer_util.h. */
#ifndef TEST_CLIENT_CONSUMER_MOCK_UTIL_H
#define TEST_CLIENT_CONSUMER_MOCK_UTIL_H

/* On librdkafka's mock: topic with nparts partitions, partition p led by
 * broker p % 3 + 1 (whatever the mock chose), each filled with nrec records
 * numbered from p * 1000 (ctu_produce, no codec). 0 or -1. */
static inline int ctu_mock_spread_topic(tmock_t *m, const char *topic, int nparts, int nrec,
                                        int with_headers)
{
    if (rd_kafka_mock_topic_create(m->mc, topic, nparts, 1)) return -1;
    for (int p = 0; p < nparts; p++)
        if (rd_kafka_mock_partition_set_leader(m->mc, topic, p, p % 3 + 1)) return -1;
    for (int p = 0; p < nparts; p++)
        if (ctu_produce(m->bootstrap, topic, p, nrec, p * 1000, "none", 0, with_headers, NULL,
                        NULL))
            return -1;
    return 0;
}

#endif
