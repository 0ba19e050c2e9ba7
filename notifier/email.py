"""``email``: Django's email API, so ``EMAIL_URL``/``EMAIL_BACKEND`` pick SMTP or an ESP,
and an optional SMTP fallback (``EMAIL_FALLBACK_URL``) takes what the primary cannot.

SMTP 4xx and connection errors are transient; 5xx are permanent. django-anymail
errors are classed by the ESP's HTTP status the same way webhooks are (429 and 5xx
transient, with the ESP's ``Retry-After``; other answers permanent), an ESP not
reached (refused, timed out) is transient, and recipients the ESP rejects are
permanent.

A receipt names the service that took the email: the ESP (anymail's ``esp_name``,
lowercased, spaces as ``_``: ``postmark``, ``sendgrid``, ``amazon_ses``), else the
backend's module (``smtp``, ``console``, ``locmem``), or ``smtp-fallback``. Its message
id is the ESP's, or for any other backend the ``Message-ID`` this provider sets.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from typing import Any

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.validators import validate_email

from notifier import gates
from notifier.base import Message, ProviderBase, Receipt
from notifier.errors import DeliveryError, PermanentError, TransientError, status_error
from notifier.gates import GateKeys

FALLBACK_NAME = "smtp-fallback"


def esp_provider_name(esp_name: str) -> str:
    """The ``provider`` an ESP's sends and tracking reports are stored under: the send path
    and the tracking webhook must spell it alike, or a report never finds its notification."""
    return re.sub(r"\W+", "_", esp_name.strip().lower())


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


def _backend_name(connection: BaseEmailBackend) -> str:
    esp_name = getattr(type(connection), "esp_name", None)
    if isinstance(esp_name, str):
        return esp_provider_name(esp_name)
    return type(connection).__module__.rsplit(".", 1)[-1]


def _always_available() -> bool:
    return True


class EmailProvider(ProviderBase):
    """Sends through the configured backend; with ``fallback`` (the keyword arguments of an
    SMTP ``get_connection``, parsed from ``EMAIL_FALLBACK_URL``), a transient primary failure
    is sent through the fallback on the same attempt.

    ``primary_available`` is the circuit breaker's seam: a callable asked before each send,
    and when it answers False (the primary's breaker is open) and a fallback is set, the
    primary is skipped and the fallback sends. It answers True until the breakers use it
    (assign ``provider.primary_available`` or pass it here). Without a fallback it is not asked:
    the breaker then defers the send itself.
    """

    name = "email"

    def __init__(
        self,
        *,
        from_email: str,
        fallback: dict[str, Any] | None = None,
        primary_available: Callable[[], bool] = _always_available,
    ) -> None:
        self.from_email = from_email
        self.fallback = fallback
        self.primary_available = primary_available

    def validate_recipient(self, recipient: str) -> str:
        recipient = recipient.strip()
        try:
            validate_email(recipient)
        except ValidationError as exc:
            raise ValueError("Enter a valid email address.") from exc
        return recipient

    def gate_keys(self, message: Message) -> GateKeys | None:
        """The primary's breaker and ``NOTIFY_RATE_EMAIL``. With a fallback the breaker is not a
        gate: an open primary breaker sends through the fallback instead of waiting (``send``
        asks ``gates.is_open`` itself and counts the primary's outcomes)."""
        breaker = "" if self.fallback is not None else f"provider:{_backend_name(get_connection())}"
        return GateKeys(breaker=breaker, rate="email")

    def send(self, message: Message) -> Receipt:
        """A permanent primary failure is final: the fallback would refuse the same address or
        content. A fallback's failure is transient whatever it was, naming both services: the
        fallback only adds a chance to send, it never ends the retries the primary would get."""
        if self.fallback is None:
            return self._send_with(get_connection(), message)
        primary = get_connection()
        breaker = f"provider:{_backend_name(primary)}"
        if not self.primary_available() or gates.is_open(breaker):
            return self._send_fallback(message, primary_said=f"{breaker} unavailable (breaker open)")
        try:
            receipt = self._send_with(primary, message)
        except TransientError as primary_error:
            gates.record_outcome(breaker, failed=True)
            return self._send_fallback(
                message,
                primary_said=f"{primary_error.provider}: {primary_error}",
                retry_after=primary_error.retry_after,
            )
        except DeliveryError:
            gates.record_outcome(breaker, failed=False)  # it answered: up, if unwilling
            raise
        gates.record_outcome(breaker, failed=False)
        return receipt

    def _send_fallback(self, message: Message, *, primary_said: str, retry_after: float | None = None) -> Receipt:
        assert self.fallback is not None
        try:
            return self._send_with(get_connection(**self.fallback), message, name=FALLBACK_NAME)
        except DeliveryError as fallback_error:
            both = TransientError(f"{primary_said}; {FALLBACK_NAME}: {fallback_error}", retry_after=retry_after)
            both.provider = FALLBACK_NAME
            raise both from fallback_error

    def _send_with(self, connection: BaseEmailBackend, message: Message, *, name: str = "") -> Receipt:
        """One send through ``connection``; the receipt or error names the service (``name``
        when given, else the backend's own)."""
        name = name or _backend_name(connection)
        message_id = f"<{message.id}@notifier>"
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=self.from_email,
            to=[message.recipient],
            headers={"Message-ID": message_id, "Idempotency-Key": message.id},
            connection=connection,
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        try:
            with connection:
                connection.send_messages([email])
        except (AnymailError, smtplib.SMTPException, OSError) as exc:
            error = _delivery_error(exc)
            error.provider = name
            raise error from exc
        anymail_status = getattr(email, "anymail_status", None)
        esp_message_id = getattr(anymail_status, "message_id", None)
        return Receipt(provider_message_id=str(esp_message_id or message_id), provider=name)
