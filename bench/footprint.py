"""The footprint: memory of the whole service (web, worker, beat and flower, started with the
Procfile's commands) idle and under a steady delivery load, with the defaults and with the small
profile of deploy/small.env.example. The issue's budget: the small profile in 750 MB.

Memory is PSS summed over every process of the four (from /proc/<pid>/smaps_rollup): gunicorn and
the Celery pool fork, and RSS counts the pages they share once per process. RSS is reported too.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from bench import procstat
from bench.harness import API, Bench
from bench.report import Row
from bench.stack import ROOT
from bench.stats import median

ROLES = ("web", "worker", "beat", "flower")
SMALL_PROFILE = ROOT / "deploy" / "small.env.example"
BUDGET_MB = 750
FLOWER_DEFAULT_MAX_TASKS = 100_000  # Flower's own default for --max_tasks


def small_profile() -> dict[str, str]:
    """The NAME=value lines of deploy/small.env.example: what the README tells an operator to set."""
    env = {}
    for line in SMALL_PROFILE.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            env[name.strip()] = value.strip()
    return env


@dataclass
class Sample:
    """PSS and RSS (kB) of each role at one moment."""

    pss: dict[str, int]
    rss: dict[str, int]
    processes: int

    @property
    def pss_mb(self) -> float:
        return sum(self.pss.values()) / 1024

    @property
    def rss_mb(self) -> float:
        return sum(self.rss.values()) / 1024

    def parts(self) -> str:
        return ", ".join(f"{role} {self.pss[role] / 1024:.0f}" for role in ROLES)


def sample(b: Bench) -> Sample:
    pids = {role: b.stack.pids(role) for role in ROLES}
    return Sample(
        pss={role: procstat.pss_kb(p) for role, p in pids.items()},
        rss={role: procstat.rss_kb(p) for role, p in pids.items()},
        processes=sum(len(p) for p in pids.values()),
    )


@dataclass
class PeakSampler:
    """Samples in a thread every ``interval`` s until stopped; keeps the sample of the highest PSS."""

    b: Bench
    interval: float = 0.5
    peak: Sample | None = None
    peak_rss_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> PeakSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            now = sample(self.b)
            self.peak_rss_mb = max(self.peak_rss_mb, now.rss_mb)
            if self.peak is None or now.pss_mb > self.peak.pss_mb:
                self.peak = now


def start_all(b: Bench, env: dict[str, str]) -> None:
    """The four processes anew with ``env`` over the run's settings (the sink too, if not running)."""
    st = b.stack
    for role in ROLES:
        st.stop(role)
    st.start_sink()
    st.start_web(env)
    st.start_worker(concurrency=int(env.get("WORKER_CONCURRENCY", st.worker_concurrency)), env=env)
    st.start_beat(env)
    st.start_flower(env)


def deliver(b: Bench, count: int, rate: float) -> tuple[float, float]:
    """``count`` webhooks to the sink, created one POST each (one Celery task each) at ``rate``/s at most,
    due at once: (seconds to create them, seconds until all arrived)."""
    token = b.token("bench-footprint")
    raw = b.request("POST", API, {"channel": "webhook", "recipient": b.sink_url, "payload": {"n": 1}}, token)
    before = b.sink("GET", "/_stats")["unique"]
    started = time.monotonic()
    b.timed_requests(raw, count, min_interval=1 / rate)  # raises on an answer other than 2xx
    created = time.monotonic() - started
    stats = b.wait_sink(before + count, timeout=60 + count / 20)
    if stats["unique"] < before + count:
        raise RuntimeError(f"only {stats['unique'] - before} of {count} webhooks arrived")
    return created, time.monotonic() - started


def footprint_once(b: Bench, env: dict[str, str]) -> tuple[float, float, float, str]:
    """One run of one profile: (idle PSS MB, peak PSS MB under load, flower's kB per task, note line)."""
    s = b.sizes
    start_all(b, env)
    deliver(b, 20, rate=20)  # imports, connections and the provider, in every process
    time.sleep(s.memory_settle_s)
    idle = sample(b)
    count = round(s.footprint_rate * s.footprint_load_s)
    with PeakSampler(b) as peak:
        created, took = deliver(b, count, s.footprint_rate)
    loaded = peak.peak or sample(b)
    after = sample(b)
    # Flower keeps every task it has seen, up to --max_tasks (FLOWER_MAX_TASKS): its growth per task.
    flower_kb = (after.pss["flower"] - idle.pss["flower"]) / count
    line = (
        f"idle PSS {idle.pss_mb:,.0f} MB ({idle.parts()}; {idle.processes} processes; RSS {idle.rss_mb:,.0f} MB); "
        f"under load peak PSS {loaded.pss_mb:,.0f} MB ({loaded.parts()}; RSS peak {peak.peak_rss_mb:,.0f} MB) "
        f"while {count:,} webhooks were created in {created:.1f} s ({count / created:,.0f}/s, one POST and one "
        f"task each) and delivered in {took:.1f} s; flower after them {flower_kb:.1f} kB per task above idle"
    )
    b.log(f"footprint: {line}")
    return idle.pss_mb, loaded.pss_mb, flower_kb, line


def fig_footprint(b: Bench) -> list[Row]:
    profiles = {"defaults": {}, "small profile": small_profile()}
    rows: list[Row] = []
    lines, per_task = [], []
    for label, env in profiles.items():
        idle, loaded, flower_kb, notes = b.repeat(f"footprint {label}", lambda run, env=env: footprint_once(b, env))
        per_task += flower_kb
        shown = ", ".join(f"{k}={v}" for k, v in env.items()) or "the Procfile's defaults"
        lines += [f"- {label} ({shown}):", *(f"  - run {i + 1}: {note}" for i, note in enumerate(notes))]
        budget = label == "small profile"
        rows += [
            mb_row(f"footprint, {label}: idle", idle, budget=False),
            mb_row(f"footprint, {label}: under load", loaded, budget=budget),
        ]
    for role in ROLES:
        b.stack.stop(role)  # the other figures start their own, with the run's settings
    b.note(
        "footprint",
        "web (gunicorn), worker, beat and flower started with the Procfile's commands on the real PostgreSQL, "
        "RabbitMQ and Redis; memory is PSS summed over all their processes (MB; by process: web, worker, beat, "
        "flower), idle after 20 deliveries and at its peak (sampled every 0.5 s) while webhooks to the local sink "
        f"are created one POST at a time on one connection, at most {b.sizes.footprint_rate:g}/s (the rate reached "
        "is in each line), and delivered. Budget: the small profile "
        f"(deploy/small.env.example) under load ≤ {BUDGET_MB} MB. PostgreSQL, RabbitMQ and Redis are not counted.",
        *lines,
        flower_projection(median(per_task), int(small_profile().get("FLOWER_MAX_TASKS", FLOWER_DEFAULT_MAX_TASKS))),
    )
    return rows


def flower_projection(kb_per_task: float, small_max_tasks: int) -> str:
    """What Flower's task store grows to when full, at the measured growth per task."""
    return (
        f"- Flower grew {kb_per_task:.1f} kB per task seen (median of the runs), until its --max_tasks: full, at "
        f"the default {FLOWER_DEFAULT_MAX_TASKS:,} that is about {kb_per_task * FLOWER_DEFAULT_MAX_TASKS / 1024:,.0f} "
        f"MB more than above, at the small profile's {small_max_tasks:,} about "
        f"{kb_per_task * small_max_tasks / 1024:,.0f} MB. The load here is shorter than either."
    )


def mb_row(figure: str, values: list[float], *, budget: bool) -> Row:
    return Row(
        figure,
        "MB",
        f"≤ {BUDGET_MB} MB" if budget else "(reported)",
        values,
        better="lower",
        check=(lambda row: max(row.values) <= BUDGET_MB) if budget else None,
        fmt="{:,.0f}",
    )
