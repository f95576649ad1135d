/* Small durable-file helpers for state the broker keeps beside its logs
 * (topic metadata, committed offsets, producer state). */
#ifndef UTIL_FSUTIL_H
#define UTIL_FSUTIL_H

#include <stddef.h>

/* Replaces `path` with data[0..len) atomically and durably: writes a
 * temporary file beside it, fsyncs it, renames it over `path` and fsyncs the
 * directory. Returns 0, or -1 with a message (naming the path and errno text)
 * in errstr. */
int util_write_file_atomic(const char *path, const void *data, size_t len, char *errstr,
                           size_t errstr_size);

/* Reads a whole file into a malloc'ed, NUL-terminated buffer (*len excludes
 * the NUL). Returns 0, 1 if the file does not exist, or -1 with errstr. */
int util_read_file(const char *path, char **data, size_t *len, char *errstr, size_t errstr_size);

/* mkdir -p. Returns 0, or -1 with errstr. */
int util_mkdirs(const char *path, char *errstr, size_t errstr_size);

/* rm -rf of a directory tree. Returns 0, or -1 with errstr. */
int util_remove_tree(const char *path, char *errstr, size_t errstr_size);

#endif
