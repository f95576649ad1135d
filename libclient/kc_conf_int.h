/* The inside of kc_conf_t, for the producer and consumer. */
#ifndef KC_CONF_INT_H
#define KC_CONF_INT_H

#include "conf_client.h"
#include "kc/kc_conf.h"
#include "kc/kc_consumer.h"
#include "kc/kc_producer.h"

/* Callbacks set with kc_conf_set_*_cb(); copied with the configuration. */
typedef struct kc_conf_cbs {
    kc_log_cb log;
    void *log_opaque;
    kc_delivery_cb delivery;
    void *delivery_opaque;
    kc_partitioner_cb partitioner;
    void *partitioner_opaque;
    kc_rebalance_cb rebalance;
    void *rebalance_opaque;
    kc_commit_cb commit;
    void *commit_opaque;
} kc_conf_cbs_t;

struct kc_conf {
    client_conf_t client;
    kc_conf_cbs_t cbs;
};

#endif
