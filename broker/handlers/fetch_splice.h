/* How a Fetch response carries the stored batches: appended to the
 * connection's output buffer without copying them in user space.
 *
 * A file log's range goes one of two ways, chosen per connection:
 * - to a peer on the same host, by reference to the segment's mapping
 *   (storage/segment_map.c): the socket write copies it straight from the
 *   page cache into the socket buffer, which the reader then takes while it
 *   is hot. With sendfile() the reader would copy cold page-cache pages
 *   itself: on loopback the mapping serves 3.8-4.3 GB/s against 2.4-2.8 GB/s
 *   (bench_loopback, a 256 MiB file);
 * - to a remote peer, as a file segment (sendfile): the NIC gathers the
 *   page-cache pages itself, and the broker copies nothing.
 * A range with no mapping always goes by sendfile; an in-memory log's bytes
 * always by reference. Everything here runs on the broker's loop thread. */
#ifndef BROKER_HANDLERS_FETCH_SPLICE_H
#define BROKER_HANDLERS_FETCH_SPLICE_H

#include <event2/buffer.h>

#include "storage/log.h"

/* Appends the range's bytes to out (local_peer: broker_conn_is_local); the
 * range's hold moves to out and is
 * released once libevent has sent or dropped them (the range is left empty).
 * Returns 0, or -1 when out of memory (then the hold is still the caller's). */
int fetch_splice_range(struct evbuffer *out, broker_log_range_t *range, int local_peer);

#endif
