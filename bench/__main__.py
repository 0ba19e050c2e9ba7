"""``python -m bench all | <figure>… [--quick] [--runs N] [--output PATH]``.

Starts the real stack on a database and vhost of its own (dropped at the end,
also on failure or Ctrl-C), measures, and rewrites the marked part of the report.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import signal
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from bench.admin import fig_admin
from bench.audience import fig_audience_cpu, fig_create_to
from bench.broadcast import fig_broadcast
from bench.checks import round_trips, sink_check
from bench.delivery import fig_concurrency, fig_e2e
from bench.digests import fig_digests
from bench.fairness import fig_fairness
from bench.footprint import fig_footprint
from bench.harness import Bench
from bench.ingest import fig_bulk, fig_create
from bench.memory import fig_memory
from bench.report import Row
from bench.scale import fig_list, fig_sweep
from bench.schedules import fig_schedules
from bench.sizes import FULL, QUICK
from bench.stack import ROOT, ServiceUnavailable, Stack, procfile
from bench.stats import median
from bench.timeliness import fig_burst, fig_light

# The figures of issue 4, in the order ``all`` runs them.
FIGURES: dict[str, Callable[[Bench], list[Row]]] = {
    "sink": sink_check,
    "roundtrips": round_trips,
    "create": fig_create,
    "bulk": fig_bulk,
    "e2e": fig_e2e,
    "concurrency": fig_concurrency,
    "light": fig_light,
    "burst": fig_burst,
    "fairness": fig_fairness,
    "memory": fig_memory,
    "sweep": fig_sweep,
    "list": fig_list,
    "admin": fig_admin,
    "create_to": fig_create_to,
    "audience": fig_audience_cpu,
    "broadcast": fig_broadcast,
    "schedules": fig_schedules,
    "digests": fig_digests,
    "footprint": fig_footprint,
}


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def shown_command(args: list[str]) -> str:
    """The command line, without the label's text (it is printed above)."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--label":
            out.append("--label …")
            skip = True
        elif arg.startswith("--label="):
            out.append("--label …")
        else:
            out.append(arg)
    return " ".join(out)


def versions(b: Bench) -> dict[str, str]:
    out = {"Python": platform.python_version()}
    for name in ("Django", "djangorestframework", "celery", "kombu", "psycopg", "gunicorn", "httpx"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "?"
    try:
        b.django()
        from celery import current_app
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            out["PostgreSQL"] = cur.fetchone()[0].split()[0]
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
            out["RabbitMQ"] = conn.connection.server_properties.get("version", "?")
        import redis

        out["Redis"] = redis.Redis.from_url(b.stack.env["REDIS_URL"]).info("server")["redis_version"]
    except Exception as exc:
        out["servers"] = f"? ({exc})"
    return out


def settings_lines(b: Bench, args: argparse.Namespace) -> list[str]:
    st = b.stack
    lines = procfile()
    return [
        f"web: `{lines['web']}` with WEB_CONCURRENCY={st.web_concurrency} (gunicorn sync workers)",
        f"worker: `{lines['worker']}` with WORKER_CONCURRENCY={st.worker_concurrency} (prefork), "
        f"CELERY_WORKER_PREFETCH_MULTIPLIER={st.prefetch}, acks_late, quorum queues, native delayed delivery",
        f"beat: {'running during the delivery figures' if b.beat else 'not run (--no-beat)'}; other settings are the "
        "service's defaults (NOTIFY_API_RATE 100/s per client, CONN_MAX_AGE 60, LOG_LEVEL INFO), DEBUG=false, "
        "WEBHOOK_ALLOW_PRIVATE=true (the sink is on loopback)",
        "service settings from the environment: "
        + (", ".join(f"{k}={v}" for k, v in sorted(st.env.items()) if k.startswith("NOTIFY_")) or "none (defaults)"),
        f"isolation: database `{st.database}`, vhost `{st.vhost}`, Redis prefix `{st.cache_prefix}` (all removed "
        "after the run)",
        f"sizes: {'--quick (tiny: checks the harness, the figures mean nothing)' if args.quick else 'full'}; "
        f"runs per figure: {b.runs}",
        "clients: raw asyncio HTTP/1.1 load generator in its own process on loopback; webhook sink: raw asyncio "
        "HTTP/1.1 server in its own process",
    ]


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """The options, and the names of the figures to run in their ``all`` order."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("figures", nargs="+", help=f"all, or any of: {', '.join(FIGURES)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness in about a minute")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3); the report gives the median")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--label", help="a line printed in bold above the results (e.g. 'preliminary')")
    parser.add_argument("--no-beat", dest="beat", action="store_false", help="run no beat during delivery figures")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy profiles of gunicorn and the worker (extra passes)"
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=3,
        help="times a run that failed, or saw PostgreSQL/RabbitMQ/Redis restart, is run again (3; a figure: once)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep process logs under var/bench/<runid>/")
    args = parser.parse_args(argv)
    names = list(FIGURES) if args.figures == ["all"] else args.figures
    unknown = [n for n in names if n not in FIGURES]
    if unknown or args.runs < 1:
        parser.error(f"unknown figure(s) {unknown}; choose all or {', '.join(FIGURES)}" if unknown else "--runs ≥ 1")
    return args, names


def run_figure(b: Bench, name: str, retried: list[str]) -> list[Row]:
    """One figure's rows; a failed figure is run once more (with ``--retries``), from the notes it started with."""
    for attempt in range(2 if b.retries else 1):
        b.log(f"figure {name}" + (f" (attempt {attempt + 1})" if attempt else ""))
        notes = {k: list(v) for k, v in b.notes.items()}
        other = len(b.other_load)
        try:
            return FIGURES[name](b)
        except (Exception, KeyboardInterrupt) as exc:
            if isinstance(exc, KeyboardInterrupt) or attempt == 1 or not b.retries:
                raise
            reason = (str(exc).strip().splitlines() or [repr(exc)])[-1][:200]
            b.log(f"figure {name} failed: {reason}; waiting for the servers, then again")
            traceback.print_exc()
            retried.append(f"{name} ({reason})")
            b.notes = notes
            del b.other_load[other:]
            b.stack.recover()
            b.reconnect()
    return []


def meta_lines(b: Bench, retried: list[str], started_at: datetime, elapsed: float, argv: list[str]) -> list[str]:
    """The run's own facts, above the results: when, how long, how loaded the machine was, what ran again."""
    meta = [
        f"- Date: {started_at:%Y-%m-%d %H:%M} UTC; took {elapsed / 60:.1f} min "
        f"(`python -m bench {shown_command(argv)}`)",
        f"- Load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]
    if retried or b.retried:
        meta.append(
            "- Measurements run again after a failure or a server restart (another user of the machine?): "
            + "; ".join([*b.retried, *retried])
        )
    if b.other_load:
        meta.append(
            f'- CPU used by processes outside the benchmark\'s roles ("other" in the notes: other work on '
            f"the machine, the harness itself) during the measured windows: median {median(b.other_load):.2f}, "
            f"max {max(b.other_load):.2f} of {os.cpu_count()} cores"
        )
    return meta


def measure_and_report(
    b: Bench, args: argparse.Namespace, names: list[str], argv: list[str], started: float, started_at: datetime
) -> None:
    """Run the figures and rewrite the report's marked part with them; ``started``: the run's start, before setup."""
    stack = b.stack
    b.log(f"stack ready: database {stack.database}, vhost {stack.vhost}, logs {stack.workdir}")
    rows: list[Row] = []
    retried: list[str] = []
    for name in names:
        rows += run_figure(b, name, retried)
    elapsed = time.monotonic() - started
    block = report.render(
        rows=rows,
        notes=b.notes,
        meta=meta_lines(b, retried, started_at, elapsed, argv),
        versions=versions(b),
        settings=settings_lines(b, args),
        label=args.label,
    )
    report.write(args.output, block)
    b.log(f"report written to {args.output} ({elapsed / 60:.1f} min)")
    print(report.table(rows))
    missed = [r.figure for r in rows if r.met() is False]
    if missed:
        print(f"targets not met: {', '.join(missed)}")


def main(argv: list[str] | None = None) -> int:
    args, names = parse_args(argv)
    # SIGINT too: a shell starts background jobs with SIGINT ignored, and Python keeps that.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    stack = Stack()
    started = time.monotonic()
    started_at = datetime.now(UTC)
    failed = True
    b = None
    try:
        stack.setup()
        sizes = QUICK if args.quick else FULL
        b = Bench(stack, sizes, args.runs, beat=args.beat, profile=args.profile, retries=args.retries)
        measure_and_report(b, args, names, sys.argv[1:] if argv is None else argv, started, started_at)
        failed = False
        return 0
    except ServiceUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; cleaning up", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print(f"bench: failed; process logs kept in {stack.workdir}", file=sys.stderr)
        return 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        problems = stack.close(keep_logs=args.keep_logs or (failed and stack.started_any))
        for problem in problems:
            print(f"bench: cleanup: {problem}", file=sys.stderr)
        if b is not None:
            b.loop.close()


if __name__ == "__main__":
    sys.exit(main())
