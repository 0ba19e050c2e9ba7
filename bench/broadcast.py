"""Broadcast figure: one POST to a topic of ``broadcast_members`` recipients on ``console``, with
the Procfile worker running; how long until every row is written (floor: psycopg COPY of as many
rows), and until the first one is delivered."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bench.harness import Bench, cpu_per_unit
from bench.ingest import copy_floor
from bench.report import Row

BROADCASTS = "/api/v1/broadcasts/"
CLIENT = "bench-broadcast"
TOPIC = "everyone"


def fig_broadcast(b: Bench) -> list[Row]:
    st, s = b.stack, b.sizes
    st.start_web()
    st.start_worker()
    if b.beat:
        st.start_beat()
    seconds = seed(b, s.broadcast_members)
    written, floors, firsts, lines = b.repeat("broadcast", lambda run: broadcast_once(b, run))
    b.note(
        "broadcast",
        f"One POST {BROADCASTS} to a topic of {s.broadcast_members:,} recipients, each with a profile (console "
        f"channel: its address is its id), while the Procfile worker runs{' beside beat' if b.beat else ''}; the "
        f"profiles and members were written with COPY beforehand ({seconds:.1f} s). All rows written = the "
        "broadcast's `finished_at` − the POST sent; first delivery = the earliest `sent_at` of its rows − the POST "
        "sent (same machine, same clock). Floor: psycopg `COPY` of as many notification rows, 1,000 per "
        "transaction, one connection. After each run the broadcast is cancelled and its remaining messages purged.",
        *lines,
    )
    return [
        Row(
            "broadcast: all rows written",
            "s",
            "≤ 10 s",
            written,
            floors,
            "psycopg COPY",
            "s",
            better="lower",
            check=lambda row: row.median <= 10,
            fmt="{:,.2f}",
        ),
        Row(
            "broadcast: first delivery",
            "s",
            "≤ 2 s",
            firsts,
            better="lower",
            check=lambda row: row.median <= 2,
            fmt="{:,.2f}",
        ),
    ]


def seed(b: Bench, members: int) -> float:
    """The client's profiles and its topic's members, by COPY; seconds taken. Once per stack."""
    b.django()
    from django.db import connection, transaction

    from notifications.models import Recipient, Topic, TopicMember

    owner = b.user_id(CLIENT)
    if Topic.objects.filter(owner_id=owner, key=TOPIC, count=members).exists():
        return 0.0
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    ids = [f"user-{n:07d}" for n in range(members)]
    profile_columns = ("owner_id", "external_id", "push_tokens", "timezone", "locale", "preferences")
    profile_columns += ("created_at", "updated_at")
    with transaction.atomic(), connection.cursor() as cursor:
        Recipient.objects.filter(owner_id=owner).delete()
        Topic.objects.filter(owner_id=owner).delete()
        topic = Topic.objects.create(owner_id=owner, key=TOPIC, count=members)
        with cursor.cursor.copy(f"COPY {Recipient._meta.db_table} ({', '.join(profile_columns)}) FROM STDIN") as copy:
            for rid in ids:
                copy.write_row((owner, rid, "[]", "UTC", "en", "{}", now, now))
        with cursor.cursor.copy(f"COPY {TopicMember._meta.db_table} (topic_id, recipient_id) FROM STDIN") as copy:
            for rid in ids:
                copy.write_row((topic.id, rid))
        cursor.execute(f"ANALYZE {Recipient._meta.db_table}")
        cursor.execute(f"ANALYZE {TopicMember._meta.db_table}")
    return time.perf_counter() - t0


def broadcast_once(b: Bench, run: int) -> tuple[float, float, float, str]:
    """One run: the POST, then the rows; (s to all written, COPY floor s, s to first delivery, note line)."""
    from django.db.models import Min

    from notifications import services
    from notifications.models import Notification

    st, members = b.stack, b.sizes.broadcast_members
    st.start_web()
    st.start_worker()
    offset = b.log_size("worker")
    raw = b.request("POST", BROADCASTS, {"topic": TOPIC, "channels": ["console"], "body": "bench"}, b.token(CLIENT))
    meter = st.meter("web", extra=b.split("worker")).start()
    posted = time.time()
    response = b.http(raw)
    answered = time.time() - posted
    if response.status != 202:
        raise RuntimeError(f"POST {BROADCASTS}: HTTP {response.status}: {response.body[:300]!r}")
    broadcast_id = response.json()["id"]
    row = wait_done(broadcast_id, timeout=120)
    cores = meter.stop()
    if row.status != "done" or row.notifications != members:
        raise RuntimeError(f"broadcast ended {row.status} with {row.notifications} of {members} rows")
    written = row.finished_at.timestamp() - posted
    wait_first_delivery(broadcast_id, timeout=60)
    # The earliest send of all: exact, as a row's sent_at never moves once set.
    first_sent = Notification.objects.filter(broadcast_id=broadcast_id).aggregate(Min("sent_at"))["sent_at__min"]
    first_after = first_sent.timestamp() - posted if first_sent else float("nan")
    services.broadcast_cancel(broadcast=row)  # the rest need not be sent: the next run starts clean
    drain(b)
    floor = members / copy_floor(b, members, 1000)
    line = (
        f"- run {run + 1}: POST answered 202 in {answered * 1000:.0f} ms; {row.notifications:,} rows "
        f"({row.skipped} skipped) written {written:.2f} s after it ({row.notifications / written:,.0f} rows/s); "
        f"first delivery {first_after:.2f} s after it; COPY floor {floor:.2f} s. Messages received by the worker: "
        f"{b.received('worker', offset)}. CPU until done: {b.fmt_cores(cores)}; per row: "
        f"{cpu_per_unit(cores, written, row.notifications, ('worker main', 'worker pool', 'postgres', 'rabbitmq'))}."
    )
    b.log(f"broadcast run {run + 1}: written in {written:.2f} s, first delivery {first_after:.2f} s")
    return written, floor, first_after, line


def wait_first_delivery(broadcast_id: str, timeout: float) -> None:
    from notifications.models import Notification

    deadline = time.monotonic() + timeout
    rows = Notification.objects.filter(broadcast_id=broadcast_id, sent_at__isnull=False)
    while not rows.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def wait_done(broadcast_id: str, timeout: float):
    from notifications.models import Broadcast

    deadline = time.monotonic() + timeout
    while True:
        row = Broadcast.objects.get(id=broadcast_id)
        if row.status != "expanding" or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


def drain(b: Bench) -> None:
    """Purge the cancelled rows' messages (each claim would find nothing to send): the next run
    starts on empty queues. The few a worker process holds find their rows cancelled at once."""
    from celery import current_app

    with current_app.connection_for_write() as connection:
        channel = connection.channel()
        try:
            for queue in ("notify.normal", "notify.maintenance"):
                channel.queue_purge(queue)
        finally:
            channel.close()
