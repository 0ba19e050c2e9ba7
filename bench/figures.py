"""The figures of issue 4, each with its target and a floor measured in the same run.

Every figure function takes the ``Bench`` (the stack, sizes, run count) and returns
report rows; it also adds notes (latency percentiles, CPU per role, EXPLAIN output)
to ``bench.notes``. ``FIGURES`` lists them in the order ``all`` runs them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import procstat
from bench.httpclient import Connection, Response, build_request, json_request
from bench.report import Row
from bench.stack import ROOT, Stack
from bench.stats import median, percentile, summary

API = "/api/v1/notifications/"
BULK = "/api/v1/notifications/bulk/"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Sizes:
    create_levels: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    create_step_s: float = 10.0
    create_sustain_s: float = 30.0
    create_floor_s: float = 10.0
    create_warmup_s: float = 1.0
    create_clients: int = 64
    create_p99_ms: float = 50.0
    bulk_items: int = 1000
    bulk_requests: int = 20
    bulk_concurrency: int = 4
    e2e_count: int = 20_000
    light_count: int = 200
    light_span_s: float = 60.0
    light_lead_s: float = 5.0
    burst_count: int = 5_000
    burst_lead_s: float = 15.0
    scale_rows: int = 1_000_000
    sweep_passes: int = 5
    list_page: int = 100
    list_repeats: int = 10
    memory_count: int = 100_000
    memory_settle_s: float = 5.0
    sink_capacity_s: float = 5.0
    profile_s: float = 10.0
    concurrency_levels: tuple[int, ...] = (2, 4, 8, 16)
    concurrency_latency_ms: float = 50.0
    concurrency_seconds: float = 10.0


FULL = Sizes()
QUICK = Sizes(
    create_levels=(1, 4),
    create_step_s=1.0,
    create_sustain_s=1.5,
    create_floor_s=1.0,
    create_warmup_s=0.3,
    create_clients=8,
    bulk_items=100,
    bulk_requests=3,
    bulk_concurrency=2,
    e2e_count=200,
    light_count=20,
    light_span_s=2.0,
    light_lead_s=2.0,
    burst_count=200,
    burst_lead_s=3.0,
    scale_rows=20_000,
    sweep_passes=2,
    list_page=100,
    list_repeats=3,
    memory_count=1_000,
    memory_settle_s=1.0,
    sink_capacity_s=1.0,
    profile_s=2.0,
    concurrency_levels=(2, 4),
    concurrency_seconds=1.0,
)

# Row names: the test checks that every one appears in the report.
ROW_NAMES = (
    "single create, sustained",
    "bulk ingest",
    "end-to-end delivery",
    "timeliness, light load: p50",
    "timeliness, light load: p99",
    "timeliness, burst: p99",
    "sweep at scale: sweep_missed",
    "sweep at scale: sweep_stuck",
    "list at scale: first page",
    "list at scale: 100th page",
    "memory of waiting",
)


def iso(ts: float | datetime) -> str:
    when = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


# Cores used by processes outside the benchmark's roles in each measured window: how busy the machine was.
OTHER_LOAD: list[float] = []


def fmt_cores(cores: dict[str, float] | None) -> str:
    if not cores:
        return "n/a"
    cores = procstat.with_other(cores)
    OTHER_LOAD.append(cores["other"])
    parts = [f"{k} {v:.2f}" for k, v in cores.items() if k not in ("machine",) and v >= 0.005]
    return ", ".join(parts) + f"; machine {cores.get('machine', 0):.2f} of {os.cpu_count()} cores"


def cpu_per_unit(cores: dict[str, float], elapsed: float, units: int, roles: tuple[str, ...]) -> str:
    """CPU milliseconds per unit (request, notification) for each role."""
    if not units:
        return "n/a"
    return ", ".join(f"{role} {cores.get(role, 0) * elapsed / units * 1000:.2f} ms" for role in roles if role in cores)


class Bench:
    """What the figures share: the stack, the sizes, the run count, notes and helpers."""

    def __init__(
        self, stack: Stack, sizes: Sizes, runs: int, *, beat: bool = True, profile: bool = False, retries: int = 3
    ) -> None:
        self.stack = stack
        self.sizes = sizes
        self.runs = runs
        self.beat = beat
        self.profile = profile
        self.retries = retries
        self.retried: list[str] = []
        self.notes: dict[str, list[str]] = {}
        self.facts: dict[str, Any] = {}
        self.loop = asyncio.new_event_loop()
        self._django = False
        self._tokens: dict[str, str] = {}
        self._seeded = 0
        self.t0 = time.monotonic()

    # --- plumbing ------------------------------------------------------------

    def log(self, message: str) -> None:
        print(f"[bench {time.monotonic() - self.t0:7.1f}s] {message}", file=sys.stderr, flush=True)

    def note(self, section: str, *lines: str) -> None:
        self.notes.setdefault(section, []).extend(lines)

    def django(self) -> None:
        """Set this process up as a Django client of the run's database and broker."""
        if not self._django:
            os.environ.update(self.stack.env)
            if str(ROOT) not in sys.path:
                sys.path.insert(0, str(ROOT))
            import django

            django.setup()
            self._django = True

    def server_ids(self) -> tuple[tuple[int, ...], ...]:
        """Pids of the PostgreSQL postmaster, RabbitMQ and Redis on this machine: they change when one restarts."""
        postmaster = tuple(
            pid
            for pid in procstat.all_pids()
            if procstat.comm(pid) == "postgres" and " -D " in f" {procstat.cmdline(pid)} "
        )
        return (postmaster, tuple(procstat.by_comm("beam.smp")()[:1]), tuple(procstat.by_comm("redis-server")()[:1]))

    def attempt(self, what: str, run: Callable[[], Any], *results: list) -> Any:
        """Run one measurement; when it fails or a server restarted meanwhile (a shared machine), wait until
        the servers answer and run it again (``retries`` times), dropping what it had added to ``results``."""
        for attempt in range(self.retries + 1):
            sizes = [len(r) for r in results]
            before = self.server_ids()
            try:
                out = run()
                if self.server_ids() != before:
                    raise RuntimeError("PostgreSQL, RabbitMQ or Redis restarted during the run")
                return out
            except Exception as exc:
                for r, n in zip(results, sizes, strict=True):
                    del r[n:]
                if attempt == self.retries:
                    raise
                reason = (str(exc).strip().splitlines() or [repr(exc)])[-1][:200]
                self.log(f"{what} failed: {reason}; again once the servers answer")
                self.retried.append(f"{what} ({reason})")
                self.stack.recover()
                self.reconnect()
        return None

    def reconnect(self) -> None:
        """Drop this process's database and broker connections (after a server restart)."""
        if self._django:
            from celery import current_app
            from django.db import connections
            from kombu import pools

            connections.close_all()
            pools.reset()  # closes and forgets kombu's connection and producer pools
            current_app._pool = None  # Celery makes them anew on next use, as after a fork
            current_app.amqp._producer_pool = None

    def token(self, username: str) -> str:
        if username not in self._tokens:
            self.django()
            from django.contrib.auth import get_user_model
            from rest_framework.authtoken.models import Token

            user, _ = get_user_model().objects.get_or_create(username=username)
            self._tokens[username] = Token.objects.get_or_create(user=user)[0].key
        return self._tokens[username]

    def user_id(self, username: str) -> int:
        self.token(username)
        from django.contrib.auth import get_user_model

        return get_user_model().objects.get(username=username).pk

    def tokens(self, prefix: str, n: int) -> list[str]:
        return [self.token(f"{prefix}-{i}") for i in range(n)]

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Token {token}"}

    def request(self, method: str, path: str, payload: Any = None, token: str | None = None, port: int = 0) -> bytes:
        port = port or self.stack.web_port
        return json_request(method, path, "127.0.0.1", port, payload, self.auth(token) if token else None)

    def http(self, raw: bytes, port: int = 0) -> Response:
        conn = Connection("127.0.0.1", port or self.stack.web_port)
        try:
            return self.loop.run_until_complete(conn.request(raw))
        finally:
            conn.close()

    def timed_requests(self, raw: bytes, n: int, min_interval: float = 0.025) -> tuple[list[float], list[Response]]:
        """``n`` sequential requests on one connection (re-opened when the server closes it): latencies in s.

        ``min_interval`` paces them under the API's per-client rate limit.
        """
        conn = Connection("127.0.0.1", self.stack.web_port)
        latencies, responses = [], []
        try:
            for _ in range(n):
                t0 = time.perf_counter()
                response = self.loop.run_until_complete(conn.request(raw))
                latency = time.perf_counter() - t0
                latencies.append(latency)
                responses.append(response)
                if response.status >= 400:
                    raise RuntimeError(f"HTTP {response.status}: {response.body[:300]!r}")
                time.sleep(max(0.0, min_interval - latency))
        finally:
            conn.close()
        return latencies, responses

    def load(
        self,
        requests: list[bytes],
        *,
        concurrency: int,
        duration: float | None = None,
        total: int | None = None,
        warmup: float = 0.0,
        keep_bodies: bool = False,
        meter: tuple[str, ...] = (),
        port: int = 0,
    ) -> tuple[dict[str, Any], dict[str, float] | None]:
        """Run the load generator in its own process; CPU of the ``meter`` roles over its measured window."""
        spec = {
            "host": "127.0.0.1",
            "port": port or self.stack.web_port,
            "requests": [base64.b64encode(raw).decode() for raw in requests],
            "concurrency": concurrency,
            "duration": duration,
            "total": total,
            "warmup": warmup,
            "keep_bodies": keep_bodies,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.load"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin and proc.stderr and proc.stdout
        proc.stdin.write(json.dumps(spec))
        proc.stdin.close()
        proc.stdin = None  # communicate() below must not flush it
        cpu = self.stack.meter(*meter) if meter else None
        cores = None
        other_lines = []
        for line in proc.stderr:
            line = line.strip()
            if line == "M" and cpu:
                cpu.start()
            elif line == "E":
                if cpu:
                    cores = cpu.stop()
                break
            elif line:
                other_lines.append(line)
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError("load generator failed:\n" + "\n".join(other_lines) + err)
        result = json.loads(out)
        if cores is not None:
            cores["client"] = result["client_cores"]
        return result, cores

    def split(self, name: str) -> dict[str, Callable[[], list[int]]]:
        """A process's own CPU apart from its children's (the Celery worker's consumer vs its pool)."""

        def main() -> list[int]:
            proc = self.stack.procs.get(name)
            return [proc.pid] if proc and proc.alive() else []

        def children() -> list[int]:
            proc = self.stack.procs.get(name)
            return proc.pids()[1:] if proc else []

        return {f"{name} main": main, f"{name} pool": children}

    # --- the sink ---------------------------------------------------------------

    @property
    def sink_url(self) -> str:
        return f"http://127.0.0.1:{self.stack.sink_port}/hook"

    def sink(self, method: str, path: str) -> Any:
        raw = build_request(method, path, "127.0.0.1", self.stack.sink_port)
        return self.http(raw, port=self.stack.sink_port).json()

    def wait_sink(self, count: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        stats = self.sink("GET", "/_stats")
        while stats["unique"] < count and time.monotonic() < deadline:
            time.sleep(0.1)
            stats = self.sink("GET", "/_stats")
        return stats

    # --- the worker's log ---------------------------------------------------------

    def log_size(self, name: str) -> int:
        proc = self.stack.procs.get(name)
        return proc.log.stat().st_size if proc else 0

    def log_since(self, name: str, offset: int) -> str:
        proc = self.stack.procs.get(name)
        if not proc:
            return ""
        with proc.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def received(self, name: str, offset: int) -> str:
        """Messages the worker received since ``offset`` of its log, by task: how well rows share messages."""
        counts = Counter(re.findall(r"\] Task ([\w.]+)\[[^\]]+\] received", self.log_since(name, offset)))
        return ", ".join(f"{n:,} {task}" for task, n in counts.most_common()) or "none"

    def republished(self, name: str, offset: int) -> int:
        """Rows the missed-sweep re-published since ``offset`` of the worker's log."""
        text = self.log_since(name, offset)
        return sum(int(n) for n in re.findall(r"missed-sweep re-published (\d+)", text))


def require_ok(result: dict[str, Any], what: str) -> None:
    """Stop the figure when requests that set it up failed (e.g. a server restarted on a shared machine)."""
    if result["ok"] < result["requests"] or result["errors"] or not result["requests"]:
        raise RuntimeError(
            f"{what}: {result['ok']} of {result['requests']} requests succeeded (statuses {result['statuses']}, "
            f"errors {result['errors']}, first error bodies {result['bodies'][:2]}); did a server restart?"
        )


# --- sink capacity (a check of the harness, not a figure) -----------------------


def sink_check(b: Bench) -> list[Row]:
    """The sink must not be the bottleneck: its request rate under load, and its receive overhead."""
    st = b.stack
    st.start_sink()
    s = b.sizes
    raw = build_request(
        "POST",
        "/hook",
        "127.0.0.1",
        st.sink_port,
        {"content-type": "application/json", "webhook-id": "capacity-check"},
        b'{"n":1}',
    )
    result, cores = b.load(
        [raw], concurrency=8, duration=s.sink_capacity_s, warmup=0.2, meter=("sink",), port=st.sink_port
    )
    # Receive overhead: sequential requests stamped with the sender's clock.
    b.sink("POST", "/_reset")
    conn = Connection("127.0.0.1", st.sink_port)
    for i in range(200):
        stamped = build_request(
            "POST",
            "/hook",
            "127.0.0.1",
            st.sink_port,
            {"webhook-id": f"overhead-{i}", "x-sent-at": repr(time.time())},
            b"{}",
        )
        b.loop.run_until_complete(conn.request(stamped))
    conn.close()
    overhead = b.sink("GET", "/_overhead")["ms"]
    b.sink("POST", "/_reset")
    b.facts["sink_rps"] = result["rps"]
    b.facts["sink_overhead"] = (percentile(overhead, 50), percentile(overhead, 99))
    sink_core = (cores or {}).get("sink", 0)
    b.note(
        "Harness: the webhook sink",
        f"- Capacity: at least {result['rps']:,.0f} req/s (8 keep-alive connections, {s.sink_capacity_s:g} s; "
        f"the sink used {sink_core:.2f} core, the client {result['client_cores']:.2f}); latency p50 "
        f"{result['latency']['p50']:.2f} ms, p99 {result['latency']['p99']:.2f} ms. "
        "Deliveries below are far under this.",
        f"- Receive overhead (sender's clock → the sink's recorded receive time, sequential, idle): p50 "
        f"{percentile(overhead, 50):.3f} ms, p99 {percentile(overhead, 99):.3f} ms. Lateness figures include it.",
    )
    return []


# --- per-request round trips (notes only) -------------------------------------------


def round_trips(b: Bench) -> list[Row]:
    """SQL queries, Redis commands and AMQP publishes per API request and per delivery, in-process."""
    b.django()
    st = b.stack
    st.start_sink()
    import kombu.messaging
    import redis
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from notifications import services
    from notifications.models import Notification
    from notifier import registry

    token = b.token("bench-roundtrips")
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    counts: Counter[str] = Counter()
    publishes: list[str] = []
    real_execute = redis.Redis.execute_command
    real_publish = kombu.messaging.Producer.publish

    def count_redis(self, *args, **kwargs):
        counts["redis"] += 1
        return real_execute(self, *args, **kwargs)

    def count_publish(self, body, routing_key=None, *args, exchange=None, **kwargs):
        name = exchange if isinstance(exchange, str) else getattr(exchange or self.exchange, "name", "?")
        publishes.append(name or "(default)")
        return real_publish(self, body, routing_key, *args, exchange=exchange, **kwargs)

    def measure(label: str, call: Callable[[], Any]) -> None:
        counts.clear()
        publishes.clear()
        redis.Redis.execute_command = count_redis
        kombu.messaging.Producer.publish = count_publish
        try:
            with CaptureQueriesContext(connection) as queries:
                call()
        finally:
            redis.Redis.execute_command = real_execute
            kombu.messaging.Producer.publish = real_publish
        kinds = Counter(q["sql"].split(None, 1)[0].upper() for q in queries.captured_queries)
        by_exchange = ", ".join(f"{n}× {name}" for name, n in Counter(publishes).items()) or "none"
        lines.append(
            f"| {label} | {len(queries.captured_queries)} ({', '.join(f'{n} {k}' for k, n in kinds.items())}) "
            f"| {counts['redis']} | {len(publishes)} ({by_exchange}) |"
        )

    day = iso(time.time() + DAY.total_seconds())
    one = {"channel": "console", "recipient": "bench", "body": "hello", "send_at": day}
    lines = ["| request | SQL queries | Redis commands | AMQP publishes |", "|---|---|---|---|"]
    client.get("/healthz")
    client.post(API, one, content_type="application/json")  # warm: first request imports and caches
    measure("GET /healthz", lambda: client.get("/healthz"))
    measure(
        "POST notifications/ (console, a day ahead)", lambda: client.post(API, one, content_type="application/json")
    )
    many = {"notifications": [{**one, "body": f"n{i}"} for i in range(100)]}
    measure("POST bulk/ (100 items)", lambda: client.post(BULK, many, content_type="application/json"))
    measure("GET notifications/ (page of 50)", lambda: client.get(API + "?page_size=50"))
    registry.reset()

    def due_webhook(n: int) -> Notification:
        now = datetime.now(UTC)
        return Notification.objects.create(
            owner_id=b.user_id("bench-roundtrips"),
            channel="webhook",
            recipient=b.sink_url,
            payload={"n": n},
            send_at=now,
            next_attempt_at=now,
            max_attempts=8,
        )

    row = due_webhook(1)
    services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)  # warm the provider
    row2 = due_webhook(2)
    measure(
        "deliver (services.notification_deliver, webhook to the sink)",
        lambda: services.notification_deliver(notification_id=row2.id, dispatch_token=row2.dispatch_token),
    )
    b.note(
        "Per-request round trips",
        "Counted in-process (Django test client; the delivery service called directly) on the run's database,",
        "Redis and broker. AMQP publishes include Celery's `task-sent` events (`CELERY_TASK_SEND_SENT_EVENT`);",
        "the real worker adds its `-E` task events (received, started, succeeded) and the ack per message.",
        "",
        *lines,
    )
    return []


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

    def ramp() -> int:
        st.start_web()
        chosen = None
        for c in s.create_levels:
            r, _ = b.load(creates, concurrency=c, duration=s.create_step_s, warmup=s.create_warmup_s)
            bad = r["requests"] - r["ok"] + sum(r["errors"].values())
            ramp_lines.append(
                f"| {c} | {r['rps']:,.0f} | {r['latency']['p50']:.1f} | {r['latency']['p99']:.1f} | {bad} |"
            )
            b.log(f"create ramp c={c}: {r['rps']:.0f} req/s p99 {r['latency']['p99']:.1f} ms")
            if r["statuses"].get("503") or r["errors"]:
                require_ok(r, f"create ramp at concurrency {c}")
            if r["latency"]["p99"] <= s.create_p99_ms and not bad:
                chosen = c
            else:
                break
        return chosen if chosen is not None else s.create_levels[0]

    chosen = b.attempt("create ramp", ramp, ramp_lines)
    values, floors, lines = [], [], []
    p99s = []
    for run in range(b.runs):

        def one(run: int = run) -> None:
            st.start_web()
            r, cores = b.load(
                creates, concurrency=chosen, duration=s.create_sustain_s, warmup=s.create_warmup_s, meter=("web",)
            )
            require_ok(r, "creates")
            f, fcores = b.load(
                health, concurrency=chosen, duration=s.create_floor_s, warmup=s.create_warmup_s, meter=("web",)
            )
            require_ok(f, "GET /healthz")
            values.append(r["rps"])
            floors.append(f["rps"])
            p99s.append(r["latency"]["p99"])
            lines.append(
                f"- run {run + 1}: {r['rps']:,.0f} req/s, p50 {r['latency']['p50']:.1f} ms, "
                f"p99 {r['latency']['p99']:.1f} ms, "
                f"statuses {r['statuses']}, errors {r['errors'] or 0}; healthz {f['rps']:,.0f} req/s "
                f"(p99 {f['latency']['p99']:.1f} ms). CPU during creates: {fmt_cores(cores)}; per request: "
                f"{cpu_per_unit(cores, r['elapsed'], r['ok'], ('web', 'postgres', 'rabbitmq', 'redis', 'client'))}. "
                f"CPU during healthz: {fmt_cores(fcores)}."
            )
            b.log(f"create run {run + 1}: {r['rps']:.0f} req/s (healthz {f['rps']:.0f})")

        b.attempt(f"create run {run + 1}", one, values, floors, lines, p99s)
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
    values, floors, lines = [], [], []
    for run in range(b.runs):

        def one(run: int = run) -> None:
            st.start_web()
            r, cores = b.load(reqs, concurrency=s.bulk_concurrency, total=s.bulk_requests, meter=("web",))
            require_ok(r, "bulk requests")
            rate = r["ok"] * s.bulk_items / r["elapsed"]
            floor = copy_floor(b, s.bulk_requests * s.bulk_items, s.bulk_items)
            values.append(rate)
            floors.append(floor)
            lines.append(
                f"- run {run + 1}: {rate:,.0f} notifications/s ({r['ok']}/{s.bulk_requests} requests of "
                f"{s.bulk_items}, {s.bulk_concurrency} concurrent, request p50 {r['latency']['p50']:.0f} ms, "
                f"p99 {r['latency']['p99']:.0f} ms, statuses {r['statuses']}); COPY floor {floor:,.0f} rows/s. "
                f"CPU: {fmt_cores(cores)}; per notification: "
                f"{cpu_per_unit(cores, r['elapsed'], r['ok'] * s.bulk_items, ('web', 'postgres', 'rabbitmq'))}."
            )
            b.log(f"bulk run {run + 1}: {rate:.0f}/s (COPY {floor:.0f}/s)")

        b.attempt(f"bulk run {run + 1}", one, values, floors, lines)
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


COLUMNS = (
    "id", "owner_id", "channel", "recipient", "subject", "body", "payload", "send_at", "priority", "max_attempts",
    "idempotency_key", "request_fingerprint", "status", "attempts", "attempts_total", "last_error", "failure_reason",
    "next_attempt_at", "provider_message_id", "dispatch_token", "lease_expires_at", "last_enqueued_at", "sent_at",
    "cancelled_at", "created_at", "updated_at",
)  # fmt: skip


def copy_floor(b: Bench, rows: int, batch: int) -> float:
    import psycopg
    from psycopg.types.json import Jsonb

    owner = b.user_id("bench-bulk-0")
    now = datetime.now(UTC)
    send_at = now + DAY
    row_values = [
        (
            uuid.uuid4(), owner, "console", "bench", "", f"bulk {i}", Jsonb(None), send_at, "normal", 8, None,
            "0" * 64, "scheduled", 0, 0, None, "", send_at, "", uuid.uuid4(), None, now, None, None, now, now,
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
                cur.copy(f"COPY bench_scratch ({', '.join(COLUMNS)}) FROM STDIN") as copy,
            ):
                for values in row_values[start : start + batch]:
                    copy.write_row(values)
        elapsed = time.perf_counter() - t0
        conn.execute("TRUNCATE bench_scratch")
    return rows / elapsed


# --- end-to-end delivery ----------------------------------------------------------


NOOP_DONE = re.compile(
    r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): \w+/[^\]]*\] Task bench\.noop\[[^\]]+\] succeeded", re.M
)


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
    values, floors, lines = [], [], []
    for run in range(b.runs):

        def one(run: int = run) -> None:
            # The service: n webhooks due now, created through bulk/ while the worker runs.
            st.start_web()
            st.start_sink()
            if b.beat:
                st.start_beat()
            st.stop("worker-bench.noop_app")
            st.start_worker()
            b.sink("POST", "/_reset")
            reqs = [
                b.request(
                    "POST",
                    BULK,
                    {
                        "notifications": [
                            {"channel": "webhook", "recipient": b.sink_url, "payload": {"run": run, "n": i}}
                            for i in range(per)
                        ]
                    },
                    tokens[k % 2],
                )
                for k in range(2)
            ]
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
            # The floor: the same count of no-op tasks through the same broker, queues and worker settings.
            st.stop("worker")
            name = "worker-bench.noop_app"
            st.start_worker("bench.noop_app")
            noffset = b.log_size(name)
            nmeter = st.meter(extra={**b.split(name), "publisher (bench)": lambda: [os.getpid()]}).start()
            t0 = time.time()
            publish_noop(b, nreq * per)
            published = time.time()
            done, first, last = wait_noop(b, name, noffset, nreq * per, timeout=60 + n / 50)
            ncores = nmeter.stop()
            floor = done / (last - t0) if done >= nreq * per else math.nan
            st.stop(name)
            values.append(value)
            floors.append(floor)
            lines.append(
                f"- run {run + 1}: {value:,.0f}/s created→delivered ({got}/{nreq * per} received in "
                f"{elapsed:.1f} s; bulk creation took {r['elapsed']:.1f} s, statuses {r['statuses']}); delivery "
                f"rate first→last {drain:,.0f}/s; {dump['duplicates']} duplicate POSTs; {republished} rows "
                f"re-published by the missed-sweep; messages received by the worker: {messages}. "
                f"CPU: {fmt_cores(cores)}; per notification: "
                f"{cpu_per_unit(cores, elapsed, got, ('worker main', 'worker pool', 'web', 'postgres', 'rabbitmq'))}."
            )
            lines.append(
                f"  floor: {floor:,.0f} no-op tasks/s published→done ({done} done; publishing took "
                f"{published - t0:.1f} s; first→last {(done - 1) / (last - first) if done > 1 else math.nan:,.0f}/s). "
                f"CPU: {fmt_cores(ncores)}; per task: "
                f"{cpu_per_unit(ncores, last - t0, done, (f'{name} main', f'{name} pool', 'rabbitmq'))}."
            )
            b.log(f"e2e run {run + 1}: {value:.0f}/s (drain {drain:.0f}/s), floor {floor:.0f}/s")
            if stats["unique"] < nreq * per:
                lines.append(f"  **only {stats['unique']} of {nreq * per} arrived before the timeout**")

        b.attempt(f"e2e run {run + 1}", one, values, floors, lines)
    st.start_worker()
    b.note(
        "end-to-end delivery",
        f"{nreq * per:,} webhooks due now, created through bulk/ ({nreq} request(s) of {per}, 2 concurrent) while the "
        f"Procfile worker runs{' beside beat' if b.beat else ''}; figure = notifications ÷ (last receive at the sink − "
        "first create request sent). Floor: the same count of no-op Celery tasks published (one producer, as "
        "`dispatch.publish` does) to the same quorum queue and consumed by the Procfile worker line with "
        "`-A bench.noop_app` (same pool, concurrency, prefetch, acks_late, events, log level); figure = tasks ÷ "
        "(last `succeeded` log line − first publish).",
        *lines,
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


# --- timeliness -------------------------------------------------------------------


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
    items = [
        {"channel": "webhook", "recipient": b.sink_url, "payload": {"n": i}, "send_at": iso(at)}
        for i, at in enumerate(due)
    ]
    if bulk:
        token = b.token("bench-timely-0")
        reqs = [
            b.request("POST", BULK, {"notifications": items[i : i + 1000]}, token) for i in range(0, len(items), 1000)
        ]
    else:
        tokens = b.tokens("bench-timely", 8)
        reqs = [b.request("POST", API, item, tokens[i % 8]) for i, item in enumerate(items)]
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


def fig_light(b: Bench) -> list[Row]:
    s = b.sizes
    p50s, p99s, lines = [], [], []
    early: list[int] = []
    for run in range(b.runs):

        def one(run: int = run) -> None:
            start = time.time() + s.light_lead_s
            step = s.light_span_s / s.light_count
            due = [start + i * step + random.uniform(0, step) for i in range(s.light_count)]
            res = timeliness(b, due, bulk=False)
            sm = summary(res["lateness"])
            p50s.append(sm["p50"])
            p99s.append(sm["p99"])
            early.append(res["early"])
            lines.append(
                f"- run {run + 1}: p50 {sm['p50']:.1f} ms, p90 {sm['p90']:.1f} ms, p99 {sm['p99']:.1f} ms, "
                f"max {sm['max']:.1f} ms, min {min(res['lateness'], default=math.nan) * 1000:.1f} ms; "
                f"early {res['early']}, missing {res['missing']}; "
                f"creation ended {due[0] - res['created_by']:.1f} s before the first was due; "
                f"{res['republished']} rows re-published by the missed-sweep; messages: {res['messages']}. "
                f"CPU: {fmt_cores(res['cores'])}."
            )
            b.log(f"light run {run + 1}: p50 {sm['p50']:.1f} ms p99 {sm['p99']:.1f} ms early {res['early']}")

        b.attempt(f"light run {run + 1}", one, p50s, p99s, lines, early)
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


def fig_burst(b: Bench) -> list[Row]:
    s = b.sizes
    p99s, lines = [], []
    early: list[int] = []
    for run in range(b.runs):

        def one(run: int = run) -> None:
            start = math.ceil(time.time() + s.burst_lead_s)
            due = [start + random.random() for _ in range(s.burst_count)]
            res = timeliness(b, due, bulk=True)
            sm = summary(res["lateness"])
            p99s.append(sm["p99"] / 1000)
            early.append(res["early"])
            late_create = res["created_by"] - start
            lines.append(
                f"- run {run + 1}: p50 {sm['p50'] / 1000:.2f} s, p99 {sm['p99'] / 1000:.2f} s, "
                f"max {sm['max'] / 1000:.2f} s; early {res['early']}, missing {res['missing']}; "
                f"{res['republished']} rows re-published by the missed-sweep; messages: {res['messages']}; "
                f"creation ended {-late_create:.1f} s before the burst"
                f"{' (**after it began**)' if late_create > 0 else ''}. CPU: {fmt_cores(res['cores'])}."
            )
            b.log(f"burst run {run + 1}: p99 {sm['p99'] / 1000:.2f} s early {res['early']}")

        b.attempt(f"burst run {run + 1}", one, p99s, lines, early)
    b.note(
        "timeliness, burst",
        f"{s.burst_count} webhooks due within the same second, created through bulk/ about {s.burst_lead_s:g} s "
        "before it; lateness = the sink's receive time − send_at.",
        *lines,
    )
    return [lateness_row("timeliness, burst: p99", p99s, early, limit=5, unit="s", fmt="{:,.2f}")]


# --- memory of waiting ------------------------------------------------------------


def fig_memory(b: Bench) -> list[Row]:
    st, s = b.stack, b.sizes
    b.django()
    from notifications.models import Notification

    token = b.token("bench-memory")
    owner = b.user_id("bench-memory")
    warm = [{"channel": "console", "recipient": "bench", "body": f"warm {i}"} for i in range(20)]

    def warmed_worker() -> Any:
        """The Procfile worker, after 20 deliveries (imports, connections, the provider)."""
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

    day = iso(time.time() + 86400)
    per = min(1000, s.memory_count)
    nreq = math.ceil(s.memory_count / per)
    items = [{"channel": "console", "recipient": "bench", "body": f"later {i}", "send_at": day} for i in range(per)]
    reqs = [b.request("POST", BULK, {"notifications": items}, token)]
    beam = procstat.by_comm("beam.smp")
    values, lines = [], []
    for run in range(b.runs):

        def one(run: int = run) -> None:
            worker = warmed_worker()
            time.sleep(s.memory_settle_s)
            pids = procstat.tree(worker.pid)
            before, before_pss, rabbit_before = procstat.rss_kb(pids), procstat.pss_kb(pids), procstat.rss_kb(beam())
            r, _ = b.load(reqs, concurrency=2, total=nreq)
            require_ok(r, "scheduling the notifications")
            time.sleep(s.memory_settle_s)
            pids = procstat.tree(worker.pid)
            after, after_pss, rabbit_after = procstat.rss_kb(pids), procstat.pss_kb(pids), procstat.rss_kb(beam())
            growth = (after - before) / 1024
            values.append(growth)
            lines.append(
                f"- run {run + 1}: worker RSS {before / 1024:.1f} → {after / 1024:.1f} MB ({len(pids)} processes; PSS "
                f"{before_pss / 1024:.1f} → {after_pss / 1024:.1f} MB) while {r['ok'] * per:,} notifications were "
                f"scheduled a day ahead in {r['elapsed']:.1f} s ({r['ok'] * per / r['elapsed']:,.0f}/s through bulk/); "
                f"RabbitMQ (beam.smp, shared by every vhost) RSS {rabbit_before / 1024:.0f} → "
                f"{rabbit_after / 1024:.0f} MB."
            )
            b.log(f"memory run {run + 1}: worker RSS +{growth:.1f} MB")

        b.attempt(f"memory run {run + 1}", one, values, lines)
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
        runs: list[tuple[float, float, float]] = []
        for run in range(b.runs):
            b.attempt(f"concurrency {c} run {run + 1}", lambda c=c, runs=runs: runs.append(deliver_at(b, c)), runs)
        value, rss, cpu = (median([r[i] for r in runs]) for i in range(3))
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


# --- at scale: sweeps and list ------------------------------------------------------

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
       '', gen_random_uuid(),
       CASE WHEN st = 'sending' THEN now() + interval '1 hour' END,
       c,
       CASE WHEN st = 'sent' THEN c + interval '1 second' END,
       CASE WHEN st = 'cancelled' THEN c END,
       c, c + interval '1 second'
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
    if b._seeded == s.scale_rows:
        return
    b.django()
    st = b.stack
    # Nothing else writes while the table is seeded and measured.
    for name in ("worker", "beat"):
        st.stop(name)
    from django.db import connection

    main, other = b.user_id("bench-list"), b.user_id("bench-other")
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("TRUNCATE notifications_deliveryattempt, notifications_notification")
        chunk = 100_000
        step = f"{30 * 86400 / s.scale_rows:.6f} seconds"
        for lo in range(1, s.scale_rows + 1, chunk):
            hi = min(s.scale_rows, lo + chunk - 1)
            cur.execute(
                SEED_SQL.format(columns=", ".join(COLUMNS)),
                {"main": main, "other": other, "step": step, "lo": lo, "hi": hi},
            )
            b.log(f"seeded {hi:,} rows")
        inserted = time.perf_counter() - t0
        cur.execute("VACUUM ANALYZE notifications_notification")
        cur.execute("SELECT status, count(*) FROM notifications_notification GROUP BY status ORDER BY 2 DESC")
        by_status = ", ".join(f"{status} {n:,}" for status, n in cur.fetchall())
        cur.execute("SELECT pg_size_pretty(pg_total_relation_size('notifications_notification'))")
        size = cur.fetchone()[0]
    b._seeded = s.scale_rows
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


def fig_sweep(b: Bench) -> list[Row]:
    seed(b)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from notifications import services

    s = b.sizes
    connection.ensure_connection()
    services.sweep_missed()
    services.sweep_stuck()  # warm: imports, plans, caches

    def timed(call: Callable[[], Any], n: int) -> tuple[float, Any]:
        times, result = [], None
        for _ in range(n):
            t0 = time.perf_counter()
            result = call()
            times.append((time.perf_counter() - t0) * 1000)
        return median(times), result

    def select_one() -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()

    missed, stuck, floors, lines = [], [], [], []
    for run in range(b.runs):

        def one(run: int = run) -> None:
            m, found_m = timed(services.sweep_missed, s.sweep_passes)
            k, found_k = timed(services.sweep_stuck, s.sweep_passes)
            f, _ = timed(select_one, 20)
            missed.append(m)
            stuck.append(k)
            floors.append(f)
            lines.append(
                f"- run {run + 1}: sweep_missed {m:.2f} ms (found {found_m}), sweep_stuck {k:.2f} ms (found "
                f"{found_k}), SELECT 1 {f:.3f} ms (medians of {s.sweep_passes}, {s.sweep_passes} and 20 calls)."
            )

        b.attempt(f"sweep run {run + 1}", one, missed, stuck, floors, lines)
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
    b.note(
        "sweep at scale",
        "Each pass is one call of `services.sweep_missed()` / `services.sweep_stuck()` in this process, "
        "through Django, when nothing is due; floor: `SELECT 1` on the same connection.",
        *lines,
        "",
        *plans,
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


def fig_list(b: Bench) -> list[Row]:
    seed(b)
    st, s = b.stack, b.sizes
    st.start_web()
    token = b.token("bench-list")
    first = b.request("GET", f"{API}?page_size=50", token=token)
    # Walk to the n-th page by following `next`, as a client does.
    path = f"{API}?page_size=50"
    walk = []
    for _ in range(s.list_page - 1):
        lat, [resp] = b.timed_requests(b.request("GET", path, token=token), 1)
        walk.append(lat[0])
        nxt = resp.json()["next"]
        path = nxt[nxt.index("/api/") :]
    nth = b.request("GET", path, token=token)
    count = len(b.http(nth).json()["results"])
    health = build_request("GET", "/healthz", "127.0.0.1", st.web_port)
    firsts, nths, floors, lines = [], [], [], []
    for run in range(b.runs):

        def one(run: int = run) -> None:
            st.start_web()
            p1, _ = b.timed_requests(first, s.list_repeats)
            pn, _ = b.timed_requests(nth, s.list_repeats)
            fl, _ = b.timed_requests(health, s.list_repeats)
            firsts.append(median(p1) * 1000)
            nths.append(median(pn) * 1000)
            floors.append(median(fl) * 1000)
            lines.append(
                f"- run {run + 1}: first page {median(p1) * 1000:.1f} ms, "
                f"page {s.list_page} {median(pn) * 1000:.1f} ms, "
                f"/healthz {median(fl) * 1000:.1f} ms (medians of {s.list_repeats} sequential requests each)."
            )

        b.attempt(f"list run {run + 1}", one, firsts, nths, floors, lines)
    plan = ""
    try:
        from django.contrib.auth import get_user_model

        from notifications import selectors

        user = get_user_model().objects.get(username="bench-list")
        plan = selectors.notification_list(owner=user)[:51].explain(analyze=True)
    except Exception as exc:  # the plan is a note, not the figure
        plan = f"(EXPLAIN failed: {exc})"
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
        plan,
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


# --- profiles (--profile) -----------------------------------------------------------


def py_spy() -> str | None:
    found = Path(sys.executable).parent / "py-spy"
    return str(found) if found.exists() else None


def start_profile(b: Bench, pid: int, name: str) -> tuple[subprocess.Popen, Path] | None:
    exe = py_spy()
    if not exe:
        b.note("Profiles", "- py-spy is not installed (`pip install -r requirements-dev.txt`): no profile taken.")
        return None
    out = b.stack.workdir / f"profile-{name}.txt"
    proc = subprocess.Popen(
        # --gil: only samples that hold the GIL, so the profile shows CPU, not waiting on sockets.
        [exe, "record", "--pid", str(pid), "--subprocesses", "--rate", "200", "--nonblocking", "--gil",
         "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.5)
    return proc, out


def finish_profile(b: Bench, handle: tuple[subprocess.Popen, Path] | None, title: str) -> None:
    if not handle:
        return
    proc, out = handle
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    if not out.exists():
        b.note("Profiles", f"- {title}: py-spy wrote nothing.")
        return
    keep = ROOT / "var" / "bench" / "profiles"
    keep.mkdir(parents=True, exist_ok=True)
    kept = keep / out.name
    kept.write_bytes(out.read_bytes())
    b.note("Profiles", f"{title} (py-spy, collapsed stacks in `{kept.relative_to(ROOT)}`):", "", *top_frames(kept), "")


def top_frames(path: Path, limit: int = 20) -> list[str]:
    """The frames with the most samples: by own time (innermost frame), and cumulatively (anywhere in the
    stack; frames in nearly every sample, the process's main loop, are left out)."""
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";") if not f.startswith("process ")]
        frames = [re.sub(r"\(/.*?/(site-packages|lib/python3\.\d+|main)/", "(", f) for f in frames]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            cumulative[frame] += n
    if not total:
        return ["(no samples)"]
    lines = [f"{total} samples holding the GIL.", "", "| own % | frame |", "|---|---|"]
    lines += [f"| {n / total * 100:.1f} | `{frame}` |" for frame, n in own.most_common(limit)]
    lines += ["", "| cumulative % | frame |", "|---|---|"]
    interesting = [(f, n) for f, n in cumulative.most_common() if n / total < 0.7][: limit + 10]
    lines += [f"| {n / total * 100:.1f} | `{frame}` |" for frame, n in interesting]
    return lines


def profile_web(b: Bench, creates: list[bytes], concurrency: int) -> None:
    web = b.stack.procs["web"]
    handle = start_profile(b, web.pid, "web-create")
    b.load(creates, concurrency=concurrency, duration=b.sizes.profile_s)
    finish_profile(b, handle, f"gunicorn (all workers) during POST notifications/ at concurrency {concurrency}")


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
    reqs = [
        b.request(
            "POST",
            BULK,
            {
                "notifications": [
                    {"channel": "webhook", "recipient": b.sink_url, "payload": {"n": i}} for i in range(per)
                ]
            },
            token,
        )
    ]
    b.load(reqs, concurrency=1, total=math.ceil(n / per))
    b.wait_sink(math.ceil(n / per) * per, timeout=60 + n / 50)
    finish_profile(b, handle, f"Celery worker (main process and pool) delivering {n} webhooks")


FIGURES: dict[str, Callable[[Bench], list[Row]]] = {
    "sink": sink_check,
    "roundtrips": round_trips,
    "create": fig_create,
    "bulk": fig_bulk,
    "e2e": fig_e2e,
    "concurrency": fig_concurrency,
    "light": fig_light,
    "burst": fig_burst,
    "memory": fig_memory,
    "sweep": fig_sweep,
    "list": fig_list,
}
