"""The deployment under test: worker, beat and web processes on this run's database and vhost,
with fast sweeps and short leases so recoveries happen within seconds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from testkit import Proc, celery_worker_argv, free_port
from tests.conftest import database_url

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
        worker = self._start(Proc, "worker", celery_worker_argv("failures", concurrency, "-E"), overrides)
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
        web.wait_for_http(f"{web.url}/healthz")
        return web

    def tails(self, chars: int = 2500) -> str:
        return "\n".join(proc.tail(chars) for proc in self.procs)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
