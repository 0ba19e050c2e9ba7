"""Postmark, faked on a local ``Sink``: the answers its send API gives, and the events its
tracking webhook posts, shaped as Postmark documents them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.sink import Reply, Sink

SERVER_TOKEN = "test-server-token"
JSON = {"Content-Type": "application/json"}


def api_url(sink: Sink) -> str:
    return f"http://127.0.0.1:{sink.port}/"


def configure(settings, sink: Sink, *, timeout: float = 5) -> None:
    """Point Django's email at the fake, as ``EMAIL_BACKEND`` and ``ANYMAIL_*`` would."""
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        **getattr(settings, "ANYMAIL", {}),
        "POSTMARK_SERVER_TOKEN": SERVER_TOKEN,
        "POSTMARK_API_URL": api_url(sink),
        "REQUESTS_TIMEOUT": timeout,
    }
    settings.DEFAULT_FROM_EMAIL = "notifier@example.com"


def environment(sink: Sink) -> dict[str, str]:
    """The same, as an operator's environment variables."""
    return {
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "ANYMAIL_POSTMARK_SERVER_TOKEN": SERVER_TOKEN,
        "ANYMAIL_POSTMARK_API_URL": api_url(sink),
        "ANYMAIL_REQUESTS_TIMEOUT": "5",
        "DEFAULT_FROM_EMAIL": "notifier@example.com",
    }


def answer(status: int, body: dict, **headers: str) -> Reply:
    return Reply(status, {**JSON, **headers}, json.dumps(body).encode())


def accepted(message_id: str, to: str = "alice@example.com") -> Reply:
    return answer(200, {"To": to, "SubmittedAt": _now(), "MessageID": message_id, "ErrorCode": 0, "Message": "OK"})


def unavailable() -> Reply:
    return Reply(503, {"Content-Type": "text/plain"}, b"Service Unavailable")


def unprocessable(message: str = "Invalid 'From' address: 'nobody'.") -> Reply:
    return answer(422, {"ErrorCode": 300, "Message": message})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")  # Postmark writes 7 fraction digits


def delivery_event(message_id: str, *, at: str = "2026-01-05T16:33:54.9070259Z") -> dict:
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message_id,
        "Recipient": "alice@example.com",
        "Tag": "",
        "DeliveredAt": at,
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {},
    }


def bounce_event(message_id: str, *, bounce_id: int = 4242, at: str = "2026-01-05T16:35:00.0000000Z") -> dict:
    return {
        "RecordType": "Bounce",
        "ID": bounce_id,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": message_id,
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": "alice@example.com",
        "From": "notifier@example.com",
        "BouncedAt": at,
        "DumpAvailable": False,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Hi",
        "Content": "",
        "Metadata": {},
    }


def open_event(message_id: str, *, at: str = "2026-01-05T16:40:00.1234567Z") -> dict:
    return {
        "RecordType": "Open",
        "MessageStream": "outbound",
        "FirstOpen": True,
        "Client": {"Name": "Chrome 35.0.1916.153", "Company": "Google", "Family": "Chrome"},
        "OS": {"Name": "OS X 10.7 Lion", "Company": "Apple Computer, Inc.", "Family": "OS X 10"},
        "Platform": "WebMail",
        "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5)",
        "ReadSeconds": 5,
        "Geo": {},
        "MessageID": message_id,
        "Metadata": {},
        "ReceivedAt": at,
        "Tag": "",
        "Recipient": "alice@example.com",
    }
