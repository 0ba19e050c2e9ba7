"""The webhook provider as the tests build it, and the messages they send through it."""

from __future__ import annotations

import base64
import os
import ssl
import uuid

import pytest

from notifier import Message, get_provider
from notifier.webhook import WebhookProvider


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


SECRET = new_secret()


def message(recipient: str, **fields) -> Message:
    fields.setdefault("signing_secrets", (SECRET,))
    return Message(id=str(uuid.uuid4()), recipient=recipient, **fields)


@pytest.fixture
def provider(allow_private, settings):
    """The provider as a worker builds it from settings, allowed to reach the loopback sink."""
    settings.WEBHOOK_TIMEOUT = 5.0
    return get_provider("webhook")


@pytest.fixture
def make_provider():
    made: list[WebhookProvider] = []

    def make(
        *, timeout: float = 5.0, allow_private: bool = True, proxy: str = "", ssl_context: ssl.SSLContext | None = None
    ) -> WebhookProvider:
        made.append(
            WebhookProvider(
                timeout=timeout,
                allow_private=allow_private,
                proxy=proxy,
                user_agent="notifier/test",
                ssl_context=ssl_context,
            )
        )
        return made[-1]

    yield make
    for provider in made:
        provider.client.close()
