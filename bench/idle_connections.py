#!/usr/bin/env python3
"""Hold many idle keep-alive HTTP/1.1 client connections on a proxy and report its RSS meanwhile.

Each connection sends one complete GET and reads the whole response, then stays open and idle.
With every connection open, the script samples VmRSS of the given PIDs (summed), checks how many
connections the proxy still holds open, and closes them all. It prints one line of key=value pairs:

    connections=5000 ok=5000 open=5000 rss_kib=123456 rss_before_kib=23456 seconds=2.1

Exit status is 0 when every connection got a 200 and is still open at sampling time, 1 otherwise.
"""

import argparse
import resource
import socket
import sys
import time


def rss_kib(pids):
    """Sum of VmRSS (KiB) over the given PIDs; a PID that vanished counts 0."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except FileNotFoundError:
            pass
    return total


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(target, soft), hard))
    except (ValueError, OSError):
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        sys.exit(f"idle_connections: need {needed} file descriptors but the limit is {soft}; "
                 f"raise it with `ulimit -n {needed}` before running")


def read_response(sock, deadline):
    """Read one complete HTTP/1.1 response; return its status code."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += recv_some(sock, deadline)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    if b"content-length" in headers:
        length = int(headers[b"content-length"])
        while len(body) < length:
            body += recv_some(sock, deadline)
    elif headers.get(b"transfer-encoding", b"").endswith(b"chunked"):
        while not body.endswith(b"0\r\n\r\n"):
            body += recv_some(sock, deadline)
    return status


def recv_some(sock, deadline):
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("connection closed before the response was complete")
    return chunk


def still_open(sock):
    """True when the peer has not closed the connection (nothing readable, or unread bytes)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/bench")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--pid", type=int, action="append", default=[],
                        help="process whose VmRSS is sampled (repeat for several; values are summed)")
    parser.add_argument("--hold", type=float, default=3.0,
                        help="seconds to keep the connections idle; RSS is sampled through this time")
    parser.add_argument("--deadline", type=float, default=120.0,
                        help="give up when opening the connections takes longer than this")
    args = parser.parse_args()

    raise_fd_limit(args.count + 64)
    request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
               f"User-Agent: konnect-bench-idle\r\n\r\n").encode()
    rss_before = rss_kib(args.pid)
    started = time.monotonic()
    deadline = started + args.deadline
    sockets, ok, failures = [], 0, []
    try:
        for _ in range(args.count):
            if time.monotonic() > deadline:
                failures.append(f"deadline of {args.deadline}s reached after {len(sockets)} connections")
                break
            try:
                sock = socket.create_connection((args.host, args.port), timeout=10)
                sockets.append(sock)
                sock.sendall(request)
                status = read_response(sock, time.monotonic() + 10)
                if status == 200:
                    ok += 1
                elif len(failures) < 5:
                    failures.append(f"status {status}")
            except (OSError, ValueError, IndexError) as error:
                if len(failures) < 5:
                    failures.append(f"{type(error).__name__}: {error}")
        opened_in = time.monotonic() - started

        peak = 0
        hold_until = time.monotonic() + args.hold
        while True:
            peak = max(peak, rss_kib(args.pid))
            if time.monotonic() >= hold_until:
                break
            time.sleep(0.25)
        open_count = sum(1 for sock in sockets if still_open(sock))
    finally:
        for sock in sockets:
            sock.close()

    print(f"connections={len(sockets)} ok={ok} open={open_count} rss_kib={peak} "
          f"rss_before_kib={rss_before} seconds={opened_in:.1f}")
    for failure in failures:
        print(f"failure: {failure}", file=sys.stderr)
    return 0 if ok == args.count and open_count == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
