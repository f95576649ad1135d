/* Plaintext transport: the socket as it is. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net_transport.h"

static ssize_t plain_read(void *ctx, int fd, void *buf, size_t len)
{
    (void)ctx;
    ssize_t n;
    do {
        n = recv(fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    return n;
}

static ssize_t plain_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
    (void)ctx;
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t n;
    do {
        /* MSG_NOSIGNAL: a peer that went away is an error to report, not SIGPIPE. */
        n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
}

static void plain_close(void *ctx, int fd)
{
    (void)ctx;
    if (fd >= 0) close(fd);
}

const net_transport_t net_transport_plain = {"plaintext", plain_read, plain_writev, plain_close};
