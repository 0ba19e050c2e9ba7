"""Every write to notifications: create, cancel, reschedule, retry, claim, deliver, sweep.

The rules of DESIGN.md live here. Each state change is one conditional UPDATE
whose row count decides, so two workers, a worker and a sweep, or a client and
a worker can race on the same row and exactly one wins. Publishing happens on
commit and may fail without failing the caller: the sweeps re-publish.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import math
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

import notifier
from notifications import conf, dispatch, selectors
from notifications.dispatch import Dispatch, publish
from notifications.exceptions import IdempotencyConflict, InvalidState
from notifications.models import (
    LIVE_STATUSES,
    DeliveryAttempt,
    FailureReason,
    Notification,
    Outcome,
    Priority,
    Status,
    WebhookSecret,
)

logger = logging.getLogger(__name__)

CONTENT_FIELDS = ("channel", "recipient", "subject", "body", "payload", "priority", "max_attempts")
# A claim that finds its row due within this much waits for it instead of re-publishing.
EARLY_WAIT_MAX = timedelta(seconds=1.5)


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


# --- create ------------------------------------------------------------------


def request_fingerprint(data: dict[str, Any]) -> str:
    """A stable hash of a create request, to tell a replay from a reuse of its key."""
    canonical = {field: data.get(field) for field in (*CONTENT_FIELDS, "send_at")}
    if isinstance(canonical["send_at"], datetime):
        canonical["send_at"] = canonical["send_at"].isoformat()
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


def _new_notification(*, owner: AbstractBaseUser, data: dict[str, Any], now: datetime) -> Notification:
    send_at = max(data.get("send_at") or now, now)
    return Notification(
        owner=owner,
        channel=data["channel"],
        recipient=data["recipient"],
        subject=data.get("subject") or "",
        body=data.get("body") or "",
        payload=data.get("payload"),
        send_at=send_at,
        priority=data.get("priority") or "normal",
        max_attempts=data.get("max_attempts") or conf.max_attempts(),
        idempotency_key=data.get("idempotency_key") or None,
        request_fingerprint=request_fingerprint(data),
        next_attempt_at=send_at,
        last_enqueued_at=now,
    )


def _dispatch_of(notification: Notification) -> Dispatch:
    return Dispatch(
        notification_id=notification.id,
        dispatch_token=notification.dispatch_token,
        due_at=notification.next_attempt_at,
        priority=notification.priority,
        retries=notification.attempts,
    )


def _publish_or_leave_to_sweep(dispatches: list[Dispatch]) -> None:
    """Publish now; rows whose message failed are marked so the missed-sweep takes them as soon as due."""
    failed = publish(dispatches)
    if failed:
        Notification.objects.filter(
            id__in=[item.notification_id for item in failed],
            dispatch_token__in=[item.dispatch_token for item in failed],
        ).update(last_enqueued_at=None)


def _publish_on_commit(dispatches: list[Dispatch]) -> None:
    transaction.on_commit(lambda: _publish_or_leave_to_sweep(dispatches))


def _replay(*, owner: AbstractBaseUser, key: str, fingerprint: str) -> Notification | None:
    original = Notification.objects.filter(owner=owner, idempotency_key=key).first()
    if original is None:
        return None
    if original.request_fingerprint != fingerprint:
        raise IdempotencyConflict(f"Idempotency key {key!r} was already used with a different request.")
    return original


def notification_create(*, owner: AbstractBaseUser, data: dict[str, Any]) -> tuple[Notification, bool]:
    """Store a notification and publish it on commit.

    Returns ``(notification, created)``. With an ``idempotency_key`` already
    used by this owner, the original is returned (``created`` False) if the
    request is the same, else ``IdempotencyConflict``.
    """
    key = data.get("idempotency_key")
    if key:
        original = _replay(owner=owner, key=key, fingerprint=request_fingerprint(data))
        if original is not None:
            return original, False
    notification = _new_notification(owner=owner, data=data, now=timezone.now())
    connection = connections[Notification.objects.db]
    try:
        # One INSERT is atomic on its own: in autocommit it needs no BEGIN/COMMIT (two of
        # a create's four round trips). Inside a caller's transaction, a savepoint keeps
        # that transaction usable if the key's constraint fails.
        with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
            notification.save(force_insert=True)
            _publish_on_commit([_dispatch_of(notification)])
    except IntegrityError:
        # A concurrent request with the same key won the insert.
        original = _replay(owner=owner, key=key, fingerprint=notification.request_fingerprint) if key else None
        if original is None:
            raise
        return original, False
    return notification, True


def notification_bulk_create(*, owner: AbstractBaseUser, items: list[dict[str, Any]]) -> list[Notification]:
    """Store many notifications at once, all or nothing, and publish them on one producer.

    Items whose idempotency key was used before with the same body come back as
    the original; a key reused with another body raises ``IdempotencyConflict``.
    """
    now = timezone.now()
    keys = [item["idempotency_key"] for item in items if item.get("idempotency_key")]
    if len(keys) != len(set(keys)):
        raise IdempotencyConflict("The same idempotency key appears twice in one bulk request.")
    existing = {n.idempotency_key: n for n in Notification.objects.filter(owner=owner, idempotency_key__in=keys)}
    results: list[Notification] = []
    new: list[Notification] = []
    batch_token = uuid.uuid4()  # shared: the rows travel together in deliver_batch messages
    for index, item in enumerate(items):
        original = existing.get(item.get("idempotency_key") or "")
        if original is not None:
            if original.request_fingerprint != request_fingerprint(item):
                raise IdempotencyConflict(f"Item {index}: idempotency key reused with a different request.")
            results.append(original)
            continue
        notification = _new_notification(owner=owner, data=item, now=now)
        notification.dispatch_token = batch_token
        new.append(notification)
        results.append(notification)
    try:
        with transaction.atomic():
            _insert_many(new)
            _publish_on_commit([_dispatch_of(n) for n in new])
    except IntegrityError as exc:
        raise IdempotencyConflict("An idempotency key in this request was used concurrently; retry it.") from exc
    return results


def _insert_many(notifications: list[Notification]) -> None:
    """INSERT new rows in one go: PostgreSQL's COPY, else ``bulk_create``.

    ``bulk_create`` prepares every value of every field in Python (about 75 ms of
    CPU for 1,000 rows, a third of a bulk request); COPY takes the same rows for
    about 15 ms. Values are what ``save()`` would write: ``pre_save`` sets the
    auto-now times, and the JSON field is adapted by the backend.
    """
    connection = connections[Notification.objects.db]
    if connection.vendor != "postgresql" or not notifications:
        Notification.objects.bulk_create(notifications)
        return
    fields = Notification._meta.concrete_fields
    stamped = [field for field in fields if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)]
    adapted = {field for field in fields if field.get_internal_type() == "JSONField"}
    rows = []
    for notification in notifications:
        for field in stamped:
            field.pre_save(notification, add=True)
        rows.append(
            [
                field.get_db_prep_value(getattr(notification, field.attname), connection)
                if field in adapted
                else getattr(notification, field.attname)
                for field in fields
            ]
        )
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    # Only names from the model's own metadata are interpolated; the rows are data.
    statement = f"COPY {Notification._meta.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
    for notification in notifications:
        notification._state.adding = False
        notification._state.db = connection.alias


# --- client changes ----------------------------------------------------------


def _refetch(notification: Notification) -> Notification:
    notification.refresh_from_db()
    return notification


def notification_reschedule(*, notification: Notification, changes: dict[str, Any]) -> Notification:
    """Change ``send_at`` and/or content while the row is still ``scheduled``.

    A new dispatch token makes the message already queued a no-op.
    """
    now = timezone.now()
    fields: dict[str, Any] = {key: value for key, value in changes.items() if key in (*CONTENT_FIELDS, "send_at")}
    if "send_at" in fields:
        fields["send_at"] = max(fields["send_at"] or now, now)
    token = uuid.uuid4()
    with transaction.atomic():
        updated = Notification.objects.filter(id=notification.id, status=Status.SCHEDULED).update(
            **fields,
            next_attempt_at=fields.get("send_at", F("send_at")),
            dispatch_token=token,
            last_enqueued_at=now,
            updated_at=now,
        )
        if not updated:
            raise InvalidState(f"Only a scheduled notification can be changed; this one is {_status(notification)}.")
        notification = _refetch(notification)
        _publish_on_commit([_dispatch_of(notification)])
    return notification


def notification_cancel(*, notification: Notification) -> Notification:
    """``scheduled``/``retrying`` → ``cancelled``. The queued message expires harmlessly at the claim."""
    now = timezone.now()
    updated = Notification.objects.filter(id=notification.id, status__in=LIVE_STATUSES).update(
        status=Status.CANCELLED, cancelled_at=now, next_attempt_at=None, updated_at=now
    )
    if not updated:
        raise InvalidState(
            f"Only a scheduled or retrying notification can be cancelled; this one is {_status(notification)}."
        )
    return _refetch(notification)


def notification_retry(*, notification: Notification) -> Notification:
    """``failed`` → ``scheduled``, due now, with a fresh set of ``max_attempts``."""
    now = timezone.now()
    with transaction.atomic():
        updated = Notification.objects.filter(id=notification.id, status=Status.FAILED).update(
            status=Status.SCHEDULED,
            attempts=0,
            failure_reason="",
            next_attempt_at=now,
            dispatch_token=uuid.uuid4(),
            last_enqueued_at=now,
            updated_at=now,
        )
        if not updated:
            raise InvalidState(f"Only a failed notification can be retried; this one is {_status(notification)}.")
        notification = _refetch(notification)
        _publish_on_commit([_dispatch_of(notification)])
    return notification


def _status(notification: Notification) -> str:
    current = Notification.objects.filter(id=notification.id).values_list("status", flat=True).first()
    return current or notification.status


# --- delivery ----------------------------------------------------------------


def notification_claim(*, notification_id: uuid.UUID | str, dispatch_token: uuid.UUID | str) -> Notification | None:
    """Take a due row for sending: one conditional UPDATE; ``None`` when another message,
    a cancel or a reschedule got there first (or the row is not due yet)."""
    now = timezone.now()
    try:
        notification_id, dispatch_token = uuid.UUID(str(notification_id)), uuid.UUID(str(dispatch_token))
    except ValueError:
        return None
    # UPDATE … RETURNING: the claim and the row it took in one round trip (the ORM's
    # update() returns only a count). PostgreSQL and SQLite ≥ 3.35 both speak it.
    connection = connections[Notification.objects.db]
    uuid_sql, time_sql = (Notification._meta.get_field(name) for name in ("id", "updated_at"))
    params = [
        Status.SENDING,
        time_sql.get_db_prep_value(now + conf.lease(), connection),
        time_sql.get_db_prep_value(now, connection),
        uuid_sql.get_db_prep_value(notification_id, connection),
        uuid_sql.get_db_prep_value(dispatch_token, connection),
        *LIVE_STATUSES,
        time_sql.get_db_prep_value(now, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    # The row's columns turned into a model as a QuerySet would, without RawQuerySet's
    # per-query column mapping (a third of the claim's CPU).
    columns = zip(_converters(connection), row, strict=True)
    values = [_from_db(converters, value, connection) for converters, value in columns]
    return Notification.from_db(Notification.objects.db, None, values)


_FIELDS = Notification._meta.concrete_fields
_CLAIM_SQL = f"""
    UPDATE {Notification._meta.db_table}
    SET status = %s, attempts = attempts + 1, attempts_total = attempts_total + 1,
        lease_expires_at = %s, next_attempt_at = NULL, updated_at = %s
    WHERE id = %s AND dispatch_token = %s AND status IN (%s, %s) AND next_attempt_at <= %s
    RETURNING {", ".join(field.column for field in _FIELDS)}
"""  # noqa: S608 -- only names from the model's own metadata are interpolated
_CONVERTERS: dict[str, list[tuple]] = {}


def _converters(connection) -> list[tuple]:
    """Each column's converters, backend's then field's, as the SQL compiler finds them; once per backend."""
    if connection.vendor not in _CONVERTERS:
        columns = [field.get_col(Notification._meta.db_table) for field in _FIELDS]
        _CONVERTERS[connection.vendor] = [
            (column, *connection.ops.get_db_converters(column), *column.get_db_converters(connection))
            for column in columns
        ]
    return _CONVERTERS[connection.vendor]


def _from_db(converters: tuple, value: Any, connection) -> Any:
    column, *functions = converters
    for convert in functions:
        value = convert(value, column, connection)
    return value


@dataclass(frozen=True)
class DeliveryResult:
    notification_id: uuid.UUID
    status: str


SigningCache = dict[int, tuple[str, ...]]


def _message_for(notification: Notification, signing_cache: SigningCache | None = None) -> notifier.Message:
    signing: tuple[str, ...] = ()
    if notification.channel == "webhook":
        cache = {} if signing_cache is None else signing_cache
        if notification.owner_id not in cache:
            secret = webhook_secret_get_or_create(owner_id=notification.owner_id)
            cache[notification.owner_id] = selectors.signing_secrets(secret=secret)
        signing = cache[notification.owner_id]
    return notifier.Message(
        id=str(notification.id),
        recipient=notification.recipient,
        subject=notification.subject,
        body=notification.body,
        payload=notification.payload,
        signing_secrets=signing,
    )


def _finish(
    notification: Notification,
    *,
    started_at: datetime,
    outcome: str,
    error: str = "",
    status: str,
    failure_reason: str = "",
    provider_message_id: str = "",
) -> bool:
    """Record an attempt's end, if our claim still holds (the stuck-sweep may have taken over)."""
    now = timezone.now()
    fields: dict[str, Any] = {"status": status, "lease_expires_at": None, "updated_at": now}
    if status == Status.SENT:
        fields.update(sent_at=now, provider_message_id=provider_message_id, last_error=None)
    else:
        fields.update(last_error=error, failure_reason=failure_reason)
    if status == Status.RETRYING:
        # Provisional: the task's retry() sets the exact time once Celery picks the countdown.
        fields.update(next_attempt_at=now, last_enqueued_at=now)
    attempt = DeliveryAttempt(
        notification_id=notification.id,
        number=notification.attempts_total,
        started_at=started_at,
        finished_at=now,
        outcome=outcome,
        error=error,
    )
    connection = connections[Notification.objects.db]
    if connection.vendor == "postgresql":
        held = _finish_in_one_statement(connection, notification, fields, attempt)
    else:
        held = _finish_in_a_transaction(notification, fields, attempt)
    if not held:
        logger.warning("notification %s: lease lost before the attempt finished (%s)", notification.id, outcome)
    return held


def _finish_in_a_transaction(notification: Notification, fields: dict[str, Any], attempt: DeliveryAttempt) -> bool:
    with transaction.atomic():
        held = Notification.objects.filter(
            id=notification.id, status=Status.SENDING, attempts_total=notification.attempts_total
        ).update(**fields)
        if held:
            attempt.save(force_insert=True)
    return bool(held)


def _finish_in_one_statement(
    connection, notification: Notification, fields: dict[str, Any], attempt: DeliveryAttempt
) -> bool:
    """PostgreSQL: the conditional UPDATE and the attempt's INSERT as one statement
    (a data-modifying CTE), atomic without a transaction's two extra round trips."""
    model, attempts = Notification._meta, DeliveryAttempt._meta
    sets, params = [], []
    for name, value in fields.items():
        field = model.get_field(name)
        sets.append(f"{connection.ops.quote_name(field.column)} = %s")
        params.append(field.get_db_prep_value(value, connection))
    columns = ("notification_id", "number", "started_at", "finished_at", "outcome", "error")
    values = [attempts.get_field(name).get_db_prep_value(getattr(attempt, name), connection) for name in columns[1:]]
    # Only names from the models' own metadata are interpolated; every value is a parameter.
    sql = (
        f"WITH held AS (UPDATE {model.db_table} SET {', '.join(sets)} "  # noqa: S608
        "WHERE id = %s AND status = %s AND attempts_total = %s RETURNING id) "
        f"INSERT INTO {attempts.db_table} ({', '.join(attempts.get_field(c).column for c in columns)}) "
        f"SELECT id, {', '.join(['%s'] * len(values))} FROM held"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, notification.id, Status.SENDING, notification.attempts_total, *values])
        return cursor.rowcount == 1


def notification_deliver(
    *,
    notification_id: uuid.UUID | str,
    dispatch_token: uuid.UUID | str,
    signing_cache: SigningCache | None = None,
) -> DeliveryResult | None:
    """Claim, send through the channel's provider, record the outcome.

    Returns ``None`` when the message had nothing to do (claimed elsewhere,
    cancelled, rescheduled, unknown). Raises ``DeliveryDeferred`` on a transient
    failure with attempts left, for the task to retry. ``signing_cache`` lets a
    batch read each client's signing secrets once.
    """
    notification = notification_claim(notification_id=notification_id, dispatch_token=dispatch_token)
    if notification is None:
        if not _wait_if_early(notification_id=notification_id, dispatch_token=dispatch_token):
            return None
        notification = notification_claim(notification_id=notification_id, dispatch_token=dispatch_token)
        if notification is None:
            return None
    started_at = timezone.now()
    try:
        provider = notifier.get_provider(notification.channel)
        receipt = provider.send(_message_for(notification, signing_cache))
    except notifier.PermanentError as exc:
        _finish(
            notification,
            started_at=started_at,
            outcome=Outcome.PERMANENT,
            error=str(exc),
            status=Status.FAILED,
            failure_reason=FailureReason.PERMANENT,
        )
        return DeliveryResult(notification.id, Status.FAILED)
    except KeyError:
        _finish(
            notification,
            started_at=started_at,
            outcome=Outcome.PERMANENT,
            error=f"no provider for channel {notification.channel!r}",
            status=Status.FAILED,
            failure_reason=FailureReason.PERMANENT,
        )
        return DeliveryResult(notification.id, Status.FAILED)
    except Exception as exc:
        # TransientError, and any bug in a provider: retried, never dropped.
        error = str(exc) if isinstance(exc, notifier.TransientError) else f"unexpected error: {exc!r}"
        if notification.attempts >= notification.max_attempts:
            _finish(
                notification,
                started_at=started_at,
                outcome=Outcome.TRANSIENT,
                error=error,
                status=Status.FAILED,
                failure_reason=FailureReason.EXHAUSTED,
            )
            return DeliveryResult(notification.id, Status.FAILED)
        if not _finish(
            notification, started_at=started_at, outcome=Outcome.TRANSIENT, error=error, status=Status.RETRYING
        ):
            return None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            retry_after = min(retry_after, conf.retry_after_max())
        raise DeliveryDeferred(
            error, retry_after=retry_after, attempts=notification.attempts, priority=notification.priority
        ) from exc
    _finish(
        notification,
        started_at=started_at,
        outcome=Outcome.SENT,
        status=Status.SENT,
        provider_message_id=receipt.provider_message_id,
    )
    return DeliveryResult(notification.id, Status.SENT)


def _wait_if_early(*, notification_id: uuid.UUID | str, dispatch_token: uuid.UUID | str) -> bool:
    """A message that arrived before its row is due: wait out a short remainder
    (True), or publish it again for the longer one (False)."""
    row = (
        Notification.objects.filter(id=notification_id, dispatch_token=dispatch_token, status__in=LIVE_STATUSES)
        .values("next_attempt_at", "priority")
        .first()
    )
    if row is None or row["next_attempt_at"] is None:
        return False
    remaining = row["next_attempt_at"] - timezone.now()
    if remaining <= timedelta(0):
        return True  # raced with a retry's rescheduling: claim again
    if remaining <= EARLY_WAIT_MAX:
        time.sleep(remaining.total_seconds())
        return True
    publish(
        [
            Dispatch(
                uuid.UUID(str(notification_id)), uuid.UUID(str(dispatch_token)), row["next_attempt_at"], row["priority"]
            )
        ]
    )
    return False


def notification_schedule_retry(
    *, notification_id: uuid.UUID | str, dispatch_token: uuid.UUID | str, countdown: float
) -> datetime:
    """Record when the retry Celery is about to publish is due."""
    now = timezone.now()
    due = now + timedelta(seconds=countdown)
    Notification.objects.filter(id=notification_id, dispatch_token=dispatch_token, status=Status.RETRYING).update(
        next_attempt_at=due, last_enqueued_at=now, updated_at=now
    )
    return due


def retry_countdown(*, attempts: int, retry_after: float | None = None) -> int:
    """Seconds before the next attempt: Celery's exponential backoff with full jitter
    (``retry_backoff * 2 ** (attempts - 1)``, capped), or the provider's ``Retry-After`` if longer."""
    countdown = get_exponential_backoff_interval(
        factor=conf.retry_backoff(), retries=max(attempts - 1, 0), maximum=conf.retry_backoff_max(), full_jitter=True
    )
    return max(countdown, math.ceil(retry_after or 0))


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    skipped: int = 0
    handed_off: int = 0


def notification_deliver_batch(
    *, notification_ids: list[str], dispatch_token: uuid.UUID | str, budget: timedelta
) -> BatchResult:
    """Deliver the notifications of one ``deliver_batch`` message, one claim each.

    The message amortises the broker's cost; every row still has its own claim,
    lease, attempt record and outcome. A transient failure gets its own
    ``deliver`` message with the same backoff a single delivery would get. Once
    the batch has run for ``budget`` (or the task's soft time limit fires), the
    ids not yet tried are handed off in a new message, so no lease outlives its
    worker's attention and a slow receiver cannot hold a batch hostage.
    """
    result = BatchResult()
    signing_cache: SigningCache = {}
    deadline = time.monotonic() + budget.total_seconds()
    for index, notification_id in enumerate(notification_ids):
        if time.monotonic() > deadline:
            result.handed_off = _hand_off(notification_ids[index:], dispatch_token)
            break
        try:
            outcome = notification_deliver(
                notification_id=notification_id, dispatch_token=dispatch_token, signing_cache=signing_cache
            )
        except DeliveryDeferred as deferred:
            _retry_later(notification_id, dispatch_token, deferred)
            result.retrying += 1
            if isinstance(deferred.__cause__, SoftTimeLimitExceeded):
                result.handed_off = _hand_off(notification_ids[index + 1 :], dispatch_token)
                break
            continue
        except SoftTimeLimitExceeded:
            # Outside a send (the row, if claimed, is left to the stuck-sweep's lease).
            result.handed_off = _hand_off(notification_ids[index + 1 :], dispatch_token)
            break
        if outcome is None:
            result.skipped += 1
        elif outcome.status == Status.SENT:
            result.sent += 1
        else:
            result.failed += 1
    return result


def _retry_later(notification_id: str, dispatch_token: uuid.UUID | str, deferred: DeliveryDeferred) -> None:
    countdown = retry_countdown(attempts=deferred.attempts, retry_after=deferred.retry_after)
    due = notification_schedule_retry(
        notification_id=notification_id, dispatch_token=dispatch_token, countdown=countdown
    )
    dispatch = Dispatch(
        uuid.UUID(str(notification_id)), uuid.UUID(str(dispatch_token)), due, deferred.priority, deferred.attempts
    )
    _publish_or_leave_to_sweep([dispatch])


def _hand_off(notification_ids: list[str], dispatch_token: uuid.UUID | str) -> int:
    """Publish the untried rest of a batch again, as it was (same token, due now)."""
    rows = list(
        Notification.objects.filter(
            id__in=notification_ids, dispatch_token=dispatch_token, status__in=LIVE_STATUSES
        ).only("id", "dispatch_token", "next_attempt_at", "priority", "attempts")
    )
    _publish_or_leave_to_sweep([_dispatch_of(row) for row in rows])
    return len(rows)


# --- sweeps ------------------------------------------------------------------

MAX_SWEEP_BATCHES = 20
# Behind a backlog a due row's message is most likely still queued, so the missed-sweep
# waits this many graces before calling it lost (see sweep_missed).
BACKLOG_PATIENCE = 10


def sweep_missed() -> int:
    """Re-publish live rows that are due and whose message seems lost.

    A row qualifies when its publish failed (``last_enqueued_at`` null) or when
    it has been due, and unpublished, for longer than ``NOTIFY_SWEEP_GRACE``.
    While its priority's queue holds ready messages, a row is only late because
    the workers are behind, and re-publishing it would add a claim to the
    backlog and send it to the back of the queue; such a row waits
    ``BACKLOG_PATIENCE`` graces instead. The broker is asked only once an
    overdue row is found, so a pass with nothing due stays one query.
    Returns how many rows were re-published.
    """
    total = 0
    backlogged: list[str] | None = None
    for _ in range(MAX_SWEEP_BATCHES):
        now = timezone.now()
        with transaction.atomic():
            rows = _missed_rows(now, backlogged or [])
            if backlogged is None and any(row.last_enqueued_at is not None for row in rows):
                backlogged = dispatch.queues_with_backlog(Priority.values)
                if backlogged:
                    rows = _missed_rows(now, backlogged)
            if not rows:
                break
            # One new token for the batch: the rows travel together in deliver_batch
            # messages, and any lost-but-not-quite message for them becomes a no-op.
            token = uuid.uuid4()
            Notification.objects.filter(id__in=[row.id for row in rows]).update(
                last_enqueued_at=now, dispatch_token=token
            )
            for row in rows:
                row.dispatch_token = token
            _publish_on_commit([_dispatch_of(row) for row in rows])
        total += len(rows)
        if len(rows) < conf.sweep_batch():
            break
    if total:
        logger.warning("missed-sweep re-published %d notification(s)", total)
    return total


def _missed_rows(now: datetime, backlogged: list[str]) -> list[Notification]:
    def unpublished_since(cutoff: datetime) -> Q:
        return Q(next_attempt_at__lte=cutoff, last_enqueued_at__lte=cutoff)

    overdue = unpublished_since(now - conf.sweep_grace())
    if backlogged:
        patience = now - conf.sweep_grace() * BACKLOG_PATIENCE
        overdue &= ~Q(priority__in=backlogged) | unpublished_since(patience)
    return list(
        Notification.objects.select_for_update(skip_locked=True)
        .filter(status__in=LIVE_STATUSES, next_attempt_at__lte=now)
        .filter(Q(last_enqueued_at__isnull=True) | overdue)
        .order_by("next_attempt_at")
        .only("id", "dispatch_token", "next_attempt_at", "priority", "attempts", "last_enqueued_at")[
            : conf.sweep_batch()
        ]
    )


def sweep_stuck() -> int:
    """Recover ``sending`` rows whose lease expired (their worker died or hung).

    The attempt counts, recorded as ``worker_lost``; the row goes back to
    ``retrying`` and is re-published, or to ``failed`` if it has no attempts left.
    """
    total = 0
    for _ in range(MAX_SWEEP_BATCHES):
        now = timezone.now()
        with transaction.atomic():
            rows = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(status=Status.SENDING, lease_expires_at__lt=now)
                .order_by("lease_expires_at")[: conf.sweep_batch()]
            )
            if not rows:
                break
            error = "worker lost: the lease expired before the attempt finished"
            DeliveryAttempt.objects.bulk_create(
                [
                    DeliveryAttempt(
                        notification_id=row.id,
                        number=row.attempts_total,
                        started_at=row.lease_expires_at - conf.lease(),
                        finished_at=now,
                        outcome=Outcome.WORKER_LOST,
                        error=error,
                    )
                    for row in rows
                ],
                ignore_conflicts=True,
            )
            exhausted = [row.id for row in rows if row.attempts >= row.max_attempts]
            again = [row for row in rows if row.attempts < row.max_attempts]
            Notification.objects.filter(id__in=exhausted).update(
                status=Status.FAILED,
                failure_reason=FailureReason.WORKER_LOST,
                last_error=error,
                lease_expires_at=None,
                updated_at=now,
            )
            token = uuid.uuid4()
            Notification.objects.filter(id__in=[row.id for row in again]).update(
                status=Status.RETRYING,
                last_error=error,
                lease_expires_at=None,
                next_attempt_at=now,
                last_enqueued_at=now,
                dispatch_token=token,
                updated_at=now,
            )
            for row in again:
                row.next_attempt_at = now
                row.dispatch_token = token
            _publish_on_commit([_dispatch_of(row) for row in again])
        total += len(rows)
        if len(rows) < conf.sweep_batch():
            break
    if total:
        logger.warning("stuck-sweep recovered %d notification(s)", total)
    return total


# --- webhook signing secrets -------------------------------------------------


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_secret_get_or_create(*, owner_id: int) -> WebhookSecret:
    """This client's signing secret, made on first use."""
    secret, _ = WebhookSecret.objects.get_or_create(
        owner_id=owner_id, defaults={"secret": _new_secret(), "created_at": timezone.now()}
    )
    return secret


def webhook_secret_rotate(*, owner: AbstractBaseUser) -> WebhookSecret:
    """A new secret; the old one keeps signing beside it for ``secret_overlap()``."""
    now = timezone.now()
    with transaction.atomic():
        current = webhook_secret_get_or_create(owner_id=owner.pk)
        current = WebhookSecret.objects.select_for_update().get(pk=current.pk)
        current.previous_secret = current.secret
        current.previous_expires_at = now + conf.secret_overlap()
        current.secret = _new_secret()
        current.created_at = now
        current.save()
    return current


# --- dead letters and retention ------------------------------------------------

TERMINAL_STATUSES = (Status.SENT, Status.FAILED, Status.CANCELLED)


def failed_requeue(*, notifications: Iterable[Notification], dry_run: bool = False) -> list[Notification]:
    """Put failed notifications back to ``scheduled``, due now; return those requeued.

    Each goes through ``notification_retry``, so a row that left ``failed``
    meanwhile (requeued by someone else) is skipped, never sent twice.
    """
    requeued: list[Notification] = []
    for notification in notifications:
        if dry_run:
            if notification.status == Status.FAILED:
                requeued.append(notification)
            continue
        try:
            requeued.append(notification_retry(notification=notification))
        except InvalidState:
            continue
    return requeued


def notifications_purge(*, older_than: timedelta, batch_size: int = 1000, dry_run: bool = False) -> int:
    """Delete terminal notifications (sent, failed, cancelled) last changed before ``now - older_than``.

    In batches of ``batch_size`` rows, each its own short transaction, so a
    purge of millions never holds a long lock or a huge transaction. Live rows
    are never touched. Returns how many notifications were (or would be) deleted.
    """
    cutoff = timezone.now() - older_than
    old = Notification.objects.filter(status__in=TERMINAL_STATUSES, updated_at__lt=cutoff)
    if dry_run:
        return old.count()
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(old.order_by("updated_at").values_list("id", flat=True)[:batch_size])
            if not ids:
                break
            DeliveryAttempt.objects.filter(notification_id__in=ids).delete()
            # Re-check the status: a row retried since the SELECT is live again and stays.
            deleted += (
                Notification.objects.filter(id__in=ids, status__in=TERMINAL_STATUSES)
                .delete()[1]
                .get(Notification._meta.label, 0)
            )
    if deleted:
        logger.info("purged %d notification(s) older than %s", deleted, cutoff.isoformat())
    return deleted
