"""``webhook``: a signed JSON POST, per Standard Webhooks.

Headers: ``webhook-id`` (the notification id, the same on every attempt),
``webhook-timestamp``, ``webhook-signature`` (one ``v1,…`` per secret of the
owning client, newest first), ``Idempotency-Key`` and ``User-Agent``.
Redirects are not followed. Unless private targets are allowed, the URL's host
is resolved here, every answer must be public, and the connection goes to the
checked address (``Host`` and TLS SNI keep the name).
"""

from __future__ import annotations

import email.utils
import functools
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from notifier.base import Message, Receipt
from notifier.errors import PermanentError, TransientError
from notifier.netguard import ForbiddenAddress, check_host_spelling, resolve_public

TRANSIENT_STATUSES = frozenset({408, 425, 429})
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


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() alone also takes "²", which float() refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


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
        _ = parts.port  # raises on a bad port
    except ValueError as exc:
        raise ValueError(f"Invalid port: {exc}") from exc
    try:
        httpx.URL(recipient)  # what send() will parse: e.g. "01.02.03.04" passes urlsplit, not httpx
    except httpx.InvalidURL as exc:
        raise ValueError(f"Enter a valid URL: {exc}") from exc
    if not allow_private:
        try:
            check_host_spelling(parts.hostname)
        except ForbiddenAddress as exc:
            raise ValueError(f"{exc} Private, loopback and link-local targets are refused.") from exc
    return recipient


def sign(message_id: str, body: str, secrets: tuple[str, ...], now: datetime) -> str:
    """The ``webhook-signature`` value: one ``v1,<sig>`` per secret, space-separated."""
    # Webhook.sign() replaces tzinfo rather than converting: ``now`` must be UTC.
    return " ".join(Webhook(secret).sign(message_id, now, body) for secret in secrets)


class WebhookProvider:
    name = "webhook"

    def __init__(self, *, timeout: float, allow_private: bool, user_agent: str) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self.user_agent = user_agent
        # One client per process: keep-alive connections are reused across sends.
        self.client = httpx.Client(timeout=timeout, follow_redirects=False)

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
        try:
            url = httpx.URL(message.recipient)
        except httpx.InvalidURL as exc:
            raise PermanentError(f"invalid URL: {exc}") from exc
        extensions: dict = {}
        if not self.allow_private:
            url, extensions = self._pin_address(url, headers)
        try:
            with self.client.stream(
                "POST", url, content=body.encode(), headers=headers, extensions=extensions
            ) as response:
                excerpt = _read_at_most(response, MAX_RESPONSE_BYTES)
        except httpx.TimeoutException as exc:
            raise TransientError(f"timeout: {exc!r}") from exc
        except (httpx.TransportError, OSError) as exc:
            # Includes RemoteProtocolError on a keep-alive the server just closed.
            raise TransientError(f"connection error: {exc!r}") from exc
        return self._outcome(response, excerpt)

    def _pin_address(self, url: httpx.URL, headers: dict) -> tuple[httpx.URL, dict]:
        host = url.host
        try:
            address = resolve_public(host, url.port or (443 if url.scheme == "https" else 80))
        except ForbiddenAddress as exc:
            raise PermanentError(f"refused: {exc}") from exc
        except LookupError as exc:
            raise TransientError(str(exc)) from exc
        headers["host"] = url.netloc.decode("ascii")
        extensions = {"sni_hostname": host} if url.scheme == "https" else {}
        return url.copy_with(host=str(address)), extensions

    @staticmethod
    def _outcome(response: httpx.Response, excerpt: bytes) -> Receipt:
        status = response.status_code
        if 200 <= status < 300:
            return Receipt(provider_message_id=response.headers.get("x-request-id", ""))
        detail = f"HTTP {status}: {excerpt[:200].decode('utf-8', 'replace')}"
        if status in TRANSIENT_STATUSES or status >= 500:
            raise TransientError(detail, retry_after=parse_retry_after(response.headers.get("retry-after")))
        raise PermanentError(detail)
