"""Hostile and in-between servers for the webhook tests, all real sockets on loopback.

``trickle_server``: answers one byte at a time, each well inside a per-read timeout.
``slow_reader``: takes the request body a few kilobytes at a time.
``tls_sink``: the scripted sink behind TLS, with a certificate for the names given.
``RecordingProxy``: an HTTP proxy that records what it was asked (CONNECT host:port,
or an absolute-form request line) and tunnels CONNECT to one local upstream.
"""

from __future__ import annotations

import selectors
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import trustme

from tests.sink import Sink


def read_head(conn: socket.socket) -> tuple[bytes, bytes]:
    """The request's head (up to the blank line) and whatever came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@contextmanager
def _serving(target, *args, rcvbuf: int = 0) -> Iterator[tuple[socket.socket, threading.Event]]:
    server = socket.create_server(("127.0.0.1", 0))
    if rcvbuf:  # a small receive window, inherited by the accepted connection: the sender waits on us
        server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    stop = threading.Event()
    thread = threading.Thread(target=target, args=(server, stop, *args), daemon=True)
    thread.start()
    try:
        yield server, stop
    finally:
        stop.set()
        server.close()
        thread.join(timeout=10)


def _trickle(server: socket.socket, stop: threading.Event, every: float, for_seconds: float) -> None:
    conn, _ = server.accept()
    with conn:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        waited = 0.0
        try:
            while waited < for_seconds and not stop.wait(every):  # stop: the test is over
                conn.sendall(b"a")
                waited += every
        except OSError:
            pass  # the client gave up and closed: what the test wants


@contextmanager
def trickle_server(*, every: float = 0.2, for_seconds: float = 20.0) -> Iterator[str]:
    """A receiver that sends a header byte every ``every`` seconds for ``for_seconds``."""
    with _serving(_trickle, every, for_seconds) as (server, _):
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"


def _read_slowly(server: socket.socket, stop: threading.Event, chunk: int, every: float, for_seconds: float) -> None:
    conn, _ = server.accept()
    with conn:
        read_head(conn)
        waited = 0.0
        try:
            while waited < for_seconds and not stop.wait(every):
                if not conn.recv(chunk):
                    return
                waited += every
        except OSError:
            pass


@contextmanager
def slow_reader(*, chunk: int = 4096, every: float = 0.1, for_seconds: float = 20.0) -> Iterator[str]:
    """A receiver that reads ``chunk`` bytes of the request every ``every`` seconds."""
    with _serving(_read_slowly, chunk, every, for_seconds, rcvbuf=chunk) as (server, _):
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"


def _silent(server: socket.socket, stop: threading.Event) -> None:
    conn, _ = server.accept()
    with conn:
        read_head(conn)
        stop.wait(30)


@contextmanager
def silent_server() -> Iterator[str]:
    """A receiver that accepts the connection, reads the request and never answers."""
    with _serving(_silent) as (server, _):
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"


@contextmanager
def syn_dropping_port() -> Iterator[int]:
    """A port whose listen queue is full, so the kernel drops every further SYN."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)  # takes the one queue slot
    try:
        yield port
    finally:
        filler.close()
        server.close()


@contextmanager
def tls_sink(ca: trustme.CA, *names: str) -> Iterator[Sink]:
    """The scripted sink behind TLS, with a certificate valid for ``names`` only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    sink = Sink()
    sink.server.socket = context.wrap_socket(sink.server.socket, server_side=True)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@dataclass
class Asked:
    request_line: str
    headers: dict[str, str] = field(default_factory=dict)


class RecordingProxy:
    """An HTTP proxy that records every request line; CONNECT is tunnelled to ``upstream``.

    Absolute-form requests (plain-HTTP targets) are answered by the proxy itself
    with 200 and ``X-Request-Id: via-proxy``, as a forwarding proxy would relay a
    receiver's answer.
    """

    def __init__(self, upstream: tuple[str, int] | None = None) -> None:
        self.asked: list[Asked] = []
        self.upstream = upstream
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> RecordingProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, conn: socket.socket) -> None:
        head, rest = read_head(conn)
        if not head:
            return
        first, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        self.asked.append(Asked(first, headers))
        if first.startswith("CONNECT "):
            self._tunnel(conn, rest)
            return
        length = content_length(head)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nX-Request-Id: via-proxy\r\nConnection: close\r\n\r\nproxied"
        )

    def _tunnel(self, conn: socket.socket, rest: bytes) -> None:
        if self.upstream is None:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with socket.create_connection(self.upstream, timeout=10) as upstream:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            with selectors.DefaultSelector() as selector:
                selector.register(conn, selectors.EVENT_READ, upstream)
                selector.register(upstream, selectors.EVENT_READ, conn)
                while True:
                    for key, _ in selector.select(timeout=30):
                        data = key.fileobj.recv(65536)
                        if not data:
                            return
                        key.data.sendall(data)
