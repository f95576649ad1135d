/* The public client handle: a thin shell over client_t (client.h). */
#include <stdio.h>
#include <stdlib.h>

#include "client.h"
#include "kc/kc_client.h"

struct kc_client {
    client_t *client;
};

kc_client_t *kc_client_new(kc_conf_t *conf, char *errstr, size_t errstr_size)
{
    char dummy[1];
    if (!errstr || !errstr_size) {
        errstr = dummy;
        errstr_size = sizeof(dummy);
    }
    if (!conf) {
        snprintf(errstr, errstr_size, "no configuration");
        return NULL;
    }
    kc_client_t *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    k->client = client_new(conf, errstr, errstr_size);
    if (!k->client) {
        free(k);
        return NULL;
    }
    return k;
}

void kc_client_destroy(kc_client_t *k)
{
    if (!k) return;
    client_destroy(k->client);
    free(k);
}

kc_err_t kc_metadata(kc_client_t *k, const char *topic, int timeout_ms, kc_metadata_t **out,
                     char *errstr, size_t errstr_size)
{
    if (!k || !out) {
        if (errstr && errstr_size) snprintf(errstr, errstr_size, "client and out are required");
        return KC_ERR__INVALID_ARG;
    }
    return client_metadata_get(k->client, topic, timeout_ms, out, errstr, errstr_size);
}

client_t *client_of(kc_client_t *k)
{
    return k->client;
}
