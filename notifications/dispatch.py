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

from notifications import conf
from notifications.logcontext import current_trace_id
from notifications.task_names import DELIVER, DELIVER_BATCH

logger = logging.getLogger(__name__)

# Below this, a countdown is not worth a trip through the broker's delay queues
# (and kombu refuses 0 < countdown < 1).
MIN_BROKER_DELAY = timedelta(seconds=1)
# RabbitMQ's delay topology has 28 binary levels. A row due later than that is
# published for the longest delay; the worker finds it early and re-publishes it.
MAX_BROKER_DELAY = timedelta(seconds=2**28 - 1)
# The message header that carries the trace id (X-Request-ID) from the API to the worker.
TRACE_HEADER = "notifier_trace_id"


@dataclass(frozen=True)
class Dispatch:
    notification_id: UUID
    dispatch_token: UUID
    due_at: datetime
    priority: str
    # Attempts already made: a retry's backoff continues from there (Celery's request.retries).
    retries: int = 0


def queue_for(priority: str) -> str:
    return f"notify.{priority}"


def publish_options(due_at: datetime, priority: str, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    options: dict = {"queue": queue_for(priority)}
    if due_at - now >= MIN_BROKER_DELAY:
        options["eta"] = min(due_at, now + MAX_BROKER_DELAY)
    return options


def publish(dispatches: list[Dispatch]) -> list[Dispatch]:
    """Publish the dispatches on one producer; return those whose message failed.

    Dispatches that share a token, a priority and a publish time (a bulk
    request, a sweep batch) travel together as ``deliver_batch`` messages of
    up to ``NOTIFY_DISPATCH_BATCH`` ids: Celery and RabbitMQ cost about a
    millisecond of CPU per message, more than the delivery itself, so fewer
    messages is what makes throughput. The rest go as one ``deliver`` each.
    """
    if not dispatches:
        return []
    app = current_app
    now = timezone.now()
    messages = _messages(dispatches, now)
    headers = trace_headers()
    failed: list[Dispatch] = []
    try:
        with app.producer_or_acquire() as producer:
            for index, (name, args, options, items) in enumerate(messages):
                try:
                    # time limits None: the worker's own (from its lease) apply. Otherwise
                    # Celery copies the publisher's task defaults into the message.
                    app.send_task(
                        name,
                        args=args,
                        producer=producer,
                        time_limit=None,
                        soft_time_limit=None,
                        headers=headers,
                        **options,
                    )
                except Exception:
                    logger.exception("publish failed for %d notification(s)", len(items))
                    failed.extend(item for _, _, _, rest in messages[index:] for item in rest)
                    break
    except Exception:
        logger.exception("broker unavailable: %d notification(s) left for the sweep", len(dispatches))
        return list(dispatches)
    return failed


def trace_headers() -> dict[str, str] | None:
    """The message headers that carry the request's (or task's) trace id to the worker, for its
    log lines and the rows it writes; ``None`` outside a request or task."""
    trace_id = current_trace_id()
    return {TRACE_HEADER: trace_id} if trace_id else None


def queues_with_backlog(priorities: list[str]) -> list[str]:
    """The priorities whose queue holds messages ready for a worker, as the broker counts them now.

    Empty when the broker cannot say (it is down, or a queue is missing): the
    caller then acts as if nothing were queued, which errs towards re-publishing.
    """
    backlogged: list[str] = []
    try:
        timeout = current_app.conf.broker_connection_timeout
        with current_app.pool.acquire(block=True, timeout=timeout) as connection:
            channel = connection.channel()
            try:
                for priority in priorities:
                    _, ready, _ = channel.queue_declare(queue=queue_for(priority), passive=True)
                    if ready:
                        backlogged.append(priority)
            finally:
                channel.close()
    except Exception as exc:
        logger.warning("could not read the queues' depth (%r): sweeping as if they were empty", exc)
        return []
    return backlogged


def _messages(dispatches: list[Dispatch], now: datetime) -> list[tuple[str, list, dict, list[Dispatch]]]:
    # Rows due within the same second share a message (the broker keeps whole seconds
    # anyway). The message is due with its earliest row; each later row's claim waits
    # out its own remainder, so none goes early.
    groups: dict[tuple, list[tuple[datetime | None, Dispatch]]] = {}
    for item in dispatches:
        eta = publish_options(item.due_at, item.priority, now).get("eta")
        second = eta.replace(microsecond=0) if eta else None
        groups.setdefault((item.dispatch_token, item.priority, second), []).append((eta, item))
    size = conf.dispatch_batch()
    messages = []
    for (token, priority, _), timed in groups.items():
        timed.sort(key=lambda pair: pair[0] or now)
        if len(timed) == 1 or size <= 1:
            for eta, item in timed:
                options = _options(priority, eta, item.retries)
                messages.append((DELIVER, [str(item.notification_id), str(token)], options, [item]))
            continue
        for start in range(0, len(timed), size):
            chunk = timed[start : start + size]
            items = [item for _, item in chunk]
            ids = [str(item.notification_id) for item in items]
            messages.append((DELIVER_BATCH, [str(token), ids], _options(priority, chunk[0][0]), items))
    return messages


def _options(priority: str, eta: datetime | None, retries: int = 0) -> dict:
    options: dict = {"queue": queue_for(priority)}
    if eta:
        options["eta"] = eta
    if retries:
        options["retries"] = retries
    return options
