"""Real local HTTP servers that answer like Twilio's Messages API, Telegram's Bot API
(``sendMessage``) and Slack's Web API (``chat.postMessage``).

Each checks what the real service checks first (the path, the credentials, the required
fields) and answers with that service's documented success or error body, so a provider
under test sees the shapes it will see in production. Every request is recorded
(``requests``, ``wait_for``); a test scripts other answers with ``then(...)`` using the
error builders below (``twilio_error``, ``telegram_error``, ``slack_error``).

Use them as context managers, or through the pytest fixtures ``twilio``, ``telegram`` and
``slack`` (import them into a conftest), which also point the settings at the fake.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from notifier import registry
from tests.sink import Reply

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-auth-token-" + "9" * 14
TWILIO_FROM = "+14155550199"
TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SLACK_TOKEN = "xoxb-1234-5678-abcdefghijklmnopqrstuvwx"


@dataclass
class Request:
    """What the fake received."""

    method: str
    path: str
    headers: dict[str, str]  # names lowercased
    body: bytes

    def form(self) -> dict[str, str]:
        return {name: values[-1] for name, values in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def json(self) -> Any:
        return json.loads(self.body)

    def basic_auth(self) -> tuple[str, str] | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user, password


def _json(status: int, body: Any, **headers: str) -> Reply:
    return Reply(status, {"Content-Type": "application/json; charset=utf-8", **headers}, json.dumps(body).encode())


class FakeApi:
    """A scripted, recording HTTP server on loopback. Unscripted requests get ``answer()``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.script: deque[Reply] = deque()
        self._cond = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                request = Request("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with fake._cond:
                    reply = fake.script.popleft() if fake.script else fake.answer(request)
                    fake.requests.append(request)
                    fake._cond.notify_all()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, request: Request) -> Reply:
        raise NotImplementedError

    def then(self, *replies: Reply) -> FakeApi:
        """Answer the next requests with these, in order, before the default answers again."""
        with self._cond:
            self.script.extend(replies)
        return self

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Request]:
        """The requests, once ``count`` have arrived; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{type(self).__name__} got {len(self.requests)} of {count} requests")
                self._cond.wait(left)
            return list(self.requests)

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- Twilio ------------------------------------------------------------------------


def twilio_error(status: int, code: int, message: str, **headers: str) -> Reply:
    """Twilio's error body: ``{"code", "message", "more_info", "status"}``."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return _json(status, body, **headers)


class FakeTwilio(FakeApi):
    """``POST /2010-04-01/Accounts/{sid}/Messages.json``, basic auth (sid, token), form fields."""

    def __init__(self, account_sid: str = TWILIO_SID, auth_token: str = TWILIO_TOKEN) -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token

    def answer(self, request: Request) -> Reply:
        if request.basic_auth() != (self.account_sid, self.auth_token):
            return twilio_error(401, 20003, "Authenticate")
        if request.path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        form = request.form()
        for field, code in (("To", 21604), ("From", 21603), ("Body", 21602)):
            if not form.get(field):
                return twilio_error(400, code, f"A '{field}' parameter is required.")
        sid = "SM" + secrets.token_hex(16)
        return _json(
            201,
            {
                "account_sid": self.account_sid,
                "sid": sid,
                "to": form["To"],
                "from": form["From"],
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
        )


# --- Telegram ----------------------------------------------------------------------


def telegram_error(code: int, description: str, **parameters: int) -> Reply:
    """The Bot API's error: ``{"ok": false, "error_code", "description", "parameters"?}``,
    with the HTTP status equal to ``error_code`` as the Bot API sends it."""
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return _json(code, body)


class FakeTelegram(FakeApi):
    """``POST /bot{token}/sendMessage`` with JSON ``{"chat_id", "text"}``."""

    def __init__(self, token: str = TELEGRAM_TOKEN) -> None:
        super().__init__()
        self.token = token
        self._ids = itertools.count(1)

    def answer(self, request: Request) -> Reply:
        bot, _, method = request.path.lstrip("/").partition("/")
        if bot != f"bot{self.token}":
            return telegram_error(401, "Unauthorized")
        if method != "sendMessage":
            return telegram_error(404, "Not Found")
        sent = request.json()
        if sent.get("chat_id") in (None, ""):
            return telegram_error(400, "Bad Request: chat_id is empty")
        if not sent.get("text"):
            return telegram_error(400, "Bad Request: message text is empty")
        chat = sent["chat_id"]
        result = {
            "message_id": next(self._ids),
            "chat": {"id": chat} if isinstance(chat, int) else {"id": -1001234567890, "username": chat[1:]},
            "date": int(time.time()),
            "text": sent["text"],
        }
        return _json(200, {"ok": True, "result": result})


# --- Slack -------------------------------------------------------------------------


def slack_error(error: str, *, status: int = 200, **headers: str) -> Reply:
    """The Web API's error: HTTP 200 (429 when rate limited) and ``{"ok": false, "error"}``."""
    return _json(status, {"ok": False, "error": error}, **headers)


class FakeSlack(FakeApi):
    """``POST /chat.postMessage`` with ``Authorization: Bearer`` and JSON ``{"channel", "text"}``."""

    def __init__(self, token: str = SLACK_TOKEN) -> None:
        super().__init__()
        self.token = token
        self._ts = itertools.count(1)

    def answer(self, request: Request) -> Reply:
        if request.path != "/chat.postMessage":
            return slack_error("unknown_method", status=404)
        authorization = request.headers.get("authorization", "")
        if not authorization:
            return slack_error("not_authed")
        if authorization != f"Bearer {self.token}":
            return slack_error("invalid_auth")
        sent = request.json()
        if not sent.get("channel"):
            return slack_error("channel_not_found")
        if not sent.get("text"):
            return slack_error("no_text")
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        return _json(
            200,
            {"ok": True, "channel": sent["channel"], "ts": ts, "message": {"type": "message", "text": sent["text"]}},
        )


# --- pytest fixtures: a running fake, and the settings pointing at it ---------------


@pytest.fixture
def twilio(settings) -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = fake.account_sid, fake.auth_token
        settings.TWILIO_FROM, settings.TWILIO_API_URL = TWILIO_FROM, fake.url
        registry.reset()
        yield fake


@pytest.fixture
def telegram(settings) -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_URL = fake.token, fake.url
        registry.reset()
        yield fake


@pytest.fixture
def slack(settings) -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        settings.SLACK_BOT_TOKEN, settings.SLACK_API_URL = fake.token, fake.url
        registry.reset()
        yield fake


def worker_env(*, twilio: FakeTwilio, telegram: FakeTelegram, slack: FakeSlack) -> dict[str, str]:
    """Environment for a worker process that sends through these fakes."""
    return {
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_FROM": TWILIO_FROM,
        "TWILIO_API_URL": twilio.url,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_API_URL": slack.url,
    }
