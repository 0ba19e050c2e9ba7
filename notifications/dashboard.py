"""What the admin's dashboard reads: the last 24 hours' outcomes per hour and channel, how late
the sends were (p50 and p99), the due backlog now and the open circuit breakers.

Every read is bounded, so the page costs the same on a table of millions: the outcomes and the
lateness read the last 24 hours' finished rows through ``notification_status_updated`` (status,
updated_at), the backlog reads ``notification_live_due`` and stops counting at ``BACKLOG_CAP``.
A sent row's ``updated_at`` is written with its ``sent_at`` (and only moves later), so
``updated_at >= since`` keeps every row sent since then and lets that index bound the scan.
Event deliveries to clients' endpoints (``event_type`` set) are not notifications and are left
out of the outcomes and the lateness; they are in the backlog, which is the workers'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Case, Count, F, Q, QuerySet, When
from django.db.models.functions import Trunc
from django.utils import timezone

from notifications import selectors
from notifications.models import Notification, Status
from notifier import gate_reads

HOURS = 24
# Past this many due rows the backlog is shown as "more than": counting millions of index
# entries on every page view buys nothing an operator would act on differently.
BACKLOG_CAP = 100_000
OUTCOMES = (Status.SENT, Status.FAILED, Status.SUPPRESSED)


@dataclass(frozen=True)
class HourOutcomes:
    """One channel's finished notifications in one hour, by how they ended."""

    hour: datetime
    channel: str
    sent: int = 0
    failed: int = 0
    suppressed: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.suppressed


@dataclass(frozen=True)
class Lateness:
    """Seconds from due (``send_at``) to sent over ``count`` sends: of one hour, or of all when
    ``hour`` is ``None``. Retries' waits are in it: it is what a recipient experienced."""

    hour: datetime | None
    count: int
    p50: float
    p99: float


@dataclass(frozen=True)
class Backlog:
    """Live rows due now (at most ``BACKLOG_CAP`` counted) and how long the oldest has waited."""

    due: int
    oldest_due_seconds: float

    @property
    def capped(self) -> bool:
        return self.due > BACKLOG_CAP


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    hours: list[datetime]
    outcomes: list[HourOutcomes]
    lateness_by_hour: list[Lateness]
    lateness: Lateness
    backlog: Backlog
    # Breaker name → seconds until its probe; ``None`` when Redis could not be read.
    breakers: dict[str, float] | None = field(default_factory=dict)


def dashboard(*, now: datetime | None = None) -> Dashboard:
    """Everything the dashboard page shows, read now."""
    now = now or timezone.now()
    first_hour = _hour_of(now) - timedelta(hours=HOURS - 1)
    by_hour = hourly_lateness(since=first_hour)
    overall = next((row for row in by_hour if row.hour is None), Lateness(None, 0, 0.0, 0.0))
    return Dashboard(
        now=now,
        hours=[first_hour + timedelta(hours=n) for n in range(HOURS)],
        outcomes=hourly_outcomes(since=first_hour),
        lateness_by_hour=[row for row in by_hour if row.hour is not None],
        lateness=overall,
        backlog=due_backlog(now=now),
        breakers=gate_reads.open_breakers(),
    )


def _hour_of(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    return local.replace(minute=0, second=0, microsecond=0)


def _finished_since(since: datetime) -> QuerySet[Notification]:
    return Notification.objects.filter(status__in=OUTCOMES, updated_at__gte=since, event_type="")


def hourly_outcomes(*, since: datetime) -> list[HourOutcomes]:
    """Sent (by ``sent_at``), failed and suppressed (by ``updated_at``) per hour and channel since
    ``since``, oldest hour first: one GROUP BY over the rows finished since then."""
    rows = (
        _finished_since(since)
        .filter(~Q(status=Status.SENT) | Q(sent_at__gte=since))
        .annotate(hour=Trunc(Case(When(status=Status.SENT, then=F("sent_at")), default=F("updated_at")), "hour"))
        .values("hour", "channel", "status")
        .annotate(n=Count("*"))
        .order_by()
    )
    counts: dict[tuple[datetime, str], dict[str, int]] = {}
    for row in rows:
        counts.setdefault((row["hour"], row["channel"]), {})[row["status"]] = row["n"]
    return [HourOutcomes(hour, channel, **by_status) for (hour, channel), by_status in sorted(counts.items())]


def hourly_lateness(*, since: datetime) -> list[Lateness]:
    """p50 and p99 of (sent_at - send_at) per hour of ``sent_at`` since ``since``, oldest first, and
    last the whole period's (``hour=None``); nothing when nothing was sent."""
    if connection.vendor != "postgresql":
        return _lateness_in_python(since)
    table = connection.ops.quote_name(Notification._meta.db_table)
    lateness = "EXTRACT(EPOCH FROM sent_at - send_at)"
    sql = f"""
        SELECT date_trunc('hour', sent_at, %s) AS hour, count(*),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY {lateness}),
               percentile_cont(0.99) WITHIN GROUP (ORDER BY {lateness})
        FROM {table}
        WHERE status = %s AND updated_at >= %s AND sent_at >= %s AND event_type = ''
        GROUP BY GROUPING SETS ((1), ())
        ORDER BY 1 NULLS LAST
    """  # noqa: S608 -- the table name is the model's, quoted; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.get_current_timezone_name(), Status.SENT, since, since])
        rows = cursor.fetchall()
    # With nothing sent, the grand total's row still comes back: a count of 0 and no percentiles.
    return [Lateness(hour, count, float(p50), float(p99)) for hour, count, p50, p99 in rows if count]


def _lateness_in_python(since: datetime) -> list[Lateness]:
    """The embedded default's (SQLite has no ``percentile_cont``): its tables are small."""
    sent = _finished_since(since).filter(status=Status.SENT, sent_at__gte=since).order_by("sent_at")
    by_hour: dict[datetime, list[float]] = {}
    for sent_at, send_at in sent.values_list("sent_at", "send_at"):
        by_hour.setdefault(_hour_of(sent_at), []).append((sent_at - send_at).total_seconds())
    everything = [seconds for values in by_hour.values() for seconds in values]
    if not everything:
        return []
    groups = [*by_hour.items(), (None, everything)]
    return [Lateness(hour, len(v), _percentile(v, 0.5), _percentile(v, 0.99)) for hour, v in groups]


def _percentile(values: list[float], fraction: float) -> float:
    """As PostgreSQL's ``percentile_cont``: linear between the two nearest ranks."""
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def due_backlog(*, now: datetime) -> Backlog:
    """Live rows due by ``now`` (at most ``BACKLOG_CAP`` counted) and the oldest one's wait."""
    count, oldest_due_seconds = selectors.due_backlog(now=now, cap=BACKLOG_CAP)
    return Backlog(due=count, oldest_due_seconds=oldest_due_seconds)
