"""The webhook client's network layer: one deadline per call, and the address guard at connect time.

Two promises the HTTP client alone cannot keep:

- ``WEBHOOK_TIMEOUT`` bounds a call as a whole. httpx's timeouts are per phase and
  per socket operation, so a receiver that trickles a byte every 9 s, or reads the
  request that slowly, holds a worker for as long as it likes. Here the call's
  deadline (:func:`deadline`) limits every lookup, connect, TLS handshake, read and
  write to the time left.
- The checked address is the one connected to, while connections stay pooled by
  hostname. Pinning by rewriting the URL's host to the address made httpcore pool by
  address, so a TLS connection opened for a.example could carry b.example's request
  on the same address. Here the URL keeps its hostname (pool key, SNI and ``Host``
  follow from it) and the name is resolved, checked and connected to in one step
  inside the network backend, so DNS cannot answer differently in between.

Hand-written because neither library has either hook: httpx offers no total timeout,
and httpcore resolves inside its network backend with no way to vet the address
before connecting. The seam is httpcore's ``NetworkBackend`` interface (public, and
accepted by ``httpcore.ConnectionPool``/``HTTPProxy``), wrapping ``httpcore.SyncBackend``;
``httpx.HTTPTransport`` takes no backend, so its pool is replaced (checked against
httpx 0.28.1, httpcore 1.0.9).

With a proxy (``WEBHOOK_PROXY``) every connection goes to the proxy, which is handed
the hostname (``CONNECT host:port`` or an absolute-form URL) and resolves it itself:
the guard does not apply to the proxy's own address, and the proxy must enforce the
egress rules.
"""

from __future__ import annotations

import contextlib
import ssl
import time
import typing
from collections.abc import Iterator
from contextvars import ContextVar

import httpcore
import httpx

from notifier import netguard

# httpx's own defaults for a Client, kept.
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)

# When the current call must be over (time.monotonic()); None outside a call.
_deadline: ContextVar[float | None] = ContextVar("webhook_deadline", default=None)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every network operation inside the block shares ``seconds``, in total."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _time_left(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    """httpcore's timeout for one operation, cut to what is left of the call's deadline."""
    end = _deadline.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise expired("the call's deadline (WEBHOOK_TIMEOUT) has passed")
    return left if timeout is None else min(timeout, left)


@contextlib.contextmanager
def _socket_errors(timed_out: type[Exception], failed: type[Exception]) -> Iterator[None]:
    try:
        yield
    except TimeoutError as exc:
        raise timed_out(str(exc) or "timed out") from exc
    except OSError as exc:
        raise failed(str(exc)) from exc


class DeadlineStream(httpcore.NetworkStream):
    """httpcore's socket stream, each operation limited to the time left.

    A read is one ``recv``, which returns as soon as anything arrives; so is a TLS read
    (CPython bounds one as a whole). A write is a loop of ``send`` calls, and httpcore's
    loop gives each the full timeout again; this one recomputes it before each call.
    Inside a TLS tunnel to an https proxy the inner TLS has no socket of its own, and
    httpcore's stream writes through the outer one: those writes are limited per call.
    """

    def __init__(self, inner: httpcore.NetworkStream, *, own_socket: bool = True) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket") if own_socket else None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._socket is None:
            self._inner.write(buffer, _time_left(timeout, httpcore.WriteTimeout))
            return
        view = memoryview(buffer)
        with _socket_errors(httpcore.WriteTimeout, httpcore.WriteError):
            while view:
                self._socket.settimeout(_time_left(timeout, httpcore.WriteTimeout))
                view = view[self._socket.send(view) :]

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        in_tunnel = self._inner.get_extra_info("ssl_object") is not None  # TLS to the target inside TLS to a proxy
        inner = self._inner.start_tls(ssl_context, server_hostname, _time_left(timeout, httpcore.ConnectTimeout))
        return DeadlineStream(inner, own_socket=not in_tunnel)

    def close(self) -> None:
        self._inner.close()

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """``httpcore.SyncBackend`` with the call's deadline and, when ``guard``, the address check.

    With ``guard``, ``connect_tcp`` resolves the hostname itself
    (:func:`notifier.netguard.resolve_public`: every answer must be public) and
    connects to the checked address; the lookup counts against the deadline too.
    Refusals propagate as ``ForbiddenAddress``/``Unresolvable``, for the provider to class.
    """

    def __init__(self, *, guard: bool) -> None:
        self.guard = guard
        self._sync = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        if self.guard:
            try:
                address = netguard.resolve_public(host, port, timeout=_time_left(timeout, httpcore.ConnectTimeout))
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(str(exc)) from exc
            host = str(address)
        stream = self._sync.connect_tcp(
            host, port, _time_left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise NotImplementedError("webhooks are sent over TCP")

    def sleep(self, seconds: float) -> None:
        self._sync.sleep(seconds)


class _Transport(httpx.HTTPTransport):
    """httpx's transport (request and response mapping, error mapping) over a pool
    whose connections come from ``backend``: ``HTTPTransport`` takes no network
    backend, so the pool it builds in ``_pool`` is replaced by one built the way it
    builds its own (httpx 0.28.1), with the backend."""

    def __init__(self, *, backend: httpcore.NetworkBackend, ssl_context: ssl.SSLContext, proxy: str) -> None:
        super().__init__(verify=ssl_context, trust_env=False, limits=LIMITS)
        pool_options = {
            "ssl_context": ssl_context,
            "max_connections": LIMITS.max_connections,
            "max_keepalive_connections": LIMITS.max_keepalive_connections,
            "keepalive_expiry": LIMITS.keepalive_expiry,
            "network_backend": backend,
        }
        if not proxy:
            self._pool = httpcore.ConnectionPool(**pool_options)
            return
        via = httpx.Proxy(proxy)
        self._pool = httpcore.HTTPProxy(
            proxy_url=httpcore.URL(
                scheme=via.url.raw_scheme, host=via.url.raw_host, port=via.url.port, target=via.url.raw_path
            ),
            proxy_auth=via.raw_auth,
            proxy_headers=via.headers.raw,
            proxy_ssl_context=via.ssl_context,
            **pool_options,
        )


def webhook_client(
    *, timeout: float, allow_private: bool, proxy: str = "", ssl_context: ssl.SSLContext | None = None
) -> httpx.Client:
    """The client a webhook provider keeps for its process (keep-alive connections by hostname).

    ``trust_env=False``: ``HTTP(S)_PROXY``, ``NO_PROXY`` and ``.netrc`` in a worker's
    environment do not redirect or authenticate webhooks; only ``proxy`` does. The
    certificate store still follows ``SSL_CERT_FILE``/``SSL_CERT_DIR`` as httpx's does,
    unless ``ssl_context`` is given.
    """
    backend = GuardedBackend(guard=not allow_private and not proxy)
    transport = _Transport(
        backend=backend, ssl_context=ssl_context or httpx.create_ssl_context(trust_env=True), proxy=proxy
    )
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)


def api_client(*, timeout: float, ssl_context: ssl.SSLContext | None = None) -> httpx.Client:
    """The client a provider's API keeps for its process: the same per-call deadline as
    webhooks, no address guard (a provider's base URL is the operator's, and may be a
    private address), and nothing taken from the environment."""
    transport = _Transport(
        backend=GuardedBackend(guard=False),
        ssl_context=ssl_context or httpx.create_ssl_context(trust_env=True),
        proxy="",
    )
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
