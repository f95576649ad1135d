/* kc_conf_t: the public face of the client's property table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_conf_int.h"

kc_conf_t *kc_conf_new(void)
{
    kc_conf_t *conf = calloc(1, sizeof(*conf));
    if (!conf) return NULL;
    char err[256];
    if (client_conf_init(&conf->client, err, sizeof(err))) {
        free(conf);
        return NULL;
    }
    return conf;
}

kc_err_t kc_conf_set(kc_conf_t *conf, const char *name, const char *value, char *errstr,
                     size_t errstr_size)
{
    if (!conf || !name || !value) {
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size, "%s: %s is NULL", name ? name : "kc_conf_set",
                     !conf   ? "the configuration"
                     : !name ? "the name"
                             : "the value");
        return KC_ERR__INVALID_ARG;
    }
    return client_conf_set(&conf->client, name, value, errstr, errstr_size);
}

kc_err_t kc_conf_get(const kc_conf_t *conf, const char *name, char *dest, size_t *dest_size)
{
    if (!conf || !name || !dest_size) return KC_ERR__INVALID_ARG;
    return util_conf_get(&conf->client.base, name, dest, dest_size);
}

kc_err_t kc_conf_load_file(kc_conf_t *conf, const char *path, char *errstr, size_t errstr_size)
{
    char local[1];
    if (!errstr || !errstr_size) {
        errstr = local;
        errstr_size = sizeof(local);
    }
    if (!conf || !path) {
        snprintf(errstr, errstr_size, "kc_conf_load_file: NULL argument");
        return KC_ERR__INVALID_ARG;
    }
    return util_conf_load_file(&conf->client.base, path, errstr, errstr_size);
}

kc_conf_t *kc_conf_dup(const kc_conf_t *conf)
{
    kc_conf_t *copy = calloc(1, sizeof(*copy));
    if (!copy) return NULL;
    copy->cbs = conf->cbs;
    if (util_conf_copy(&copy->client.base, &conf->client.base)) {
        free(copy);
        return NULL;
    }
    return copy;
}

void kc_conf_destroy(kc_conf_t *conf)
{
    if (!conf) return;
    client_conf_clear(&conf->client);
    free(conf);
}

void kc_conf_set_log_cb(kc_conf_t *conf, kc_log_cb cb, void *cb_opaque)
{
    if (!conf) return;
    conf->cbs.log = cb;
    conf->cbs.log_opaque = cb_opaque;
}

void kc_conf_set_delivery_cb(kc_conf_t *conf, kc_delivery_cb cb, void *cb_opaque)
{
    if (!conf) return;
    conf->cbs.delivery = cb;
    conf->cbs.delivery_opaque = cb_opaque;
}

void kc_conf_set_rebalance_cb(kc_conf_t *conf, kc_rebalance_cb cb, void *cb_opaque)
{
    if (!conf) return;
    conf->cbs.rebalance = cb;
    conf->cbs.rebalance_opaque = cb_opaque;
}

void kc_conf_set_commit_cb(kc_conf_t *conf, kc_commit_cb cb, void *cb_opaque)
{
    if (!conf) return;
    conf->cbs.commit = cb;
    conf->cbs.commit_opaque = cb_opaque;
}

void kc_conf_set_partitioner_cb(kc_conf_t *conf, kc_partitioner_cb cb, void *cb_opaque)
{
    if (!conf) return;
    conf->cbs.partitioner = cb;
    conf->cbs.partitioner_opaque = cb_opaque;
}
