#!/usr/bin/env python3
"""Time to first token through AI gateways, for bench/ai-bench.sh (standard library only).

  ttft.py serve --port P [--interval-ms 10]
      A provider that streams an OpenAI chat completion slowly: the role and the first word at
      once, then one word every interval. A gateway that buffers the stream shows a first token
      as late as the last one.

  ttft.py measure --requests N NAME=URL=BODY_FILE ...
      Sends N streamed chat requests to each target in turn, one at a time over one keep-alive
      connection, and prints, per target, the median and 99th percentile of the time from sending
      the request to reading the first chunk that carries content, and of the whole stream.
"""
import argparse
import asyncio
import http.client
import json
import statistics
import sys
import time
import urllib.parse

WORDS = ["The", " capital", " of", " France", " is", " Paris."]


def chunk(delta, finish=None, usage=None):
    body = {
        "id": "chatcmpl-slow", "object": "chat.completion.chunk", "created": 1760000000, "model": "bench-model",
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def http_chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


async def serve_connection(reader, writer, interval):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            writer.write(http_chunk(chunk({"role": "assistant", "content": ""}) + chunk({"content": WORDS[0]})))
            await writer.drain()
            for word in WORDS[1:]:
                await asyncio.sleep(interval)
                writer.write(http_chunk(chunk({"content": word})))
                await writer.drain()
            tail = chunk({}, finish="stop") + chunk(None, usage={"prompt_tokens": 14, "completion_tokens": 6,
                                                                  "total_tokens": 20}) + b"data: [DONE]\n\n"
            writer.write(http_chunk(tail) + b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def serve(arguments):
    async def main():
        server = await asyncio.start_server(
            lambda r, w: serve_connection(r, w, arguments.interval_ms / 1000), "127.0.0.1", arguments.port)
        async with server:
            await server.serve_forever()
    asyncio.run(main())


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def measure_target(url, body, requests):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer bench-key"}
    firsts, wholes = [], []
    for index in range(requests + 5):  # the first five warm the connection and the gateway up
        start = time.perf_counter()
        connection.request("POST", parts.path, body=body, headers=headers)
        response = connection.getresponse()
        if response.status != 200:
            raise SystemExit(f"{url}: status {response.status}: {response.read()[:300]!r}")
        first = None
        while True:
            line = response.readline()
            if not line:
                break
            if first is None and line.startswith(b"data: {") and b'"content":"' in line and b'"content":""' not in line:
                first = time.perf_counter()
        end = time.perf_counter()
        if first is None:
            raise SystemExit(f"{url}: no chunk carried content")
        if index >= 5:
            firsts.append((first - start) * 1000)
            wholes.append((end - start) * 1000)
    connection.close()
    return firsts, wholes


def measure(arguments):
    print("| target | first token p50 ms | first token p99 ms | whole stream p50 ms | whole stream p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for target in arguments.targets:
        name, url, body_file = target.split("=", 2)
        with open(body_file, "rb") as file:
            body = file.read()
        firsts, wholes = measure_target(url, body, arguments.requests)
        print(f"| {name} | {statistics.median(firsts):.2f} | {percentile(firsts, 0.99):.2f} "
              f"| {statistics.median(wholes):.2f} | {percentile(wholes, 0.99):.2f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve")
    serve_parser.add_argument("--port", type=int, required=True)
    serve_parser.add_argument("--interval-ms", type=float, default=10)
    measure_parser = commands.add_parser("measure")
    measure_parser.add_argument("--requests", type=int, default=200)
    measure_parser.add_argument("targets", nargs="+")
    arguments = parser.parse_args()
    serve(arguments) if arguments.command == "serve" else measure(arguments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
