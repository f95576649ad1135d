/* The inside of kc_conf_t, for the producer and consumer. */
#ifndef KC_CONF_INT_H
#define KC_CONF_INT_H

#include "conf_client.h"
#include "kc/kc_conf.h"

struct kc_conf {
    client_conf_t client;
};

#endif
