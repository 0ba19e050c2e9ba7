"""Real local HTTP servers for the tests: ``LocalHttpServer``, the one scripted, recording
server on loopback that every stand-in is built on, and ``Sink``, a client's webhook endpoint.

The server records every request (arrival time, headers, body, client port, the status it
answered) and a subclass decides each answer in ``reply_to``, so tests see exactly what a
receiver would. The fakes of tests/fakes/ (Twilio, Telegram, Slack, FCM and Expo) are the
same server with other answers.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs


@dataclass
class Received:
    """What the server received."""

    at: float
    method: str
    path: str
    headers: dict[str, str]  # names lowercased
    body: bytes
    client_port: int = 0  # the same port on two requests: one keep-alive connection
    status: int = 0  # what the server answered (decided on arrival, before any delay)
    route: str = ""  # which of its services a server with several took it for

    def form(self) -> dict[str, str]:
        return {name: values[-1] for name, values in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def json(self) -> Any:
        return json.loads(self.body)

    def basic_auth(self) -> tuple[str, str] | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user, password


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds the server takes before answering (a slow receiver)


class LocalHttpServer:
    """A scripted, recording HTTP server on 127.0.0.1, started in a daemon thread.

    ``start()``/``stop()`` or a ``with`` block; ``requests`` and ``wait_for`` show what came.
    Subclasses answer in ``reply_to``, called on arrival under the lock that records.
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._cond = threading.Condition()
        self._stopped = threading.Event()
        self.server = _Server(self)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reply_to(self, request: Received) -> Reply:
        """The answer to ``request``; a subclass may also note on it what it made of it (``route``)."""
        raise NotImplementedError

    def wait_for(
        self, count: int, timeout: float = 30.0, where: Callable[[Received], bool] | None = None
    ) -> list[Received]:
        """The requests (those ``where`` accepts), once ``count`` have arrived; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(found := [r for r in self.requests if where is None or where(r)]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{type(self).__name__} got {len(found)} request(s), expected {count} within {timeout}s"
                    )
                self._cond.wait(left)
            return found

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()  # cuts short the delays still running
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _receive(self, request: Received) -> Reply:
        with self._cond:
            reply = self.reply_to(request)
            request.status = reply.status
            self.requests.append(request)
            self._cond.notify_all()
        return reply


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK add ~40 ms to every answer.
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        owner = self.server.owner
        reply = owner._receive(Received(time.time(), "POST", self.path, headers, body, self.client_address[1]))
        if reply.delay:
            owner._stopped.wait(reply.delay)  # cut short when the server stops
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the sender went away (e.g. a killed worker)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: LocalHttpServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner


class Sink(LocalHttpServer):
    """A client's webhook endpoint (``url`` ends in ``/hook``): it answers from ``script``
    first, then ``responder()`` when set (e.g. "503 until t, then 200"), else ``default``."""

    def __init__(self) -> None:
        super().__init__()
        self.script: deque[Reply] = deque()
        self.default = Reply()
        self.responder: Callable[[], Reply] | None = None

    @property
    def url(self) -> str:
        return f"{super().url}/hook"

    def then(self, *replies: Reply) -> Self:
        with self._cond:
            self.script.extend(replies)
        return self

    def reply_to(self, request: Received) -> Reply:
        if self.script:
            return self.script.popleft()
        return self.responder() if self.responder else self.default
