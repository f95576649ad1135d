/* Whole-buffer file I/O: retries short transfers and EINTR. */
#ifndef BROKER_STORAGE_IO_H
#define BROKER_STORAGE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes all n bytes at off. Returns 0, or -1 with errno set. */
int broker_pwrite_all(int fd, const void *buf, size_t n, int64_t off);

/* Reads up to n bytes at off, stopping early only at end of file. Returns the
 * bytes read, or -1 with errno set. */
ssize_t broker_pread_full(int fd, void *buf, size_t n, int64_t off);

/* fsync(2) of a directory, so entries created, renamed or removed in it
 * survive a crash. Returns 0, or -1 with errno set. */
int broker_fsync_dir(const char *dir);

#endif
