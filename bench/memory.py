"""The memory of waiting: how much the worker grows while notifications wait a day in
RabbitMQ's delayed-delivery queues (they should wait there, not in the worker)."""

from __future__ import annotations

import math
import time

from bench import procstat
from bench.harness import BULK, Bench, iso, require_ok
from bench.report import Row
from testkit import Proc


def fig_memory(b: Bench) -> list[Row]:
    s = b.sizes
    token = b.token("bench-memory")
    day = iso(time.time() + 86400)
    per = min(1000, s.memory_count)
    nreq = math.ceil(s.memory_count / per)
    items = [{"channel": "console", "recipient": "bench", "body": f"later {i}", "send_at": day} for i in range(per)]
    reqs = [b.request("POST", BULK, {"notifications": items}, token)]
    values, lines = b.repeat("memory", lambda run: memory_once(b, run, reqs, per, nreq))
    b.note(
        "memory of waiting",
        f"The Procfile worker, warmed by 20 deliveries, then {nreq * per:,} console notifications a day ahead "
        "per run (bulk/), which wait in RabbitMQ's delayed-delivery queues; RSS summed over the worker's process "
        "tree from /proc.",
        *lines,
    )
    return [
        Row(
            "memory of waiting",
            "MB",
            "grows ≤ 20 MB",
            values,
            better="lower",
            check=lambda row: max(row.values) <= 20,
            fmt="{:,.1f}",
        )
    ]


def memory_once(b: Bench, run: int, reqs: list[bytes], per: int, nreq: int) -> tuple[float, str]:
    """One run: the warmed worker's growth (MB) while ``nreq`` bulk requests are scheduled; (MB, note line)."""
    s = b.sizes
    beam = procstat.by_comm("beam.smp")
    worker = warmed_worker(b)
    time.sleep(s.memory_settle_s)
    pids = worker.pids()
    before, before_pss, rabbit_before = procstat.rss_kb(pids), procstat.pss_kb(pids), procstat.rss_kb(beam())
    r, _ = b.load(reqs, concurrency=2, total=nreq)
    require_ok(r, "scheduling the notifications")
    time.sleep(s.memory_settle_s)
    pids = worker.pids()
    after, after_pss, rabbit_after = procstat.rss_kb(pids), procstat.pss_kb(pids), procstat.rss_kb(beam())
    growth = (after - before) / 1024
    line = (
        f"- run {run + 1}: worker RSS {before / 1024:.1f} → {after / 1024:.1f} MB ({len(pids)} processes; PSS "
        f"{before_pss / 1024:.1f} → {after_pss / 1024:.1f} MB) while {r['ok'] * per:,} notifications were "
        f"scheduled a day ahead in {r['elapsed']:.1f} s ({r['ok'] * per / r['elapsed']:,.0f}/s through bulk/); "
        f"RabbitMQ (beam.smp, shared by every vhost) RSS {rabbit_before / 1024:.0f} → "
        f"{rabbit_after / 1024:.0f} MB."
    )
    b.log(f"memory run {run + 1}: worker RSS +{growth:.1f} MB")
    return growth, line


def warmed_worker(b: Bench) -> Proc:
    """The Procfile worker, after 20 deliveries (imports, connections, the provider)."""
    b.django()
    from notifications.models import Notification

    st = b.stack
    token = b.token("bench-memory")
    owner = b.user_id("bench-memory")
    warm = [{"channel": "console", "recipient": "bench", "body": f"warm {i}"} for i in range(20)]
    st.start_web()
    worker = st.start_worker()
    sent = Notification.objects.filter(owner_id=owner, status="sent").count()
    b.http(b.request("POST", BULK, {"notifications": warm}, token))
    deadline = time.monotonic() + 60
    while Notification.objects.filter(owner_id=owner, status="sent").count() < sent + 20:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not deliver the 20 warm-up notifications within 60 s")
        time.sleep(0.2)
    return worker
