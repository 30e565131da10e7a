#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "CKonnectIO.h"

int ckio_accept(int fd, struct sockaddr *address, socklen_t *length) {
    return accept4(fd, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int ckio_stream_socket(int family) {
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

void ckio_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, name, 0, 0, 0);
}

ssize_t ckio_read(int fd, void *buffer, size_t count) {
    return syscall(SYS_read, fd, buffer, count);
}

ssize_t ckio_send(int fd, const void *buffer, size_t count, int flags) {
    return syscall(SYS_sendto, fd, buffer, count, flags, NULL, 0);
}

ssize_t ckio_sendmsg(int fd, const struct msghdr *message, int flags) {
    return syscall(SYS_sendmsg, fd, message, flags);
}
