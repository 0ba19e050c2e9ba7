"""``sms``: Twilio's Messages API.

One form POST to ``/2010-04-01/Accounts/{sid}/Messages.json`` (``To``, ``From``, ``Body``,
and ``StatusCallback`` when the service has a public URL), authenticated with HTTP basic
auth (account SID, auth token). Twilio answers 201 with the message's ``sid``. 429, 5xx and
an API not reached are transient (``Retry-After`` honoured); any other 4xx is permanent and
names Twilio's error ``code`` and ``message`` (21211 invalid number, 21610 unsubscribed, …).
The auth token travels only in the ``Authorization`` header: no error text carries it.

Recipients are E.164 numbers, checked and normalised with ``phonenumbers``; only the body is
sent (an SMS has no subject), at most ``MAX_BODY`` characters, Twilio's own limit.
"""

from __future__ import annotations

from typing import Any

import phonenumbers

from notifier.base import Message, Receipt
from notifier.http import Answer, ApiProvider

# Twilio refuses a longer body (error 21617); it splits up to this into segments itself.
MAX_BODY = 1600


def e164(recipient: str) -> str:
    """``recipient`` as E.164 (``+14155550100``), or ``ValueError`` saying why it is not a number."""
    text = recipient.strip()
    if not text.startswith("+"):
        raise ValueError("Enter a phone number in E.164 form: + and the country code, e.g. +14155550100.")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"Enter a phone number in E.164 form, e.g. +14155550100 ({exc}).") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("Not a valid phone number for its country code; enter it in E.164 form, e.g. +14155550100.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class TwilioProvider(ApiProvider):
    name = "sms"
    provider = "twilio"
    callback_path = "/api/v1/callbacks/twilio/"

    def __init__(self, *, account_sid: str, auth_token: str, from_: str, base_url: str, timeout: float) -> None:
        super().__init__(base_url=base_url, timeout=timeout)
        self.account_sid = account_sid
        self.auth = (account_sid, auth_token)
        self.from_ = from_

    def validate_recipient(self, recipient: str) -> str:
        return e164(recipient)

    def validate_content(self, *, subject: str, body: str, payload: Any) -> None:
        if not body.strip():
            raise ValueError("An SMS needs a body.", "body")
        if len(body) > MAX_BODY:
            raise ValueError(f"An SMS body is at most {MAX_BODY:,} characters; this one has {len(body):,}.", "body")

    def send(self, message: Message) -> Receipt:
        form = {"To": message.recipient, "From": self.from_, "Body": message.body}
        if message.callback_url:
            form["StatusCallback"] = message.callback_url
        answer = self.call("POST", f"/2010-04-01/Accounts/{self.account_sid}/Messages.json", data=form, auth=self.auth)
        sid = _field(answer, "sid")
        if 200 <= answer.status < 300 and sid:
            return Receipt(provider_message_id=sid, provider=self.provider)
        raise self.error_for(answer, _twilio_error(answer))


def _field(answer: Answer, name: str) -> str:
    body = answer.json()
    value = body.get(name) if isinstance(body, dict) else None
    return str(value) if value is not None else ""


def _twilio_error(answer: Answer) -> str:
    """Twilio's ``code`` and ``message`` (its error body: ``{"code", "message", "more_info",
    "status"}``); the raw excerpt when the answer is not that (a proxy's page, a 2xx without
    a sid)."""
    code, text = _field(answer, "code"), _field(answer, "message")
    if not (code or text):
        return answer.excerpt()
    return f"Twilio error {code or '?'}: {text}"
