/* Error messages for the storage code. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kc/kc_err.h"
#include "storage/storage_err.h"

int broker_store_err(int err, char *errstr, size_t errstr_size, const char *fmt, ...)
{
    if (errstr && errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

int broker_store_io_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    int e = errno;
    if (errstr && errstr_size) {
        char what[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        snprintf(errstr, errstr_size, "%s: %s", what, strerror(e));
    }
    return KC_ERR_KAFKA_STORAGE_ERROR;
}
