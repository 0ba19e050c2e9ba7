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


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec["host"], spec["port"]
    requests = [base64.b64decode(raw) for raw in spec["requests"]]
    concurrency = int(spec["concurrency"])
    duration = spec.get("duration")
    total = spec.get("total")
    warmup = float(spec.get("warmup", 0))
    keep_bodies = bool(spec.get("keep_bodies"))
    timeout = float(spec.get("timeout", 60))

    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    bodies: list[str] = []
    counter = 0
    connects = 0
    measuring = warmup <= 0
    started = time.perf_counter()
    end_at = started + warmup + float(duration) if duration else None

    async def client(index: int) -> None:
        nonlocal counter, connects
        conn = Connection(host, port, timeout=timeout)
        while True:
            if total is not None and counter >= total:
                break
            if end_at is not None and time.perf_counter() >= end_at:
                break
            n = counter
            counter += 1
            raw = requests[n % len(requests)]
            t0 = time.perf_counter()
            try:
                response = await conn.request(raw)
            except Exception as exc:
                conn.close()
                if measuring:
                    errors[type(exc).__name__] += 1
                await asyncio.sleep(0.01)
                continue
            if measuring:
                latencies.append(time.perf_counter() - t0)
                statuses[response.status] += 1
                if keep_bodies or (response.status >= 400 and len(bodies) < 3):
                    bodies.append(response.body.decode(errors="replace"))
        connects += conn.connects
        conn.close()

    cpu0 = _cpu()
    wall0 = time.time()
    t_measure = started
    if measuring:
        _mark("M")
    tasks = [asyncio.create_task(client(i)) for i in range(concurrency)]
    if warmup > 0:
        await asyncio.sleep(warmup)
        measuring = True
        _mark("M")
        cpu0 = _cpu()
        wall0 = time.time()
        t_measure = time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t_measure
    _mark("E")
    cpu = _cpu() - cpu0
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    return {
        "started_wall": wall0,
        "finished_wall": time.time(),
        "elapsed": elapsed,
        "requests": len(latencies),
        "ok": ok,
        "rps": ok / elapsed if elapsed else 0.0,
        "latency": summary(latencies),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": dict(errors),
        "connects": connects,
        "client_cpu_s": cpu,
        "client_cores": cpu / elapsed if elapsed else 0.0,
        "bodies": bodies,
    }


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
