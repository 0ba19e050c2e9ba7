"""Processes of the real stack (gunicorn, Celery workers, beat, honcho, ``make run``), each in
a process group of its own, logging to a file.

The promise is that stopping one kills what it started and never a stranger: signals go to
the group only while its leader is unreaped (its pid, and so the group id, cannot be reused
then), and stragglers that left the group (honcho starts its children in sessions of their
own) are killed by (pid, start time), recorded from /proc while the leader lived.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

ROOT = Path(__file__).resolve().parent.parent

T = TypeVar("T")


def free_port() -> int:
    """A local TCP port nothing listens on now: for a server to bind, or to be refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def celery_worker_argv(prefix: str, concurrency: int, *args: str) -> list[str]:
    """``celery -A config worker`` as the Procfile runs it, under a node name no other run uses."""
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO"]
    argv += ["--concurrency", str(concurrency), "--without-mingle", "--without-gossip"]
    return [*argv, "-n", f"{prefix}-{os.getpid()}-{time.monotonic_ns()}@%h", *args]


def wait_until(condition: Callable[[], T], timeout: float, describe: Callable[[], str], interval: float = 0.1) -> T:
    """Poll ``condition`` until it is truthy and return its value; fail after ``timeout`` with ``describe()``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {describe()}")
        time.sleep(interval)


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
    """One command in its own process group, logging to ``log``; ``env`` is its whole environment."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> None:
        self.name = name
        self.env = env
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._family: set[tuple[int, int]] = set()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def pids(self) -> list[int]:
        """The leader and its descendants while it runs (for CPU and memory meters)."""
        return [self.pid, *(pid for pid, _ in _descendants(self.pid))] if self.alive() else []

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, chars: int = 2500) -> str:
        return f"--- {self.name} (pid {self.pid}, {self.log.name}), last {chars} chars ---\n{self.text()[-chars:]}"

    def wait_for(self, condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
        """Poll ``condition`` while this process runs; its value once truthy. Fails when the
        process exits first or ``timeout`` passes, with the log's tail."""

        def ready() -> T:
            value = condition()
            if not value and self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.popen.returncode}):\n{self.tail()}")
            return value

        return wait_until(ready, timeout, lambda: f"{self.name}: {what}\n{self.tail()}", interval)

    def wait_for_log(self, needle: str, timeout: float = 60.0) -> None:
        self.wait_for(lambda: needle in self.text(), timeout, f"did not log {needle!r}")

    def wait_for_http(self, url: str, timeout: float = 60.0) -> None:
        """Until ``url`` answers at all (any status): the server is listening."""

        def answers() -> bool:
            try:
                httpx.get(url, timeout=1)
            except httpx.TransportError:
                return False
            return True

        self.wait_for(answers, timeout, f"{url} did not answer")

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
