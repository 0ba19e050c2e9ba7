"""Celery tasks: thin wrappers over ``services``.

``deliver`` retries transient failures through ``autoretry_for`` with
``retry_backoff``/``retry_backoff_max``/``retry_jitter`` from the ``NOTIFY_*``
settings. ``DeliveryTask.retry`` adds the two things Celery does not know: a
provider's ``Retry-After`` (the longer wait wins) and the row's
``next_attempt_at``, written before the retry is published. A database outage
is retried the same way (the row cannot be read, so nothing is recorded). Celery's own
``max_retries`` is off: the row's ``max_attempts`` decides, in the service.
"""

from __future__ import annotations

import logging
import math
import uuid

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from notifications import conf, services

logger = logging.getLogger(__name__)


# The database unreachable mid-task: retry the message rather than drop it.
DATABASE_DOWN = (OperationalError, InterfaceError)


class DeliveryTask(Task):
    def retry(
        self, args=None, kwargs=None, exc=None, throw=True, eta=None, countdown=None, max_retries=None, **options
    ):
        retry_after = getattr(exc, "retry_after", None)
        countdown = max(countdown or 0, math.ceil(retry_after or 0))
        if isinstance(exc, services.DeliveryDeferred):
            notification_id, dispatch_token = self.request.args[:2]
            services.notification_schedule_retry(
                notification_id=notification_id, dispatch_token=dispatch_token, countdown=countdown
            )
        return super().retry(
            args=args, kwargs=kwargs, exc=exc, throw=throw, countdown=countdown, max_retries=None, **options
        )


def _valid_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


DELIVERY_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "retry_backoff": settings.NOTIFY_RETRY_BACKOFF,
    "retry_backoff_max": settings.NOTIFY_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": None,
    # Backstops under the lease, for a receiver that trickles its answer past every
    # per-read timeout: the soft limit raises inside the send (recorded, retried); the
    # hard one kills the pool process, and the stuck-sweep recovers the row.
    "soft_time_limit": settings.NOTIFY_LEASE_SECONDS * 0.75,
    "time_limit": settings.NOTIFY_LEASE_SECONDS * 0.9,
}


@shared_task(
    name="notifications.deliver",
    base=DeliveryTask,
    autoretry_for=(services.DeliveryDeferred, *DATABASE_DOWN),
    **DELIVERY_OPTIONS,
)
def deliver(self: DeliveryTask, notification_id: str, dispatch_token: str) -> str | None:
    """Send one notification, if its claim succeeds. Idempotent: duplicates do nothing."""
    if not (_valid_uuid(notification_id) and _valid_uuid(dispatch_token)):
        logger.error("deliver: malformed message %r %r dropped", notification_id, dispatch_token)
        return None
    result = services.notification_deliver(notification_id=notification_id, dispatch_token=dispatch_token)
    return result.status if result else None


@shared_task(name="notifications.deliver_batch", autoretry_for=DATABASE_DOWN, **DELIVERY_OPTIONS)
def deliver_batch(self: Task, dispatch_token: str, notification_ids: list[str]) -> dict | None:
    """Send the notifications of a bulk request or a sweep batch: one message, many rows.

    Each row is claimed and recorded on its own, so a redelivered or duplicated
    batch sends nothing twice. After half a lease the untried rest is handed off
    in a new message. A database outage retries the whole message (claimed rows
    are skipped on the retry; their own outcome is already recorded).
    """
    if not _valid_uuid(dispatch_token) or not isinstance(notification_ids, list):
        logger.error("deliver_batch: malformed message %r %r dropped", dispatch_token, notification_ids)
        return None
    ids = [str(value) for value in notification_ids if _valid_uuid(value)]
    if len(ids) != len(notification_ids):
        logger.error("deliver_batch: %d malformed id(s) dropped", len(notification_ids) - len(ids))
    result = services.notification_deliver_batch(
        notification_ids=ids, dispatch_token=dispatch_token, budget=conf.lease() / 2
    )
    return vars(result)


@shared_task(name="notifications.sweep_missed", ignore_result=True)
def sweep_missed() -> int:
    return services.sweep_missed()


@shared_task(name="notifications.sweep_stuck", ignore_result=True)
def sweep_stuck() -> int:
    return services.sweep_stuck()


@shared_task(name="notifications.purge_old", ignore_result=True)
def purge_old() -> int:
    """Retention: delete terminal notifications older than ``NOTIFY_RETENTION_DAYS`` (0 keeps all)."""
    if not conf.retention():
        return 0
    return services.notifications_purge(older_than=conf.retention())
