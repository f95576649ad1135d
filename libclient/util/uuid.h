/* Kafka UUIDs (topic ids): random generation and the text form Kafka uses
 * (URL-safe base64 without padding, 22 characters). */
#ifndef UTIL_UUID_H
#define UTIL_UUID_H

#include <stddef.h>

#include "proto/proto_buf.h"

/* A random version-4 UUID that is neither all-zero nor Kafka's reserved
 * metadata id (0...01). */
void util_uuid_random(proto_uuid_t *out);
int util_uuid_is_zero(const proto_uuid_t *u);
/* Writes the 22-character form plus NUL (out must hold 23 bytes). */
void util_uuid_to_str(const proto_uuid_t *u, char out[23]);
/* Parses the 22-character form; returns 0, or -1 if it is not one. */
int util_uuid_from_str(const char *s, proto_uuid_t *out);

#endif
