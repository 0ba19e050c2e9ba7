"""Delivery figures: end-to-end webhooks (floor: no-op Celery tasks through the same broker and
worker line) and the worker-concurrency sweep behind the Procfile's default."""

from __future__ import annotations

import math
import os
import re
import time
import uuid
from datetime import datetime

from bench import procstat
from bench.harness import BULK, Bench, cpu_per_unit, require_ok
from bench.profiles import finish_profile, start_profile
from bench.report import Row
from bench.stats import median

NOOP_DONE = re.compile(
    r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): \w+/[^\]]*\] Task bench\.noop\[[^\]]+\] succeeded", re.M
)

# --- end-to-end delivery ----------------------------------------------------------


def fig_e2e(b: Bench) -> list[Row]:
    st, s = b.stack, b.sizes
    st.start_web()
    st.start_sink()
    if b.beat:
        st.start_beat()
    n = s.e2e_count
    per = min(1000, n)
    nreq = math.ceil(n / per)
    tokens = b.tokens("bench-e2e", 2)
    values, floors, lines = b.repeat("e2e", lambda run: e2e_once(b, run, tokens, per, nreq))
    st.start_worker()
    b.note(
        "end-to-end delivery",
        f"{nreq * per:,} webhooks due now, created through bulk/ ({nreq} request(s) of {per}, 2 concurrent) while the "
        f"Procfile worker runs{' beside beat' if b.beat else ''}; figure = notifications ÷ (last receive at the sink − "
        "first create request sent). Floor: the same count of no-op Celery tasks published (one producer, as "
        "`dispatch.publish` does) to the same quorum queue and consumed by the Procfile worker line with "
        "`-A bench.noop_app` (same pool, concurrency, prefetch, acks_late, events, log level); figure = tasks ÷ "
        "(last `succeeded` log line − first publish).",
        *[line for run_lines in lines for line in run_lines],
    )
    if b.profile:
        profile_worker(b)
    return [
        Row(
            "end-to-end delivery",
            "/s",
            "≥ 1,000 /s and ≥ 0.5 × floor",
            values,
            floors,
            "no-op Celery task",
            "/s",
            check=lambda row: row.median >= 1000 and row.ratio >= 0.5,
        )
    ]


def e2e_once(b: Bench, run: int, tokens: list[str], per: int, nreq: int) -> tuple[float, float, list[str]]:
    """One run: the service's webhooks, then the no-op floor; (/s, floor /s, note lines)."""
    value, drain, arrived, line = deliver_webhooks(b, run, tokens, per, nreq)
    floor, floor_line = noop_floor(b, nreq * per)
    lines = [line, floor_line]
    b.log(f"e2e run {run + 1}: {value:.0f}/s (drain {drain:.0f}/s), floor {floor:.0f}/s")
    if arrived < nreq * per:
        lines.append(f"  **only {arrived} of {nreq * per} arrived before the timeout**")
    return value, floor, lines


def deliver_webhooks(b: Bench, run: int, tokens: list[str], per: int, nreq: int) -> tuple[float, float, int, str]:
    """The service: ``nreq × per`` webhooks due now, created through bulk/ while the worker runs;
    (created→delivered /s, first→last /s, how many arrived, note line)."""
    st, n = b.stack, b.sizes.e2e_count
    st.start_web()
    st.start_sink()
    if b.beat:
        st.start_beat()
    st.stop("worker-bench.noop_app")
    st.start_worker()
    b.sink("POST", "/_reset")
    items = [{"channel": "webhook", "recipient": b.sink_url, "payload": {"run": run, "n": i}} for i in range(per)]
    reqs = [b.request("POST", BULK, {"notifications": items}, tokens[k % 2]) for k in range(2)]
    offset = b.log_size("worker")
    meter = st.meter("web", "beat", "sink", extra=b.split("worker")).start()
    r, _ = b.load(reqs, concurrency=2, total=nreq)
    require_ok(r, "creating the notifications")
    stats = b.wait_sink(nreq * per, timeout=60 + n / 50)
    cores = meter.stop()
    dump = b.sink("GET", "/_dump")
    times = sorted(dump["first"].values())
    got = len(times)
    elapsed = times[-1] - r["started_wall"] if times else math.nan
    value = got / elapsed if got and got >= nreq * per else math.nan
    drain = (got - 1) / (times[-1] - times[0]) if got > 1 else math.nan
    republished = b.republished("worker", offset)
    messages = b.received("worker", offset)
    line = (
        f"- run {run + 1}: {value:,.0f}/s created→delivered ({got}/{nreq * per} received in "
        f"{elapsed:.1f} s; bulk creation took {r['elapsed']:.1f} s, statuses {r['statuses']}); delivery "
        f"rate first→last {drain:,.0f}/s; {dump['duplicates']} duplicate POSTs; {republished} rows "
        f"re-published by the missed-sweep; messages received by the worker: {messages}. "
        f"CPU: {b.fmt_cores(cores)}; per notification: "
        f"{cpu_per_unit(cores, elapsed, got, ('worker main', 'worker pool', 'web', 'postgres', 'rabbitmq'))}."
    )
    return value, drain, stats["unique"], line


def noop_floor(b: Bench, count: int) -> tuple[float, str]:
    """The floor: ``count`` no-op tasks through the same broker, queues and worker settings; (/s, note line)."""
    st = b.stack
    st.stop("worker")
    name = "worker-bench.noop_app"
    st.start_worker("bench.noop_app")
    noffset = b.log_size(name)
    nmeter = st.meter(extra={**b.split(name), "publisher (bench)": lambda: [os.getpid()]}).start()
    t0 = time.time()
    publish_noop(b, count)
    published = time.time()
    done, first, last = wait_noop(b, name, noffset, count, timeout=60 + b.sizes.e2e_count / 50)
    ncores = nmeter.stop()
    floor = done / (last - t0) if done >= count else math.nan
    st.stop(name)
    line = (
        f"  floor: {floor:,.0f} no-op tasks/s published→done ({done} done; publishing took "
        f"{published - t0:.1f} s; first→last {(done - 1) / (last - first) if done > 1 else math.nan:,.0f}/s). "
        f"CPU: {b.fmt_cores(ncores)}; per task: "
        f"{cpu_per_unit(ncores, last - t0, done, (f'{name} main', f'{name} pool', 'rabbitmq'))}."
    )
    return floor, line


def publish_noop(b: Bench, count: int) -> None:
    b.django()
    from bench.noop_app import NOOP_TASK, app

    with app.producer_or_acquire() as producer:
        for _ in range(count):
            app.send_task(
                NOOP_TASK, args=[str(uuid.uuid4()), str(uuid.uuid4())], queue="notify.normal", producer=producer
            )


def wait_noop(b: Bench, name: str, offset: int, count: int, timeout: float) -> tuple[int, float, float]:
    """(done, first, last): no-op tasks the worker logged as succeeded since ``offset``, and when."""
    deadline = time.monotonic() + timeout
    done, first, last = 0, math.nan, math.nan
    proc = b.stack.procs[name]
    with proc.log.open("rb") as f:
        f.seek(offset)
        pending = b""
        while done < count and time.monotonic() < deadline:
            chunk = f.read()
            if not chunk:
                time.sleep(0.05)
                continue
            pending += chunk
            text, _, pending = pending.rpartition(b"\n")
            for match in NOOP_DONE.finditer(text.decode(errors="replace")):
                at = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()  # local time, as logged
                first = at if math.isnan(first) else min(first, at)
                last = at if math.isnan(last) else max(last, at)
                done += 1
    return done, first, last


def profile_worker(b: Bench) -> None:
    st, s = b.stack, b.sizes
    worker = st.start_worker()
    n = min(s.e2e_count, 5000)
    per = min(1000, n)
    token = b.token("bench-e2e-0")
    b.sink("POST", "/_reset")
    warm = [{"channel": "webhook", "recipient": b.sink_url, "payload": {"warm": i}} for i in range(100)]
    b.http(b.request("POST", BULK, {"notifications": warm}, token))  # imports, provider, connections
    b.wait_sink(100, timeout=60)
    b.sink("POST", "/_reset")
    handle = start_profile(b, worker.pid, "worker-deliver")
    items = [{"channel": "webhook", "recipient": b.sink_url, "payload": {"n": i}} for i in range(per)]
    b.load([b.request("POST", BULK, {"notifications": items}, token)], concurrency=1, total=math.ceil(n / per))
    b.wait_sink(math.ceil(n / per) * per, timeout=60 + n / 50)
    finish_profile(b, handle, f"Celery worker (main process and pool) delivering {n} webhooks")


# --- worker concurrency -------------------------------------------------------------


def fig_concurrency(b: Bench) -> list[Row]:
    """Not a target: the measurement behind the worker's default concurrency (README, *Worker pool*)."""
    st, s = b.stack, b.sizes
    st.start_web()
    if b.beat:
        st.start_beat()
    latency = s.concurrency_latency_ms
    table = [
        "| `--concurrency` | delivered/s | ideal: c ÷ latency | efficiency | worker PSS, main + pool | CPU cores |",
        "|---|---|---|---|---|---|",
    ]
    for c in s.concurrency_levels:
        value, rss, cpu = (median(column) for column in b.repeat(f"concurrency {c}", lambda _, c=c: deliver_at(b, c)))
        ideal = c * 1000 / latency
        table.append(f"| {c} | {value:,.0f} | {ideal:,.0f} | {value / ideal:.0%} | {rss:,.0f} MB | {cpu:.2f} |")
    st.start_sink()
    st.start_worker()
    b.note(
        "worker concurrency",
        f"Webhooks to a sink that answers each after {latency:.0f} ms, as a provider across a network would; "
        f"for each `--concurrency` of the Procfile's prefork worker, about {s.concurrency_seconds:.0f} s of work "
        "(c ÷ latency × that many notifications, created due now through bulk/); delivered/s = notifications ÷ "
        "(last receive − first create request), median of the runs. It chooses the default; it has no target.",
        "",
        *table,
    )
    return []


def deliver_at(b: Bench, concurrency: int) -> tuple[float, float, float]:
    """Deliver about ``concurrency_seconds`` of webhooks to the slow sink: (delivered/s, worker MB, worker cores)."""
    st, s = b.stack, b.sizes
    ideal = concurrency * 1000 / s.concurrency_latency_ms
    n = max(100, round(ideal * s.concurrency_seconds))
    per = min(1000, n)
    nreq = math.ceil(n / per)
    st.start_sink(latency_ms=s.concurrency_latency_ms)
    worker = st.start_worker(concurrency=concurrency)
    b.sink("POST", "/_reset")
    body = {"notifications": [{"channel": "webhook", "recipient": b.sink_url, "payload": {"n": i}} for i in range(per)]}
    meter = st.meter(extra=b.split("worker")).start()
    r, _ = b.load([b.request("POST", BULK, body, b.token("bench-concurrency"))], concurrency=1, total=nreq)
    require_ok(r, "creating the notifications")
    b.wait_sink(nreq * per, timeout=60 + 3 * nreq * per / ideal)
    cores = meter.stop()
    times = sorted(b.sink("GET", "/_dump")["first"].values())
    value = len(times) / (times[-1] - r["started_wall"]) if len(times) >= nreq * per else math.nan
    rss = procstat.pss_kb(worker.pids()) / 1024  # PSS: the pool shares the pages it forked with
    cpu = cores.get("worker main", 0) + cores.get("worker pool", 0)
    b.log(f"concurrency {concurrency}: {value:.0f}/s (ideal {ideal:.0f}/s), worker PSS {rss:.0f} MB")
    return value, rss, cpu
