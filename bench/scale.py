"""Figures at scale, on a table of ``scale_rows`` rows (a million in full runs): the sweeps'
queries (floor: ``SELECT 1``) and the list's first and 100th page (floor: GET /healthz),
each with the plan PostgreSQL chose."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from bench.harness import API, COLUMNS, Bench, other_columns
from bench.httpclient import build_request
from bench.report import Row
from bench.stats import median

SEED_SQL = """
INSERT INTO notifications_notification ({columns})
SELECT gen_random_uuid(), CASE WHEN g %% 10 = 9 THEN %(other)s ELSE %(main)s END,
       'webhook', 'https://example.com/hooks/notifier', '', 'seeded', NULL,
       CASE WHEN st = 'scheduled' THEN now() + interval '1 day' + g * interval '1 ms' ELSE c END,
       'normal', 8, NULL, '', st,
       CASE WHEN st IN ('sent', 'failed', 'sending') THEN 1 ELSE 0 END,
       CASE WHEN st IN ('sent', 'failed', 'sending') THEN 1 ELSE 0 END,
       CASE WHEN st = 'failed' THEN 'HTTP 410: gone' END,
       CASE WHEN st = 'failed' THEN 'permanent' ELSE '' END,
       CASE WHEN st = 'scheduled' THEN now() + interval '1 day' + g * interval '1 ms' END,
       '', '', gen_random_uuid(),
       CASE WHEN st = 'sending' THEN now() + interval '1 hour' END,
       c,
       CASE WHEN st = 'sent' THEN c + interval '1 second' END,
       CASE WHEN st = 'cancelled' THEN c END,
       c, c + interval '1 second'{extra}
FROM (
    SELECT g, now() - g * %(step)s::interval AS c,
           CASE WHEN g %% 1000 = 0 THEN 'sending' WHEN g %% 100 = 0 THEN 'scheduled'
                WHEN g %% 100 = 1 THEN 'failed' WHEN g %% 100 = 2 THEN 'cancelled' ELSE 'sent' END AS st
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g
) AS s
"""


def seed(b: Bench) -> None:
    """``scale_rows`` rows, 99 % terminal, 90 % of them one client's, over the last 30 days."""
    s = b.sizes
    if b.seeded_rows == s.scale_rows:
        return
    b.django()
    st = b.stack
    # Nothing else writes while the table is seeded and measured.
    for name in ("worker", "beat"):
        st.stop(name)
    from django.db import connection

    main, other = b.user_id("bench-list"), b.user_id("bench-other")
    extra_columns, extra_values = other_columns(b)
    extra = {f"extra{i}": value for i, value in enumerate(extra_values)}
    sql = SEED_SQL.format(
        columns=", ".join([*COLUMNS, *extra_columns]), extra="".join(f", %({name})s" for name in extra)
    )
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        # CASCADE: the tables that refer to a notification (attempts, provider events, dead push tokens…).
        cur.execute("TRUNCATE notifications_notification CASCADE")
        chunk = 100_000
        step = f"{30 * 86400 / s.scale_rows:.6f} seconds"
        for lo in range(1, s.scale_rows + 1, chunk):
            hi = min(s.scale_rows, lo + chunk - 1)
            cur.execute(sql, {"main": main, "other": other, "step": step, "lo": lo, "hi": hi, **extra})
            b.log(f"seeded {hi:,} rows")
        inserted = time.perf_counter() - t0
        cur.execute("VACUUM ANALYZE notifications_notification")
        cur.execute("SELECT status, count(*) FROM notifications_notification GROUP BY status ORDER BY 2 DESC")
        by_status = ", ".join(f"{status} {n:,}" for status, n in cur.fetchall())
        cur.execute("SELECT pg_size_pretty(pg_total_relation_size('notifications_notification'))")
        size = cur.fetchone()[0]
    b.seeded_rows = s.scale_rows
    b.note(
        "Data at scale",
        f"{s.scale_rows:,} rows inserted server-side (`INSERT … SELECT generate_series`, 100,000 a statement) in "
        f"{inserted:.1f} s, then `VACUUM ANALYZE` ({time.perf_counter() - t0 - inserted:.1f} s): {by_status}; "
        f"90 % owned by the listed client; table with indexes {size}.",
    )


def explain(sql: str) -> str:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(row[0] for row in cur.fetchall())
        transaction.set_rollback(True)
    return plan


def timed(call: Callable[[], Any], n: int) -> tuple[float, Any]:
    """The median of ``n`` calls in ms, and the last call's result."""
    times, result = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - t0) * 1000)
    return median(times), result


def select_one() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()


# --- sweeps -------------------------------------------------------------------------


def fig_sweep(b: Bench) -> list[Row]:
    seed(b)
    from django.db import connection

    from notifications import services

    connection.ensure_connection()
    services.sweep_missed()
    services.sweep_stuck()  # warm: imports, plans, caches
    missed, stuck, floors, lines = b.repeat("sweep", lambda run: sweep_once(b, run))
    b.note(
        "sweep at scale",
        "Each pass is one call of `services.sweep_missed()` / `services.sweep_stuck()` in this process, "
        "through Django, when nothing is due; floor: `SELECT 1` on the same connection.",
        *lines,
        "",
        *sweep_plans(b),
    )
    return [
        Row(
            f"sweep at scale: {name}",
            "ms",
            "≤ 5 ms, partial index",
            values,
            floors,
            "SELECT 1",
            "ms",
            better="lower",
            check=lambda row, name=name: row.median <= 5 and b.facts.get(f"{name}_index", False),
            fmt="{:,.2f}",
        )
        for name, values in (("sweep_missed", missed), ("sweep_stuck", stuck))
    ]


def sweep_once(b: Bench, run: int) -> tuple[float, float, float, str]:
    """One run: (sweep_missed ms, sweep_stuck ms, SELECT 1 ms, note line), each a median of passes."""
    from notifications import services

    s = b.sizes
    m, found_m = timed(services.sweep_missed, s.sweep_passes)
    k, found_k = timed(services.sweep_stuck, s.sweep_passes)
    f, _ = timed(select_one, 20)
    line = (
        f"- run {run + 1}: sweep_missed {m:.2f} ms (found {found_m}), sweep_stuck {k:.2f} ms (found "
        f"{found_k}), SELECT 1 {f:.3f} ms (medians of {s.sweep_passes}, {s.sweep_passes} and 20 calls)."
    )
    return m, k, f, line


def sweep_plans(b: Bench) -> list[str]:
    """Each sweep's SELECT and its plan, for the notes; records in ``b.facts`` whether it uses its index."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from notifications import services

    plans = []
    for label, call, index in (
        ("sweep_missed", services.sweep_missed, "notification_live_due"),
        ("sweep_stuck", services.sweep_stuck, "notification_sending_lease"),
    ):
        with CaptureQueriesContext(connection) as queries:
            call()
        sql = next(q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT"))
        plan = explain(sql)
        uses = index in plan
        plans += [
            f"`{label}` runs {len(queries.captured_queries)} SQL statement(s); the plan of its SELECT "
            f"{'uses' if uses else '**does not use**'} `{index}`:",
            "",
            "```",
            sql,
            "",
            plan,
            "```",
            "",
        ]
        b.facts[f"{label}_index"] = uses
    return plans


# --- list ---------------------------------------------------------------------------


def fig_list(b: Bench) -> list[Row]:
    seed(b)
    st, s = b.stack, b.sizes
    st.start_web()
    token = b.token("bench-list")
    first = b.request("GET", f"{API}?page_size=50", token=token)
    nth, walk = walk_to_page(b, token, s.list_page)
    count = len(b.http(nth).json()["results"])
    health = build_request("GET", "/healthz", "127.0.0.1", st.web_port)
    firsts, nths, floors, lines = b.repeat("list", lambda run: list_once(b, run, first, nth, health))
    b.note(
        "list at scale",
        f"GET {API}?page_size=50 of the client owning 90 % of the rows; the {s.list_page}th page reached by "
        f"following `next` cursors ({count} rows on it; the walk's pages took median "
        f"{median(walk) * 1000 if walk else math.nan:.1f} ms). Sequential requests, raw HTTP client in the harness; "
        "floor: GET /healthz the same way.",
        *lines,
        "",
        "Plan of the first page's query (ORM `explain(analyze=True)`):",
        "",
        "```",
        list_plan(),
        "```",
    )
    return [
        Row(
            f"list at scale: {page}",
            "ms",
            "≤ 20 ms",
            values,
            floors,
            "GET /healthz",
            "ms",
            better="lower",
            check=lambda row: row.median <= 20,
            fmt="{:,.1f}",
        )
        for page, values in (("first page", firsts), (f"{s.list_page}th page", nths))
    ]


def walk_to_page(b: Bench, token: str, page: int) -> tuple[bytes, list[float]]:
    """The request for the ``page``-th page, reached by following `next` as a client does; the walk's latencies."""
    path = f"{API}?page_size=50"
    walk = []
    for _ in range(page - 1):
        lat, [resp] = b.timed_requests(b.request("GET", path, token=token), 1)
        walk.append(lat[0])
        nxt = resp.json()["next"]
        path = nxt[nxt.index("/api/") :]
    return b.request("GET", path, token=token), walk


def list_once(b: Bench, run: int, first: bytes, nth: bytes, health: bytes) -> tuple[float, float, float, str]:
    """One run: (first page ms, n-th page ms, /healthz ms, note line), each a median of sequential requests."""
    st, s = b.stack, b.sizes
    st.start_web()
    p1, _ = b.timed_requests(first, s.list_repeats)
    pn, _ = b.timed_requests(nth, s.list_repeats)
    fl, _ = b.timed_requests(health, s.list_repeats)
    line = (
        f"- run {run + 1}: first page {median(p1) * 1000:.1f} ms, "
        f"page {s.list_page} {median(pn) * 1000:.1f} ms, "
        f"/healthz {median(fl) * 1000:.1f} ms (medians of {s.list_repeats} sequential requests each)."
    )
    return median(p1) * 1000, median(pn) * 1000, median(fl) * 1000, line


def list_plan() -> str:
    """The first page's plan, for the notes (a failure is noted, not raised: the plan is not the figure)."""
    try:
        from django.contrib.auth import get_user_model

        from notifications import selectors

        user = get_user_model().objects.get(username="bench-list")
        return selectors.notification_list(owner=user)[:51].explain(analyze=True)
    except Exception as exc:  # the plan is a note, not the figure
        return f"(EXPLAIN failed: {exc})"
