// The Linux system interfaces KonnectIO needs that Glibc's Swift module does not export.
#ifndef CKONNECTIO_H
#define CKONNECTIO_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

/// accept4 with a non-blocking, close-on-exec result.
int ckio_accept(int fd, struct sockaddr *address, socklen_t *length);

/// A non-blocking, close-on-exec stream socket.
int ckio_stream_socket(int family);

/// read, send and sendmsg as plain system calls. The libc wrappers are thread cancellation
/// points and switch cancellation on and off around every call; Konnect never cancels threads,
/// and on the proxy path that switching costs as much as some of the HTTP work.
ssize_t ckio_read(int fd, void *buffer, size_t count);
ssize_t ckio_send(int fd, const void *buffer, size_t count, int flags);
ssize_t ckio_sendmsg(int fd, const struct msghdr *message, int flags);

/// Names the calling thread (as `top` and `perf` show it).
void ckio_set_thread_name(const char *name);
#endif
