/* Testing an application's Kafka code with the mock cluster (docs/mock.md).
 *
 * send_orders() is the "application": it produces records and reports how
 * many were delivered. main() is its test: a 3-broker mock cluster, a topic,
 * two retriable Produce errors queued, then the application runs against it.
 * The test checks that every record was delivered despite the errors, and
 * reads the mock's request log to check what the client sent.
 *
 *   cc mock_test_app.c $(pkg-config --cflags --libs kc kc-mock) -o mock_test_app
 */
#include <stdio.h>
#include <string.h>

#include <kc/kc.h>
#include <kc/kc_mock.h>

/* ---- The application under test ---------------------------------------------------- */

static void on_delivery(kc_producer_t *p, const kc_delivery_t *d, void *opaque)
{
    (void)p;
    int *delivered = opaque;
    if (d->err == KC_ERR_NO_ERROR)
        (*delivered)++;
    else
        fprintf(stderr, "delivery failed: %s\n", d->errstr);
}

/* Sends n orders to topic through the cluster at bootstrap; returns how
 * many were delivered, or -1 if the producer could not start. */
static int send_orders(const char *bootstrap, const char *topic, int n)
{
    int delivered = 0;
    char err[512];
    kc_conf_t *conf = kc_conf_new();
    if (kc_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)) ||
        kc_conf_set(conf, "client.id", "orders-app", err, sizeof(err)) ||
        kc_conf_set(conf, "enable.idempotence", "true", err, sizeof(err))) {
        fprintf(stderr, "conf: %s\n", err);
        kc_conf_destroy(conf);
        return -1;
    }
    kc_conf_set_delivery_cb(conf, on_delivery, &delivered);
    kc_producer_t *p = kc_producer_new(conf, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "producer: %s\n", err);
        kc_conf_destroy(conf);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char key[32], value[64];
        int kl = snprintf(key, sizeof(key), "customer-%d", i % 7);
        int vl = snprintf(value, sizeof(value), "order %d", i);
        kc_produce_rec_t rec = {.topic = topic,
                                .partition = KC_PARTITION_ANY,
                                .key = key,
                                .key_len = (size_t)kl,
                                .value = value,
                                .value_len = (size_t)vl};
        if (kc_produce(p, &rec, KC_PRODUCE_F_BLOCK) != KC_ERR_NO_ERROR) break;
    }
    kc_flush(p, 30000);
    kc_producer_destroy(p, 5000);
    return delivered;
}

/* ---- Its test ------------------------------------------------------------------------ */

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            return 1;                                                       \
        }                                                                   \
    } while (0)

int main(void)
{
    char err[512];
    kc_mock_cluster_t *mc = kc_mock_cluster_new(3, err, sizeof(err));
    CHECK(mc != NULL);
    CHECK(kc_mock_topic_create(mc, "orders", 3, 3) == KC_ERR_NO_ERROR);

    /* The next two Produce requests, on whichever broker, fail retriably. */
    kc_err_t errors[2] = {KC_ERR_NOT_LEADER_OR_FOLLOWER, KC_ERR_REQUEST_TIMED_OUT};
    CHECK(kc_mock_push_request_errors(mc, -1, 0 /* Produce */, 2, errors, NULL) == 0);

    int delivered = send_orders(kc_mock_cluster_bootstrap(mc), "orders", 100);
    CHECK(delivered == 100);

    /* What did the application send? Produce requests from its client id,
     * two of which got the injected errors and were retried. */
    kc_mock_requests_t *log = kc_mock_requests_get(mc, -1);
    CHECK(log != NULL);
    int produces = 0, injected = 0;
    for (size_t i = 0; i < kc_mock_requests_count(log); i++) {
        const kc_mock_request_t *r = kc_mock_requests_at(log, i);
        if (kc_mock_request_api_key(r) != 0) continue;
        produces++;
        const char *cid = kc_mock_request_client_id(r);
        CHECK(cid && strcmp(cid, "orders-app") == 0);
        if (kc_mock_request_injected_error(r) != KC_ERR_NO_ERROR) injected++;
    }
    kc_mock_requests_destroy(log);
    CHECK(injected == 2);
    CHECK(produces >= 3);

    kc_mock_cluster_destroy(mc);
    printf("ok: %d orders delivered; %d Produce requests, %d answered with injected errors\n",
           delivered, produces, injected);
    return 0;
}
