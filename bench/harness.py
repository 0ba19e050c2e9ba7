"""What the figures share: the ``Bench`` (the stack, sizes, run count, notes) and its helpers.

Every figure function takes the ``Bench`` and returns report rows; it also adds notes
(latency percentiles, CPU per role, EXPLAIN output) to ``bench.notes``. A figure measures
through ``Bench.repeat``, which runs it the configured number of times and runs a
measurement again when it failed or a server restarted meanwhile (``Bench.attempt``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import procstat
from bench.httpclient import Connection, Response, build_request, json_request
from bench.sizes import Sizes
from bench.stack import ROOT, Stack

API = "/api/v1/notifications/"
BULK = "/api/v1/notifications/bulk/"
DAY = timedelta(days=1)

# The notification table's columns, in the order the COPY floor and the seed write them.
COLUMNS = (
    "id", "owner_id", "channel", "recipient", "subject", "body", "payload", "send_at", "priority", "max_attempts",
    "idempotency_key", "request_fingerprint", "status", "attempts", "attempts_total", "last_error", "failure_reason",
    "next_attempt_at", "provider_message_id", "provider", "dispatch_token", "lease_expires_at", "last_enqueued_at",
    "sent_at", "cancelled_at", "created_at", "updated_at",
)  # fmt: skip


def other_columns(b: Bench) -> tuple[list[str], list[Any]]:
    """The notification table's columns beyond ``COLUMNS``, and the values the model's defaults
    give them: the raw inserts (the COPY floor, the scale seed) stay valid as fields are added."""
    b.django()
    from django.db import connection

    from notifications.models import Notification

    fields = [field for field in Notification._meta.concrete_fields if field.column not in COLUMNS]
    # Quoted: a column may be a reserved word (``to``).
    return [connection.ops.quote_name(field.column) for field in fields], [
        field.get_db_prep_save(field.get_default(), connection) for field in fields
    ]


def iso(ts: float | datetime) -> str:
    when = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def cpu_per_unit(cores: dict[str, float], elapsed: float, units: int, roles: tuple[str, ...]) -> str:
    """CPU milliseconds per unit (request, notification) for each role."""
    if not units:
        return "n/a"
    return ", ".join(f"{role} {cores.get(role, 0) * elapsed / units * 1000:.2f} ms" for role in roles if role in cores)


def require_ok(result: dict[str, Any], what: str) -> None:
    """Stop the figure when requests that set it up failed (e.g. a server restarted on a shared machine)."""
    if result["ok"] < result["requests"] or result["errors"] or not result["requests"]:
        raise RuntimeError(
            f"{what}: {result['ok']} of {result['requests']} requests succeeded (statuses {result['statuses']}, "
            f"errors {result['errors']}, first error bodies {result['bodies'][:2]}); did a server restart?"
        )


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
        # Cores used by processes outside the benchmark's roles in each measured window: how busy the machine was.
        self.other_load: list[float] = []
        self.seeded_rows = 0  # rows the scale figures' table holds (seeded once for both)
        self.loop = asyncio.new_event_loop()
        self._django = False
        self._tokens: dict[str, str] = {}
        self.t0 = time.monotonic()

    # --- plumbing ------------------------------------------------------------

    def log(self, message: str) -> None:
        print(f"[bench {time.monotonic() - self.t0:7.1f}s] {message}", file=sys.stderr, flush=True)

    def note(self, section: str, *lines: str) -> None:
        self.notes.setdefault(section, []).extend(lines)

    def fmt_cores(self, cores: dict[str, float] | None) -> str:
        """Cores per role for a note; records the ``other`` load the window saw."""
        if not cores:
            return "n/a"
        cores = procstat.with_other(cores)
        self.other_load.append(cores["other"])
        parts = [f"{k} {v:.2f}" for k, v in cores.items() if k not in ("machine",) and v >= 0.005]
        return ", ".join(parts) + f"; machine {cores.get('machine', 0):.2f} of {os.cpu_count()} cores"

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

    def repeat(self, name: str, measure_once: Callable[[int], tuple[Any, ...]]) -> list[list[Any]]:
        """``measure_once(run)`` for each of the ``runs`` runs, each through ``attempt`` (as "<name> run N").

        ``measure_once`` returns one run's results as a tuple; they come back column by column
        (``values, floors, lines = b.repeat(...)``), each list in run order. A run that is tried
        again adds its results once, so a failed try leaves nothing behind.
        """
        runs = [self.attempt(f"{name} run {run + 1}", lambda run=run: measure_once(run)) for run in range(self.runs)]
        return [list(column) for column in zip(*runs, strict=True)]

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

    # --- HTTP ------------------------------------------------------------------

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
        proc = _load_generator(
            {
                "host": "127.0.0.1",
                "port": port or self.stack.web_port,
                "requests": [base64.b64encode(raw).decode() for raw in requests],
                "concurrency": concurrency,
                "duration": duration,
                "total": total,
                "warmup": warmup,
                "keep_bodies": keep_bodies,
            }
        )
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
        return self.url_of("sink")

    def url_of(self, sink: str) -> str:
        """The webhook URL of the sink ``sink`` (``Stack.start_sink(name=…)``)."""
        return f"http://127.0.0.1:{self.stack.sink_ports[sink]}/hook"

    def sink(self, method: str, path: str, name: str = "sink") -> Any:
        port = self.stack.sink_ports[name]
        return self.http(build_request(method, path, "127.0.0.1", port), port=port).json()

    def wait_sink(self, count: int, timeout: float, name: str = "sink") -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        stats = self.sink("GET", "/_stats", name)
        while stats["unique"] < count and time.monotonic() < deadline:
            time.sleep(0.1)
            stats = self.sink("GET", "/_stats", name)
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


def _load_generator(spec: dict[str, Any]) -> subprocess.Popen:
    """``bench.load`` in its own process, given ``spec`` on stdin; it reports on stderr and stdout."""
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
    proc.stdin = None  # the caller's communicate() must not flush it
    return proc
