"""A real local HTTP server standing in for a client's webhook endpoint.

It records every request (arrival time, headers, body) and answers from a
script of responses, so tests see exactly what a receiver would.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    at: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int = 0  # the same port on two requests: one keep-alive connection
    status: int = 0  # what the sink answered (decided on arrival, before any delay)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds the server takes before answering (a slow receiver)


class Sink:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: deque[Reply] = deque()
        self.default = Reply()
        # When set, answers every request the script does not (e.g. "503 until t, then 200").
        self.responder: Callable[[], Reply] | None = None
        self._cond = threading.Condition()
        self._stopped = threading.Event()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle's
            # algorithm and the client's delayed ACK add ~40 ms to every answer.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with sink._cond:
                    if sink.script:
                        reply = sink.script.popleft()
                    else:
                        reply = sink.responder() if sink.responder else sink.default
                    sink.requests.append(
                        Received(
                            time.time(),
                            "POST",
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            self.client_address[1],
                            reply.status,
                        )
                    )
                    sink._cond.notify_all()
                if reply.delay:
                    sink._stopped.wait(reply.delay)  # cut short when the sink stops
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the sender went away (e.g. a killed worker)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def then(self, *replies: Reply) -> Sink:
        self.script.extend(replies)
        return self

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Block until ``count`` requests arrived (or fail after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"sink got {len(self.requests)} request(s), expected {count} within {timeout}s"
                    )
                self._cond.wait(left)
            return list(self.requests)

    def start(self) -> Sink:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self.server.shutdown()
        self.server.server_close()
