/* How a Fetch response carries the stored batches: appended to the
 * connection's output buffer without copying them in user space.
 *
 * A large range of a file log is mapped (mmap) and added by reference, so
 * the socket write copies straight from the page cache into the socket; a
 * small one goes as a file segment (sendfile); an in-memory log's bytes are
 * added by reference. Mapping wins for large ranges: on loopback the
 * receiver of sendfile()'s page references reads cold page-cache memory,
 * while after write() from a mapping it reads the socket buffer the sender
 * just filled (bench_loopback: 3.9 GB/s against 2.4 GB/s for 1 MiB pieces
 * of a 256 MiB file). Everything here runs on the broker's loop thread. */
#ifndef BROKER_HANDLERS_FETCH_SPLICE_H
#define BROKER_HANDLERS_FETCH_SPLICE_H

#include <event2/buffer.h>

#include "storage/log.h"

/* Ranges of at least this many bytes are mapped; smaller ones sendfile. */
#define FETCH_MAP_MIN_BYTES (64 * 1024)

/* Appends the range's bytes to out; the range's hold moves to out and is
 * released once libevent has sent or dropped them (the range is left empty).
 * Returns 0, or -1 when out of memory (then the hold is still the caller's). */
int fetch_splice_range(struct evbuffer *out, broker_log_range_t *range);

#endif
