"""The service's counters and histograms, and the one function per event that moves them.

The services call these where they decide (a row stored, an outcome recorded, a send put
back); nothing else touches a metric. In gunicorn and in a Celery worker they are
prometheus_client's multiprocess values (``config.metrics_dir`` chose the directory before
this module was imported), so every process's counts add up at the scrape; elsewhere (tests,
commands) they are the process's own. The gauges that describe the backlog are not here:
``notifications.scrape`` reads them from the database when scraped.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from datetime import datetime
from functools import cache

from prometheus_client import Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase

from notifier import gate_reads

# From a twentieth of a second (the worker's own precision) to a day (a long outage's backlog).
LATENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400)
# A provider call: from a local sink's milliseconds to the webhook timeout and beyond.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

# The heartbeat run_schedules stamps: its age says whether beat still runs.
BEAT_HEARTBEAT = "beat"

CREATED = Counter("notifier_notifications_created", "Notifications stored.", ["channel"])
DELIVERIES = Counter(
    "notifier_deliveries",
    "Attempts' outcomes: sent, retry (a transient failure with attempts left), failed, suppressed.",
    ["channel", "provider", "outcome"],
)
DEFERRALS = Counter(
    "notifier_deferrals", "Sends a gate held back, no attempt spent (not a delivery).", ["channel", "reason"]
)
DURATION = Histogram(
    "notifier_delivery_duration_seconds", "An attempt, claim to outcome.", ["channel"], buckets=DURATION_BUCKETS
)
LATENESS = Histogram(
    "notifier_lateness_seconds", "Sent time minus due time (sent_at - send_at).", ["priority"], buckets=LATENESS_BUCKETS
)
EVENTS = Counter("notifier_events", "Events to clients' endpoints, stored.", ["type"])

OUTCOMES = {"sent": "sent", "retrying": "retry", "failed": "failed", "suppressed": "suppressed"}


@cache
def _child(metric: MetricWrapperBase, *labels: str) -> MetricWrapperBase:
    # ``labels()`` validates and locks on every call: a label set's child is looked up once.
    return metric.labels(*labels)


def notifications_created(channels: Iterable[str]) -> None:
    """Rows stored, one channel per row (a bulk request's, a broadcast batch's)."""
    for channel, count in Tally(channels).items():
        _child(CREATED, channel).inc(count)


def attempt_recorded(*, channel: str, provider: str, status: str, seconds: float) -> None:
    """An attempt's outcome was written: ``status`` is the row's new one. ``provider``: the
    service that answered, the channel's name when it has no other (a webhook)."""
    _child(DELIVERIES, channel, provider or channel, OUTCOMES.get(status, status)).inc()
    _child(DURATION, channel).observe(seconds)


def sent(*, priority: str, send_at: datetime, sent_at: datetime) -> None:
    _child(LATENESS, priority).observe((sent_at - send_at).total_seconds())


def suppressed(*, channel: str) -> None:
    _child(DELIVERIES, channel, channel, "suppressed").inc()


def deferred(*, channel: str, reason: str) -> None:
    """A gate said not now; ``reason`` a kind (breaker, host, rate, quiet_hours), never free text."""
    _child(DEFERRALS, channel, reason).inc()


def events_created(types: Iterable[str]) -> None:
    for event_type, count in Tally(types).items():
        _child(EVENTS, event_type).inc(count)


def beat_heartbeat() -> None:
    """Beat's pass ran now (see ``notifier_beat_heartbeat_age_seconds``)."""
    gate_reads.stamp(BEAT_HEARTBEAT)
