"""Publishing ``deliver`` messages to the broker.

A publish may fail (broker down, network): that is logged and reported to the
caller, never raised into a request. The row is already stored; the
missed-sweep re-publishes it.

Timing: RabbitMQ's native delayed delivery keeps whole seconds, truncated, and
the message still carries its exact ETA, so the broker releases it up to a
second early and the worker holds the remainder: never early, and more precise
than the broker alone. Rows due within a second go out with no ETA; the task
waits out the last fraction itself (see ``services.notification_deliver``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from celery import current_app
from django.utils import timezone

logger = logging.getLogger(__name__)

DELIVER_TASK = "notifications.deliver"
# Below this, a countdown is not worth a trip through the broker's delay queues
# (and kombu refuses 0 < countdown < 1).
MIN_BROKER_DELAY = timedelta(seconds=1)
# RabbitMQ's delay topology has 28 binary levels. A row due later than that is
# published for the longest delay; the worker finds it early and re-publishes it.
MAX_BROKER_DELAY = timedelta(seconds=2**28 - 1)


@dataclass(frozen=True)
class Dispatch:
    notification_id: UUID
    dispatch_token: UUID
    due_at: datetime
    priority: str


def queue_for(priority: str) -> str:
    return f"notify.{priority}"


def publish_options(due_at: datetime, priority: str, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    options: dict = {"queue": queue_for(priority)}
    if due_at - now >= MIN_BROKER_DELAY:
        options["eta"] = min(due_at, now + MAX_BROKER_DELAY)
    return options


def publish(dispatches: list[Dispatch]) -> list[Dispatch]:
    """Publish each dispatch on one producer; return those that failed."""
    if not dispatches:
        return []
    app = current_app
    failed: list[Dispatch] = []
    try:
        with app.producer_or_acquire() as producer:
            now = timezone.now()
            for index, item in enumerate(dispatches):
                try:
                    app.send_task(
                        DELIVER_TASK,
                        args=[str(item.notification_id), str(item.dispatch_token)],
                        producer=producer,
                        **publish_options(item.due_at, item.priority, now),
                    )
                except Exception:
                    logger.exception("publish failed for notification %s", item.notification_id)
                    failed.extend(dispatches[index:])
                    break
    except Exception:
        logger.exception("broker unavailable: %d notification(s) left for the sweep", len(dispatches))
        return list(dispatches)
    return failed
