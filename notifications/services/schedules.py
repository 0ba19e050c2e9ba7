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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from notifications import conf
from notifications.exceptions import NotificationError
from notifications.models import Schedule
from notifications.services.creating import notification_create

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


def schedules_run_due(*, now: datetime | None = None, limit: int = PASS_BATCH) -> PassResult:
    """One short transaction: lock up to ``limit`` due schedules (skipping rows another pass
    holds), make each one's due occurrences, advance them. Call again while ``schedules == limit``."""
    now = now or timezone.now()
    result = PassResult()
    with transaction.atomic():
        due = list(
            Schedule.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("owner")
            .filter(enabled=True, next_run_at__lte=now)
            .order_by("next_run_at")[:limit]
        )
        for schedule in due:
            created, skipped = _run_occurrences(schedule, now)
            result.created += created
            result.skipped += skipped
        result.schedules = len(due)
    return result


def schedules_run(*, budget: timedelta = PASS_BUDGET) -> int:
    """Batches of due schedules, each its own short transaction, until one comes back short or
    ``budget`` is spent. Returns the notifications made."""
    deadline = time.monotonic() + budget.total_seconds()
    created = 0
    while True:
        result = schedules_run_due()
        created += result.created
        if result.schedules < PASS_BATCH or time.monotonic() > deadline:
            return created


def _run_occurrences(schedule: Schedule, now: datetime) -> tuple[int, int]:
    """Every occurrence of a locked schedule up to ``now`` (at most ``STEPS_PER_PASS``): made if not
    older than NOTIFY_SCHEDULE_CATCHUP, else counted as skipped; then the row is saved."""
    oldest_made = now - conf.schedule_catchup()
    created = skipped = 0
    occurrence = schedule.next_run_at
    for _ in range(STEPS_PER_PASS):
        if occurrence is None or occurrence > now:
            break
        if schedule.until is not None and occurrence > schedule.until:
            occurrence = None
            break
        if occurrence >= oldest_made and _make(schedule, occurrence):
            created += 1
            schedule.last_run_at = occurrence
        else:
            skipped += 1
        occurrence = next_occurrence(cron=schedule.cron, tz=schedule.timezone, after=occurrence)
    if occurrence is not None and schedule.until is not None and occurrence > schedule.until:
        occurrence = None
    schedule.next_run_at = occurrence
    schedule.occurrences += created
    schedule.skipped += skipped
    schedule.save(update_fields=["next_run_at", "last_run_at", "occurrences", "skipped", "updated_at"])
    return created, skipped


def _make(schedule: Schedule, occurrence: datetime) -> bool:
    """Create one occurrence's notification; ``False`` when its body no longer makes one (a deleted
    template or profile), logged, so one broken schedule never stops the pass."""
    data = {
        **schedule.notification,
        "send_at": occurrence,
        "idempotency_key": occurrence_key(schedule=schedule, occurrence=occurrence),
    }
    try:
        with transaction.atomic():  # a savepoint: a refused body leaves the pass's transaction usable
            notification_create(owner=schedule.owner, data=data, schedule=schedule)
    except NotificationError as exc:
        logger.warning("schedule %s: occurrence %s not made: %s", schedule.id, occurrence.isoformat(), exc)
        return False
    return True
