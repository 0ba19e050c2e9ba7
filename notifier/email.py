"""``email``: Django's email API, so ``EMAIL_URL``/``EMAIL_BACKEND`` pick SMTP or an ESP.

SMTP 4xx and connection errors are transient; 5xx are permanent. django-anymail
errors are classed by the ESP's HTTP status the same way webhooks are.
"""

from __future__ import annotations

import smtplib

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email

from notifier.base import Message, Receipt
from notifier.errors import PermanentError, TransientError


def _smtp_code_error(code: int, detail: str) -> Exception:
    return TransientError(detail) if 400 <= code < 500 else PermanentError(detail)


class EmailProvider:
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
        except smtplib.SMTPRecipientsRefused as exc:
            code = min(code for code, _ in exc.recipients.values())
            raise _smtp_code_error(code, f"recipient refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _smtp_code_error(exc.smtp_code, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"SMTP connection error: {exc!r}") from exc
        except Exception as exc:
            status = getattr(exc, "status_code", None)  # django-anymail's AnymailAPIError
            if status is None:
                raise
            if status in (408, 425, 429) or status >= 500:
                raise TransientError(f"ESP HTTP {status}: {exc}") from exc
            raise PermanentError(f"ESP HTTP {status}: {exc}") from exc
        anymail_status = getattr(email, "anymail_status", None)
        return Receipt(provider_message_id=getattr(anymail_status, "message_id", None) or "")
