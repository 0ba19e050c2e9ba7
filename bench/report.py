"""The Markdown report: one table of figures, then notes, between markers.

The harness rewrites only the part of ``docs/benchmarks.md`` between
``<!-- bench:begin -->`` and ``<!-- bench:end -->``; everything else (the
"Before/after optimisation" section) is left as it is.
"""

from __future__ import annotations

import math
import platform
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.stats import median

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

# Row names: the test checks that every one appears in the report.
ROW_NAMES = (
    "single create, sustained",
    "bulk ingest",
    "end-to-end delivery",
    "timeliness, light load: p50",
    "timeliness, light load: p99",
    "timeliness, burst: p99",
    "fairness, slow receiver: other client's p99",
    "sweep at scale: sweep_missed",
    "sweep at scale: sweep_stuck",
    "list at scale: first page",
    "list at scale: 100th page",
    "memory of waiting",
    "admin at scale: changelist",
    "admin at scale: filter status=failed",
    "admin at scale: filter channel=webhook",
    "admin at scale: filter priority=high",
    "admin at scale: filter failure reason=permanent",
    "admin at scale: search by id",
    "admin at scale: search by idempotency key",
    "create with to + template",
    "preference check: CPU per notification",
    "template render: CPU per notification",
    "broadcast: all rows written",
    "broadcast: first delivery",
    "schedules: idle pass",
    "schedules: due occurrences made",
    "digest: join per member",
    "digest: members created",
    "footprint, defaults: idle",
    "footprint, defaults: under load",
    "footprint, small profile: idle",
    "footprint, small profile: under load",
)

SKELETON = f"""# Benchmarks

Produced by the benchmark harness (`make bench`, or `.venv/bin/python -m bench all`; see
the README's "Benchmarks" section). The harness rewrites only the part between the
`bench:begin` and `bench:end` markers; the rest of this file is kept as written.

{BEGIN}
{END}

## Before/after optimisation

(Written by hand: copy the table of a run before a change and of one after it here,
with the commit of each, so the effect of a change is kept.)
"""


@dataclass
class Row:
    """One figure: its value and its floor in each run (same run, same order)."""

    figure: str
    unit: str
    target: str
    values: list[float]
    floors: list[float] = field(default_factory=list)
    floor_label: str = "—"
    floor_unit: str = ""
    # "higher" when more is better (throughput); "lower" for latencies and sizes.
    better: str = "higher"
    check: Callable[[Row], bool] | None = None
    fmt: str = "{:,.0f}"

    @property
    def median(self) -> float:
        return median(self.values)

    @property
    def ratios(self) -> list[float]:
        return [v / f for v, f in zip(self.values, self.floors, strict=False) if f and not math.isnan(v)]

    @property
    def ratio(self) -> float:
        return median(self.ratios)

    def met(self) -> bool | None:
        if not self.values or math.isnan(self.median):
            return None
        return self.check(self) if self.check else None

    def cells(self) -> list[str]:
        def f(x: float, fmt: str = self.fmt) -> str:
            return "n/a" if x is None or math.isnan(x) else fmt.format(x)

        finite = [v for v in self.values if not math.isnan(v)]
        spread = f"{f(min(finite))}–{f(max(finite))}" if finite else "n/a"
        floor = f"{f(median(self.floors))} {self.floor_unit} ({self.floor_label})" if self.floors else "—"
        ratio = f"{self.ratio:.2f}×" if self.floors and not math.isnan(self.ratio) else "—"
        met = {True: "yes", False: "**no**", None: "?"}[self.met()]
        return [self.figure, self.target, f"{f(self.median)} {self.unit}", spread, floor, ratio, met]


def table(rows: list[Row]) -> str:
    head = ["figure", "target", "median", "min–max", "floor (same run)", "ratio to floor", "met?"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> dict[str, str]:
    info = {"cpu": platform.processor() or "?", "cores": "?", "ram": "?", "kernel": platform.release()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        info["cpu"] = models[0] if models else info["cpu"]
        info["cores"] = str(len(re.findall(r"^processor\s*:", cpuinfo, re.M)))
        mhz = re.findall(r"^cpu MHz\s*:\s*([\d.]+)", cpuinfo, re.M)
        if mhz:
            info["cpu"] += f" ({float(mhz[0]):.0f} MHz)"
    except OSError:
        pass
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        info["ram"] = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    return info


def render(
    *,
    rows: list[Row],
    notes: dict[str, list[str]],
    meta: list[str],
    versions: dict[str, str],
    settings: list[str],
    label: str | None,
) -> str:
    m = machine()
    parts = [BEGIN, "", "## Latest run", ""]
    if label:
        parts += [f"**{label}**", ""]
    parts += [*meta, ""]
    parts += [
        "### Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; RAM {m['ram']}; Linux {m['kernel']}",
        "",
        "### Versions",
        "",
        "- " + ", ".join(f"{name} {version}" for name, version in versions.items()),
        "",
        "### Settings",
        "",
        *[f"- {line}" for line in settings],
        "",
        "### Results",
        "",
        "Median of the runs, min–max over them; every figure beside a floor measured in the same run",
        "(ratio = figure ÷ floor, run by run, median: for throughput higher is better, for times lower).",
        "",
        table(rows),
        "",
        "### Notes",
        "",
    ]
    # Profiles last: they are the longest and the least read.
    for section, lines in sorted(notes.items(), key=lambda item: item[0] == "Profiles"):
        parts += [f"#### {section}", "", *lines, ""]
    parts.append(END)
    return "\n".join(parts)


def write(path: Path, block: str) -> None:
    """Replace the marked block of ``path`` (made from the skeleton if missing)."""
    text = path.read_text() if path.exists() else SKELETON
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    start = text.index(BEGIN)
    end = text.index(END) + len(END)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text[:start] + block + text[end:])
