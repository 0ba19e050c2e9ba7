"""``webhook``: a signed JSON POST, per Standard Webhooks.

Headers: ``webhook-id`` (the notification id, the same on every attempt),
``webhook-timestamp``, ``webhook-signature`` (one ``v1,…`` per secret of the
owning client, newest first), ``Idempotency-Key`` and ``User-Agent``.
Redirects are not followed. The timeout bounds the whole call, and unless private
targets are allowed every address the URL's host resolves to must be public, the
connection going to the checked address (``notifier.transport``); through a proxy,
the proxy resolves the name and must enforce that rule itself.
"""

from __future__ import annotations

import functools
import json
import ssl
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from notifier.base import Message, ProviderBase, Receipt
from notifier.errors import PermanentError, TransientError, status_error
from notifier.gates import GateKeys
from notifier.netguard import ForbiddenAddress, Unresolvable, check_host_spelling
from notifier.transport import deadline, webhook_client

# Said with every refusal of a private target, at create and at send: the operator's way out.
PRIVATE_REFUSED = "Private, loopback and link-local targets are refused unless WEBHOOK_ALLOW_PRIVATE=true."
# A receiver's answer is read up to this size: enough for an error message, and a
# small body is read whole so the keep-alive connection can be reused. A larger
# one is cut off (and its connection dropped), so a hostile receiver cannot make
# a worker buffer gigabytes.
MAX_RESPONSE_BYTES = 64 * 1024


def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return bytes(data[:limit])


# A bulk request often names one URL a thousand times: parsing it three ways each
# time was a quarter of the request's validation. The check reads only the text
# (no DNS; that happens at send time), so its answer can be kept.
@functools.lru_cache(maxsize=4096)
def _checked_url(recipient: str, allow_private: bool) -> str:
    parts = urlsplit(recipient)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Enter an http(s) URL.")
    if parts.username or parts.password:
        raise ValueError("Credentials in the URL are not allowed.")
    try:
        port = parts.port  # raises on a bad port
    except ValueError as exc:
        raise ValueError(f"Invalid port: {exc}") from exc
    if port == 0:
        raise ValueError("Invalid port: 0 is no port a receiver can listen on.")
    try:
        httpx.URL(recipient)  # what send() will parse: e.g. "01.02.03.04" passes urlsplit, not httpx
    except httpx.InvalidURL as exc:
        raise ValueError(f"Enter a valid URL: {exc}") from exc
    if not allow_private:
        try:
            check_host_spelling(parts.hostname)
        except ForbiddenAddress as exc:
            raise ValueError(f"{exc} {PRIVATE_REFUSED}") from exc
    return recipient


def sign(message_id: str, body: str, secrets: tuple[str, ...], now: datetime) -> str:
    """The ``webhook-signature`` value: one ``v1,<sig>`` per secret, space-separated."""
    # Webhook.sign() replaces tzinfo rather than converting: ``now`` must be UTC.
    return " ".join(Webhook(secret).sign(message_id, now, body) for secret in secrets)


class WebhookProvider(ProviderBase):
    name = "webhook"

    def __init__(
        self,
        *,
        timeout: float,
        allow_private: bool,
        user_agent: str,
        proxy: str = "",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``proxy``: an http(s) proxy URL every webhook goes through, or ``""``;
        ``ssl_context``: the certificates trusted, when not httpx's default store."""
        self.timeout = timeout
        self.allow_private = allow_private
        self.user_agent = user_agent
        self.proxy = proxy
        # One client per process: keep-alive connections are reused across sends.
        self.client = webhook_client(timeout=timeout, allow_private=allow_private, proxy=proxy, ssl_context=ssl_context)

    def validate_recipient(self, recipient: str) -> str:
        return _checked_url(recipient.strip(), self.allow_private)

    def send(self, message: Message) -> Receipt:
        if not message.signing_secrets:
            raise PermanentError("no signing secret for this client")
        body = json.dumps(
            message.payload if message.payload is not None else {"subject": message.subject, "body": message.body},
            separators=(",", ":"),
        )
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": self.user_agent,
            "idempotency-key": message.id,
            "webhook-id": message.id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": sign(message.id, body, message.signing_secrets, now),
        }
        url = self._url(message.recipient)
        try:
            # The guard itself runs as the connection is made (notifier.transport); a
            # proxy resolves the name on its side, so only the spelling is checked here.
            if self.proxy and not self.allow_private:
                check_host_spelling(url.host)
            with (
                deadline(self.timeout),
                self.client.stream("POST", url, content=body.encode(), headers=headers) as response,
            ):
                excerpt = _read_at_most(response, MAX_RESPONSE_BYTES)
        except ForbiddenAddress as exc:
            raise PermanentError(f"refused: {exc} {PRIVATE_REFUSED}") from exc
        except Unresolvable as exc:
            raise TransientError(str(exc)) from exc
        except httpx.TimeoutException as exc:
            raise TransientError(f"timeout: {exc!r}") from exc
        except (httpx.TransportError, OSError) as exc:
            # Includes RemoteProtocolError on a keep-alive the server just closed.
            raise TransientError(f"connection error: {exc!r}") from exc
        return self._outcome(response, excerpt)

    def gate_keys(self, message: Message) -> GateKeys | None:
        """A breaker and a concurrency cap per host (lowercased hostname and port): one
        client's slow or failing receiver holds at most ``WEBHOOK_HOST_CONCURRENCY`` workers."""
        try:
            url = httpx.URL(message.recipient)
        except httpx.InvalidURL:
            return None  # send() fails it for good
        host = f"{url.host.lower()}:{url.port or (443 if url.scheme == 'https' else 80)}"
        return GateKeys(breaker=f"host:{host}", host=host)

    @staticmethod
    def _url(recipient: str) -> httpx.URL:
        """The recipient as httpx reads it; one no receiver can be at fails for good."""
        try:
            url = httpx.URL(recipient)
        except httpx.InvalidURL as exc:
            raise PermanentError(f"invalid URL: {exc}") from exc
        if url.port == 0:  # refused at create since; a row from before would fail forever
            raise PermanentError("invalid URL: port 0")
        return url

    @staticmethod
    def _outcome(response: httpx.Response, excerpt: bytes) -> Receipt:
        status = response.status_code
        if 200 <= status < 300:
            return Receipt(provider_message_id=response.headers.get("x-request-id", ""))
        detail = f"HTTP {status}: {excerpt[:200].decode('utf-8', 'replace')}"
        raise status_error(status, detail, retry_after=response.headers.get("retry-after"))
