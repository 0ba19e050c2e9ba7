"""The stack under test, isolated like ``scripts/test.sh`` does it.

One run gets its own PostgreSQL database (``notifier_bench_<runid>``, migrated with
``manage.py migrate``), its own RabbitMQ vhost (``notifier-bench-<runid>``, made with
``rabbitmqctl``) and its own Redis key prefix; ``setup_broker`` declares the
topology before any process starts. ``close()`` stops every process the stack
started (each a ``testkit.Proc``: its own process group, and nothing else) and drops
the database and the vhost; the CLI calls it on success, failure, Ctrl-C and SIGTERM.

Processes are started from the Procfile's own lines (``sh -c "exec <line>"``), so
the benchmark follows the Procfile when it changes.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import procstat
from testkit import ROOT, Proc, free_port

BIN = Path(sys.executable).parent


class ServiceUnavailable(Exception):
    """A server the benchmark needs is not reachable: stop at once, saying how to start it."""


HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
    "   (or: docker compose up -d postgres)",
    "RabbitMQ": "rabbitmq-server -detached   (or: docker compose up -d rabbitmq)",
    "Redis": 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
    "   (or: docker compose up -d redis)",
}


def procfile() -> dict[str, str]:
    lines = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and not line.startswith("#"):
            lines[name.strip()] = command.strip()
    return lines


def procfile_default(line_name: str, variable: str) -> str:
    """The default a Procfile line gives ``variable`` (``${VARIABLE:-default}``)."""
    match = re.search(rf"\$\{{{variable}:-([^}}]*)\}}", procfile()[line_name])
    if not match:
        raise RuntimeError(f"Procfile line {line_name!r} has no default for {variable}")
    return match.group(1)


@dataclass
class Stack:
    pg_host: str = field(default_factory=lambda: os.environ.get("PGHOST", "127.0.0.1"))
    pg_port: int = field(default_factory=lambda: int(os.environ.get("PGPORT", "5432")))
    pg_user: str = field(default_factory=lambda: os.environ.get("PGUSER", "postgres"))
    amqp_host: str = field(default_factory=lambda: os.environ.get("AMQP_HOST", "127.0.0.1"))
    amqp_port: int = field(default_factory=lambda: int(os.environ.get("AMQP_PORT", "5672")))
    amqp_user: str = field(default_factory=lambda: os.environ.get("AMQP_USER", "guest"))
    amqp_password: str = field(default_factory=lambda: os.environ.get("AMQP_PASSWORD", "guest"))
    redis_host: str = field(default_factory=lambda: os.environ.get("REDIS_HOST", "127.0.0.1"))
    redis_port: int = field(default_factory=lambda: int(os.environ.get("REDIS_PORT", "6379")))
    web_concurrency: str = field(
        default_factory=lambda: os.environ.get("WEB_CONCURRENCY", procfile_default("web", "WEB_CONCURRENCY"))
    )
    worker_concurrency: str = field(
        default_factory=lambda: os.environ.get("WORKER_CONCURRENCY", procfile_default("worker", "WORKER_CONCURRENCY"))
    )
    # The service's default (config/settings/) unless the environment says otherwise.
    prefetch: str = field(default_factory=lambda: os.environ.get("CELERY_WORKER_PREFETCH_MULTIPLIER", "1"))

    def __post_init__(self) -> None:
        self.run_id = f"{time.strftime('%Y%m%d%H%M%S')}_{os.getpid()}"
        self.database = f"notifier_bench_{self.run_id}"
        self.vhost = f"notifier-bench-{self.run_id}"
        self.cache_prefix = f"notifier-bench-{self.run_id}"
        # Logs of every process, kept on failure (and with --keep-logs); var/ is git-ignored.
        self.workdir = ROOT / "var" / "bench" / self.run_id
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, Proc] = {}
        self.web_port = 0
        self.sink_port = 0  # the sink named "sink": the one every figure delivers to
        self.sink_ports: dict[str, int] = {}
        self.sink_latency_ms: dict[str, float] = {}
        self._db_made = self._vhost_made = self.started_any = False
        self.env: dict[str, str] = {}

    # --- servers -------------------------------------------------------------

    def check_services(self) -> None:
        missing = []
        for name, host, port in (
            ("PostgreSQL", self.pg_host, self.pg_port),
            ("RabbitMQ", self.amqp_host, self.amqp_port),
            ("Redis", self.redis_host, self.redis_port),
        ):
            try:
                socket.create_connection((host, port), timeout=2).close()
            except OSError:
                missing.append(
                    f"bench: {name} is not reachable at {host}:{port}.\n  start it with: {HOW_TO_START[name]}"
                )
        if not shutil.which("rabbitmqctl"):
            missing.append("bench: rabbitmqctl (RabbitMQ's CLI) is needed to create the run's vhost.")
        if missing:
            raise ServiceUnavailable("\n".join(missing))

    def admin_dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.pg_user}@{self.pg_host}:{self.pg_port}/{database}"

    def psql_admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_dsn(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def rabbitmqctl(self, *args: str) -> str:
        done = subprocess.run(
            ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def setup(self) -> None:
        self.check_services()
        self.psql_admin(f'CREATE DATABASE "{self.database}"')
        self._db_made = True
        self.rabbitmqctl("add_vhost", self.vhost)
        self._vhost_made = True
        self.rabbitmqctl("set_permissions", "-p", self.vhost, self.amqp_user, ".*", ".*", ".*")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "CELERY_", "NOTIFY_", "WEBHOOK_", "PYTEST_"))
            and k not in ("DATABASE_URL", "REDIS_URL", "EMAIL_URL", "PORT")
        }
        env.update(
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            DATABASE_URL=f"postgres://{self.pg_user}@{self.pg_host}:{self.pg_port}/{self.database}",
            CELERY_BROKER_URL=(
                f"amqp://{self.amqp_user}:{self.amqp_password}@{self.amqp_host}:{self.amqp_port}/{self.vhost}"
            ),
            REDIS_URL=f"redis://{self.redis_host}:{self.redis_port}/0",
            CACHE_KEY_PREFIX=self.cache_prefix,
            NOTIFIER_ENV_FILE="/dev/null",
            NOTIFIER_VAR_DIR=str(self.workdir / "var"),
            DEBUG="false",
            SECRET_KEY=f"bench-only-{self.run_id}",
            ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
            WEBHOOK_ALLOW_PRIVATE="true",
            WEB_CONCURRENCY=self.web_concurrency,
            WORKER_CONCURRENCY=self.worker_concurrency,
            CELERY_WORKER_PREFETCH_MULTIPLIER=self.prefetch,
            PYTHONUNBUFFERED="1",
            DJANGO_SETTINGS_MODULE="config.settings",
        )
        # Settings the operator set for the service (NOTIFY_*, WEBHOOK_* …) pass through.
        for key, value in os.environ.items():
            if key.startswith(("NOTIFY_", "WEBHOOK_TIMEOUT")):
                env[key] = value
        self.env = env
        self.manage("migrate", "--noinput")
        self.manage("setup_broker")

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    # --- processes -----------------------------------------------------------

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc(name, command, {**self.env, **(env or {})}, self.workdir / f"{name}.log")
        self.procs[name] = proc
        self.started_any = True
        return proc

    def _procfile_line(
        self, line_name: str, name: str, env: dict[str, str] | None = None, replace: tuple[str, str] | None = None
    ) -> Proc:
        line = procfile()[line_name]
        if replace:
            if replace[0] not in line:
                raise RuntimeError(f"Procfile line {line_name!r} has no {replace[0]!r}: {line}")
            line = line.replace(replace[0], replace[1], 1)
        return self._spawn(name, ["sh", "-c", f"exec {line}"], env)

    def start_web(self, env: dict[str, str] | None = None) -> Proc:
        """The Procfile's web line; ``env``: settings over the run's (a profile's)."""
        if "web" in self.procs and self.procs["web"].alive():
            return self.procs["web"]
        self.web_port = free_port()
        proc = self._procfile_line("web", "web", {**(env or {}), "PORT": str(self.web_port)})
        proc.wait_for(lambda: _healthy(self.web_port, "/healthz"), 60, "did not answer GET /healthz", interval=0.2)
        return proc

    def start_worker(
        self, app: str = "config", concurrency: int | None = None, env: dict[str, str] | None = None
    ) -> Proc:
        """The Procfile's worker line; ``app`` other than ``config`` replaces ``-A config``;
        ``concurrency`` other than the run's (``WORKER_CONCURRENCY``) restarts it with that;
        ``env``: settings over the run's (a profile's)."""
        name = "worker" if app == "config" else f"worker-{app}"
        wanted = str(concurrency or self.worker_concurrency)
        if name in self.procs and self.procs[name].alive():
            if self.procs[name].env["WORKER_CONCURRENCY"] == wanted:
                return self.procs[name]
            self.stop(name)
        replace = None if app == "config" else ("-A config", f"-A {app}")
        proc = self._procfile_line("worker", name, {**(env or {}), "WORKER_CONCURRENCY": wanted}, replace=replace)
        proc.wait_for_log(" ready.", 90)
        return proc

    def start_beat(self, env: dict[str, str] | None = None) -> Proc:
        if "beat" in self.procs and self.procs["beat"].alive():
            return self.procs["beat"]
        proc = self._procfile_line("beat", "beat", env)
        proc.wait_for_log("beat: Starting", 60)
        return proc

    def start_flower(self, env: dict[str, str] | None = None) -> Proc:
        """The Procfile's flower line on a free port of this machine; ``env``: a profile's settings."""
        if "flower" in self.procs and self.procs["flower"].alive():
            return self.procs["flower"]
        port = free_port()
        proc = self._procfile_line(
            "flower", "flower", {**(env or {}), "FLOWER_PORT": str(port), "LISTEN_ADDRESS": "127.0.0.1"}
        )
        proc.wait_for(lambda: _healthy(port, "/healthcheck"), 60, "did not answer GET /healthcheck", interval=0.2)
        return proc

    def start_sink(self, latency_ms: float = 0, name: str = "sink") -> Proc:
        """A webhook sink (``name``: another beside "sink", on its own port, e.g. a slow receiver);
        ``latency_ms`` other than the running one's restarts it with that."""
        if name in self.procs and self.procs[name].alive():
            if self.sink_latency_ms.get(name) == latency_ms:
                return self.procs[name]
            self.stop(name)
        proc = self._spawn(name, [sys.executable, "-m", "bench.sink", "--latency", str(latency_ms)])
        self.sink_latency_ms[name] = latency_ms
        match = proc.wait_for(lambda: re.search(r"port=(\d+)", proc.text()[-200:]), 20, "did not start", 0.05)
        self.sink_ports[name] = int(match.group(1))
        if name == "sink":
            self.sink_port = self.sink_ports[name]
        return proc

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc:
            proc.stop()

    def pids(self, name: str) -> list[int]:
        proc = self.procs.get(name)
        return proc.pids() if proc else []

    def meter(self, *names: str, extra: dict | None = None) -> procstat.CpuMeter:
        """A CPU meter over the named processes of this stack and the shared servers."""
        roles = {name: (lambda n=name: self.pids(n)) for name in names}
        roles.update(
            postgres=procstat.postgres_of(self.database),
            rabbitmq=procstat.by_comm("beam.smp"),
            redis=procstat.by_comm("redis-server"),
        )
        roles.update(extra or {})
        return procstat.CpuMeter(roles)

    def recover(self, timeout: float = 180.0) -> None:
        """After a failure: stop every process and wait until the servers answer again (a shared machine's
        PostgreSQL or RabbitMQ may be restarting); figures start what they need anew."""
        for name in list(self.procs):
            self.stop(name)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.check_services()
                import psycopg

                psycopg.connect(self.admin_dsn(self.database), connect_timeout=3).close()
                self.rabbitmqctl("list_vhosts")
                import redis

                redis.Redis(host=self.redis_host, port=self.redis_port, socket_timeout=2).ping()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(3)

    # --- teardown --------------------------------------------------------------

    def close(self, keep_logs: bool = False) -> list[str]:
        """Stop what this stack started and drop its database and vhost. Returns problems, if any."""
        problems = []
        for name in list(self.procs):
            try:
                self.stop(name)
            except Exception as exc:
                problems.append(f"stopping {name}: {exc}")
        # PostgreSQL or RabbitMQ may be restarting (a shared machine): retry for a while.
        if self._db_made:
            error = _retry(lambda: self.psql_admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            if error:
                problems.append(f"dropping database {self.database}: {error} (drop it by hand)")
            self._db_made = False
        if self._vhost_made:
            error = _retry(lambda: self.rabbitmqctl("delete_vhost", self.vhost))
            if error:
                problems.append(f"deleting vhost {self.vhost}: {error} (rabbitmqctl delete_vhost {self.vhost})")
            self._vhost_made = False
        try:
            import redis

            client = redis.Redis(host=self.redis_host, port=self.redis_port, socket_timeout=2)
            keys = list(client.scan_iter(match=f"{self.cache_prefix}:*", count=1000))
            if keys:
                client.delete(*keys)
        except Exception as exc:
            problems.append(f"deleting Redis keys {self.cache_prefix}:*: {exc}")
        shutil.rmtree(self.workdir / "var", ignore_errors=True)
        if not keep_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return problems


def _retry(call, timeout: float = 90.0) -> str | None:
    """Call until it succeeds or ``timeout`` passes; the last error's first line, or None."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            call()
            return None
        except Exception as exc:
            if time.monotonic() > deadline:
                return str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            time.sleep(3)


def _healthy(port: int, path: str) -> bool:
    """GET ``path`` answers 200: the server listens and serves (gunicorn: a worker serves)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
