"""``slack``: the Web API's ``chat.postMessage``.

A JSON POST of ``{"channel", "text"}`` to ``/chat.postMessage`` with the bot token as
``Authorization: Bearer``; the text is the body, or the subject and the body. Slack
answers ``{"ok": true, "ts"}`` (``ts`` is the message's id in its channel), or
``{"ok": false, "error"}``. HTTP 429 (``Retry-After`` honoured), 5xx, an API not reached
and the error ``ratelimited`` are transient; any other error (``channel_not_found``,
``not_in_channel``, ``invalid_auth``, ``is_archived``, …) is permanent and names it. The
token travels only in the header: no error text carries it.

Recipients are conversation or user ids, as Slack's API takes them (``C…`` public
channel, ``G…`` private, ``D…`` direct message, ``U…``/``W…`` user): channel names are
refused, since a renamed channel would silently lose the message.
"""

from __future__ import annotations

import json
import re
from typing import Any

from notifier.base import Message, Receipt
from notifier.errors import PermanentError, TransientError, parse_retry_after
from notifier.http import ApiProvider
from notifier.telegram import text_of

# Slack truncates longer messages; past about this it refuses them (msg_too_long).
MAX_TEXT = 40_000
# Ids are a type letter and 8 or more uppercase letters and digits (C012AB3CD, U1234567890);
# Slack warns they grow, so the cap only keeps junk out.
SLACK_ID = re.compile(r"[CDGUW][A-Z0-9]{8,31}")
# ``rate_limited`` is the older spelling some methods' docs still list.
RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})


def slack_id(recipient: str) -> str:
    """``recipient`` as a Slack conversation or user id, or ``ValueError`` saying why not. A module
    function, so profiles are checked the same way whether or not the bot is configured."""
    chat = recipient.strip()
    if not SLACK_ID.fullmatch(chat):
        raise ValueError(
            "Enter a Slack channel or user id (C…, G…, D…, U… or W… followed by 8 or more uppercase "
            "letters and digits, e.g. C012AB3CD), not a #name."
        )
    return chat


class SlackProvider(ApiProvider):
    name = "slack"
    provider = "slack"

    def __init__(self, *, bot_token: str, base_url: str, timeout: float) -> None:
        super().__init__(base_url=base_url, timeout=timeout)
        self._headers = {"authorization": f"Bearer {bot_token}", "content-type": "application/json; charset=utf-8"}

    def validate_recipient(self, recipient: str) -> str:
        return slack_id(recipient)

    def validate_content(self, *, subject: str, body: str, payload: Any) -> None:
        text = text_of(subject, body)
        if not text.strip():
            raise ValueError("A Slack message needs a body.", "body")
        if len(text) > MAX_TEXT:
            raise ValueError(
                f"A Slack message (subject and body) is at most {MAX_TEXT:,} characters; this one has {len(text):,}.",
                "body",
            )

    def send(self, message: Message) -> Receipt:
        content = json.dumps({"channel": message.recipient, "text": text_of(message.subject, message.body)})
        answer = self.call("POST", "/chat.postMessage", content=content.encode(), headers=self._headers)
        body = answer.json()
        if answer.status != 200 or not isinstance(body, dict):
            raise self.error_for(answer)
        if body.get("ok") is True and body.get("ts"):
            return Receipt(provider_message_id=str(body["ts"]), provider=self.provider)
        error = str(body.get("error") or "no error given")
        detail = f"{self.provider}: {error}"
        if error in RATE_LIMITED:
            retry_after = parse_retry_after(answer.headers.get("retry-after"))
            raise self._mark(TransientError(detail, retry_after=retry_after))
        raise self._mark(PermanentError(detail))
