"""Closing a digest window: its members still ``scheduled`` become one notification, sent in
their place; they end ``digested``.

One transaction: a conditional UPDATE closes the window (its row count decides, so a second
close, from a duplicate message or the sweep, does nothing); the members are locked, so a
cancel racing the close either wins (the member is left out) or waits and finds it
``digested``. The UPDATE waits for a member still joining (its INSERT … ON CONFLICT holds the
window's row), then the members' read, a new statement, sees it. The digest renders the first
member's template with ``items`` (every member's ``data``, oldest first) and is published on
commit; a window whose members were all cancelled sends nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications import metrics
from notifications.exceptions import ContentInvalid
from notifications.models import DigestStatus, DigestWindow, FailureReason, Notification, Status
from notifications.services.creating import _new_notification
from notifications.services.digests import digest_close_publish
from notifications.services.events import EVENT_OF_STATUS, events_record
from notifications.services.publishing import dispatch_of, publish_on_commit

# A window still open this long after its end lost its close message: the sweep closes it.
DIGEST_CLOSE_GRACE = timedelta(seconds=60)
SWEEP_BATCH = 500


@dataclass(frozen=True)
class DigestClosed:
    """What a close did: ``closed`` False when the window was not open, or not due (``closes_at``)."""

    closed: bool
    closes_at: datetime | None = None
    members: int = 0
    digest_notification: Notification | None = None


def digest_close(*, window_id: uuid.UUID | str, now: datetime | None = None) -> DigestClosed:
    """Close the window ``window_id`` if it is open and due at ``now``; see the module's promise."""
    now = now or timezone.now()
    with transaction.atomic():
        closed = DigestWindow.objects.filter(id=window_id, status=DigestStatus.OPEN, closes_at__lte=now).update(
            status=DigestStatus.CLOSED, closed_at=now
        )
        if not closed:
            window = DigestWindow.objects.filter(id=window_id, status=DigestStatus.OPEN).only("closes_at").first()
            return DigestClosed(closed=False, closes_at=window.closes_at if window else None)
        members = list(
            Notification.objects.select_for_update()
            .filter(digest_window_id=window_id, status=Status.SCHEDULED)
            .order_by("created_at", "id")
        )
        if not members:
            return DigestClosed(closed=True)
        Notification.objects.filter(id__in=[m.id for m in members], status=Status.SCHEDULED).update(
            status=Status.DIGESTED, updated_at=now
        )
        digest = _digest_of(members, now)
        DigestWindow.objects.filter(id=window_id).update(digest_notification=digest.id)
    return DigestClosed(closed=True, members=len(members), digest_notification=digest)


def _digest_of(members: list[Notification], now: datetime) -> Notification:
    """The one notification in the members' place, stored and published on commit. A template that
    no longer renders (deleted, or the items too long) makes it ``failed``, saying why: the
    members are digested either way, and the close is never retried forever."""
    first = members[0]
    request: dict[str, Any] = {
        "channel": first.channel,
        "template": first.template,
        "data": {"items": [member.data or {} for member in members]},
        "locale": first.locale,
        "priority": first.priority,
        "max_attempts": first.max_attempts,
        "category": first.category,
        **({"to": first.to} if first.to else {"recipient": first.recipient}),
    }
    try:
        digest = _new_notification(owner=first.owner, data=request, now=now)
    except ContentInvalid as exc:
        digest = Notification(
            owner=first.owner,
            channel=first.channel,
            recipient=first.recipient,
            to=first.to,
            template=first.template,
            data=request["data"],
            locale=first.locale,
            category=first.category,
            priority=first.priority,
            max_attempts=first.max_attempts,
            send_at=now,
            status=Status.FAILED,
            failure_reason=FailureReason.PERMANENT,
            last_error=f"the digest could not be rendered: {exc.errors}",
            next_attempt_at=None,
        )
    digest.digest = [str(member.id) for member in members]
    digest.save(force_insert=True)
    metrics.notifications_created([digest.channel])
    if digest.status == Status.SCHEDULED:
        publish_on_commit([dispatch_of(digest)])
    elif digest.status in EVENT_OF_STATUS:  # failed to render, or suppressed: told to the endpoints
        events_record(notifications=[digest], event_type=EVENT_OF_STATUS[digest.status])
    return digest


def digests_sweep(*, now: datetime | None = None, grace: timedelta = DIGEST_CLOSE_GRACE) -> int:
    """Close the open windows whose end passed more than ``grace`` ago (their close message was
    lost), through the ``digest_window_closing`` partial index; returns how many it closed."""
    now = now or timezone.now()
    late = DigestWindow.objects.filter(status=DigestStatus.OPEN, closes_at__lte=now - grace).order_by("closes_at")
    ids = list(late.values_list("id", flat=True)[:SWEEP_BATCH])
    return sum(digest_close(window_id=window_id, now=now).closed for window_id in ids)


def digest_close_later(*, window_id: uuid.UUID | str, closes_at: datetime) -> bool:
    """A close that came early (the broker keeps whole seconds) is published again for its end."""
    return digest_close_publish(window_id=uuid.UUID(str(window_id)), closes_at=closes_at)
