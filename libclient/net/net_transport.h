/* The byte transport under a broker connection: how bytes go in and out of a
 * connected socket. The connection code calls only these hooks, so TLS and
 * SASL wrapping plug in as another table instead of #ifdefs in net_conn.c.
 *
 * read and write follow recv(2)/send(2): they return the number of bytes
 * moved, 0 from read at end of stream, or -1 with errno set (EAGAIN /
 * EWOULDBLOCK when the socket is not ready). close releases the transport's
 * state and the descriptor. ctx is the transport's per-connection state
 * (NULL for plaintext). All hooks run on the client's I/O thread.
 */
#ifndef NET_TRANSPORT_H
#define NET_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

typedef struct net_transport {
    const char *name; /* "plaintext" */
    ssize_t (*read)(void *ctx, int fd, void *buf, size_t len);
    ssize_t (*write)(void *ctx, int fd, const void *buf, size_t len);
    void (*close)(void *ctx, int fd);
} net_transport_t;

extern const net_transport_t net_transport_plain;

#endif
