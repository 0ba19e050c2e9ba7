"""A lean HTTP/1.1 client on raw asyncio streams.

On a 2-core machine shared by everything, the load generator must cost as little
CPU as possible: requests are pre-built bytes, responses are parsed just enough
(status, headers, Content-Length or chunked body). Keep-alive is used when the
server allows it; gunicorn's sync workers close every connection, so a new one
is opened per request there, as a real client would.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any


def build_request(
    method: str, path: str, host: str, port: int, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_request(
    method: str, path: str, host: str, port: int, payload: Any = None, headers: dict[str, str] | None = None
) -> bytes:
    body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})} if payload is not None else headers
    return build_request(method, path, host, port, all_headers, body)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One HTTP/1.1 connection, re-opened when the server closes it."""

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.connects = 0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 22)
        self.connects += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> Response:
        fresh = self.writer is None
        if fresh:
            await self._open()
        try:
            return await asyncio.wait_for(self._exchange(raw), self.timeout)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if fresh:
                raise
            # A kept-alive connection the server had closed: one retry on a new one.
            await self._open()
            return await asyncio.wait_for(self._exchange(raw), self.timeout)

    async def _exchange(self, raw: bytes) -> Response:
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(part[:-2] for part in parts)
        else:
            body = await self.reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)


async def timed(conn: Connection, raw: bytes) -> tuple[float, Response]:
    """Latency in seconds (including a connect if one was needed) and the response."""
    t0 = time.perf_counter()
    response = await conn.request(raw)
    return time.perf_counter() - t0, response
