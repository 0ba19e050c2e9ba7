"""``--profile``: py-spy samples of a process tree while a figure's load runs, kept under
``var/bench/profiles/`` and summed up in the report's notes (the frames holding the GIL most)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.harness import Bench
from bench.stack import ROOT


def py_spy() -> str | None:
    found = Path(sys.executable).parent / "py-spy"
    return str(found) if found.exists() else None


def start_profile(b: Bench, pid: int, name: str) -> tuple[subprocess.Popen, Path] | None:
    exe = py_spy()
    if not exe:
        b.note("Profiles", "- py-spy is not installed (`pip install -r requirements-dev.txt`): no profile taken.")
        return None
    out = b.stack.workdir / f"profile-{name}.txt"
    proc = subprocess.Popen(
        # --gil: only samples that hold the GIL, so the profile shows CPU, not waiting on sockets.
        [exe, "record", "--pid", str(pid), "--subprocesses", "--rate", "200", "--nonblocking", "--gil",
         "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.5)
    return proc, out


def finish_profile(b: Bench, handle: tuple[subprocess.Popen, Path] | None, title: str) -> None:
    if not handle:
        return
    proc, out = handle
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    if not out.exists():
        b.note("Profiles", f"- {title}: py-spy wrote nothing.")
        return
    keep = ROOT / "var" / "bench" / "profiles"
    keep.mkdir(parents=True, exist_ok=True)
    kept = keep / out.name
    kept.write_bytes(out.read_bytes())
    b.note("Profiles", f"{title} (py-spy, collapsed stacks in `{kept.relative_to(ROOT)}`):", "", *top_frames(kept), "")


def top_frames(path: Path, limit: int = 20) -> list[str]:
    """The frames with the most samples: by own time (innermost frame), and cumulatively (anywhere in the
    stack; frames in nearly every sample, the process's main loop, are left out)."""
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";") if not f.startswith("process ")]
        frames = [re.sub(r"\(/.*?/(site-packages|lib/python3\.\d+|main)/", "(", f) for f in frames]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            cumulative[frame] += n
    if not total:
        return ["(no samples)"]
    lines = [f"{total} samples holding the GIL.", "", "| own % | frame |", "|---|---|"]
    lines += [f"| {n / total * 100:.1f} | `{frame}` |" for frame, n in own.most_common(limit)]
    lines += ["", "| cumulative % | frame |", "|---|---|"]
    interesting = [(f, n) for f, n in cumulative.most_common() if n / total < 0.7][: limit + 10]
    lines += [f"| {n / total * 100:.1f} | `{frame}` |" for frame, n in interesting]
    return lines
