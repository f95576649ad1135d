/* The in-memory partition log of the mock cluster: the same operations as
 * the file-backed log (log.h), over blocks of memory that are never moved,
 * so a read range can point into them until it is released.
 *
 * Bytes are appended into the newest block while they fit; an append never
 * spans two blocks. A block is reference counted (the log holds one, every
 * unreleased range one more), so DeleteRecords can drop blocks wholly below
 * the new start while a Fetch still sends from them. Nothing is durable:
 * flush reports everything flushed. Retention settings are ignored (the
 * mock's data lives as long as the process). */
#ifndef BROKER_STORAGE_LOG_MEM_H
#define BROKER_STORAGE_LOG_MEM_H

#include <stddef.h>

#include "storage/log.h"

/* An empty log. Returns 0, or KC_ERR__NO_MEMORY with errstr. */
int broker_mem_log_open(broker_log_t **out, char *errstr, size_t errstr_size);

#endif
