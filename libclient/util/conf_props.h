/* Java .properties files, as Kafka's server.properties and the Java clients'
 * config files are written.
 *
 * Understood: `key=value`, `key: value` and `key value`; `#` and `!` comment
 * lines; blank lines; leading white space; a line ending in an odd number of
 * backslashes continues on the next (whose leading white space is dropped);
 * escapes \t \n \r \f \uXXXX (UTF-16, surrogate pairs joined, written as
 * UTF-8) and backslash before any other character. Lines end in \n, \r or
 * \r\n. Unlike java.util.Properties, bytes are taken as UTF-8, not Latin-1;
 * a NUL byte is an error.
 */
#ifndef UTIL_CONF_PROPS_H
#define UTIL_CONF_PROPS_H

#include <stddef.h>

#include "kc/kc_err.h"

/* Called once per key, in file order. Returns 0, or non-zero with a reason
 * in errstr, which the parser prefixes with "origin:line: " and stops; a
 * negative return is passed on as the kc_err_t, others become _CONF. */
typedef int (*util_conf_props_cb)(void *opaque, const char *key, const char *value, int line,
                                  char *errstr, size_t errstr_size);

/* Parses text[0..len). `origin` names it in messages (a file name). */
kc_err_t util_conf_props_parse(const char *origin, const char *text, size_t len,
                               util_conf_props_cb cb, void *opaque, char *errstr,
                               size_t errstr_size);

/* Reads and parses a file (less than 16 MiB). Errors: "path: reason" or
 * "path:line: reason". */
kc_err_t util_conf_props_parse_file(const char *path, util_conf_props_cb cb, void *opaque,
                                    char *errstr, size_t errstr_size);

#endif
