/* rk_mock_host: hosts librdkafka's mock cluster (one broker) in a process of
 * its own, so bench/run_broker_bench.py can read its CPU time from
 * /proc/<pid>/stat exactly as it reads kc-broker's.
 *
 *   rk_mock_host TOPIC:PARTITIONS...
 *
 * Creates the topics, prints the bootstrap servers on one line of stdout,
 * then serves until stdin closes. (tests/fixtures/capture/mock_cluster.c does
 * the same for the wire captures; the benchmark keeps its own copy so neither
 * constrains the other.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec)
{
    char name[256];
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    int parts = colon ? atoi(colon + 1) : 1;
    if (n == 0 || n >= sizeof(name) || parts < 1) {
        fprintf(stderr, "rk_mock_host: bad topic '%s' (want name:partitions)\n", spec);
        return -1;
    }
    memcpy(name, spec, n);
    name[n] = '\0';
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, parts, 1);
    if (err) {
        fprintf(stderr, "rk_mock_host: topic %s: %s\n", name, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The handle only hosts the mock: no bootstrap servers, errors only. */
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "rk_mock_host: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "rk_mock_host: rd_kafka_new: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    if (!mc) {
        fprintf(stderr, "rk_mock_host: rd_kafka_mock_cluster_new failed\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    int rc = 0;
    for (int i = 1; rc == 0 && i < argc; i++)
        rc = create_topic(mc, argv[i]);
    if (rc == 0) {
        printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
        fflush(stdout);
        char buf[256];
        while (fread(buf, 1, sizeof(buf), stdin) > 0) {
        }
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc == 0 ? 0 : 1;
}
