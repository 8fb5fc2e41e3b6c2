#!/usr/bin/env python3
"""A fault-injecting TCP proxy (for PostgreSQL, which an HTTP proxy cannot stand in front of).

    tcp_fault_proxy.py --listen-port P --upstream-port Q --control-port C

Forwards every connection to 127.0.0.1:Q. `POST /` on the control port with a JSON body switches:
    {"mode": "pass"}     forward (the default)
    {"mode": "stall"}    hold every byte in both directions, new connections included (a database
                         host that stops answering without closing anything)
    {"reset": 1}         cut every open connection now with a reset (a crashed database or a
                         failed-over address); new connections pass
`GET /` answers the counters: {"mode", "connections", "resets"}. Binds 127.0.0.1 only.
"""
import argparse
import asyncio
import json
import socket
import struct

STATE = {"mode": "pass", "connections": 0, "resets": 0}
OPEN = set()
RESUMED = None  # an asyncio.Event set while the mode is "pass"


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await RESUMED.wait()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(client_reader, client_writer, upstream_port):
    STATE["connections"] += 1
    await RESUMED.wait()
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    except OSError:
        client_writer.close()
        return
    pair = (client_writer, upstream_writer)
    OPEN.add(pair)
    try:
        await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))
    finally:
        OPEN.discard(pair)


def reset_all():
    for pair in list(OPEN):
        for writer in pair:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            writer.transport.abort()
    OPEN.clear()
    STATE["resets"] += 1


async def control(reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await reader.readexactly(length) if length else b""
    if head.startswith(b"POST"):
        change = json.loads(body or b"{}")
        if change.get("reset"):
            reset_all()
        if "mode" in change:
            STATE["mode"] = change["mode"]
            RESUMED.set() if change["mode"] == "pass" else RESUMED.clear()
    payload = json.dumps(STATE).encode()
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                 b"Connection: close\r\n\r\n" % len(payload) + payload)
    await writer.drain()
    writer.close()


async def main(args):
    global RESUMED
    RESUMED = asyncio.Event()
    RESUMED.set()
    proxy = await asyncio.start_server(
        lambda r, w: handle(r, w, args.upstream_port), "127.0.0.1", args.listen_port)
    controller = await asyncio.start_server(control, "127.0.0.1", args.control_port)
    async with proxy, controller:
        await asyncio.gather(proxy.serve_forever(), controller.serve_forever())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen-port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    asyncio.run(main(parser.parse_args()))
