"""Schedules figure: ``schedules`` enabled schedules (written by COPY); what the periodic pass costs
when none is due (and the plan of its query: the partial index ``schedule_due``), and how long it
takes to make ``schedules_due`` due occurrences, one notification each (floor: psycopg COPY of as
many rows)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.harness import Bench
from bench.ingest import copy_floor
from bench.report import Row
from bench.stats import median

CLIENT = "bench-schedules"
IDLE_PASSES = 200
BODY = {"channel": "console", "recipient": "bench", "body": "every day at 9", "max_attempts": 8}


def fig_schedules(b: Bench) -> list[Row]:
    s = b.sizes
    seconds = seed(b, s.schedules)
    idle, plans, made, floors, lines = b.repeat("schedules", lambda run: schedules_once(b, run))
    if not all("schedule_due" in plan for plan in plans):
        raise RuntimeError(f"the due query does not use schedule_due:\n{plans[0]}")
    b.note(
        "schedules",
        f"{s.schedules:,} enabled schedules of one client (`0 9 * * *`, UTC), written with COPY beforehand "
        f"({seconds:.1f} s), none due. Idle pass = the median of {IDLE_PASSES} calls of "
        "`services.schedules_run_due()` in this process (BEGIN, the `FOR UPDATE SKIP LOCKED` due query, COMMIT) "
        f"on the run's PostgreSQL. Then {s.schedules_due:,} of them are made due (one UPDATE) and the passes "
        "run until none is: each occurrence's notification is built as a create builds it, with its "
        "idempotency key, written by COPY and published on commit, and its schedule advanced, 200 schedules per "
        "transaction; no worker runs, the queue is purged after. Floor: psycopg `COPY` of as many notification rows.",
        *lines,
        "",
        "Plan of the due query when none is due (`EXPLAIN ANALYZE`):",
        "",
        "```",
        plans[0],
        "```",
    )
    return [
        Row(
            "schedules: idle pass",
            "ms",
            "≤ 5 ms",
            idle,
            better="lower",
            check=lambda row: row.median <= 5,
            fmt="{:,.2f}",
        ),
        Row(
            "schedules: due occurrences made",
            "s",
            "≤ 5 s",
            made,
            floors,
            "psycopg COPY",
            "s",
            better="lower",
            check=lambda row: row.median <= 5,
            fmt="{:,.2f}",
        ),
    ]


def seed(b: Bench, count: int) -> float:
    """The client's schedules by COPY, all next due tomorrow; seconds taken. Once per stack."""
    b.django()
    from django.db import connection, transaction

    from notifications.models import Schedule

    owner = b.user_id(CLIENT)
    if Schedule.objects.filter(owner_id=owner, enabled=True).count() == count:
        return 0.0
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    columns = ("id", "owner_id", "cron", "timezone", "notification", "enabled", "next_run_at")
    columns += ("occurrences", "skipped", "created_at", "updated_at")
    body = json.dumps(BODY)
    with transaction.atomic(), connection.cursor() as cursor:
        Schedule.objects.filter(owner_id=owner).delete()
        with cursor.cursor.copy(f"COPY {Schedule._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for _ in range(count):
                copy.write_row((uuid.uuid4(), owner, "0 9 * * *", "UTC", body, True, tomorrow, 0, 0, now, now))
        cursor.execute(f"ANALYZE {Schedule._meta.db_table}")
    return time.perf_counter() - t0


def schedules_once(b: Bench, run: int) -> tuple[float, str, float, float, str]:
    """One run: (idle pass ms, its plan, s to make the due occurrences, COPY floor s, note line)."""
    from notifications import services
    from notifications.models import Notification, Schedule

    due = b.sizes.schedules_due
    owner = b.user_id(CLIENT)
    services.schedules_run_due()  # warm: the connection and the statement
    times = []
    for _ in range(IDLE_PASSES):
        t0 = time.perf_counter()
        services.schedules_run_due()
        times.append((time.perf_counter() - t0) * 1000)
    idle, plan = median(times), due_plan()
    reset(owner)  # also after a failed try: no notification of a run before counts in this one
    occurrence = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    ids = Schedule.objects.filter(owner_id=owner).order_by("id").values("id")[:due]
    Schedule.objects.filter(id__in=ids).update(next_run_at=occurrence)
    pending = Schedule.objects.filter(owner_id=owner, next_run_at__lte=occurrence)
    t0 = time.perf_counter()
    # Until none is due: with beat running (in `all`), a worker's pass may hold some rows; they
    # still read as due until it commits, so this waits for it rather than counting early.
    while services.schedules_run_due().schedules or pending.exists():
        pass
    made = time.perf_counter() - t0
    created = Notification.objects.filter(owner_id=owner, schedule__isnull=False).count()
    if created != due:
        raise RuntimeError(f"{created} notifications made for {due} due occurrences")
    reset(owner)
    floor = due / copy_floor(b, due, 1000)
    line = (
        f"- run {run + 1}: idle pass {idle:.2f} ms (p99 of {IDLE_PASSES}: {sorted(times)[int(len(times) * 0.99)]:.2f} "
        f"ms); {due:,} due occurrences made in {made:.2f} s ({due / made:,.0f}/s); COPY floor {floor:.2f} s."
    )
    b.log(f"schedules run {run + 1}: idle {idle:.2f} ms, {due:,} made in {made:.2f} s")
    return idle, plan, made, floor, line


def due_plan() -> str:
    """``EXPLAIN ANALYZE`` of the pass's due query, as it runs: in a transaction, for update."""
    from django.db import transaction

    from notifications.models import Schedule

    with transaction.atomic():
        query = (
            Schedule.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(enabled=True, next_run_at__lte=datetime.now(UTC))
            .order_by("next_run_at")[:200]
        )
        return query.explain(analyze=True)


def reset(owner: int) -> None:
    """The run's notifications deleted, their messages purged, the schedules due tomorrow again."""
    from celery import current_app

    from notifications.models import Notification, Schedule

    Notification.objects.filter(owner_id=owner).delete()
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    Schedule.objects.filter(owner_id=owner).exclude(next_run_at=tomorrow).update(
        next_run_at=tomorrow, occurrences=0, last_run_at=None
    )
    with current_app.connection_for_write() as connection:
        channel = connection.channel()
        try:
            channel.queue_purge("notify.normal")
        finally:
            channel.close()
