"""CPU and memory of process trees, read from /proc (Linux only).

The harness samples every role (gunicorn, the Celery worker, PostgreSQL, RabbitMQ,
Redis, the sink, the load generator) before and after each measured window, so the
report says which one saturates the machine's cores.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, utime + stime in ticks), or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        stat = _stat(pid)
        if stat:
            children.setdefault(stat[0], []).append(pid)
    return children


def tree(root: int, children: dict[int, list[int]] | None = None) -> list[int]:
    """``root`` and all its descendants."""
    children = children if children is not None else children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def rss_kb(pids: Iterable[int]) -> int:
    """Resident set size summed over ``pids`` (VmRSS; shared pages count in each process)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_KB
        except OSError:
            continue
    return total


def pss_kb(pids: Iterable[int]) -> int:
    """Proportional set size summed over ``pids`` (shared pages split between sharers)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def by_comm(*names: str) -> Callable[[], list[int]]:
    """Processes whose command name is one of ``names``, with their descendants."""

    def find() -> list[int]:
        children = children_map()
        roots = [pid for pid in all_pids() if comm(pid) in names]
        return sorted({p for root in roots for p in tree(root, children)})

    return find


def postgres_of(database: str) -> Callable[[], list[int]]:
    """PostgreSQL's shared processes (checkpointer, WAL writer, autovacuum…) and the
    backends connected to ``database`` — not the backends of other databases."""
    shared = ("checkpointer", "background writer", "walwriter", "autovacuum", "logical replication", "stats")

    def find() -> list[int]:
        out = []
        for pid in all_pids():
            if comm(pid) != "postgres":
                continue
            cmd = cmdline(pid)
            if f" {database} " in f"{cmd} " or any(word in cmd for word in shared):
                out.append(pid)
        return out

    return find


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, all cores."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return total - idle, total


@dataclass
class Snapshot:
    at: float
    ticks: dict[str, dict[int, int]]
    machine: tuple[int, int]


@dataclass
class CpuMeter:
    """Cores used by each role between ``start()`` and ``stop()``.

    ``roles`` maps a role name to a function returning its current pids. A process
    that exits inside the window loses its CPU time (the load generator reports its
    own); one that starts inside it counts from zero.
    """

    roles: dict[str, Callable[[], list[int]]]
    _start: Snapshot | None = field(default=None, init=False)

    def snapshot(self) -> Snapshot:
        ticks = {}
        for role, find in self.roles.items():
            per_pid = {}
            for pid in find():
                stat = _stat(pid)
                if stat:
                    per_pid[pid] = stat[1]
            ticks[role] = per_pid
        return Snapshot(time.monotonic(), ticks, machine_busy_ticks())

    def start(self) -> CpuMeter:
        self._start = self.snapshot()
        return self

    def stop(self) -> dict[str, float]:
        """Cores used per role (1.0 = one core busy all the time), plus ``machine`` (all processes)."""
        assert self._start is not None
        end = self.snapshot()
        start = self._start
        wall = max(end.at - start.at, 1e-6)
        cores: dict[str, float] = {}
        for role, per_pid in end.ticks.items():
            before = start.ticks.get(role, {})
            used = sum(max(0, t - before.get(pid, 0)) for pid, t in per_pid.items())
            cores[role] = used / TICK / wall
        busy = end.machine[0] - start.machine[0]
        cores["machine"] = busy / TICK / wall
        return cores


def with_other(cores: dict[str, float]) -> dict[str, float]:
    """Add ``other``: the machine's busy cores not accounted to any role (other users' work)."""
    accounted = sum(v for k, v in cores.items() if k not in ("machine", "other"))
    return {**cores, "other": max(0.0, cores.get("machine", 0.0) - accounted)}


def cpu_seconds_self() -> float:
    times = os.times()
    return times.user + times.system
