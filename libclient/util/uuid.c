/* Kafka UUIDs. See uuid.h. */
#include "uuid.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void util_uuid_random(proto_uuid_t *out)
{
    do {
        if (getrandom(out->b, sizeof(out->b), 0) != (ssize_t)sizeof(out->b)) {
            /* getrandom cannot fail for 16 bytes after boot; keep going anyway. */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            for (size_t i = 0; i < sizeof(out->b); i++)
                out->b[i] = (uint8_t)((uint64_t)ts.tv_nsec >> (i % 8 * 8)) ^ (uint8_t)i;
        }
        out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40); /* version 4 */
        out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80); /* IETF variant */
    } while (util_uuid_is_zero(out));
}

int util_uuid_is_zero(const proto_uuid_t *u)
{
    static const proto_uuid_t zero;
    return memcmp(u->b, zero.b, sizeof(u->b)) == 0;
}

void util_uuid_to_str(const proto_uuid_t *u, char out[23])
{
    size_t o = 0;
    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)u->b[i] << 16;
        if (i + 1 < 16) v |= (uint32_t)u->b[i + 1] << 8;
        if (i + 2 < 16) v |= u->b[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < 16) out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < 16) out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

int util_uuid_from_str(const char *s, proto_uuid_t *out)
{
    if (strlen(s) != 22) return -1;
    uint8_t vals[22];
    for (size_t i = 0; i < 22; i++) {
        const char *p = strchr(b64url, s[i]);
        if (!p || !s[i]) return -1;
        vals[i] = (uint8_t)(p - b64url);
    }
    size_t o = 0;
    for (size_t i = 0; i < 22; i += 4) {
        uint32_t v = (uint32_t)vals[i] << 18 | (uint32_t)vals[i + 1] << 12;
        if (i + 2 < 22) v |= (uint32_t)vals[i + 2] << 6;
        if (i + 3 < 22) v |= vals[i + 3];
        out->b[o++] = (uint8_t)(v >> 16);
        if (o < 16) out->b[o++] = (uint8_t)(v >> 8);
        if (o < 16) out->b[o++] = (uint8_t)v;
    }
    return 0;
}
