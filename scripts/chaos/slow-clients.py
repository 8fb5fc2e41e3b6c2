#!/usr/bin/env python3
"""Slow and vanishing clients against a running `ferry serve` (issue 24, item 5; RELIABILITY.md).

While SLOW connections trickle a request head (slowloris) and IDLE connections sit on a
keep-alive, REQUESTS normal downloads of FILE_ID are timed; then VANISH uploads are cut mid-body
(the client resets the connection). Prints one JSON object: latencies of the normal requests,
their errors, and the server's open file descriptors and RSS before, and after everything has
closed. Bounded: every phase has a deadline. Example (the long form of RELIABILITY.md):

  scripts/chaos/slow-clients.py --url http://127.0.0.1:8080 --token T --file-id ID --pid PID \
      --slow 1000 --idle 1000 --requests 20000 --vanish 10000
"""
import argparse
import asyncio
import json
import os
import socket
import struct
import time


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def hold(reader, writer, stop, trickle):
    """Keeps a connection until the server closes it (or answers: a trickled head gets nothing
    else) or we stop; a trickle sends one more byte of head each second."""
    outcome = "open"
    while not stop.is_set():
        try:
            if trickle:
                writer.write(b"X")
                await writer.drain()
            data = await asyncio.wait_for(reader.read(1), timeout=1.0)
            if data == b"" or trickle:
                outcome = "closed by server"
                break
        except asyncio.TimeoutError:
            continue
        except (ConnectionError, OSError):
            outcome = "closed by server"
            break
    writer.close()
    return outcome


async def trickle(host, port, stop):
    """A head that never ends: one byte a second until the server closes or we stop."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return "refused"
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    return await hold(reader, writer, stop, trickle=True)


async def idle(host, port, stop):
    """One answered request, then nothing on the keep-alive."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        return "failed"
    return await hold(reader, writer, stop, trickle=False)


async def download(host, port, path, token):
    """One GET on a fresh connection; (seconds, status)."""
    started = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=30)
        writer.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    except (OSError, asyncio.TimeoutError, ValueError, IndexError):
        status = 0
    return time.monotonic() - started, status


async def vanish(host, port, token, size):
    """An upload cut mid-body with a reset."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            (
                f"POST /v1/files?name=vanished.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
            ).encode()
        )
        writer.write(b"v" * (size // 4))
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    except OSError:
        pass


async def bounded(tasks, concurrency):
    semaphore = asyncio.Semaphore(concurrency)

    async def run(factory):
        async with semaphore:
            return await factory()

    return await asyncio.gather(*(run(t) for t in tasks))


async def main(args):
    host, port = args.url.replace("http://", "").split(":")
    port = int(port)
    stop = asyncio.Event()
    result = {"fds_before": fds(args.pid), "rss_kib_before": rss_kib(args.pid)}
    background = [asyncio.create_task(trickle(host, port, stop)) for _ in range(args.slow)]
    background += [asyncio.create_task(idle(host, port, stop)) for _ in range(args.idle)]
    # Wait (bounded) until the server holds most of them: on a busy machine accepting 400
    # connections takes longer than any fixed pause.
    target = result["fds_before"] + (args.slow + args.idle) * 7 // 8
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and fds(args.pid) < target:
        await asyncio.sleep(0.1)
    result["fds_with_slow_clients"] = fds(args.pid)
    path = f"/v1/files/{args.file_id}/content"
    timings = await bounded(
        [lambda: download(host, port, path, args.token) for _ in range(args.requests)], args.concurrency
    )
    latencies = sorted(t for t, _ in timings)
    result["requests"] = len(timings)
    result["errors"] = sum(1 for _, status in timings if status != 200)
    result["p50"] = latencies[len(latencies) // 2]
    result["p99"] = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    result["max"] = latencies[-1]
    await bounded([lambda: vanish(host, port, args.token, args.vanish_bytes) for _ in range(args.vanish)], 16)
    result["vanished"] = args.vanish
    stop.set()
    outcomes = await asyncio.gather(*background)
    result["slow_or_idle_closed_by_server"] = sum(1 for o in outcomes if o == "closed by server")
    deadline = time.monotonic() + args.settle
    while time.monotonic() < deadline and fds(args.pid) > result["fds_before"] + 4:
        await asyncio.sleep(0.5)
    result["fds_after"] = fds(args.pid)
    result["rss_kib_after"] = rss_kib(args.pid)
    print(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--file-id", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--vanish", type=int, default=500)
    parser.add_argument("--vanish-bytes", type=int, default=256 * 1024)
    parser.add_argument("--settle", type=float, default=60)
    asyncio.run(main(parser.parse_args()))
