"""Recurring notifications: a client's schedules (create, change, delete) and the periodic pass
that turns each due occurrence into exactly one notification.

An occurrence is a time on the wall clock of the schedule's timezone, computed by cronsim, which
handles DST as Debian's cron does: a fixed-time job whose time does not exist on the
spring-forward day runs once, at the first minute after the gap (02:30 in Paris runs at 03:00
CEST); one whose time happens twice on the fall-back day runs once, at the first (02:30 CEST);
an hourly job runs every real hour (skipping the hour that does not exist, both 01:00s that do).

The pass locks due rows with ``FOR UPDATE SKIP LOCKED`` and, in the same transaction, creates each
occurrence's notification (idempotency key ``schedule:<id>:<occurrence in UTC>``) and advances
``next_run_at``: two passes at once take different rows, a pass killed mid-way rolls back both the
notifications and the advance, and the key is the last net if anything else slips.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from notifications import conf
from notifications.exceptions import NotificationError
from notifications.models import EventType, Notification, Schedule, Status
from notifications.services.creating import notification_build, notification_create
from notifications.services.events import events_record
from notifications.services.fastpaths import insert_many
from notifications.services.publishing import dispatch_of, publish_on_commit

logger = logging.getLogger(__name__)

# Schedules one pass transaction locks: short enough that a lock is held for well under a second.
PASS_BATCH = 200
# How long one beat's run goes on taking batches; the next beat, 5 s later, goes on from there.
PASS_BUDGET = timedelta(seconds=4)
# Occurrences one schedule may step through in one pass. A minutely job missed for a week has
# 10,080: they are counted over several passes (the row stays due) instead of in one long lock.
STEPS_PER_PASS = 1000
# Fields a PATCH may change; any of them moves next_run_at to the next occurrence after now.
CHANGEABLE = ("enabled", "cron", "timezone", "until")
# What the stored create body must not carry: the schedule sets both per occurrence.
SET_PER_OCCURRENCE = ("send_at", "idempotency_key")


def cron_check(expr: str) -> str:
    """The expression, if cronsim takes it and it ever fires; else ``ValueError`` saying why."""
    try:
        next(CronSim(expr, datetime(2000, 1, 1, tzinfo=UTC)))
    except (CronSimError, StopIteration) as exc:
        raise ValueError(f"Not a cron expression: {exc or 'it never fires'}.") from exc
    return expr


def timezone_check(name: str) -> str:
    """The IANA name, if zoneinfo knows it; else ``ValueError``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"Unknown time zone {name!r}: give an IANA name such as Europe/Paris.") from exc
    return name


def next_occurrence(*, cron: str, tz: str, after: datetime) -> datetime:
    """The first occurrence strictly after ``after`` (minutes), in UTC, read on ``tz``'s wall clock."""
    local = after.astimezone(ZoneInfo(tz))
    return next(CronSim(cron, local)).astimezone(UTC)


def occurrence_key(*, schedule: Schedule, occurrence: datetime) -> str:
    """The idempotency key of one occurrence, e.g. ``schedule:<id>:2026-03-29T07:00:00Z``."""
    return f"schedule:{schedule.id}:{occurrence.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def _first_run(schedule: Schedule, now: datetime) -> datetime | None:
    """The next occurrence after ``now``, or ``None`` once it would be past ``until``."""
    following = next_occurrence(cron=schedule.cron, tz=schedule.timezone, after=now)
    if schedule.until is not None and following > schedule.until:
        return None
    return following


def schedule_create(*, owner: AbstractBaseUser, data: dict[str, Any], now: datetime | None = None) -> Schedule:
    """Store a schedule whose first occurrence is the next after ``now``. ``data`` is validated:
    ``cron``, ``timezone``, ``notification`` (a create body without send_at or idempotency_key),
    ``until``."""
    schedule = Schedule(
        owner=owner,
        cron=data["cron"],
        timezone=data.get("timezone") or "UTC",
        notification=data["notification"],
        until=data.get("until"),
    )
    schedule.next_run_at = _first_run(schedule, now or timezone.now())
    schedule.save(force_insert=True)
    return schedule


def schedule_update(*, schedule: Schedule, changes: dict[str, Any], now: datetime | None = None) -> Schedule:
    """Change ``enabled``, ``cron``, ``timezone`` or ``until``; the next run is computed again from
    ``now``, so occurrences missed while paused are not made on resume."""
    with transaction.atomic():
        locked = Schedule.objects.select_for_update().get(pk=schedule.pk)  # not while a pass holds it
        for field in CHANGEABLE:
            if field in changes:
                setattr(locked, field, changes[field])
        locked.next_run_at = _first_run(locked, now or timezone.now())
        locked.save(update_fields=[*CHANGEABLE, "next_run_at", "updated_at"])
    return locked


def schedule_delete(*, schedule: Schedule) -> None:
    """Delete it; the notifications it made stay, with ``schedule`` null."""
    schedule.delete()


@dataclass
class PassResult:
    schedules: int = 0
    created: int = 0
    skipped: int = 0


@dataclass
class _Due:
    """One locked schedule's work in a pass: the occurrences to make, those skipped, where it goes next."""

    schedule: Schedule
    to_make: list[datetime]
    skipped: int
    next_run_at: datetime | None


def schedules_run_due(*, now: datetime | None = None, limit: int = PASS_BATCH) -> PassResult:
    """One short transaction: lock up to ``limit`` due schedules (skipping rows another pass
    holds), make their due occurrences, advance them. Call again while ``schedules == limit``."""
    now = now or timezone.now()
    result = PassResult()
    with transaction.atomic():
        locked = list(
            Schedule.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("owner")
            .filter(enabled=True, next_run_at__lte=now)
            .order_by("next_run_at")[:limit]
        )
        due = [_walk(schedule, now) for schedule in locked]
        made = _make_all([(item.schedule, occurrence) for item in due for occurrence in item.to_make])
        for item in due:
            created, skipped = _advance(item, made)
            result.created += created
            result.skipped += skipped
        _save_advances(locked)
        result.schedules = len(locked)
    return result


def schedules_run(*, budget: timedelta = PASS_BUDGET, batch: int = PASS_BATCH) -> int:
    """Batches of due schedules, each its own short transaction, until one comes back short or
    ``budget`` is spent. Returns the notifications made."""
    deadline = time.monotonic() + budget.total_seconds()
    created = 0
    while True:
        result = schedules_run_due(limit=batch)
        created += result.created
        if result.schedules < batch or time.monotonic() > deadline:
            return created


def _walk(schedule: Schedule, now: datetime) -> _Due:
    """The occurrences of a schedule up to ``now`` (at most ``STEPS_PER_PASS``): to make if not
    older than NOTIFY_SCHEDULE_CATCHUP, else skipped; and the next one (``None`` past ``until``)."""
    oldest_made = now - conf.schedule_catchup()
    to_make: list[datetime] = []
    skipped = 0
    occurrence = schedule.next_run_at
    for _ in range(STEPS_PER_PASS):
        if occurrence is None or occurrence > now or (schedule.until and occurrence > schedule.until):
            break
        if occurrence >= oldest_made:
            to_make.append(occurrence)
        else:
            skipped += 1
        occurrence = next_occurrence(cron=schedule.cron, tz=schedule.timezone, after=occurrence)
    if occurrence is not None and schedule.until is not None and occurrence > schedule.until:
        occurrence = None
    return _Due(schedule=schedule, to_make=to_make, skipped=skipped, next_run_at=occurrence)


def _advance(item: _Due, made: set[str]) -> tuple[int, int]:
    """Set a schedule's next run and counts (saved by the caller); an occurrence whose body no
    longer makes a notification counts as skipped."""
    schedule = item.schedule
    created = [o for o in item.to_make if occurrence_key(schedule=schedule, occurrence=o) in made]
    skipped = item.skipped + len(item.to_make) - len(created)
    schedule.next_run_at = item.next_run_at
    schedule.last_run_at = max(created, default=schedule.last_run_at)
    schedule.occurrences += len(created)
    schedule.skipped += skipped
    schedule.updated_at = timezone.now()
    return len(created), skipped


ADVANCED_FIELDS = ("next_run_at", "last_run_at", "occurrences", "skipped", "updated_at")
# One UPDATE for a batch: bulk_update's CASE per field cost 2.7 s for 1,000 rows in the bench.
_UPDATE_ADVANCED = (
    "UPDATE {table} AS s SET next_run_at = v.next_run_at, last_run_at = v.last_run_at, "
    "occurrences = v.occurrences, skipped = v.skipped, updated_at = v.updated_at "
    "FROM unnest(%s::uuid[], %s::timestamptz[], %s::timestamptz[], %s::integer[], %s::integer[], "
    "%s::timestamptz[]) AS v(id, next_run_at, last_run_at, occurrences, skipped, updated_at) WHERE s.id = v.id"
)


def _save_advances(schedules: list[Schedule]) -> None:
    """Write the locked schedules' next run and counts in one statement (``bulk_update`` elsewhere)."""
    connection = connections[Schedule.objects.db]
    if not schedules:
        return
    if connection.vendor != "postgresql":
        Schedule.objects.bulk_update(schedules, ADVANCED_FIELDS)
        return
    columns = [[getattr(schedule, field) for schedule in schedules] for field in ("id", *ADVANCED_FIELDS)]
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE_ADVANCED.format(table=Schedule._meta.db_table), columns)


def _body(schedule: Schedule, occurrence: datetime) -> dict[str, Any]:
    return {
        **schedule.notification,
        "send_at": occurrence,
        "idempotency_key": occurrence_key(schedule=schedule, occurrence=occurrence),
    }


def _make_all(items: list[tuple[Schedule, datetime]]) -> set[str]:
    """Create the notifications of these occurrences at once (one COPY, published together);
    returns the keys made. The row locks keep any other pass off these occurrences, so a key is
    taken already only if something went around them (an advance lost): then the batch is made
    one by one, each create replaying its key, the last net."""
    rows = []
    batch_token = uuid.uuid4()  # shared: the rows travel together in deliver_batch messages
    for schedule, occurrence in items:
        row = _built(schedule, occurrence)
        if row is not None:
            row.dispatch_token = batch_token
            rows.append(row)
    try:
        with transaction.atomic():  # a savepoint: on a taken key the pass's transaction goes on
            insert_many(rows)
            publish_on_commit([dispatch_of(n) for n in rows if n.status == Status.SCHEDULED])
            suppressed = [n for n in rows if n.status == Status.SUPPRESSED]  # by the recipient's preferences
            events_record(notifications=suppressed, event_type=EventType.SUPPRESSED)
    except IntegrityError:
        return {occurrence_key(schedule=s, occurrence=o) for s, o in items if _make(s, o)}
    return {row.idempotency_key for row in rows}


def _built(schedule: Schedule, occurrence: datetime) -> Notification | None:
    """The unsaved notification of one occurrence, or ``None`` (logged) when its body no longer
    makes one (a deleted template or profile), so one broken schedule never stops the pass."""
    try:
        row = notification_build(owner=schedule.owner, data=_body(schedule, occurrence), now=timezone.now())
    except NotificationError as exc:
        logger.warning("schedule %s: occurrence %s not made: %s", schedule.id, occurrence.isoformat(), exc)
        return None
    row.schedule = schedule
    return row


def _make(schedule: Schedule, occurrence: datetime) -> bool:
    """Create one occurrence's notification through ``notification_create`` (which replays a key
    already used); ``False`` when its body no longer makes one, logged."""
    try:
        with transaction.atomic():  # a savepoint: a refused body leaves the pass's transaction usable
            notification_create(owner=schedule.owner, data=_body(schedule, occurrence), schedule=schedule)
    except NotificationError as exc:
        logger.warning("schedule %s: occurrence %s not made: %s", schedule.id, occurrence.isoformat(), exc)
        return False
    return True
