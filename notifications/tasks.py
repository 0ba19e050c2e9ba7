"""Celery tasks: thin wrappers over ``services``.

``deliver`` retries transient failures through ``autoretry_for`` with
``retry_backoff``/``retry_backoff_max``/``retry_jitter`` from the ``NOTIFY_*``
settings. ``DeliveryTask.retry`` draws the countdown from the row's own attempt
count through ``services.retry_countdown`` (the same function the batch path
uses, honouring a provider's ``Retry-After``) and writes the row's
``next_attempt_at`` before the retry is published. A database outage is retried
too (the row cannot be read, so nothing is recorded), after the first retry's
wait every time: an outage is nobody's attempt, and a message whose row had made
ten attempts must not wait hours for the database to come back. Celery's own
``max_retries`` is off: the row's ``max_attempts`` decides, in the service.
"""

from __future__ import annotations

import logging
import time
import uuid

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from notifications import conf, metrics, services, task_names
from notifications.dispatch import trace_headers

logger = logging.getLogger(__name__)


# The database unreachable mid-task: retry the message rather than drop it.
DATABASE_DOWN = (OperationalError, InterfaceError)


class DeliveryTask(Task):
    def retry(
        self, args=None, kwargs=None, exc=None, throw=True, eta=None, countdown=None, max_retries=None, **options
    ):
        if isinstance(exc, services.DeliveryDeferred):
            countdown = services.retry_countdown(attempts=exc.attempts, retry_after=exc.retry_after)
            notification_id, dispatch_token = self.request.args[:2]
            services.notification_schedule_retry(
                notification_id=notification_id, dispatch_token=dispatch_token, countdown=countdown
            )
        elif isinstance(exc, DATABASE_DOWN):
            countdown = services.retry_countdown(attempts=1)
        headers = trace_headers()
        if headers:  # the retry's log lines keep the trace
            options.setdefault("headers", headers)
        return super().retry(
            args=args, kwargs=kwargs, exc=exc, throw=throw, countdown=countdown, max_retries=None, **options
        )


def _valid_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


_SOFT_TIME_LIMIT, _TIME_LIMIT = conf.task_time_limits()
DELIVERY_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "retry_backoff": conf.retry_backoff(),
    "retry_backoff_max": conf.retry_backoff_max(),
    "retry_jitter": True,
    "max_retries": None,
    "soft_time_limit": _SOFT_TIME_LIMIT,
    "time_limit": _TIME_LIMIT,
}


@shared_task(
    name=task_names.DELIVER,
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


@shared_task(name=task_names.DELIVER_BATCH, base=DeliveryTask, autoretry_for=DATABASE_DOWN, **DELIVERY_OPTIONS)
def deliver_batch(self: DeliveryTask, dispatch_token: str, notification_ids: list[str]) -> dict | None:
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


@shared_task(name=task_names.SWEEP_MISSED, ignore_result=True)
def sweep_missed() -> int:
    return services.sweep_missed()


@shared_task(name=task_names.SWEEP_STUCK, ignore_result=True)
def sweep_stuck() -> int:
    return services.sweep_stuck()


@shared_task(name=task_names.PURGE_OLD, ignore_result=True)
def purge_old() -> int:
    """Retention, hourly: previous webhook secrets past their overlap are cleared, and terminal
    notifications older than ``NOTIFY_RETENTION_DAYS`` are deleted (0 keeps them all)."""
    services.webhook_secrets_expire()
    if not conf.retention():
        return 0
    return services.notifications_purge(older_than=conf.retention())


@shared_task(name=task_names.EXPO_RECEIPTS, ignore_result=True)
def expo_receipts() -> int:
    """Every 5 minutes: what Expo's receipts say of the pushes it took (a ticket only says it
    accepted them), stored once each as the notification's delivery report."""
    return services.expo_receipts_collect()


@shared_task(
    name=task_names.BROADCAST_EXPAND,
    base=DeliveryTask,
    autoretry_for=DATABASE_DOWN,
    reject_on_worker_lost=True,  # a re-run is harmless (the row lock and cursor); a lost one waits a minute
    ignore_result=True,
    **DELIVERY_OPTIONS,
)
def broadcast_expand(self: DeliveryTask, broadcast_id: str) -> None:
    """Write a broadcast's notifications for half a lease, then hand the rest on in a new message,
    so no message runs into the time limits and a redelivery repeats at most half a lease."""
    if not _valid_uuid(broadcast_id):
        logger.error("broadcast_expand: malformed message %r dropped", broadcast_id)
        return
    if services.broadcast_expand(broadcast_id=broadcast_id, budget=conf.lease() / 2):
        services.publish_expansions([broadcast_id])


@shared_task(name=task_names.SWEEP_BROADCASTS, ignore_result=True)
def sweep_broadcasts() -> int:
    """Expansions whose row has not moved for a minute (lost message, dead worker): published again."""
    return services.broadcasts_resume()


@shared_task(name=task_names.RUN_SCHEDULES, ignore_result=True)
def run_schedules() -> int:
    """Every 5 seconds: due schedules' occurrences made once each (services.schedules_run).
    Its heartbeat says beat is alive (``notifier_beat_heartbeat_age_seconds``)."""
    metrics.beat_heartbeat()
    return services.schedules_run()


# A close that arrives this early (the broker keeps whole seconds) waits out the rest here.
DIGEST_EARLY_WAIT = 2.0


@shared_task(name=task_names.DIGEST_CLOSE, bind=True, acks_late=True, autoretry_for=DATABASE_DOWN, max_retries=None)
def digest_close(self: Task, window_id: str) -> int | None:
    """Close a digest window at its end. Idempotent: a second close, or the sweep's, does nothing."""
    if not _valid_uuid(window_id):
        logger.error("digest_close: malformed message %r dropped", window_id)
        return None
    result = services.digest_close(window_id=window_id)
    if not result.closed and result.closes_at is not None:
        early = (result.closes_at - timezone.now()).total_seconds()
        if early > DIGEST_EARLY_WAIT:
            services.digest_close_later(window_id=window_id, closes_at=result.closes_at)
            return None
        time.sleep(max(early, 0))
        result = services.digest_close(window_id=window_id)
    return result.members


@shared_task(name=task_names.SWEEP_DIGESTS, ignore_result=True)
def sweep_digests() -> int:
    """Digest windows whose close message was lost: closed a grace after their end."""
    return services.digests_sweep()
