"""The small provider interface every channel implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


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
    signing_secrets: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Receipt:
    """A successful send; ``provider_message_id`` when the provider gives one."""

    provider_message_id: str = ""


class Provider(Protocol):
    """A channel. ``send`` returns a receipt or raises a ``DeliveryError``."""

    name: ClassVar[str]

    def validate_recipient(self, recipient: str) -> str:
        """Return the normalised recipient, or raise ``ValueError`` with a reason."""
        ...

    def send(self, message: Message) -> Receipt: ...
