/* How a Fetch response carries the stored batches: appended to the
 * connection's output buffer without copying them in user space.
 *
 * Bytes the log has in memory -- an in-memory log's, or a file segment's
 * mapping (storage/segment_map.c) -- are added by reference, so the socket
 * write copies them straight from the page cache; otherwise the range goes as
 * a file segment (sendfile). The mapping is the fast way on loopback: the
 * receiver of sendfile()'s page references reads cold page-cache memory,
 * while after write() from a mapping it reads the socket buffer the sender
 * just filled (bench_loopback: 3.8-4.3 GB/s against 2.4-2.8 GB/s for
 * sendfile from a 256 MiB file). Everything here runs on the broker's loop
 * thread. */
#ifndef BROKER_HANDLERS_FETCH_SPLICE_H
#define BROKER_HANDLERS_FETCH_SPLICE_H

#include <event2/buffer.h>

#include "storage/log.h"

/* Appends the range's bytes to out; the range's hold moves to out and is
 * released once libevent has sent or dropped them (the range is left empty).
 * Returns 0, or -1 when out of memory (then the hold is still the caller's). */
int fetch_splice_range(struct evbuffer *out, broker_log_range_t *range);

#endif
