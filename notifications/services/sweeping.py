"""The sweeps that make a lost message or a dead worker harmless, and retention.

Both sweeps take rows with ``SELECT … FOR UPDATE SKIP LOCKED`` in bounded
batches, so two overlapping runs never take the same row, and each costs one
indexed query when there is nothing to do (the partial indexes on live and
sending rows).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from notifications import conf, dispatch
from notifications.models import (
    LIVE_STATUSES,
    TERMINAL_STATUSES,
    DeliveryAttempt,
    EventType,
    FailureReason,
    Notification,
    Outcome,
    Priority,
    Status,
)
from notifications.services.events import endpoint_delivery_outcome, events_record_changed
from notifications.services.publishing import dispatch_of, publish_on_commit

logger = logging.getLogger(__name__)

MAX_SWEEP_BATCHES = 20
# Behind a backlog a due row's message is most likely still queued, so the missed-sweep
# waits this many graces before calling it lost (see sweep_missed).
BACKLOG_PATIENCE = 10
WORKER_LOST_ERROR = "worker lost: the lease expired before the attempt finished"


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
            _republish(rows, now)
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


def _republish(rows: list[Notification], now: datetime) -> None:
    # One new token for the batch: the rows travel together in deliver_batch
    # messages, and any lost-but-not-quite message for them becomes a no-op.
    token = uuid.uuid4()
    Notification.objects.filter(id__in=[row.id for row in rows]).update(last_enqueued_at=now, dispatch_token=token)
    for row in rows:
        row.dispatch_token = token
    publish_on_commit([dispatch_of(row) for row in rows])


def sweep_stuck() -> int:
    """Recover ``sending`` rows whose lease expired (their worker died or hung).

    The attempt counts, recorded as ``worker_lost``; the row goes back to
    ``retrying`` and is re-published, or to ``failed`` if it has no attempts left.
    Expiry is read by the database's clock, the one the claim set the lease by.
    """
    total = 0
    for _ in range(MAX_SWEEP_BATCHES):
        now = timezone.now()
        with transaction.atomic():
            rows = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(status=Status.SENDING, lease_expires_at__lt=Now())
                .order_by("lease_expires_at")[: conf.sweep_batch()]
            )
            if not rows:
                break
            _recover_expired(rows, now)
        total += len(rows)
        if len(rows) < conf.sweep_batch():
            break
    if total:
        logger.warning("stuck-sweep recovered %d notification(s)", total)
    return total


def _recover_expired(rows: list[Notification], now: datetime) -> None:
    DeliveryAttempt.objects.bulk_create(
        [
            DeliveryAttempt(
                notification_id=row.id,
                number=row.attempts_total,
                started_at=row.lease_expires_at - conf.lease(),
                finished_at=now,
                outcome=Outcome.WORKER_LOST,
                error=WORKER_LOST_ERROR,
            )
            for row in rows
        ],
        ignore_conflicts=True,
    )
    exhausted = [row for row in rows if row.attempts >= row.max_attempts]
    again = [row for row in rows if row.attempts < row.max_attempts]
    Notification.objects.filter(id__in=[row.id for row in exhausted]).update(
        status=Status.FAILED,
        failure_reason=FailureReason.WORKER_LOST,
        last_error=WORKER_LOST_ERROR,
        lease_expires_at=None,
        updated_at=now,
    )
    sources = [row for row in exhausted if not row.event_type]
    events_record_changed(
        ids=[row.id for row in sources], owner_ids={row.owner_id for row in sources}, event_type=EventType.FAILED
    )
    for endpoint_id in {row.endpoint_id for row in rows if row.endpoint_id}:  # a lost attempt is a failed one
        endpoint_delivery_outcome(endpoint_id=endpoint_id, succeeded=False, now=now)
    token = uuid.uuid4()
    Notification.objects.filter(id__in=[row.id for row in again]).update(
        status=Status.RETRYING,
        last_error=WORKER_LOST_ERROR,
        lease_expires_at=None,
        next_attempt_at=now,
        last_enqueued_at=now,
        dispatch_token=token,
        updated_at=now,
    )
    for row in again:
        row.next_attempt_at = now
        row.dispatch_token = token
    publish_on_commit([dispatch_of(row) for row in again])


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
