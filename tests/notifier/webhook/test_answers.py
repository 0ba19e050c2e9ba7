"""How the webhook provider classes a receiver's answers, against real local servers:
sent, transient (with its Retry-After) or permanent."""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from notifier import PermanentError, Receipt, TransientError
from notifier.errors import parse_retry_after
from tests.notifier.webhook.conftest import message
from tests.sink import Reply, Sink


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
