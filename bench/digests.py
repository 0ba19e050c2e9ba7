"""Digest figure: ``digest_clients`` threads of this process create ``digest_members`` members
through ``services.notification_create`` into ``digest_windows`` open windows (30 recipients ×
keys); the join statement (``INSERT … ON CONFLICT … DO UPDATE``) is timed around each member,
and the create rate is the members over the wall time of all clients."""

from __future__ import annotations

import threading
import time

from bench.harness import Bench
from bench.report import Row
from bench.stats import median

CLIENT = "bench-digests"
RECIPIENTS = 30
TEMPLATE = "digest-bench"


def fig_digests(b: Bench) -> list[Row]:
    s = b.sizes
    joins, rates, lines = b.repeat("digests", lambda run: digests_once(b, run))
    b.note(
        "digests",
        f"{s.digest_clients} threads of the bench process, each with its own database connection, create "
        f"{s.digest_members:,} digest members through `services.notification_create` (template checked, row "
        f"inserted, window joined in one transaction), spread over {s.digest_windows} open windows ({RECIPIENTS} "
        "recipients × keys; 600 s windows, so none closes during the run). Join = the wall time of the one "
        "`INSERT … ON CONFLICT … DO UPDATE … RETURNING` statement per member, as the client sees it (a "
        "thread waiting for the GIL counts too, so it is an upper bound); its median per run is the figure. "
        "Rate = members / wall time of the whole run. Each run starts with the client's windows and rows deleted.",
        *lines,
    )
    return [
        Row(
            "digest: join per member",
            "ms",
            "≤ 1 ms",
            joins,
            better="lower",
            check=lambda row: row.median <= 1,
            fmt="{:,.3f}",
        ),
        Row("digest: members created", "members/s", "—", rates),
    ]


def digests_once(b: Bench, run: int) -> tuple[float, float, str]:
    """One run: (median join ms, members/s, note line)."""
    s = b.sizes
    owner = prepare(b)
    from notifications.services import creating

    timings: list[float] = []
    original = creating.digest_join

    def timed_join(**kwargs):
        started = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            timings.append(time.perf_counter() - started)

    per_client = s.digest_members // s.digest_clients
    creating.digest_join = timed_join
    try:
        started = time.perf_counter()
        threads = [
            threading.Thread(target=create_members, args=(owner, client, per_client, s.digest_windows))
            for client in range(s.digest_clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        creating.digest_join = original
    members = per_client * s.digest_clients
    if len(timings) != members:
        raise RuntimeError(f"{len(timings)} joins timed for {members} members: a client failed (see above)")
    ordered = sorted(timings)
    join_ms, p99_ms = median(ordered) * 1000, ordered[int(len(ordered) * 0.99)] * 1000
    rate = members / elapsed
    windows = count_windows(owner)
    line = (
        f"- run {run + 1}: {members:,} members into {windows} windows in {elapsed:.2f} s ({rate:,.0f}/s); "
        f"join median {join_ms:.3f} ms, p99 {p99_ms:.3f} ms."
    )
    b.log(f"digests run {run + 1}: join median {join_ms:.3f} ms, {rate:,.0f} members/s")
    return join_ms, rate, line


def prepare(b: Bench):
    """The client, its template, and none of its windows or rows from an earlier run."""
    b.django()
    from django.contrib.auth import get_user_model

    from notifications import services
    from notifications.models import DigestWindow, Notification

    owner = get_user_model().objects.get(pk=b.user_id(CLIENT))
    Notification.objects.filter(owner=owner).delete()
    DigestWindow.objects.filter(owner=owner).delete()
    services.template_put(owner=owner, name=TEMPLATE, fields={"body": "{{ items|length }} new"})
    return owner


def create_members(owner, client: int, count: int, windows: int) -> None:
    from django.db import connection

    from notifications import services

    keys = max(windows // RECIPIENTS, 1)
    try:
        for n in range(count):
            spot = (client * count + n) % (RECIPIENTS * keys)
            data = {
                "channel": "console",
                "recipient": f"user-{spot % RECIPIENTS}",
                "template": TEMPLATE,
                "data": {"n": n},
                "digest": {"key": f"key-{spot // RECIPIENTS}", "window": 600},
                "max_attempts": 3,
            }
            services.notification_create(owner=owner, data=data)
    finally:
        connection.close()


def count_windows(owner) -> int:
    from notifications.models import DigestWindow

    return DigestWindow.objects.filter(owner=owner, status="open").count()
