"""Where a process group's metrics live: prometheus_client's multiprocess directory.

prometheus_client decides at import whether it is in multiprocess mode, from
``PROMETHEUS_MULTIPROC_DIR``, and then each process writes its samples to files of its own
there, which a scrape sums. So the directory is chosen here, before the service's metrics
are made (nothing here imports prometheus_client): one per process group, a gunicorn master with its
workers (``web-…``) or a Celery worker with its pool (``worker-…``), so the web's /metrics
never adds in a worker's counts, and two workers on one host never share files. Emptied
at start: counts begin again with the process, as Prometheus expects of a counter.

The name ends with the host and the group leader's pid; a start also removes the
directories of its host's earlier leaders that are gone (a restart in a container, where
the pid repeats, reuses its own).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
from pathlib import Path

from config.settings.env import VAR_DIR

ENV = "PROMETHEUS_MULTIPROC_DIR"


def choose(role: str) -> Path:
    """This process group's directory (created); ``PROMETHEUS_MULTIPROC_DIR`` names it from now on."""
    path = VAR_DIR / "metrics" / f"{role}-{socket.gethostname()}-{os.getpid()}"
    path.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(path)
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        # Imported already: Flower's plugin to the ``celery`` command imports prometheus_client
        # before the app. Metrics made from now on (ours) take the multiprocess values.
        values.ValueClass = values.get_value_class()
    return path


def clean(path: Path) -> None:
    """Empty ``path`` and remove the directories its host's dead leaders of the same role left."""
    for stale in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if stale != path and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    for entry in path.glob("*.db"):
        entry.unlink(missing_ok=True)


def mark_dead(pid: int) -> None:
    """A process of the group exited: its live gauges leave the sum (its counters stay)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 0)
        return True
    return False
