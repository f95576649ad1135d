/* The byte transport under a broker connection: how bytes go in and out of a
 * connected socket. The connection code calls only these hooks, so TLS and
 * SASL wrapping plug in as another table instead of #ifdefs in net_conn.c.
 *
 * read and writev follow recv(2) and sendmsg(2): they return the number of
 * bytes moved, 0 from read at end of stream, or -1 with errno set (EAGAIN /
 * EWOULDBLOCK when the socket is not ready). writev takes the pieces of the
 * output queued so far (a Produce frame is its header, then batches by
 * reference), so that one system call, and one TCP segment rather than a
 * small one per piece, carries them. close releases the transport's
 * state and the descriptor. ctx is the transport's per-connection state
 * (NULL for plaintext). All hooks run on the client's I/O thread.
 */
#ifndef NET_TRANSPORT_H
#define NET_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct net_transport {
    const char *name; /* "plaintext" */
    ssize_t (*read)(void *ctx, int fd, void *buf, size_t len);
    ssize_t (*writev)(void *ctx, int fd, const struct iovec *iov, int iovcnt);
    void (*close)(void *ctx, int fd);
} net_transport_t;

extern const net_transport_t net_transport_plain;

#endif
