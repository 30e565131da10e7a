#!/usr/bin/env python3
"""Throws malformed and mutated HTTP/1.1 at a running Konnect and checks it never hangs or dies.

    tools/fuzz-proxy.py --port 18000 --seconds 20 --pid PID

Each case opens a connection, sends bytes (a valid request mutated, truncated, split at random
points, with random headers, chunk framing and pipelining), then reads until the proxy closes
the connection, answers a complete response, or a deadline passes. A case fails when the proxy
neither answers nor closes within the deadline while the client has sent everything it meant to
(a hang), or when the process is gone. Every 50 cases a GET of --healthy-path must still get 200.
Deterministic for a given --seed. Exits 1 on the first failure and prints the bytes that caused it.

With --plugins, the requests are well formed instead, for the routes of tools/fuzz-plugins.yaml,
and what is junk is what plugins read: header values (Cache-Control, Authorization, apikey,
Origin, templates' sources …), query arguments, JSON and form bodies, and signed JWTs with odd
claims.
"""
import argparse
import base64
import hashlib
import hmac
import json
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


PLUGIN_PATHS = ["/p/cache", "/p/rate", "/p/keys", "/p/basic", "/p/jwt", "/p/cors", "/p/transform", "/p/guards", "/p/ai"]
PLUGIN_HEADERS = [
    "Cache-Control", "Pragma", "X-V", "X-Client", "apikey", "Authorization", "Cookie", "Origin",
    "Access-Control-Request-Method", "Access-Control-Request-Headers", "X-From", "X-Old", "X-Correlation-ID",
    "User-Agent", "X-Forwarded-For", "Accept", "If-None-Match", "Content-Encoding", "X-Request-ID", "Expect",
]
METHODS = ["GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]


def b64(data, url=False):
    encoded = (base64.urlsafe_b64encode if url else base64.b64encode)(data.encode() if isinstance(data, str) else data)
    return encoded.decode().rstrip("=") if url else encoded.decode()


def token(rng):
    """A JWT: signed with the fuzz consumer's secret (so its claims are read) or not, claims odd."""
    header = rng.choice(['{"alg":"HS256","typ":"JWT"}', '{"alg":"none"}', '{"alg":"RS256","kid":"x"}', '{"alg":5}', "[]", "{"])
    claims = rng.choice([
        '{"iss":"fuzz-issuer","exp":1e300}', '{"iss":"fuzz-issuer","exp":-1e300,"nbf":1e300}',
        '{"iss":"fuzz-issuer","exp":99999999999999999999999}', '{"iss":"fuzz-issuer","exp":"soon","nbf":null}',
        '{"iss":"fuzz-issuer","exp":4102444800,"nbf":-0.5}', '{"iss":["fuzz-issuer"]}', '{"iss":5}', "null", "[1,2]",
        '{"iss":"fuzz-issuer","exp":4102444800}', '{"iss":"nobody"}', "{",
    ])
    signing = b64(header, True) + "." + b64(claims, True)
    signature = hmac.new(b"fuzz-secret", signing.encode(), hashlib.sha256).digest()
    return signing + "." + rng.choice([b64(signature, True), "", "!!", "a" * 40])


def junk(rng):
    """A header value, query value or the like that a plugin might trip over."""
    return rng.choice([
        lambda: rng.choice([
            "", "=", "==", ",", ";", "=5", " , =,", "nan", "inf", "-inf", "-1", "-0", "1e300", "1e-400", "0x10",
            "99999999999999999999999", "max-age=nan", "max-age=1e300", "max-age=-1", "no-cache=", "max-stale",
            "s-maxage=", "min-fresh=inf", "only-if-cached, max-age=0", "Basic", "Basic ", "Basic !!!", "Basic Og==",
            "Bearer", "Bearer ", "Bearer a.b.c", "Bearer ..", "%", "%zz", "%00", "\\", '"', "'", "$(headers.x-from)",
            "$(", "*", "null", "https://x.example.org", "https://.example.org", "https://app.example.com", "GET",
            "FETCH", "content-type, x-a", "127.0.0.1, 10.0.0.1", "::1", "1.2.3.4.5", "fuzz-key", "token=a.b.c",
            "curl/8", "Googlebot", "100-continue", "gzip", "\u00e9\u202e",
        ]),
        lambda: "Basic " + b64(rng.choice(["a", ":", "fuzzer:fuzz-pass", "fuzzer:", ":fuzz-pass", "\xff\xfe:x", "a" * 3000])),
        lambda: "Bearer " + token(rng),
        lambda: "token=" + token(rng),
        lambda: "".join(chr(rng.randrange(0x20, 0x7f)) for _ in range(rng.randint(0, 40))),
        lambda: rng.choice("=,;:/ ") * rng.randint(1, 2000),
    ])()


def query_value(rng):
    text = junk(rng)
    # Mostly escaped as a browser would; sometimes raw (only what a request target may hold).
    if rng.random() < 0.7:
        return "".join(c if c.isalnum() else "%%%02X" % (ord(c) & 0xFF) for c in text)
    return "".join(c for c in text if 0x21 <= ord(c) < 0x7F and c not in "#")


CHAT = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
BODIES = [
    CHAT, CHAT.replace('"hi"', "5"), CHAT.replace('"user"', '"tool"'),
    '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:,"}}]}],"max_tokens":1e300}',
    '{"messages":[],"temperature":"x","n":-1,"stream":"yes","top_p":1e400,"max_tokens":99999999999999999999}',
    '{"messages":[{"role":"user","content":"\\ud800"}],"stream":true,"stream_options":5}',
    '{"user":{"role":"x"},"secret":1,"a":{"b":{"c":[1]}}}', '{"a":5,"user":"flat"}', "[1,2,3]", "null", "1e400",
    "[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000, "apikey=fuzz-key", "apikey=%zz&apikey=&=&&",
]


def body(rng):
    # Only the chosen body is made: some are hundreds of kilobytes.
    return rng.choice([
        lambda: rng.choice(BODIES),
        lambda: CHAT[: rng.randint(0, len(CHAT))],
        lambda: "[" * rng.randint(1, 200000),
        lambda: "a=b&apikey=" + query_value(rng),
        lambda: json.dumps({"apikey": junk(rng), "messages": [{"role": junk(rng), "content": junk(rng)}]}),
    ])().encode("utf-8", "surrogatepass")


def plugin_request(rng):
    """A well-formed request to a plugin route, its values junk."""
    method = rng.choice(METHODS)
    query = "&".join(f"{rng.choice(['q', 'from', 'jwt', 'apikey', 'drop', 'u', ''])}={query_value(rng)}"
                     for _ in range(rng.randint(0, 3)))
    target = rng.choice(PLUGIN_PATHS) + rng.choice(["", "/hello.txt", "/v1/chat/completions", "/x%2Fy"]) + ("?" + query if query else "")
    lines = [f"{method} {target} HTTP/1.1", "Host: fuzz.example"]
    for name in rng.sample(PLUGIN_HEADERS, rng.randint(0, 6)):
        value = junk(rng).replace("\r", "").replace("\n", "")
        lines.append(f"{name}: {value}")
    payload = b""
    if method in ("POST", "PUT", "PATCH") or rng.random() < 0.1:
        payload = body(rng)
        content_type = rng.choice([
            "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain",
            "application/json; charset=latin1", None])
        lines.append("Content-Type: " + (content_type or junk(rng).replace("\r", "").replace("\n", "")))
        lines.append(f"Content-Length: {len(payload)}")
    if rng.random() < 0.5:
        lines.append("Connection: close")
    return "\r\n".join(lines).encode("utf-8", "surrogatepass") + b"\r\n\r\n" + payload


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
    parser.add_argument("--plugins", action="store_true", help="well-formed requests with junk values, for tools/fuzz-plugins.yaml")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    end = time.monotonic() + args.seconds
    cases = 0
    outcomes = {"closed": 0, "answered": 0}
    while time.monotonic() < end:
        if args.plugins:
            payload = plugin_request(rng)
        else:
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
