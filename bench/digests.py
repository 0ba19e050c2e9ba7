"""Digest figure: ``digest_clients`` client processes create ``digest_members`` members
through ``services.notification_create`` into ``digest_windows`` open windows (30 recipients ×
keys); the join statement (``INSERT … ON CONFLICT … DO UPDATE``) is timed around each member,
and the create rate is the members over the wall time of all clients."""

from __future__ import annotations

import multiprocessing
import random
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
        f"{s.digest_clients} client processes (spawned by the bench's), each with its own database connection, create "
        f"{s.digest_members:,} digest members through `services.notification_create` (template checked, row "
        f"inserted, window joined in one transaction), spread over {s.digest_windows} open windows ({RECIPIENTS} "
        "recipients × keys; 600 s windows, so none closes during the run). Join = the wall time of the one "
        "`INSERT … ON CONFLICT … DO UPDATE … RETURNING` statement per member, as the client sees it (a "
        "member waiting for another's commit on the same window's row counts too); its median per run is the figure. "
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
    from django.db import connections

    per_client = s.digest_members // s.digest_clients
    connections.close_all()
    # Spawned, not forked: a fork copies locks that the publishing threads of this process may hold.
    with multiprocessing.get_context("spawn").Pool(s.digest_clients, initializer=client_setup) as pool:
        pool.starmap(create_members, [(owner.pk, client, 0, 1) for client in range(s.digest_clients)])  # set up
        started = time.perf_counter()
        results = pool.starmap(
            create_members, [(owner.pk, client, per_client, s.digest_windows) for client in range(s.digest_clients)]
        )
        elapsed = time.perf_counter() - started
    timings = sorted(value for result in results for value in result)
    members = per_client * s.digest_clients
    if len(timings) != members:
        raise RuntimeError(f"{len(timings)} joins timed for {members} members: a client failed (see above)")
    join_ms, p99_ms = median(timings) * 1000, timings[int(len(timings) * 0.99)] * 1000
    rate = members / elapsed
    line = (
        f"- run {run + 1}: {members:,} members into {count_windows(owner)} windows in {elapsed:.2f} s "
        f"({rate:,.0f}/s); join median {join_ms:.3f} ms, p99 {p99_ms:.3f} ms."
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


def client_setup() -> None:
    """A spawned client: Django set up from the environment the bench process set."""
    import django

    django.setup()


def create_members(owner_id: int, client: int, count: int, windows: int) -> list[float]:
    """One client process: ``count`` creates; the seconds each one's join statement took."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from notifications import services
    from notifications.services import creating

    owner = get_user_model().objects.get(pk=owner_id)
    timings: list[float] = []
    join = creating.digest_join

    def timed_join(**kwargs):
        started = time.perf_counter()
        try:
            return join(**kwargs)
        finally:
            timings.append(time.perf_counter() - started)

    creating.digest_join = timed_join
    keys = max(windows // RECIPIENTS, 1)
    draw = random.Random(client)  # spreads the members over the windows
    try:
        for n in range(count):
            spot = draw.randrange(RECIPIENTS * keys)
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
        creating.digest_join = join
        connection.close()
    return timings


def count_windows(owner) -> int:
    from notifications.models import DigestWindow

    return DigestWindow.objects.filter(owner=owner, status="open").count()
