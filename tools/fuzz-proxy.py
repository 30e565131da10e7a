#!/usr/bin/env python3
"""Throws malformed and mutated HTTP/1.1 at a running Konnect and checks it never hangs or dies.

    tools/fuzz-proxy.py --port 18000 --seconds 20 --pid PID

Each case opens a connection, sends bytes (a valid request mutated, truncated, split at random
points, with random headers, chunk framing and pipelining), then reads until the proxy closes
the connection, answers a complete response, or a deadline passes. A case fails when the proxy
neither answers nor closes within the deadline while the client has sent everything it meant to
(a hang), or when the process is gone. Every 50 cases a GET of --healthy-path must still get 200.
Deterministic for a given --seed. Exits 1 on the first failure and prints the bytes that caused it.
"""
import argparse
import os
import random
import socket
import sys
import time

BASE_REQUESTS = [
    b"GET /echo/a?b=c HTTP/1.1\r\nHost: example.com\r\nUser-Agent: fuzz\r\n\r\n",
    b"POST /echo/up HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /echo/up HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
    b"HEAD /echo HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"GET /echo HTTP/1.0\r\n\r\n",
    b"PUT /echo/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
]
INTERESTING = [
    b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b"\x00", b"\x7f", b"\xff", b"0", b"-1",
    b"Transfer-Encoding: chunked\r\n", b"Content-Length: 99999999999999999999\r\n",
    b"Content-Length: 3\r\nContent-Length: 4\r\n", b"Host: a\r\nHost: b\r\n", b"ffffffffffffffff\r\n",
    b"HTTP/1.1", b"HTTP/2.0", b"%", b"%2e%2e/", b"/../", b"Connection: close\r\n", b";ext=1",
    b"Transfer-Encoding: gzip, chunked\r\n", b" chunked", b"X: " + b"a" * 9000 + b"\r\n",
]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        position = rng.randint(0, len(data))
        if choice < 0.25 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.45:
            data[position:position] = rng.choice(INTERESTING)
        elif choice < 0.6 and data:
            del data[position:position + rng.randint(1, 8)]
        elif choice < 0.75:
            data = data[:position]
        elif choice < 0.9:
            data += rng.choice(BASE_REQUESTS)  # pipelining
        else:
            data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
    return bytes(data)


def exchange(port, payload, rng, deadline_seconds):
    """Sends payload in random pieces; returns 'closed', 'answered' or 'hang'."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=deadline_seconds)
    try:
        offset = 0
        while offset < len(payload):
            size = rng.randint(1, max(1, len(payload) - offset))
            try:
                sock.sendall(payload[offset:offset + size])
            except (BrokenPipeError, ConnectionResetError):
                return "closed"
            offset += size
        # Tell the proxy nothing more is coming from this client's side.
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return "closed"
        end = time.monotonic() + deadline_seconds
        received = b""
        while time.monotonic() < end:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                return "answered" if received.startswith(b"HTTP/1.") else "closed"
            if not chunk:
                return "answered" if received.startswith(b"HTTP/1.") else "closed"
            received += chunk
        # Still open at the deadline: fine only if a response arrived (a keep-alive connection).
        return "answered" if received.startswith(b"HTTP/1.") else "hang"
    finally:
        sock.close()


def healthy(port, path):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.startswith(b"HTTP/1.1 200")
    finally:
        sock.close()


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--healthy-path", default="/echo/hello.txt", help="a path that must keep answering 200")
    parser.add_argument("--deadline", type=float, default=8, help="seconds a case may take after sending")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    end = time.monotonic() + args.seconds
    cases = 0
    outcomes = {"closed": 0, "answered": 0}
    while time.monotonic() < end:
        base = rng.choice(BASE_REQUESTS)
        payload = mutate(rng, base) if rng.random() < 0.9 else bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
        result = exchange(args.port, payload, rng, args.deadline)
        cases += 1
        if result == "hang" or not alive(args.pid):
            print(f"fuzz: FAILED after {cases} cases ({'process gone' if not alive(args.pid) else 'no answer, no close'})")
            print(f"fuzz: payload {payload!r}")
            return 1
        outcomes[result] += 1
        if cases % 50 == 0 and not healthy(args.port, args.healthy_path):
            print(f"fuzz: FAILED: a well-formed request stopped working after {cases} cases")
            return 1
    if not healthy(args.port, args.healthy_path):
        print("fuzz: FAILED: a well-formed request does not work after the run")
        return 1
    print(f"fuzz: {cases} cases in {args.seconds:.0f}s (seed {args.seed}): "
          f"{outcomes['answered']} answered, {outcomes['closed']} closed, no hang, still serving")
    return 0


if __name__ == "__main__":
    sys.exit(main())
