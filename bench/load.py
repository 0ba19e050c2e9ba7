"""The load generator, run in its own process: ``python -m bench.load < spec.json``.

The spec (JSON on stdin) gives the target, the pre-built requests (rotated one per
request, e.g. to spread requests over many API tokens), the concurrency and either
a duration or a total count. The result (JSON on stdout) has the request rate,
latency percentiles, status counts, errors, and the client's own CPU use, so the
report can show that the client was not the bottleneck.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
import traceback
from collections import Counter
from typing import Any

from bench.httpclient import Connection
from bench.stats import summary


class Load:
    """One run's spec and tallies, shared by its concurrent clients (one event loop, no locks)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.host, self.port = spec["host"], spec["port"]
        self.requests = [base64.b64decode(raw) for raw in spec["requests"]]
        self.concurrency = int(spec["concurrency"])
        self.total = spec.get("total")
        self.warmup = float(spec.get("warmup", 0))
        self.keep_bodies = bool(spec.get("keep_bodies"))
        self.timeout = float(spec.get("timeout", 60))
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self.bodies: list[str] = []
        self.counter = 0
        self.connects = 0
        self.measuring = self.warmup <= 0
        self.started = time.perf_counter()
        duration = spec.get("duration")
        self.end_at = self.started + self.warmup + float(duration) if duration else None

    def more(self) -> bool:
        if self.total is not None and self.counter >= self.total:
            return False
        return self.end_at is None or time.perf_counter() < self.end_at

    async def client(self) -> None:
        conn = Connection(self.host, self.port, timeout=self.timeout)
        while self.more():
            raw = self.requests[self.counter % len(self.requests)]
            self.counter += 1
            t0 = time.perf_counter()
            try:
                response = await conn.request(raw)
            except Exception as exc:
                conn.close()
                if self.measuring:
                    self.errors[type(exc).__name__] += 1
                await asyncio.sleep(0.01)
                continue
            if self.measuring:
                self.latencies.append(time.perf_counter() - t0)
                self.statuses[response.status] += 1
                if self.keep_bodies or (response.status >= 400 and len(self.bodies) < 3):
                    self.bodies.append(response.body.decode(errors="replace"))
        self.connects += conn.connects
        conn.close()

    def result(self, *, elapsed: float, cpu: float, started_wall: float) -> dict[str, Any]:
        ok = sum(n for status, n in self.statuses.items() if 200 <= status < 300)
        return {
            "started_wall": started_wall,
            "finished_wall": time.time(),
            "elapsed": elapsed,
            "requests": len(self.latencies),
            "ok": ok,
            "rps": ok / elapsed if elapsed else 0.0,
            "latency": summary(self.latencies),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": dict(self.errors),
            "connects": self.connects,
            "client_cpu_s": cpu,
            "client_cores": cpu / elapsed if elapsed else 0.0,
            "bodies": self.bodies,
        }


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    load = Load(spec)
    cpu0, wall0, t_measure = _cpu(), time.time(), load.started
    if load.measuring:
        _mark("M")
    tasks = [asyncio.create_task(load.client()) for _ in range(load.concurrency)]
    if load.warmup > 0:
        await asyncio.sleep(load.warmup)
        load.measuring = True
        _mark("M")
        cpu0, wall0, t_measure = _cpu(), time.time(), time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t_measure
    _mark("E")
    return load.result(elapsed=elapsed, cpu=_cpu() - cpu0, started_wall=wall0)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _mark(what: str) -> None:
    """Tell the parent (on stderr) when the measured window starts (M) and ends (E), for its CPU meter."""
    print(what, file=sys.stderr, flush=True)


def main() -> None:
    spec = json.load(sys.stdin)
    try:
        result = asyncio.run(run(spec))
    except Exception:
        traceback.print_exc()
        sys.exit(1)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
