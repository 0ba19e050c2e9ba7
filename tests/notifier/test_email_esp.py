"""The email provider through django-anymail, against a real local HTTP server posing
as the ESP (Postmark's API, its URL pointed at the sink): each answer classed by status."""

from __future__ import annotations

import json
import socket
import uuid

import pytest

from notifier import Message, PermanentError, Receipt, TransientError, get_provider
from tests.sink import Reply

JSON = {"Content-Type": "application/json"}


def answer(status: int, body: dict, **headers: str) -> Reply:
    return Reply(status, {**JSON, **headers}, json.dumps(body).encode())


def postmark(settings, api_url: str, *, timeout: float = 5) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "test-token", "POSTMARK_API_URL": api_url, "REQUESTS_TIMEOUT": timeout}
    settings.DEFAULT_FROM_EMAIL = "notifier@example.com"


@pytest.fixture
def esp(settings, sink):
    postmark(settings, f"http://127.0.0.1:{sink.server.server_address[1]}/")
    return sink


@pytest.fixture
def provider():
    return get_provider("email")


def message(recipient: str = "alice@example.com") -> Message:
    return Message(id=str(uuid.uuid4()), recipient=recipient, subject="Hi", body="Shipped.")


def test_an_accepted_message_returns_the_esp_message_id(esp, provider):
    esp.then(answer(200, {"To": "alice@example.com", "MessageID": "pm-123", "ErrorCode": 0, "Message": "OK"}))

    receipt = provider.send(message())

    assert receipt == Receipt(provider_message_id="pm-123", provider="postmark")
    [request] = esp.requests
    assert request.path == "/email"
    assert request.headers["x-postmark-server-token"] == "test-token"
    assert json.loads(request.body)["To"] == "alice@example.com"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"ErrorCode": 0, "Message": "Bad request"}),
        (401, {"ErrorCode": 10, "Message": "Bad or missing Server API token."}),
        (422, {"ErrorCode": 300, "Message": "Invalid 'From' address: 'nobody'."}),
    ],
)
def test_an_esp_4xx_is_permanent(esp, provider, status, body):
    esp.then(answer(status, body))

    with pytest.raises(PermanentError, match=f"ESP HTTP {status}"):
        provider.send(message())


def test_a_rejected_recipient_is_permanent(esp, provider):
    esp.then(
        answer(
            422,
            {
                "ErrorCode": 406,
                "Message": "You tried to send to a recipient that has been marked as inactive.\n"
                "Found inactive addresses: alice@example.com.\n"
                "Inactive recipients are ones that have generated a hard bounce or a spam complaint.",
            },
        )
    )

    with pytest.raises(PermanentError, match="recipient"):
        provider.send(message())


def test_an_esp_429_is_transient_and_its_retry_after_honoured(esp, provider):
    esp.then(answer(429, {"ErrorCode": 429, "Message": "Rate limit exceeded"}, **{"Retry-After": "30"}))

    with pytest.raises(TransientError, match="ESP HTTP 429") as caught:
        provider.send(message())

    assert caught.value.retry_after == 30


@pytest.mark.parametrize("status", [500, 503])
def test_an_esp_5xx_is_transient(esp, provider, status):
    esp.then(Reply(status, {"Content-Type": "text/plain"}, b"Service Unavailable"))

    with pytest.raises(TransientError, match=f"ESP HTTP {status}") as caught:
        provider.send(message())

    assert caught.value.retry_after is None


def test_an_esp_on_a_closed_port_is_transient(settings, provider):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    postmark(settings, f"http://127.0.0.1:{port}/")

    with pytest.raises(TransientError, match="ESP unreachable"):
        provider.send(message())


def test_an_esp_slower_than_its_timeout_is_transient(settings, sink, provider):
    postmark(settings, f"http://127.0.0.1:{sink.server.server_address[1]}/", timeout=0.5)
    sink.then(Reply(200, delay=10))

    with pytest.raises(TransientError, match="ESP unreachable"):
        provider.send(message())
