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

import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Iterator
from typing import Any, Self, TypeVar

import pytest

from notifier import registry
from tests.sink import LocalHttpServer, Received, Reply

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-auth-token-" + "9" * 14
TWILIO_FROM = "+14155550199"
TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SLACK_TOKEN = "xoxb-1234-5678-abcdefghijklmnopqrstuvwx"


Request = Received  # what a fake received: ``form()``, ``json()``, ``basic_auth()``


def _json(status: int, body: Any, **headers: str) -> Reply:
    return Reply(status, {"Content-Type": "application/json; charset=utf-8", **headers}, json.dumps(body).encode())


class FakeApi(LocalHttpServer):
    """A scripted, recording HTTP server on loopback. Unscripted requests get ``answer()``."""

    def __init__(self) -> None:
        super().__init__()
        self.script: deque[Reply] = deque()
        self._ids = itertools.count(1)  # for the ids it makes up

    def answer(self, request: Request) -> Reply:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """The settings (and a worker's environment variables) that send through this fake."""
        raise NotImplementedError

    def then(self, *replies: Reply) -> Self:
        """Answer the next requests with these, in order, before the default answers again."""
        with self._cond:
            self.script.extend(replies)
        return self

    def reply_to(self, request: Request) -> Reply:
        return self.script.popleft() if self.script else self.answer(request)


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

    def environment(self) -> dict[str, str]:
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_FROM": TWILIO_FROM,
            "TWILIO_API_URL": self.url,
        }

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

    def environment(self) -> dict[str, str]:
        return {"TELEGRAM_BOT_TOKEN": self.token, "TELEGRAM_API_URL": self.url}

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

    def environment(self) -> dict[str, str]:
        return {"SLACK_BOT_TOKEN": self.token, "SLACK_API_URL": self.url}

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
        ts = f"{int(time.time())}.{next(self._ids):06d}"
        return _json(
            200,
            {"ok": True, "channel": sent["channel"], "ts": ts, "message": {"type": "message", "text": sent["text"]}},
        )


# --- pytest fixtures: a running fake, and the settings pointing at it ---------------

F = TypeVar("F", bound=FakeApi)


def _serving(fake: F, settings) -> Iterator[F]:
    with fake:
        for name, value in fake.environment().items():
            setattr(settings, name, value)
        registry.reset()
        yield fake


@pytest.fixture
def twilio(settings) -> Iterator[FakeTwilio]:
    yield from _serving(FakeTwilio(), settings)


@pytest.fixture
def telegram(settings) -> Iterator[FakeTelegram]:
    yield from _serving(FakeTelegram(), settings)


@pytest.fixture
def slack(settings) -> Iterator[FakeSlack]:
    yield from _serving(FakeSlack(), settings)


def worker_env(*, twilio: FakeTwilio, telegram: FakeTelegram, slack: FakeSlack) -> dict[str, str]:
    """Environment for a worker process that sends through these fakes."""
    return {**twilio.environment(), **telegram.environment(), **slack.environment()}
