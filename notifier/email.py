"""``email``: Django's email API, so ``EMAIL_URL``/``EMAIL_BACKEND`` pick SMTP or an ESP.

SMTP 4xx and connection errors are transient; 5xx are permanent. django-anymail
errors are classed by the ESP's HTTP status the same way webhooks are (429 and 5xx
transient, with the ESP's ``Retry-After``; other answers permanent), an ESP not
reached (refused, timed out) is transient, and recipients the ESP rejects are
permanent.
"""

from __future__ import annotations

import smtplib

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email

from notifier.base import Message, ProviderBase, Receipt
from notifier.errors import DeliveryError, PermanentError, TransientError, status_error


def _smtp_code_error(code: int, detail: str) -> DeliveryError:
    return TransientError(detail) if 400 <= code < 500 else PermanentError(detail)


def _delivery_error(exc: Exception) -> DeliveryError:
    """What a failed send raised, as an outcome. Anymail's errors come first: those from
    its HTTP calls are ``OSError``s too (through ``requests``), not SMTP connection errors."""
    if isinstance(exc, AnymailRecipientsRefused):
        return PermanentError(f"ESP refused the recipient: {exc}")
    if isinstance(exc, AnymailAPIError):
        return _esp_error(exc)
    if isinstance(exc, AnymailError):  # refused before any request (an address, a feature): the same next time
        return PermanentError(f"ESP: {exc}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = min(code for code, _ in exc.recipients.values())
        return _smtp_code_error(code, f"recipient refused: {exc.recipients}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _smtp_code_error(exc.smtp_code, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
    return TransientError(f"SMTP connection error: {exc!r}")


def _esp_error(exc: AnymailAPIError) -> DeliveryError:
    """An ESP API's error by its HTTP status; none means the ESP was not reached.

    A 2xx here is an answer anymail could not read: the message may have gone, so it
    is not sent again.
    """
    detail = " ".join(str(exc).split())[:300]  # anymail's text spans lines: the ESP's JSON, indented
    if exc.status_code is None:
        return TransientError(f"ESP unreachable: {detail}")
    retry_after = exc.response.headers.get("Retry-After") if exc.response is not None else None
    return status_error(exc.status_code, f"ESP HTTP {exc.status_code}: {detail}", retry_after=retry_after)


class EmailProvider(ProviderBase):
    name = "email"

    def __init__(self, *, from_email: str) -> None:
        self.from_email = from_email

    def validate_recipient(self, recipient: str) -> str:
        recipient = recipient.strip()
        try:
            validate_email(recipient)
        except ValidationError as exc:
            raise ValueError("Enter a valid email address.") from exc
        return recipient

    def send(self, message: Message) -> Receipt:
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=self.from_email,
            to=[message.recipient],
            headers={"Message-ID": f"<{message.id}@notifier>", "Idempotency-Key": message.id},
        )
        try:
            with get_connection() as connection:
                connection.send_messages([email])
        except (AnymailError, smtplib.SMTPException, OSError) as exc:
            raise _delivery_error(exc) from exc
        anymail_status = getattr(email, "anymail_status", None)
        return Receipt(provider_message_id=getattr(anymail_status, "message_id", None) or "")
