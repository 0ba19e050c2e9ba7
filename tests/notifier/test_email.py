"""The email provider against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import socket
import uuid

import pytest

from notifier import Message, PermanentError, Receipt, TransientError, get_provider
from tests.smtp import LoopbackController, Recorder


@pytest.fixture
def smtp(settings):
    """A real SMTP server that Django's SMTP backend sends to."""
    recorder = Recorder()
    controller = LoopbackController(recorder)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "notifier@example.com"
    yield recorder
    controller.stop()


@pytest.fixture
def provider():
    return get_provider("email")


def message(**fields) -> Message:
    fields.setdefault("recipient", "alice@example.com")
    return Message(id=str(uuid.uuid4()), **fields)


def test_a_sent_message_arrives_with_subject_body_and_headers(smtp, provider):
    msg = message(recipient="alice@example.com", subject="Your order ✓", body="Shipped today.\nThanks!")

    receipt = provider.send(msg)

    assert isinstance(receipt, Receipt)
    [received] = smtp.messages
    assert smtp.envelopes == [("notifier@example.com", ["alice@example.com"])]
    assert received["Subject"] == "Your order ✓"
    assert received["To"] == "alice@example.com"
    assert received["From"] == "notifier@example.com"
    assert msg.id in received["Message-ID"]
    assert received["Idempotency-Key"] == msg.id
    assert received.get_content().splitlines() == ["Shipped today.", "Thanks!"]


def test_the_receipt_names_smtp_and_the_message_id_it_set(smtp, provider):
    msg = message()

    receipt = provider.send(msg)

    assert receipt == Receipt(provider_message_id=f"<{msg.id}@notifier>", provider="smtp")
    assert smtp.messages[0]["Message-ID"] == receipt.provider_message_id


def test_the_console_backend_is_named_console(settings, provider):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    assert provider.send(message()).provider == "console"


def test_each_notification_gets_its_own_message_id(smtp, provider):
    first, second = message(body="1"), message(body="2")
    provider.send(first)
    provider.send(second)

    ids = [received["Message-ID"] for received in smtp.messages]
    assert len(ids) == 2
    assert first.id in ids[0]
    assert second.id in ids[1]


@pytest.mark.parametrize(
    ("stage", "reply"),
    [
        ("RCPT", "450 4.2.1 Mailbox busy, try later"),
        ("RCPT", "451 4.3.0 Local error in processing"),
        ("DATA", "451 4.3.0 Local error in processing"),
        ("DATA", "452 4.3.1 Insufficient system storage"),
        ("MAIL", "421 4.3.2 Service not available"),
    ],
)
def test_smtp_4xx_is_transient(smtp, provider, stage, reply):
    smtp.replies[stage] = reply

    with pytest.raises(TransientError, match=reply[:3]):
        provider.send(message())

    assert smtp.messages == []


@pytest.mark.parametrize(
    ("stage", "reply"),
    [
        ("RCPT", "550 5.1.1 No such user"),
        ("RCPT", "554 5.7.1 Relay access denied"),
        ("DATA", "554 5.6.0 Message rejected"),
        ("DATA", "552 5.3.4 Message too big"),
        ("MAIL", "550 5.7.1 Sender refused"),
    ],
)
def test_smtp_5xx_is_permanent(smtp, provider, stage, reply):
    smtp.replies[stage] = reply

    with pytest.raises(PermanentError, match=reply[:3]):
        provider.send(message())

    assert smtp.messages == []


def test_a_server_that_recovers_takes_the_retry(smtp, provider):
    msg = message(subject="again")
    smtp.replies["RCPT"] = "450 try later"
    with pytest.raises(TransientError):
        provider.send(msg)

    del smtp.replies["RCPT"]
    provider.send(msg)

    [received] = smtp.messages
    assert msg.id in received["Message-ID"]


def test_a_closed_port_is_transient(settings, provider):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port

    with pytest.raises(TransientError, match="connection error"):
        provider.send(message())


@pytest.mark.parametrize(
    "recipient",
    [
        "",
        "   ",
        "not-an-email",
        "alice@",
        "@example.com",
        "alice example@example.com",
        "alice@example.com\nBcc: mallory@example.com",
        "alice@example.com, mallory@example.com",
        "<alice@example.com>",
    ],
)
def test_validate_recipient_refuses_bad_addresses(provider, recipient):
    with pytest.raises(ValueError, match="valid email"):
        provider.validate_recipient(recipient)


def test_validate_recipient_accepts_and_trims_an_address(provider):
    assert provider.validate_recipient("  alice+tag@example.com ") == "alice+tag@example.com"
