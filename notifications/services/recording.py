"""Recording an attempt's outcome: sent, retrying or failed, written only while the claim holds.

What a receiver or provider answered is hostile data: it is cut to what the
columns can hold before it is written, so no answer can make the outcome write
fail. The send has already happened when the outcome is written, so a write
that fails because the database is unreachable is retried while the lease
holds, rather than left to the stuck-sweep, which would send again.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, DataError, InterfaceError, OperationalError, connections, transaction
from django.db.models import F
from django.utils import timezone

import notifier
from notifications import conf, metrics
from notifications.models import (
    DeadPushToken,
    DeliveryAttempt,
    EventType,
    FailureReason,
    Notification,
    Outcome,
    Status,
)
from notifications.services.events import (
    EVENT_OF_STATUS,
    endpoint_delivery_outcome,
    events_listening_to,
    events_record,
)
from notifications.services.fastpaths import finish_attempt
from notifications.services.profiles import push_token_forget

logger = logging.getLogger(__name__)

# What a receiver or provider said is stored as data, cut to fit: an error's text, and the
# message id (the column's own limit).
MAX_ERROR_CHARS = 2000
MAX_PROVIDER_MESSAGE_ID_CHARS = 255
PROVIDER_NAME_CHARS = 32
DEAD_TOKEN_CHARS = 512
# Between tries of an outcome write that failed with the database unreachable.
OUTCOME_WRITE_PAUSES = (0.2, 0.5, 1.0, 2.0)


class DeliveryDeferred(Exception):
    """A transient failure with attempts left: the task retries (``autoretry_for``).

    ``retry_after`` is the provider's hint, already capped by ``NOTIFY_RETRY_AFTER_MAX``.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, attempts: int = 0, priority: str = ""
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.attempts = attempts
        self.priority = priority


@dataclass(frozen=True)
class DeliveryResult:
    notification_id: uuid.UUID
    status: str


def record_success(notification: Notification, *, started_at: datetime, receipt: notifier.Receipt) -> DeliveryResult:
    """The send succeeded: ``sent``, with the provider's message id and name."""
    record_attempt(
        notification,
        started_at=started_at,
        outcome=Outcome.SENT,
        status=Status.SENT,
        provider_message_id=receipt.provider_message_id,
        provider=receipt.provider,
    )
    return DeliveryResult(notification.id, Status.SENT)


def record_failure(notification: Notification, *, started_at: datetime, exc: Exception) -> DeliveryResult | None:
    """The send failed: ``failed`` for a ``PermanentError`` (an unknown channel is one) or once
    attempts run out; otherwise ``retrying``, and ``DeliveryDeferred`` is raised for the task
    to publish the retry. Anything that is not a ``DeliveryError`` is a provider's bug:
    retried like a transient error, never dropped. ``None`` when the lease was lost meanwhile.
    A dead push token is remembered for the client (``DeadPushToken``).
    """
    provider = getattr(exc, "provider", "")
    if isinstance(exc, notifier.PermanentError):
        record_attempt(
            notification,
            started_at=started_at,
            outcome=Outcome.PERMANENT,
            error=str(exc),
            status=Status.FAILED,
            failure_reason=FailureReason.PERMANENT,
            provider=provider,
        )
        if isinstance(exc, notifier.DeadToken):
            remember_dead_token(notification, exc)
        return DeliveryResult(notification.id, Status.FAILED)
    error = str(exc) if isinstance(exc, notifier.TransientError) else f"unexpected error: {exc!r}"
    if notification.attempts >= notification.max_attempts:
        record_attempt(
            notification,
            started_at=started_at,
            outcome=Outcome.TRANSIENT,
            error=error,
            status=Status.FAILED,
            failure_reason=FailureReason.EXHAUSTED,
            provider=provider,
        )
        return DeliveryResult(notification.id, Status.FAILED)
    if not record_attempt(
        notification,
        started_at=started_at,
        outcome=Outcome.TRANSIENT,
        error=error,
        status=Status.RETRYING,
        provider=provider,
    ):
        return None
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        retry_after = min(retry_after, conf.retry_after_max())
    raise DeliveryDeferred(
        error, retry_after=retry_after, attempts=notification.attempts, priority=notification.priority
    ) from exc


def record_suppressed(notification: Notification) -> DeliveryResult | None:
    """The recipient's preferences turned this off since it was made: ``suppressed`` with
    ``opted_out``, no attempt spent (the claim's is taken back) and none recorded; ``None`` if
    the claim was lost."""
    now = timezone.now()
    endpoints = events_listening_to(notification, EventType.SUPPRESSED)
    with transaction.atomic() if endpoints else contextlib.nullcontext():
        held = Notification.objects.filter(
            id=notification.id, status=Status.SENDING, attempts_total=notification.attempts_total
        ).update(
            status=Status.SUPPRESSED,
            failure_reason=FailureReason.OPTED_OUT,
            last_error="the recipient's preferences turn this channel or category off",
            attempts=F("attempts") - 1,
            attempts_total=F("attempts_total") - 1,
            lease_expires_at=None,
            next_attempt_at=None,
            updated_at=now,
        )
        if held and endpoints:
            notification.refresh_from_db()
            events_record(notifications=[notification], event_type=EventType.SUPPRESSED, endpoints=endpoints)
    if not held:
        return None
    metrics.suppressed(channel=notification.channel)
    logger.info("notification %s: suppressed, the recipient opted out", notification.id)
    return DeliveryResult(notification.id, Status.SUPPRESSED)


def record_attempt(
    notification: Notification,
    *,
    started_at: datetime,
    outcome: str,
    status: str,
    error: str = "",
    failure_reason: str = "",
    provider_message_id: str = "",
    provider: str = "",
) -> bool:
    """Record an attempt's end, if our claim still holds (the stuck-sweep may have taken over).

    Whatever the receiver sent is stored as text that fits (see ``storable``). The send has
    already happened, so a write that fails is not abandoned to the stuck-sweep, which would
    send again: it is retried while the lease holds.
    """
    now = timezone.now()
    error = storable(error, MAX_ERROR_CHARS)
    fields: dict[str, Any] = {"status": status, "lease_expires_at": None, "updated_at": now}
    if status == Status.SENT:
        message_id = storable(provider_message_id, MAX_PROVIDER_MESSAGE_ID_CHARS)
        fields.update(sent_at=now, provider_message_id=message_id, last_error=None)
    else:
        fields.update(last_error=error, failure_reason=failure_reason)
    if status == Status.RETRYING:
        # Provisional: the retry's exact time is written once its countdown is drawn.
        fields.update(next_attempt_at=now, last_enqueued_at=now)
    provider = storable(provider, PROVIDER_NAME_CHARS)
    if provider:
        fields["provider"] = provider
    attempt = DeliveryAttempt(
        notification_id=notification.id,
        number=notification.attempts_total,
        started_at=started_at,
        finished_at=now,
        outcome=outcome,
        error=error,
        provider=provider,
    )
    held = _write_outcome_and_events(notification, fields, attempt)
    if not held:
        logger.warning("notification %s: lease lost before the attempt finished (%s)", notification.id, outcome)
        return False
    _count(notification, status=status, provider=provider, started_at=started_at, now=now)
    if notification.endpoint_id:
        _count_for_endpoint(notification, succeeded=status == Status.SENT, now=now)
    return True


def _count_for_endpoint(notification: Notification, *, succeeded: bool, now: datetime) -> None:
    """An event delivery's outcome, counted for its endpoint; bookkeeping that never fails the
    delivery already recorded (the next outcome counts again)."""
    try:
        endpoint_delivery_outcome(endpoint_id=notification.endpoint_id, succeeded=succeeded, now=now)
    except DatabaseError:
        logger.exception("notification %s: its endpoint's failing run was not updated", notification.id)


def _write_outcome_and_events(notification: Notification, fields: dict[str, Any], attempt: DeliveryAttempt) -> bool:
    """The outcome's one statement, or, when an endpoint wants its event, that statement and the
    event's rows in one transaction."""
    pauses = iter(OUTCOME_WRITE_PAUSES)
    while True:
        try:
            # Read in the loop: the connection may have dropped during the send.
            endpoints = events_listening_to(notification, EVENT_OF_STATUS.get(fields["status"]))
            if not endpoints:
                return _write_outcome(notification, fields, attempt)
            with transaction.atomic():
                held = _write_outcome(notification, fields, attempt)
                if held:
                    for name, value in fields.items():  # the row as the statement left it
                        setattr(notification, name, value)
                    event_type = EVENT_OF_STATUS[fields["status"]]
                    events_record(notifications=[notification], event_type=event_type, endpoints=endpoints)
            return held
        except (OperationalError, InterfaceError):
            _pause_or_raise(notification, pauses)


def _count(notification: Notification, *, status: str, provider: str, started_at: datetime, now: datetime) -> None:
    seconds = (now - started_at).total_seconds()
    metrics.attempt_recorded(channel=notification.channel, provider=provider, status=status, seconds=seconds)
    if status == Status.SENT:
        metrics.sent(priority=notification.priority, send_at=notification.send_at, sent_at=now)


def storable(text: str, limit: int) -> str:
    """``text`` as PostgreSQL can store it: no NUL, no lone surrogate (from bytes that were
    not UTF-8), at most ``limit`` characters."""
    if not text:
        return ""
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _write_outcome(notification: Notification, fields: dict[str, Any], attempt: DeliveryAttempt) -> bool:
    pauses = iter(OUTCOME_WRITE_PAUSES)
    text_dropped = False
    while True:
        try:
            return finish_attempt(notification=notification, fields=fields, attempt=attempt)
        except DataError:
            if text_dropped:
                raise
            # Still did not fit (a backend stricter than expected): keep the outcome, drop the text.
            logger.exception("notification %s: the attempt's text could not be stored", notification.id)
            text_dropped = True
            if fields.get("last_error"):
                fields["last_error"] = _UNSTORABLE
            if "provider_message_id" in fields:
                fields["provider_message_id"] = ""
            attempt.error = _UNSTORABLE if attempt.error else ""
        except (OperationalError, InterfaceError):
            _pause_or_raise(notification, pauses)


def _pause_or_raise(notification: Notification, pauses: Iterator[float]) -> None:
    """After a failed outcome write: wait and reconnect while the lease allows another try,
    else re-raise (inside a transaction too: its caller retries the whole transaction)."""
    pause = next(pauses, OUTCOME_WRITE_PAUSES[-1])
    lease_left = (notification.lease_expires_at - timezone.now()).total_seconds()
    connection = connections[Notification.objects.db]
    if lease_left <= pause or connection.in_atomic_block:
        raise
    logger.warning("notification %s: outcome write failed, retrying in %.1fs", notification.id, pause)
    connection.close()  # the next query reconnects
    time.sleep(pause)


_UNSTORABLE = "(the answer could not be stored)"


def remember_dead_token(notification: Notification, exc: notifier.DeadToken) -> None:
    """A token of this notification's push is dead: kept for the client, and out of its profile."""
    dead_push_token_record(
        owner_id=notification.owner_id,
        token=exc.token,
        provider=exc.provider,
        notification_id=notification.id,
        recipient_id=notification.to,
    )


def dead_push_token_record(
    *, owner_id: Any, token: str, provider: str, notification_id: Any = None, recipient_id: str = ""
) -> DeadPushToken:
    """Keep a push token its service called dead, once per client: a send refused on it and a
    receipt that says so later (Expo's DeviceNotRegistered) both land here. Sent to a profile
    (``recipient_id``), the token also leaves that profile."""
    if recipient_id:
        push_token_forget(owner_id=owner_id, recipient_id=recipient_id, token=token)
    row, _ = DeadPushToken.objects.get_or_create(
        owner_id=owner_id,
        token=storable(token, DEAD_TOKEN_CHARS),
        defaults={"provider": storable(provider, PROVIDER_NAME_CHARS), "notification_id": notification_id},
    )
    return row
