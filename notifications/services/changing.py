"""What a client or an operator changes on a notification: reschedule, cancel, retry, requeue, delete.

Each is one conditional UPDATE on the row's status; zero rows updated means
the row moved on meanwhile, and the caller gets ``InvalidState`` naming the
status it has now. A new ``dispatch_token`` turns any message already queued
for the row into a no-op at the claim.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from notifications.exceptions import InvalidState
from notifications.models import LIVE_STATUSES, TERMINAL_STATUSES, EventType, Notification, Status
from notifications.services.creating import CONTENT_FIELDS
from notifications.services.events import events_listening, events_listening_to, events_record
from notifications.services.publishing import dispatch_of, publish_on_commit


def _refetch(notification: Notification) -> Notification:
    notification.refresh_from_db()
    return notification


def _status(notification: Notification) -> str:
    current = Notification.objects.filter(id=notification.id).values_list("status", flat=True).first()
    return current or notification.status


def notification_reschedule(*, notification: Notification, changes: dict[str, Any]) -> Notification:
    """Change ``send_at`` and/or content while the row is still ``scheduled``."""
    now = timezone.now()
    fields: dict[str, Any] = {key: value for key, value in changes.items() if key in (*CONTENT_FIELDS, "send_at")}
    if "send_at" in fields:
        fields["send_at"] = max(fields["send_at"] or now, now)
    if notification.digest_window_id:
        # Its window's close sends it, as one item of the digest: it has no time or text of its own.
        raise InvalidState("A digest member cannot be changed; cancel it and create another.")
    return _update_and_publish(
        notification,
        from_status=Status.SCHEDULED,
        refusal="Only a scheduled notification can be changed",
        **fields,
        next_attempt_at=fields.get("send_at", F("send_at")),
    )


def notification_cancel(*, notification: Notification) -> Notification:
    """``scheduled``/``retrying`` → ``cancelled``. The queued message expires harmlessly at the claim."""
    now = timezone.now()
    endpoints = events_listening_to(notification, EventType.CANCELLED)
    with transaction.atomic() if endpoints else contextlib.nullcontext():
        updated = Notification.objects.filter(id=notification.id, status__in=LIVE_STATUSES).update(
            status=Status.CANCELLED, cancelled_at=now, next_attempt_at=None, updated_at=now
        )
        if not updated:
            raise InvalidState(
                f"Only a scheduled or retrying notification can be cancelled; this one is {_status(notification)}."
            )
        notification = _refetch(notification)
        events_record(notifications=[notification], event_type=EventType.CANCELLED, endpoints=endpoints)
    return notification


def notifications_cancel_live(*, rows: QuerySet[Notification], owner_ids: Iterable[Any], now: datetime) -> int:
    """Cancel the live rows among ``rows`` (all of these owners'), with their events, in the
    caller's transaction; how many. With no endpoint listening, one UPDATE, as before events."""
    live = rows.filter(status__in=LIVE_STATUSES)
    changes = {"status": Status.CANCELLED, "cancelled_at": now, "next_attempt_at": None, "updated_at": now}
    endpoints = events_listening(owner_ids=owner_ids, event_type=EventType.CANCELLED)
    if not endpoints:
        return live.update(**changes)
    ids = list(live.select_for_update().values_list("id", flat=True))  # locked: none leaves live meanwhile
    cancelled = Notification.objects.filter(id__in=ids).update(**changes)
    events_record(
        notifications=list(Notification.objects.filter(id__in=ids)),
        event_type=EventType.CANCELLED,
        endpoints=endpoints,
    )
    return cancelled


def notification_retry(*, notification: Notification) -> Notification:
    """``failed`` → ``scheduled``, due now, with a fresh set of ``max_attempts``."""
    return _update_and_publish(
        notification,
        from_status=Status.FAILED,
        refusal="Only a failed notification can be retried",
        status=Status.SCHEDULED,
        attempts=0,
        failure_reason="",
        next_attempt_at=timezone.now(),
    )


def _update_and_publish(notification: Notification, *, from_status: str, refusal: str, **fields: Any) -> Notification:
    """One conditional UPDATE from ``from_status`` with a new dispatch token, and a publish on commit;
    ``InvalidState`` (``refusal``, and the status the row has now) when the row has moved on."""
    now = timezone.now()
    with transaction.atomic():
        updated = Notification.objects.filter(id=notification.id, status=from_status).update(
            **fields, dispatch_token=uuid.uuid4(), last_enqueued_at=now, updated_at=now
        )
        if not updated:
            raise InvalidState(f"{refusal}; this one is {_status(notification)}.")
        notification = _refetch(notification)
        publish_on_commit([dispatch_of(notification)])
    return notification


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


def notification_delete(*, notification: Notification) -> Literal["deleted", "cancelled"]:
    """An operator's delete: a finished row (sent, failed, cancelled) is deleted with its attempts;
    a live one (scheduled, retrying) is cancelled instead; a ``sending`` one is refused.

    Cancelled, not deleted, so a row that was still to be sent never silently vanishes: its client
    reads ``cancelled``, not a 404, and deleting it again (it is finished now) removes it. A
    ``sending`` row raises ``InvalidState``: a worker holds it and would record its outcome on a
    row that is gone. The row is locked while its status decides, so a claim or a manual retry
    racing the delete waits and then finds it gone, or cancelled. A row already gone counts as deleted.
    """
    with transaction.atomic():
        locked = Notification.objects.select_for_update().filter(id=notification.id)
        status = locked.values_list("status", flat=True).first()
        if status is None or status in TERMINAL_STATUSES:
            Notification.objects.filter(id=notification.id).delete()  # and its attempts (CASCADE)
            return "deleted"
        if status in LIVE_STATUSES:
            notification_cancel(notification=notification)
            return "cancelled"
    raise InvalidState(
        f"A {status} notification cannot be deleted: a worker is sending it now; try once it has finished."
    )
