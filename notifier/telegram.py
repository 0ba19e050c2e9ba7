"""``telegram``: the Bot API's ``sendMessage``.

A JSON POST of ``{"chat_id", "text"}`` to ``/bot{token}/sendMessage``; the text is the body,
or the subject and the body. Telegram answers ``{"ok": true, "result": {"message_id"}}``, or
``{"ok": false, "error_code", "description", "parameters"}``: 429 is transient after
``parameters.retry_after`` seconds, 5xx and an API not reached are transient, and any
other error (400 a bad chat, 403 the bot blocked or kicked, 401/404 a bad token) is
permanent and carries Telegram's ``description``.

The bot token is part of the URL path, so every error this module raises has it replaced
by ``bot<redacted>`` and drops the exception it came from (whose text or traceback could
repeat the URL): it never reaches an attempt's error text or a log line.
"""

from __future__ import annotations

import re
from typing import Any

from notifier.base import Message, Receipt
from notifier.errors import DeliveryError, PermanentError, TransientError, parse_retry_after
from notifier.http import Answer, ApiProvider

# What sendMessage takes, after entities parsing (none here: plain text).
MAX_TEXT = 4096
# A public channel's or supergroup's username: 5 to 32 letters, digits and underscores.
CHANNEL_NAME = re.compile(r"@[A-Za-z0-9_]{5,32}")
# Telegram's ids have at most 52 significant bits; a supergroup's is -100 followed by it.
CHAT_ID = re.compile(r"-?[0-9]{1,20}")
REDACTED = "<redacted>"


def text_of(subject: str, body: str) -> str:
    """What the chat shows: the body, under the subject when there is one."""
    return f"{subject}\n\n{body}" if subject and body else subject or body


def chat_id(recipient: str) -> str:
    """``recipient`` as a chat the Bot API takes (an integer id, or ``@channelname``), or
    ``ValueError`` saying why not. A module function, so profiles are checked the same way
    whether or not the bot is configured."""
    chat = recipient.strip()
    if CHAT_ID.fullmatch(chat) and chat not in ("0", "-0"):
        return str(int(chat))
    if CHANNEL_NAME.fullmatch(chat):
        return chat
    raise ValueError(
        "Enter a Telegram chat id (an integer, negative for groups and channels) "
        "or a public @channelname (5-32 letters, digits or underscores)."
    )


class TelegramProvider(ApiProvider):
    name = "telegram"
    provider = "telegram"

    def __init__(self, *, bot_token: str, base_url: str, timeout: float) -> None:
        super().__init__(base_url=base_url, timeout=timeout)
        self._token = bot_token

    def validate_recipient(self, recipient: str) -> str:
        return chat_id(recipient)

    def validate_content(self, *, subject: str, body: str, payload: Any) -> None:
        text = text_of(subject, body)
        if not text.strip():
            raise ValueError("A Telegram message needs a body.", "body")
        if len(text) > MAX_TEXT:
            raise ValueError(
                f"A Telegram message (subject and body) is at most {MAX_TEXT:,} characters; "
                f"this one has {len(text):,}.",
                "body",
            )

    def send(self, message: Message) -> Receipt:
        chat: int | str = int(message.recipient) if CHAT_ID.fullmatch(message.recipient) else message.recipient
        try:
            answer = self.call(
                "POST",
                f"/bot{self._token}/sendMessage",
                json={"chat_id": chat, "text": text_of(message.subject, message.body)},
            )
        except DeliveryError as exc:
            raise self._redacted(exc) from None
        body = answer.json()
        if not isinstance(body, dict):
            raise self._redacted(self.error_for(answer))
        result = body.get("result")
        if body.get("ok") is True and isinstance(result, dict) and "message_id" in result:
            return Receipt(provider_message_id=str(result["message_id"]), provider=self.provider)
        raise self._redacted(self._error(answer, body))

    def _error(self, answer: Answer, body: dict[str, Any]) -> DeliveryError:
        code = body.get("error_code") if isinstance(body.get("error_code"), int) else answer.status
        detail = f"{self.provider}: error {code}: {body.get('description') or answer.excerpt()}"
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        if code == 429 or answer.status == 429 or answer.status >= 500:
            retry_after = parameters.get("retry_after")
            if isinstance(retry_after, int | float) and retry_after >= 0:
                seconds = float(retry_after)
            else:
                seconds = parse_retry_after(answer.headers.get("retry-after"))
            return self._mark(TransientError(detail, retry_after=seconds))
        if isinstance(parameters.get("migrate_to_chat_id"), int):
            detail += f" (the group is now chat {parameters['migrate_to_chat_id']})"
        return self._mark(PermanentError(detail))

    def _redacted(self, error: DeliveryError) -> DeliveryError:
        """The same error, its text without the token (an answer could echo the URL too)."""
        text = str(error).replace(self._token, REDACTED)
        if isinstance(error, TransientError):
            clean: DeliveryError = TransientError(text, retry_after=error.retry_after)
        else:
            clean = PermanentError(text)
        return self._mark(clean)
