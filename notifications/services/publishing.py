"""Publishing rows to the broker after their transaction commits.

A row is stored before its message exists, so a failed publish never fails the
caller: the row is marked (``last_enqueued_at`` NULL) and the missed-sweep takes
it as soon as it is due.
"""

from __future__ import annotations

from django.db import transaction

from notifications.dispatch import Dispatch, publish
from notifications.models import Notification


def dispatch_of(notification: Notification) -> Dispatch:
    """The message that wakes a worker for this row as it is now."""
    return Dispatch(
        notification_id=notification.id,
        dispatch_token=notification.dispatch_token,
        due_at=notification.next_attempt_at,
        priority=notification.priority,
        retries=notification.attempts,
    )


def publish_or_leave_to_sweep(dispatches: list[Dispatch]) -> None:
    """Publish now; rows whose message failed are marked so the missed-sweep takes them as soon as due."""
    failed = publish(dispatches)
    if failed:
        Notification.objects.filter(
            id__in=[item.notification_id for item in failed],
            dispatch_token__in=[item.dispatch_token for item in failed],
        ).update(last_enqueued_at=None)


def publish_on_commit(dispatches: list[Dispatch]) -> None:
    """Publish once the caller's transaction commits (at once in autocommit)."""
    transaction.on_commit(lambda: publish_or_leave_to_sweep(dispatches))
