"""The two outcomes a provider may raise besides success, and how an HTTP answer maps to them."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC

# Besides every 5xx: Request Timeout, Too Early, Too Many Requests.
TRANSIENT_STATUSES = frozenset({408, 425, 429})


class DeliveryError(Exception):
    """A send that did not succeed; ``provider`` names the service that said so, when known."""

    provider: str = ""


class TransientError(DeliveryError):
    """Worth retrying: timeouts, connection errors, 408/425/429/5xx, SMTP 4xx.

    ``retry_after`` is the provider's own hint in seconds (``Retry-After``), if any.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """Retrying cannot help: other 4xx, SMTP 5xx, a refused private address."""


class DeadToken(PermanentError):
    """A push token the push service says will never work again (FCM ``UNREGISTERED``, Expo
    ``DeviceNotRegistered``): the send failed for good, and the token should be forgotten."""

    def __init__(self, message: str, *, token: str, provider: str) -> None:
        super().__init__(message)
        self.token = token
        self.provider = provider


class UnknownChannel(PermanentError):
    """No provider is configured for the channel: retrying cannot help.

    Raised by the registry itself, so a ``KeyError`` from inside a provider's
    own code is not mistaken for it (that one is a bug, and is retried).
    """

    def __init__(self, channel: str) -> None:
        super().__init__(f"no provider for channel {channel!r}")
        self.channel = channel


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


def status_error(status: int, detail: str, *, retry_after: str | None = None) -> DeliveryError:
    """The outcome of an HTTP error answer, the same for a webhook receiver and an ESP's API:
    408, 425, 429 and 5xx are worth retrying (after ``retry_after``, the raw ``Retry-After``
    header, when it parses); any other answer will be the same next time."""
    if status in TRANSIENT_STATUSES or status >= 500:
        return TransientError(detail, retry_after=parse_retry_after(retry_after))
    return PermanentError(detail)
