#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/socket.h>
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
