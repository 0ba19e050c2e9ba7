"""The webhook sink, run in its own process: ``python -m bench.sink [--port N]``.

A raw asyncio HTTP/1.1 server (keep-alive, no framework) that answers every POST
``200 ok`` and records the receive time (``time.time()`` when the request's bytes
arrive) of each request by its ``webhook-id`` header. A request carrying
``x-sent-at`` (the sender's ``time.time()``) also records the one-way delay from
sender to sink: the sink's own receive overhead.

Control endpoints (GET): ``/_stats`` (counts), ``/_dump`` (first receive time per
id and the number of duplicates), ``/_overhead`` (x-sent-at delays, ms), and POST
``/_reset``. It prints ``port=N`` on its first line of stdout when ready.

``--latency MS`` answers each webhook after MS milliseconds, as a real receiver
across a network would (the connection stays open meanwhile, like a provider's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

OK = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"


class State:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.first: dict[str, float] = {}
        self.requests = 0
        self.duplicates = 0
        self.overhead: list[float] = []


STATE = State()
LATENCY_S = 0.0


def _json(status: int, data: object) -> bytes:
    body = json.dumps(data).encode()
    return (
        f"HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body
    )


class SinkProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = bytearray()
        self.arrived = 0.0

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self.buffer:
            self.arrived = now
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            length = 0
            hook_id = sent_at = None
            close = False
            lines = head.split(b"\r\n")
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"webhook-id":
                    hook_id = value.strip().decode()
                elif name == b"x-sent-at":
                    sent_at = float(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            arrived, self.arrived = self.arrived, now
            method, path = lines[0].split(b" ")[:2]
            response = self.handle(method, path, hook_id, sent_at, arrived)
            if LATENCY_S and not path.startswith(b"/_"):
                asyncio.get_running_loop().call_later(LATENCY_S, self.answer, response, close)
            else:
                self.answer(response, close)
            if close:
                return

    def answer(self, response: bytes, close: bool) -> None:
        if self.transport.is_closing():
            return
        self.transport.write(response)
        if close:
            self.transport.close()

    def handle(self, method: bytes, path: bytes, hook_id: str | None, sent_at: float | None, at: float) -> bytes:
        if path.startswith(b"/_"):
            return control(method, path)
        STATE.requests += 1
        if hook_id is not None:
            if hook_id in STATE.first:
                STATE.duplicates += 1
            else:
                STATE.first[hook_id] = at
        if sent_at is not None:
            STATE.overhead.append((at - sent_at) * 1000)
        return OK


def control(method: bytes, path: bytes) -> bytes:
    if path == b"/_stats":
        return _json(200, {"requests": STATE.requests, "unique": len(STATE.first), "duplicates": STATE.duplicates})
    if path == b"/_dump":
        return _json(200, {"first": STATE.first, "requests": STATE.requests, "duplicates": STATE.duplicates})
    if path == b"/_overhead":
        return _json(200, {"ms": STATE.overhead})
    if path == b"/_reset" and method == b"POST":
        STATE.reset()
        return _json(200, {"reset": True})
    return _json(404, {"error": "unknown"})


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(SinkProtocol, "127.0.0.1", port, backlog=1024)
    print(f"port={server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="milliseconds before each webhook is answered")
    args = parser.parse_args()
    global LATENCY_S
    LATENCY_S = args.latency / 1000
    try:
        asyncio.run(serve(args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
