/* Read ranges, whatever the log implementation. */
#include <string.h>

#include "kc/kc_err.h"
#include "storage/io.h"
#include "storage/log.h"
#include "storage/storage_err.h"

void broker_log_range_release(broker_log_range_t *range)
{
    if (range->release && range->hold) range->release(range->hold);
    range->hold = NULL;
    range->release = NULL;
}

int64_t broker_log_range_copy(const broker_log_range_t *range, size_t skip, void *buf, size_t cap,
                              char *errstr, size_t errstr_size)
{
    if (skip >= range->len) return 0;
    size_t n = range->len - skip < cap ? range->len - skip : cap;
    /* A file's bytes are read with pread even when mapped: a disk error
     * under a mapping is a SIGBUS in whoever touches it, where pread
     * returns EIO. (Fetch only passes mapped bytes to writev, in which the
     * kernel turns the same error into EFAULT for that connection.) */
    if (range->fd < 0) {
        memcpy(buf, range->mem + skip, n);
        return (int64_t)n;
    }
    ssize_t r = broker_pread_full(range->fd, buf, n, range->pos + (int64_t)skip);
    if (r < 0) {
        broker_store_io_err(errstr, errstr_size, "read log range");
        return -1;
    }
    if ((size_t)r < n) {
        broker_store_err(KC_ERR_KAFKA_STORAGE_ERROR, errstr, errstr_size,
                         "log file ended %zu bytes into a %zu-byte range", (size_t)r + skip,
                         range->len);
        return -1;
    }
    return r;
}
