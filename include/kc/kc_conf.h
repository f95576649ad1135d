/* kc_conf_t: a client configuration, set property by property with
 * librdkafka's names and meanings (`bootstrap.servers`, `linger.ms`,
 * `enable.idempotence`, `group.id`, ...). docs/configuration.md lists every
 * property with its type, range and default.
 *
 * Lifecycle: kc_conf_new() gives a configuration holding the defaults, owned
 * by the caller until it is destroyed with kc_conf_destroy() (or handed to a
 * function that says it takes ownership). A configuration is not
 * thread-safe; set it up from one thread.
 */
#ifndef KC_CONF_H
#define KC_CONF_H

#include <stddef.h>

#include "kc/kc_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kc_conf kc_conf_t;

/* A configuration with every property at its default; NULL if out of memory. */
kc_conf_t *kc_conf_new(void);

/* Sets property `name` from its text form. On failure the configuration is
 * unchanged, and errstr (if not NULL) says which property and why, e.g.
 * `linger.ms: "abc" is not a number` or `no such property: lnger.ms (did you
 * mean linger.ms?)`. Returns KC_ERR_NO_ERROR, KC_ERR__NOENT (unknown
 * property), KC_ERR__CONF (bad value), KC_ERR__UNSUPPORTED (a value kc knows
 * but does not support yet), KC_ERR__INVALID_ARG (NULL name or value) or
 * KC_ERR__NO_MEMORY. Enum values are matched without regard to case. */
kc_err_t kc_conf_set(kc_conf_t *conf, const char *name, const char *value, char *errstr,
                     size_t errstr_size);

/* The value of `name` as text. Copies at most *dest_size bytes (NUL
 * included, truncating) into dest, which may be NULL to ask for the size, and
 * sets *dest_size to the size the whole value needs. Returns KC_ERR__NOENT
 * for an unknown property. */
kc_err_t kc_conf_get(const kc_conf_t *conf, const char *name, char *dest, size_t *dest_size);

/* Sets every property of a Java .properties file (`name=value` lines, as
 * Kafka's tools read), in order; stops at the first error, which reads
 * `path:line: reason`. */
kc_err_t kc_conf_load_file(kc_conf_t *conf, const char *path, char *errstr, size_t errstr_size);

/* An independent copy, owned by the caller; NULL if out of memory. */
kc_conf_t *kc_conf_dup(const kc_conf_t *conf);

/* Log lines of the client built from this configuration go to cb instead
 * of stderr: level is syslog(3)'s (3 error, 4 warning, 6 info, 7 debug;
 * the `log_level` and `debug` properties decide which come), msg one line
 * without a newline. cb may run on the client's I/O thread: it must not call
 * back into kc and must be quick. NULL restores stderr. */
typedef void (*kc_log_cb)(int level, const char *msg, void *cb_opaque);
void kc_conf_set_log_cb(kc_conf_t *conf, kc_log_cb cb, void *cb_opaque);

/* Frees the configuration. NULL is allowed. */
void kc_conf_destroy(kc_conf_t *conf);

#ifdef __cplusplus
}
#endif
#endif
