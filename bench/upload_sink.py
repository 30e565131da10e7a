#!/usr/bin/env python3
"""HTTP/1.1 origin that reads every request body to the end, counts it, and only then answers.

The answer is `200` with the body `received N` (N = body bytes after removing chunked framing).
Requests without a body get `received 0`, which doubles as a readiness check. Connections are
kept alive and served one thread each. Stops on SIGTERM or SIGINT.

    upload_sink.py --port 19110
"""

import argparse
import signal
import socket
import sys
import threading

SCRATCH = 1 << 20


class BadRequest(Exception):
    pass


class Reader:
    """Buffered reads from a socket that can skip large spans without copying them."""

    def __init__(self, sock):
        self.sock = sock
        self.pending = bytearray()
        self.scratch = bytearray(SCRATCH)
        self.view = memoryview(self.scratch)

    def fill(self):
        n = self.sock.recv_into(self.view)
        if n == 0:
            raise ConnectionError("peer closed the connection")
        self.pending += self.view[:n]

    def line(self, limit=65536):
        while True:
            end = self.pending.find(b"\r\n")
            if end >= 0:
                text = bytes(self.pending[:end])
                del self.pending[:end + 2]
                return text
            if len(self.pending) > limit:
                raise BadRequest("line too long")
            self.fill()

    def skip(self, count):
        """Discard exactly `count` bytes."""
        take = min(count, len(self.pending))
        del self.pending[:take]
        count -= take
        while count > 0:
            n = self.sock.recv_into(self.view, min(count, SCRATCH))
            if n == 0:
                raise ConnectionError(f"peer closed the connection with {count} body bytes still expected")
            count -= n


def read_head(reader):
    request_line = reader.line()
    while request_line == b"":
        request_line = reader.line()
    headers = {}
    while True:
        line = reader.line()
        if line == b"":
            return request_line, headers
        name, sep, value = line.partition(b":")
        if not sep:
            raise BadRequest(f"malformed header line {line[:80]!r}")
        key = name.strip().lower()
        value = value.strip().lower()
        headers[key] = headers[key] + b"," + value if key in headers else value


def read_body(reader, headers):
    if b"chunked" in headers.get(b"transfer-encoding", b""):
        total = 0
        while True:
            size_line = reader.line()
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while reader.line() != b"":
                    pass
                return total
            reader.skip(size)
            if reader.line() != b"":
                raise BadRequest("chunk data not followed by CRLF")
            total += size
    length = int(headers.get(b"content-length", b"0"))
    reader.skip(length)
    return length


def serve(sock):
    reader = Reader(sock)
    try:
        while True:
            request_line, headers = read_head(reader)
            if headers.get(b"expect") == b"100-continue":
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            received = read_body(reader, headers)
            body = f"received {received}\n".encode()
            close = headers.get(b"connection") == b"close"
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s"
                         % (len(body), b"Connection: close\r\n" if close else b"", body))
            if close:
                return
    except (ConnectionError, OSError):
        pass
    except (BadRequest, ValueError) as error:
        print(f"upload_sink: bad request: {error}", file=sys.stderr)
        try:
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
    finally:
        sock.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    listener = socket.create_server((args.host, args.port), backlog=128)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()


if __name__ == "__main__":
    main()
