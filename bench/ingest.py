"""Ingest figures: single creates sustained (floor: GET /healthz) and bulk ingest (floor: psycopg COPY)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from bench.harness import API, BULK, COLUMNS, DAY, Bench, cpu_per_unit, iso, other_columns, require_ok
from bench.httpclient import build_request
from bench.profiles import finish_profile, start_profile
from bench.report import Row
from bench.stats import median

# --- single create, sustained ------------------------------------------------------


def fig_create(b: Bench) -> list[Row]:
    st, s = b.stack, b.sizes
    st.start_web()
    tokens = b.tokens("bench-create", s.create_clients)
    body = {"channel": "console", "recipient": "bench", "body": "hello", "send_at": iso(time.time() + 86400)}
    creates = [b.request("POST", API, body, t) for t in tokens]
    health = [build_request("GET", "/healthz", "127.0.0.1", st.web_port)]
    b.load(creates, concurrency=2, duration=s.create_warmup_s)  # warm both gunicorn workers
    ramp_lines = ["| concurrency | req/s | p50 ms | p99 ms | non-2xx |", "|---|---|---|---|---|"]
    chosen = b.attempt("create ramp", lambda: ramp(b, creates, ramp_lines), ramp_lines)
    values, floors, p99s, lines = b.repeat("create", lambda run: create_once(b, run, creates, health, chosen))
    b.note(
        "single create, sustained",
        f"POST {API} (console channel, send_at a day ahead, {s.create_clients} API clients in turn so the "
        f"per-client rate limit stays in the path without answering 429), raw HTTP/1.1 client in its own "
        f"process; gunicorn's sync workers close each connection, so every request includes a TCP connect. "
        f"Ramp of {s.create_step_s:g} s steps (stops at the first step over p99 {s.create_p99_ms:g} ms "
        "or with errors):",
        "",
        *ramp_lines,
        "",
        f"Sustained {s.create_sustain_s:g} s at concurrency {chosen} per run, then GET /healthz for "
        f"{s.create_floor_s:g} s at the same concurrency (the floor):",
        *lines,
    )
    if b.profile:
        profile_web(b, creates, chosen)
    return [
        Row(
            f"single create, sustained (concurrency {chosen})",
            "req/s",
            "≥ 1,000 req/s at p99 ≤ 50 ms",
            values,
            floors,
            "GET /healthz",
            "req/s",
            check=lambda row: row.median >= 1000 and median(p99s) <= s.create_p99_ms,
        )
    ]


def ramp(b: Bench, creates: list[bytes], ramp_lines: list[str]) -> int:
    """The highest concurrency of ``create_levels`` within the p99 target and without errors."""
    st, s = b.stack, b.sizes
    st.start_web()
    chosen = None
    for c in s.create_levels:
        r, _ = b.load(creates, concurrency=c, duration=s.create_step_s, warmup=s.create_warmup_s)
        bad = r["requests"] - r["ok"] + sum(r["errors"].values())
        ramp_lines.append(f"| {c} | {r['rps']:,.0f} | {r['latency']['p50']:.1f} | {r['latency']['p99']:.1f} | {bad} |")
        b.log(f"create ramp c={c}: {r['rps']:.0f} req/s p99 {r['latency']['p99']:.1f} ms")
        if r["statuses"].get("503") or r["errors"]:
            require_ok(r, f"create ramp at concurrency {c}")
        if r["latency"]["p99"] <= s.create_p99_ms and not bad:
            chosen = c
        else:
            break
    return chosen if chosen is not None else s.create_levels[0]


def create_once(
    b: Bench, run: int, creates: list[bytes], health: list[bytes], chosen: int
) -> tuple[float, float, float, str]:
    """One run: creates at ``chosen`` concurrency, then the floor; (req/s, floor req/s, p99 ms, note line)."""
    st, s = b.stack, b.sizes
    st.start_web()
    r, cores = b.load(
        creates, concurrency=chosen, duration=s.create_sustain_s, warmup=s.create_warmup_s, meter=("web",)
    )
    require_ok(r, "creates")
    f, fcores = b.load(health, concurrency=chosen, duration=s.create_floor_s, warmup=s.create_warmup_s, meter=("web",))
    require_ok(f, "GET /healthz")
    line = (
        f"- run {run + 1}: {r['rps']:,.0f} req/s, p50 {r['latency']['p50']:.1f} ms, "
        f"p99 {r['latency']['p99']:.1f} ms, "
        f"statuses {r['statuses']}, errors {r['errors'] or 0}; healthz {f['rps']:,.0f} req/s "
        f"(p99 {f['latency']['p99']:.1f} ms). CPU during creates: {b.fmt_cores(cores)}; per request: "
        f"{cpu_per_unit(cores, r['elapsed'], r['ok'], ('web', 'postgres', 'rabbitmq', 'redis', 'client'))}. "
        f"CPU during healthz: {b.fmt_cores(fcores)}."
    )
    b.log(f"create run {run + 1}: {r['rps']:.0f} req/s (healthz {f['rps']:.0f})")
    return r["rps"], f["rps"], r["latency"]["p99"], line


def profile_web(b: Bench, creates: list[bytes], concurrency: int) -> None:
    web = b.stack.procs["web"]
    handle = start_profile(b, web.pid, "web-create")
    b.load(creates, concurrency=concurrency, duration=b.sizes.profile_s)
    finish_profile(b, handle, f"gunicorn (all workers) during POST notifications/ at concurrency {concurrency}")


# --- bulk ingest ------------------------------------------------------------------


def fig_bulk(b: Bench) -> list[Row]:
    st, s = b.stack, b.sizes
    st.start_web()
    tokens = b.tokens("bench-bulk", s.bulk_concurrency)
    day = iso(time.time() + 86400)
    items = [
        {"channel": "console", "recipient": "bench", "body": f"bulk {i}", "send_at": day} for i in range(s.bulk_items)
    ]
    reqs = [b.request("POST", BULK, {"notifications": items}, t) for t in tokens]
    b.load(reqs, concurrency=s.bulk_concurrency, total=s.bulk_concurrency)  # warm
    values, floors, lines = b.repeat("bulk", lambda run: bulk_once(b, run, reqs))
    b.note(
        "bulk ingest",
        f"POST {BULK} with {s.bulk_items} console notifications a day ahead per request (each published to "
        "RabbitMQ's delayed-delivery exchanges on commit). Floor: psycopg `COPY` of the same number of "
        "equivalent rows, one transaction per "
        f"{s.bulk_items}, one connection, into a scratch copy of the table with its indexes.",
        *lines,
    )
    return [
        Row(
            "bulk ingest",
            "notifications/s",
            "≥ 20,000 /s",
            values,
            floors,
            "psycopg COPY",
            "rows/s",
            check=lambda row: row.median >= 20000,
        )
    ]


def bulk_once(b: Bench, run: int, reqs: list[bytes]) -> tuple[float, float, str]:
    """One run: bulk requests, then the COPY floor; (notifications/s, rows/s, note line)."""
    st, s = b.stack, b.sizes
    st.start_web()
    r, cores = b.load(reqs, concurrency=s.bulk_concurrency, total=s.bulk_requests, meter=("web",))
    require_ok(r, "bulk requests")
    rate = r["ok"] * s.bulk_items / r["elapsed"]
    floor = copy_floor(b, s.bulk_requests * s.bulk_items, s.bulk_items)
    line = (
        f"- run {run + 1}: {rate:,.0f} notifications/s ({r['ok']}/{s.bulk_requests} requests of "
        f"{s.bulk_items}, {s.bulk_concurrency} concurrent, request p50 {r['latency']['p50']:.0f} ms, "
        f"p99 {r['latency']['p99']:.0f} ms, statuses {r['statuses']}); COPY floor {floor:,.0f} rows/s. "
        f"CPU: {b.fmt_cores(cores)}; per notification: "
        f"{cpu_per_unit(cores, r['elapsed'], r['ok'] * s.bulk_items, ('web', 'postgres', 'rabbitmq'))}."
    )
    b.log(f"bulk run {run + 1}: {rate:.0f}/s (COPY {floor:.0f}/s)")
    return rate, floor, line


def copy_floor(b: Bench, rows: int, batch: int) -> float:
    import psycopg
    from psycopg.types.json import Jsonb

    owner = b.user_id("bench-bulk-0")
    extra_columns, extra_values = other_columns(b)
    now = datetime.now(UTC)
    send_at = now + DAY
    row_values = [
        (
            uuid.uuid4(), owner, "console", "bench", "", f"bulk {i}", Jsonb(None), send_at, "normal", 8, None,
            "0" * 64, "scheduled", 0, 0, None, "", send_at, "", "", uuid.uuid4(), None, now, None, None, now, now,
            *extra_values,
        )
        for i in range(rows)
    ]  # fmt: skip
    with psycopg.connect(b.stack.env["DATABASE_URL"].replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_scratch (LIKE notifications_notification INCLUDING ALL)")
        conn.execute("TRUNCATE bench_scratch")
        t0 = time.perf_counter()
        for start in range(0, rows, batch):
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy(f"COPY bench_scratch ({', '.join([*COLUMNS, *extra_columns])}) FROM STDIN") as copy,
            ):
                for values in row_values[start : start + batch]:
                    copy.write_row(values)
        elapsed = time.perf_counter() - t0
        conn.execute("TRUNCATE bench_scratch")
    return rows / elapsed
