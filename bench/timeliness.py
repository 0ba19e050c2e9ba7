"""Timeliness figures: how late webhooks arrive after their ``send_at``, under light load (one
POST each, spread over a minute) and in a burst (thousands due within the same second)."""

from __future__ import annotations

import json
import math
import random
import time
from typing import Any

from bench.harness import API, BULK, Bench, iso, parse_ts, require_ok
from bench.report import Row
from bench.stats import summary


def timeliness(b: Bench, due: list[float], *, bulk: bool) -> dict[str, Any]:
    """Create webhooks due at ``due`` (epoch seconds), wait for them, return lateness (s) and more.

    ``bulk``: created through bulk/ (1,000 a request), else one POST each (8 API clients in turn).
    """
    st = b.stack
    st.start_web()
    st.start_sink()
    st.start_worker()
    if b.beat:
        st.start_beat()
    b.sink("POST", "/_reset")
    reqs = due_requests(b, due, bulk=bulk)
    offset = b.log_size("worker")
    meter = st.meter("web", "worker", "beat", "sink").start()
    r, _ = b.load(reqs, concurrency=2, total=len(reqs), keep_bodies=True)
    require_ok(r, "creating the notifications")
    send_at = {}
    for body in r["bodies"]:
        data = json.loads(body)
        for item in data["notifications"] if bulk else [data]:
            send_at[item["id"]] = parse_ts(item["send_at"])
    stats = b.wait_sink(len(due), timeout=max(due) - time.time() + 60 + len(due) / 50)
    cores = meter.stop()
    first = b.sink("GET", "/_dump")["first"]
    lateness = [first[i] - at for i, at in send_at.items() if i in first]
    return {
        "lateness": lateness,
        "early": sum(1 for x in lateness if x < 0),
        "missing": len(due) - stats["unique"],
        "created_by": r["finished_wall"],
        "cores": cores,
        "republished": b.republished("worker", offset),
        "messages": b.received("worker", offset),
    }


def due_requests(b: Bench, due: list[float], *, bulk: bool) -> list[bytes]:
    """Requests creating one webhook due at each of ``due``."""
    items = [
        {"channel": "webhook", "recipient": b.sink_url, "payload": {"n": i}, "send_at": iso(at)}
        for i, at in enumerate(due)
    ]
    if bulk:
        token = b.token("bench-timely-0")
        return [
            b.request("POST", BULK, {"notifications": items[i : i + 1000]}, token) for i in range(0, len(items), 1000)
        ]
    tokens = b.tokens("bench-timely", 8)
    return [b.request("POST", API, item, tokens[i % 8]) for i, item in enumerate(items)]


def lateness_row(figure: str, values: list[float], early: list[int], *, limit: float, unit: str, fmt: str) -> Row:
    """A timeliness figure: met when the median is within ``limit`` and no notification arrived early."""
    return Row(
        figure,
        unit,
        f"≤ {limit:g} {unit}, none early",
        values,
        better="lower",
        check=lambda row: row.median <= limit and sum(early) == 0,
        fmt=fmt,
    )


# --- light load ---------------------------------------------------------------------


def fig_light(b: Bench) -> list[Row]:
    s = b.sizes
    p50s, p99s, early, lines = b.repeat("light", lambda run: light_once(b, run))
    over = b.facts.get("sink_overhead")
    b.note(
        "timeliness, light load",
        f"{s.light_count} webhooks due at random times spread over {s.light_span_s:g} s, created one POST each "
        f"(2 concurrent) from {s.light_lead_s:g} s before the first is due; lateness = the sink's receive time − "
        "send_at." + (f" The sink's own receive overhead: p50 {over[0]:.3f} ms, p99 {over[1]:.3f} ms." if over else ""),
        *lines,
    )
    return [
        lateness_row("timeliness, light load: p50", p50s, early, limit=50, unit="ms", fmt="{:,.1f}"),
        lateness_row("timeliness, light load: p99", p99s, early, limit=250, unit="ms", fmt="{:,.1f}"),
    ]


def light_once(b: Bench, run: int) -> tuple[float, float, int, str]:
    """One run: ``light_count`` webhooks spread over ``light_span_s``; (p50 ms, p99 ms, early, note line)."""
    s = b.sizes
    start = time.time() + s.light_lead_s
    step = s.light_span_s / s.light_count
    due = [start + i * step + random.uniform(0, step) for i in range(s.light_count)]
    res = timeliness(b, due, bulk=False)
    sm = summary(res["lateness"])
    line = (
        f"- run {run + 1}: p50 {sm['p50']:.1f} ms, p90 {sm['p90']:.1f} ms, p99 {sm['p99']:.1f} ms, "
        f"max {sm['max']:.1f} ms, min {min(res['lateness'], default=math.nan) * 1000:.1f} ms; "
        f"early {res['early']}, missing {res['missing']}; "
        f"creation ended {due[0] - res['created_by']:.1f} s before the first was due; "
        f"{res['republished']} rows re-published by the missed-sweep; messages: {res['messages']}. "
        f"CPU: {b.fmt_cores(res['cores'])}."
    )
    b.log(f"light run {run + 1}: p50 {sm['p50']:.1f} ms p99 {sm['p99']:.1f} ms early {res['early']}")
    return sm["p50"], sm["p99"], res["early"], line


# --- burst --------------------------------------------------------------------------


def fig_burst(b: Bench) -> list[Row]:
    s = b.sizes
    p99s, early, lines = b.repeat("burst", lambda run: burst_once(b, run))
    b.note(
        "timeliness, burst",
        f"{s.burst_count} webhooks due within the same second, created through bulk/ about {s.burst_lead_s:g} s "
        "before it; lateness = the sink's receive time − send_at.",
        *lines,
    )
    return [lateness_row("timeliness, burst: p99", p99s, early, limit=5, unit="s", fmt="{:,.2f}")]


def burst_once(b: Bench, run: int) -> tuple[float, int, str]:
    """One run: ``burst_count`` webhooks due within one second; (p99 s, early, note line)."""
    s = b.sizes
    start = math.ceil(time.time() + s.burst_lead_s)
    due = [start + random.random() for _ in range(s.burst_count)]
    res = timeliness(b, due, bulk=True)
    sm = summary(res["lateness"])
    late_create = res["created_by"] - start
    line = (
        f"- run {run + 1}: p50 {sm['p50'] / 1000:.2f} s, p99 {sm['p99'] / 1000:.2f} s, "
        f"max {sm['max'] / 1000:.2f} s; early {res['early']}, missing {res['missing']}; "
        f"{res['republished']} rows re-published by the missed-sweep; messages: {res['messages']}; "
        f"creation ended {-late_create:.1f} s before the burst"
        f"{' (**after it began**)' if late_create > 0 else ''}. CPU: {b.fmt_cores(res['cores'])}."
    )
    b.log(f"burst run {run + 1}: p99 {sm['p99'] / 1000:.2f} s early {res['early']}")
    return sm["p99"] / 1000, res["early"], line
