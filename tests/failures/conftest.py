"""Failure injection: real processes (worker, beat, web) and real services (RabbitMQ,
PostgreSQL) broken on purpose, each test proving that nothing is lost.

Every test counts what the receiver saw — the local sink records each request by its
``Idempotency-Key`` (the notification id) — as *sent* (accepted at least once),
*lost* (never accepted) and *duplicated* (accepted more than once), puts those figures
in its assertion messages, and the run prints them all at its end
(``pytest_terminal_summary``), so they appear in CI output.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

from notifications.models import DeliveryAttempt, Notification
from tests.conftest import ROOT, database_url
from tests.sink import Sink

URL = "/api/v1/notifications/"

# Fast sweeps and short leases, so recoveries happen within seconds. The provider's
# timeout stays below the lease (and the task's time limits, derived from the lease).
FAST = {
    "NOTIFY_SWEEP_INTERVAL": "2",
    "NOTIFY_SWEEP_GRACE": "3",
    "NOTIFY_LEASE_SECONDS": "6",
    "WEBHOOK_TIMEOUT": "2",
    "NOTIFY_RETRY_BACKOFF": "1",
    "NOTIFY_RETRY_BACKOFF_MAX": "2",
    "WEBHOOK_ALLOW_PRIVATE": "true",  # the sink listens on loopback
    "NOTIFY_API_RATE": "",  # bursts through a web process are not what is tested here
    "WEB_CONCURRENCY": "1",
}

# --- figures -------------------------------------------------------------------

SUMMARY: list[str] = []


@dataclass
class Figures:
    """What the receiver saw, for one test: the line printed in assertions and at the end of the run."""

    test: str
    created: int = 0
    sent: int = 0
    lost: int = 0
    duplicated: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __str__(self) -> str:
        statuses = ", ".join(f"{name} {count}" for name, count in sorted(self.statuses.items()))
        line = (
            f"{self.test}: {self.created} created, {self.sent} sent, {self.lost} lost, "
            f"{self.duplicated} duplicated [rows: {statuses or 'none'}] in {self.elapsed:.1f}s"
        )
        if self.notes:
            line += " — " + "; ".join(self.notes)
        return line


_OUTCOME = pytest.StashKey[str]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[_OUTCOME] = report.outcome
    return report


@pytest.fixture
def figures(request) -> Iterator[Figures]:
    figures = Figures(request.node.name)
    yield figures
    outcome = request.node.stash.get(_OUTCOME, "error")
    SUMMARY.append(f"{'PASSED' if outcome == 'passed' else outcome.upper()} {figures}")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if SUMMARY:
        terminalreporter.section("failure injection: notifications sent / lost / duplicated")
        for line in SUMMARY:
            terminalreporter.write_line(line)


def accepted(sink: Sink) -> Counter[str]:
    """How many times the receiver accepted (answered 2xx) each notification id."""
    return Counter(r.headers.get("idempotency-key", "") for r in list(sink.requests) if 200 <= r.status < 300)


def tally(figures: Figures, ids: list[str], sink: Sink) -> dict[str, Notification]:
    """Update ``figures`` from the sink's receipts and the rows; return the rows by id."""
    rows = {str(row.id): row for row in Notification.objects.filter(id__in=ids)}
    counts = accepted(sink)
    figures.created = len(ids)
    figures.sent = sum(1 for i in ids if counts[i])
    figures.lost = figures.created - figures.sent
    figures.duplicated = sum(max(0, counts[i] - 1) for i in ids)
    figures.statuses = dict(Counter(row.status for row in rows.values()))
    return rows


def receipts_by_id(sink: Sink) -> dict[str, list]:
    by_id: dict[str, list] = {}
    for received in list(sink.requests):
        by_id.setdefault(received.headers.get("idempotency-key", ""), []).append(received)
    return by_id


def wait_until(condition: Callable[[], object], timeout: float, describe: Callable[[], str], interval=0.1):
    """Poll ``condition`` until it is truthy; fail after ``timeout`` with ``describe()``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {describe()}")
        time.sleep(interval)


# --- processes -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a live process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[19])


def _descendants(pid: int) -> list[tuple[int, int]]:
    """Every descendant of ``pid`` as (pid, start time), so a later kill cannot hit a reused pid."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _proc_stat(int(entry))):
            children.setdefault(stat[0], []).append((int(entry), stat[1]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


class Proc:
    """One command of the Procfile, in its own process group, logging to a file.

    Signals go to the group only while its leader is unreaped (its pid cannot be reused
    then); stragglers are killed by (pid, start time), recorded while the leader lived.
    """

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._out = log.open("w")
        self.popen = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._family: set[tuple[int, int]] = set()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, chars: int = 2500) -> str:
        return f"--- {self.name} (pid {self.pid}, {self.log.name}), last {chars} chars ---\n{self.text()[-chars:]}"

    def wait_for_log(self, needle: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.popen.returncode}):\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not log {needle!r} within {timeout}s:\n{self.tail()}")
            time.sleep(0.1)

    def _signal_group(self, sig: int) -> None:
        if self.popen.returncode is None:  # not reaped: the group id is still ours
            self._family.update(_descendants(self.pid))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def terminate(self) -> None:
        """SIGTERM to the leader only, as honcho or systemd stop a process."""
        self._family.update(_descendants(self.pid))
        self.popen.terminate()

    def kill_group(self) -> None:
        """SIGKILL the whole process group (the worker and its pool processes) at once."""
        self._signal_group(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the group, SIGKILL it after ``timeout``; then any descendant still alive
        (honcho starts its children in sessions of their own)."""
        self._signal_group(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.popen.wait(timeout=10)
        for pid, started in self._family:
            if (stat := _proc_stat(pid)) and stat[1] == started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._out.close()


class Web(Proc):
    url: str


class Stack:
    """Worker, beat and web processes on this run's database and vhost; all stopped at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[Proc] = []
        # The deployment's environment, shared by every process started after a change:
        # a sweep's settings are read by the worker that runs it, not by beat.
        self.environ: dict[str, str] = dict(FAST)

    def env(self, **overrides: str) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": database_url(), **self.environ, **overrides}

    def _start(self, cls: type[Proc], name: str, argv: list[str], overrides: dict[str, str]) -> Proc:
        name = f"{name}-{sum(p.name.startswith(name) for p in self.procs)}"
        proc = cls(name, argv, self.env(**overrides), self.tmp_path / f"{name}.log")
        self.procs.append(proc)
        return proc

    def worker(self, concurrency: int = 2, **overrides: str) -> Proc:
        """``celery -A config worker``, as the Procfile runs it; returns once it is ready."""
        argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "-E", "--loglevel", "INFO"]
        argv += ["--concurrency", str(concurrency), "--without-mingle", "--without-gossip"]
        argv += ["-n", f"failures-{os.getpid()}-{time.monotonic_ns()}@%h"]
        worker = self._start(Proc, "worker", argv, overrides)
        worker.wait_for_log(" ready.")
        return worker

    def beat(self, **overrides: str) -> Proc:
        """``celery -A config beat`` with the DatabaseScheduler, as the Procfile runs it."""
        argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"]
        argv += ["--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]
        beat = self._start(Proc, "beat", argv, overrides)
        beat.wait_for_log("beat: Starting...")
        return beat

    def web(self, **overrides: str) -> Web:
        """``honcho start web`` (gunicorn); returns once ``/healthz`` answers."""
        port = free_port()
        argv = [sys.executable, "-m", "honcho", "start", "web"]
        web = self._start(Web, "web", argv, {"PORT": str(port), **overrides})
        web.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if web.popen.poll() is not None:
                raise AssertionError(f"web exited:\n{web.tail()}")
            try:
                httpx.get(f"{web.url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"web did not answer within 60s:\n{web.tail()}") from None
                time.sleep(0.1)
        return web

    def tails(self, chars: int = 2500) -> str:
        return "\n".join(proc.tail(chars) for proc in self.procs)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


@pytest.fixture
def stack(transactional_db, tmp_path) -> Iterator[Stack]:
    processes = Stack(tmp_path)
    try:
        yield processes
    finally:
        processes.stop_all()


@pytest.fixture
def token(alice) -> str:
    """``alice``'s API token, for requests to a web process."""
    return Token.objects.get(user=alice.user).key


def create_burst(client, sink: Sink, count: int, **fields) -> list[str]:
    """``count`` webhooks to the sink through the bulk API (published on commit); their ids."""
    items = [{"channel": "webhook", "recipient": sink.url, "payload": {"n": n}, **fields} for n in range(count)]
    response = client.post(f"{URL}bulk/", {"notifications": items}, format="json")
    assert response.status_code == 201, response.content[:1000]
    return [item["id"] for item in response.json()["notifications"]]


def wait_receipts(sink: Sink, count: int, figures: Figures, stack: Stack, timeout: float = 60) -> None:
    """Until the receiver has seen ``count`` requests."""
    wait_until(
        lambda: len(sink.requests) >= count,
        timeout,
        lambda: f"the sink got {len(sink.requests)} of {count} requests\n{figures}\n{stack.tails()}",
        interval=0.01,
    )


def wait_all_sent(ids: list[str], sink: Sink, figures: Figures, stack: Stack, timeout: float) -> dict:
    """Until every row is ``sent`` and the sink accepted each at least once; the rows by id."""
    rows: dict[str, Notification] = {}

    def done() -> bool:
        nonlocal rows
        rows = tally(figures, ids, sink)
        return figures.sent == len(ids) and figures.statuses.get("sent", 0) == len(ids)

    wait_until(done, timeout, lambda: f"{figures}\n{stack.tails()}", interval=0.25)
    return rows


def assert_duplicates_explained(ids: list[str], sink: Sink, figures: Figures, stack: Stack) -> None:
    """The claim's promise: every request the receiver saw was preceded by a claim of its own
    (``attempts_total`` counts claims), and each row has exactly one successful attempt —
    so any duplicate receipt is an attempt the system itself recorded as lost or failed."""
    receipts = receipts_by_id(sink)
    rows = {str(row.id): row for row in Notification.objects.filter(id__in=ids)}
    outcomes: dict[str, list[str]] = {}
    for attempt in DeliveryAttempt.objects.filter(notification_id__in=ids).order_by("number"):
        outcomes.setdefault(str(attempt.notification_id), []).append(attempt.outcome)
    unexplained = [
        (i, len(receipts.get(i, [])), rows[i].attempts_total, outcomes.get(i))
        for i in ids
        if len(receipts.get(i, [])) > rows[i].attempts_total or outcomes.get(i, []).count("sent") != 1
    ]
    assert not unexplained, (
        f"receipts not backed by claims (id, receipts, claims, attempts): {unexplained[:10]}\n{figures}\n"
        f"{stack.tails()}"
    )


# --- services ------------------------------------------------------------------


def vhost() -> str:
    return unquote(urlsplit(settings.CELERY_BROKER_URL).path[1:]) or "/"


def rabbitmqctl(*args: str, timeout: float = 120) -> str:
    if not shutil.which("rabbitmqctl"):
        pytest.skip("needs rabbitmqctl (RabbitMQ's CLI) on the PATH to inspect, stop and start RabbitMQ")
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"rabbitmqctl {' '.join(args)} failed: {done.stdout}{done.stderr}"
    return done.stdout


def queue_depths() -> dict[str, tuple[int, int]]:
    """This run's queues: name → (messages ready + unacked, unacked)."""
    out = rabbitmqctl("-q", "list_queues", "-p", vhost(), "--no-table-headers", "name", "messages",
                      "messages_unacknowledged")  # fmt: skip
    depths = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            depths[parts[0]] = (int(parts[1]), int(parts[2]))
    return depths


@contextlib.contextmanager
def rabbitmq_stopped() -> Iterator[None]:
    """RabbitMQ's app stopped (connections refused) for the block; always started again after."""
    rabbitmqctl("stop_app")
    try:
        yield
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")


def pg_cluster() -> list[str]:
    """The local cluster (version, name) serving this run's database, from ``pg_lsclusters``."""
    if not (shutil.which("pg_lsclusters") and shutil.which("pg_ctlcluster")):
        pytest.skip("needs a local PostgreSQL cluster managed by pg_ctlcluster to stop and start it")
    port = str(settings.DATABASES["default"]["PORT"] or 5432)
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        version, name, cluster_port, *_ = line.split()
        if cluster_port == port:
            return [version, name]
    pytest.skip(f"no local PostgreSQL cluster on port {port} (pg_lsclusters: {out.strip()!r})")


def _pg_accepts() -> bool:
    import psycopg

    db = settings.DATABASES["default"]
    try:
        psycopg.connect(
            host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname="postgres", connect_timeout=2
        ).close()
    except psycopg.OperationalError:
        return False
    return True


@contextlib.contextmanager
def postgres_stopped() -> Iterator[None]:
    """PostgreSQL stopped for the block; always started again after, and accepting connections."""
    from django.db import connections

    cluster = pg_cluster()
    connections.close_all()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "stop"], check=True, timeout=120)
    try:
        yield
    finally:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "start"], check=False, timeout=120)
        wait_until(_pg_accepts, 60, lambda: "PostgreSQL does not accept connections after its restart")
        connections.close_all()  # this process's connection died with the server
