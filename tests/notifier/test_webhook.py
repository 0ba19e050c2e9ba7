"""The webhook provider against a real local HTTP server, checked as a receiver would."""

from __future__ import annotations

import base64
import email.utils
import json
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

import notifier
from notifier import Message, PermanentError, Receipt, TransientError, get_provider
from notifier.webhook import WebhookProvider, parse_retry_after
from tests.notifier.test_netguard import find_loopback_hostname
from tests.sink import Reply, Sink


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


SECRET = new_secret()


def message(recipient: str, **fields) -> Message:
    fields.setdefault("signing_secrets", (SECRET,))
    return Message(id=str(uuid.uuid4()), recipient=recipient, **fields)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def provider(allow_private, settings):
    """The provider as a worker builds it from settings, allowed to reach the loopback sink."""
    settings.WEBHOOK_TIMEOUT = 5.0
    return get_provider("webhook")


@pytest.fixture
def make_provider():
    made: list[WebhookProvider] = []

    def make(*, timeout: float = 5.0, allow_private: bool = True) -> WebhookProvider:
        made.append(WebhookProvider(timeout=timeout, allow_private=allow_private, user_agent="notifier/test"))
        return made[-1]

    yield make
    for provider in made:
        provider.client.close()


@pytest.fixture
def other_sink():
    server = Sink().start()
    yield server
    server.stop()


@pytest.fixture
def hangup_url():
    """A server that reads the request and closes the connection without answering."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve_one() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    server.close()


# --- what a receiver gets ------------------------------------------------------


def test_payload_is_posted_as_signed_json_with_the_contract_headers(provider, sink):
    msg = message(sink.url, subject="ignored", body="ignored", payload={"order": 42, "items": ["a", "ü"]})

    receipt = provider.send(msg)

    assert isinstance(receipt, Receipt)
    [received] = sink.wait_for(1)
    assert received.method == "POST"
    assert received.path == "/hook"
    assert received.headers["content-type"] == "application/json"
    assert json.loads(received.body) == {"order": 42, "items": ["a", "ü"]}
    assert received.headers["webhook-id"] == msg.id
    assert received.headers["idempotency-key"] == msg.id
    assert received.headers["user-agent"] == f"notifier/{notifier.__version__}"
    assert 0 <= received.at - int(received.headers["webhook-timestamp"]) < 5
    assert Webhook(SECRET).verify(received.body, received.headers) == {"order": 42, "items": ["a", "ü"]}


def test_without_payload_subject_and_body_are_posted(provider, sink):
    provider.send(message(sink.url, subject="Hello", body="It is time."))

    [received] = sink.wait_for(1)
    assert Webhook(SECRET).verify(received.body, received.headers) == {"subject": "Hello", "body": "It is time."}


@pytest.mark.parametrize("payload", [{}, [1, 2], "text", 0, False])
def test_a_falsy_or_non_object_payload_is_posted_as_given(provider, sink, payload):
    provider.send(message(sink.url, subject="s", body="b", payload=payload))

    [received] = sink.wait_for(1)
    assert Webhook(SECRET).verify(received.body, received.headers) == payload


def test_every_attempt_carries_the_same_id_and_a_fresh_valid_signature(provider, sink):
    sink.then(Reply(503))
    msg = message(sink.url, payload={"n": 1})

    with pytest.raises(TransientError):
        provider.send(msg)
    provider.send(msg)

    first, second = sink.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == msg.id
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == msg.id
    for received in (first, second):
        Webhook(SECRET).verify(received.body, received.headers)


def test_another_clients_secret_does_not_verify(provider, sink):
    alice_secret, bob_secret = new_secret(), new_secret()
    provider.send(message(sink.url, payload={"for": "alice"}, signing_secrets=(alice_secret,)))

    [received] = sink.wait_for(1)
    Webhook(alice_secret).verify(received.body, received.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(bob_secret).verify(received.body, received.headers)


def test_during_a_rotation_both_secrets_sign_and_either_verifies(provider, sink):
    new, old = new_secret(), new_secret()
    provider.send(message(sink.url, payload={"rotating": True}, signing_secrets=(new, old)))

    [received] = sink.wait_for(1)
    signatures = received.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(signature.startswith("v1,") for signature in signatures)
    assert Webhook(new).verify(received.body, received.headers) == {"rotating": True}
    assert Webhook(old).verify(received.body, received.headers) == {"rotating": True}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(received.body, received.headers)


def test_without_a_signing_secret_nothing_is_sent(provider, sink):
    with pytest.raises(PermanentError, match="no signing secret"):
        provider.send(message(sink.url, payload={}, signing_secrets=()))
    assert sink.requests == []


# --- how answers are classed ---------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_sent(provider, sink, status):
    sink.then(Reply(status, {"X-Request-Id": "rcv-123"}, b"" if status == 204 else b"ok"))

    receipt = provider.send(message(sink.url, payload={}))

    assert receipt == Receipt(provider_message_id="rcv-123")


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_transient(provider, sink, status):
    sink.then(Reply(status))

    with pytest.raises(TransientError, match=f"HTTP {status}") as caught:
        provider.send(message(sink.url, payload={}))

    assert caught.value.retry_after is None
    assert len(sink.requests) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_honoured(provider, sink, status):
    sink.then(Reply(status, {"Retry-After": "7"}))

    with pytest.raises(TransientError) as caught:
        provider.send(message(sink.url, payload={}))

    assert caught.value.retry_after == 7


def test_retry_after_as_an_http_date_is_honoured(provider, sink):
    when = datetime.now(UTC) + timedelta(seconds=120)
    sink.then(Reply(503, {"Retry-After": email.utils.format_datetime(when, usegmt=True)}))

    with pytest.raises(TransientError) as caught:
        provider.send(message(sink.url, payload={}))

    assert 110 <= caught.value.retry_after <= 120


@pytest.mark.parametrize("value", ["soon", "-5", "²"])
def test_a_malformed_retry_after_is_ignored_not_fatal(provider, sink, value):
    sink.then(Reply(503, {"Retry-After": value}))

    with pytest.raises(TransientError) as caught:
        provider.send(message(sink.url, payload={}))

    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 410, 413, 422])
def test_other_4xx_are_permanent(provider, sink, status):
    sink.then(Reply(status, {"Retry-After": "5"}))

    with pytest.raises(PermanentError, match=f"HTTP {status}"):
        provider.send(message(sink.url, payload={}))

    assert len(sink.requests) == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed_and_are_permanent(provider, sink, other_sink, status):
    sink.then(Reply(status, {"Location": other_sink.url}))

    with pytest.raises(PermanentError, match=f"HTTP {status}"):
        provider.send(message(sink.url, payload={"secret": "data"}))

    assert len(sink.requests) == 1
    assert other_sink.requests == []


def test_connection_refused_is_transient(provider):
    with pytest.raises(TransientError, match="connection error"):
        provider.send(message(f"http://127.0.0.1:{closed_port()}/hook", payload={}))


def test_a_server_that_hangs_up_without_answering_is_transient(provider, hangup_url):
    with pytest.raises(TransientError, match="connection error"):
        provider.send(message(hangup_url, payload={}))


def test_a_server_slower_than_the_timeout_is_transient(make_provider, sink):
    provider = make_provider(timeout=0.2)
    sink.then(Reply(200, delay=10))

    started = time.monotonic()
    with pytest.raises(TransientError, match="timeout"):
        provider.send(message(sink.url, payload={}))

    assert time.monotonic() - started < 3
    assert len(sink.requests) == 1  # it arrived; the answer came too late


# --- the send-time guard against private targets --------------------------------


@pytest.fixture
def guarded(settings):
    """The provider as production builds it: private targets refused."""
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.WEBHOOK_TIMEOUT = 5.0
    return get_provider("webhook")


def test_a_loopback_target_is_refused_at_send_time_and_receives_nothing(guarded, sink):
    with pytest.raises(PermanentError, match="refused"):
        guarded.send(message(sink.url, payload={"leak": True}))
    assert sink.requests == []


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "[::ffff:127.0.0.1]", "localhost"])
def test_odd_spellings_of_loopback_are_refused_at_send_time(guarded, sink, host):
    port = sink.server.server_address[1]

    with pytest.raises(PermanentError):
        guarded.send(message(f"http://{host}:{port}/hook", payload={}))

    assert sink.requests == []


def test_a_name_resolving_to_loopback_is_refused_at_send_time(guarded, sink):
    name = find_loopback_hostname()
    port = sink.server.server_address[1]
    assert guarded.validate_recipient(f"http://{name}:{port}/hook")  # its spelling passes at create ...

    with pytest.raises(PermanentError, match="non-public"):
        guarded.send(message(f"http://{name}:{port}/hook", payload={}))  # ... its address does not at send

    assert sink.requests == []


def test_the_same_name_is_delivered_when_private_targets_are_allowed(make_provider, sink):
    name = find_loopback_hostname()
    port = sink.server.server_address[1]

    make_provider(allow_private=True).send(message(f"http://{name}:{port}/hook", payload={"ok": 1}))

    [received] = sink.wait_for(1)
    assert received.headers["host"] == f"{name}:{port}"


def test_an_unresolvable_target_is_transient(guarded):
    with pytest.raises(TransientError, match="cannot resolve"):
        guarded.send(message("https://nothing-here.invalid/hook", payload={}))


# --- recipient validation (create time) -----------------------------------------


@pytest.mark.parametrize(
    "recipient",
    [
        "ftp://example.com/hook",
        "example.com/hook",
        "https://",
        "https://user:pw@example.com/hook",
        "https://example.com:99999/hook",
        "http://127.0.0.1/hook",
        "http://127.1/hook",
        "http://[::1]/hook",
        "http://localhost:8000/hook",
        "http://x.localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://999.1.1.1/hook",
        "http://01.02.03.04/hook",
    ],
)
def test_bad_or_private_recipients_are_refused_at_create(guarded, recipient):
    with pytest.raises(ValueError):
        guarded.validate_recipient(recipient)


@pytest.mark.parametrize("recipient", ["http://999.1.1.1/hook", "http://01.02.03.04/hook"])
def test_a_url_the_http_client_cannot_parse_fails_permanently_at_send(make_provider, recipient):
    with pytest.raises(PermanentError, match="invalid URL"):
        make_provider(allow_private=True).send(message(recipient, payload={}))


def test_a_public_https_recipient_is_accepted_and_trimmed(guarded):
    assert guarded.validate_recipient("  https://hooks.example.com/in?x=1  ") == "https://hooks.example.com/in?x=1"


def test_private_recipients_are_accepted_when_allowed(provider, sink):
    assert provider.validate_recipient(sink.url) == sink.url


# --- parse_retry_after -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("0", 0.0),
        ("7", 7.0),
        (" 120 ", 120.0),
        ("-1", None),
        ("1.5", None),
        ("soon", None),
        ("²", None),
        ("Wed, 32 Oct 2015 07:28:00 GMT", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: now
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_reads_a_future_http_date_as_seconds_from_now():
    when = datetime.now(UTC) + timedelta(minutes=10)
    assert 590 <= parse_retry_after(email.utils.format_datetime(when, usegmt=True)) <= 600


def test_an_endless_error_body_is_cut_off_not_buffered(provider, endless_body_url):
    # Reading the whole answer would never end: the send must stop at its limit.
    with pytest.raises(TransientError) as error:
        provider.send(message(endless_body_url, payload={}))
    assert str(error.value).startswith("HTTP 500: xxx")
    assert len(str(error.value)) < 300


@pytest.fixture
def endless_body_url():
    """A server answering 500 with a chunked body that never ends (until the client hangs up)."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve_one() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
            try:
                for _ in range(100_000):  # bounded: ~6.5 GB, far more than any sane limit
                    conn.sendall(chunk)
            except OSError:
                pass  # the client stopped reading and closed: what we want

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    server.close()
    thread.join(timeout=10)


def test_keep_alive_is_reused_across_sends(provider, sink):
    for _ in range(3):
        provider.send(message(sink.url, payload={}))
    assert len({request.client_port for request in sink.requests}) == 1
