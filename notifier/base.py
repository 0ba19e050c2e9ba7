"""The small provider interface every channel implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from notifier.gates import GateKeys


@dataclass(frozen=True)
class Message:
    """What a provider needs to send one notification, and nothing else.

    ``id`` doubles as the idempotency key, the same on every attempt.
    ``signing_secrets`` are the owning client's secrets, newest first.
    """

    id: str
    recipient: str
    subject: str = ""
    body: str = ""
    payload: Any = None
    # Email only: the HTML alternative beside the text ``body`` (rendered from a template).
    html: str = ""
    signing_secrets: tuple[str, ...] = field(default=(), repr=False)
    # Where the provider should report what happens next (a status callback), when the
    # service has a public URL (NOTIFY_PUBLIC_URL) and the provider a ``callback_path``.
    callback_url: str = ""


@dataclass(frozen=True)
class Receipt:
    """A successful send: ``provider_message_id`` when the provider gives one, and
    ``provider``, the service that took it (``twilio``, ``fcm``, ``smtp``, …; for email
    the fallback's name when the fallback sent it)."""

    provider_message_id: str = ""
    provider: str = ""


class Provider(Protocol):
    """A channel. ``send`` returns a receipt or raises a ``DeliveryError``."""

    name: ClassVar[str]

    def validate_recipient(self, recipient: str) -> str:
        """Return the normalised recipient, or raise ``ValueError`` with a reason."""
        ...

    def validate_content(self, *, subject: str, body: str, payload: Any) -> None:
        """Raise ``ValueError(reason, field)`` when this channel cannot carry the content (e.g.
        ``ValueError("At most 1,600 characters.", "body")`` for an SMS), so the API refuses it
        at create with a 400 naming the field."""
        ...

    def gate_keys(self, message: Message) -> GateKeys | None:
        """The breaker, host and rate this send passes (``notifier.gates``); ``None``: no gates."""
        ...

    def send(self, message: Message) -> Receipt: ...


class ProviderBase:
    """Defaults for the optional parts of :class:`Provider`."""

    # The path under NOTIFY_PUBLIC_URL where this provider's status callbacks arrive, if any.
    callback_path: ClassVar[str] = ""

    def validate_content(self, *, subject: str, body: str, payload: Any) -> None:
        return None

    def gate_keys(self, message: Message) -> GateKeys | None:
        """By default one breaker and one rate for the provider (``NOTIFY_RATE_<PROVIDER>``)."""
        provider = getattr(self, "provider", "") or self.name
        return GateKeys(breaker=f"provider:{provider}", rate=provider)
