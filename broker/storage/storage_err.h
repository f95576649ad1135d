/* Error messages for the storage code. */
#ifndef BROKER_STORAGE_ERR_H
#define BROKER_STORAGE_ERR_H

#include <stddef.h>

/* Writes the message (printf format) to errstr (may be NULL) and returns err. */
int broker_store_err(int err, char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The same for a failed system call: appends ": <strerror(errno)>" and
 * returns KC_ERR_KAFKA_STORAGE_ERROR. Reads errno before anything else. */
int broker_store_io_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
