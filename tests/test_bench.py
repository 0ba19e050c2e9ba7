"""The benchmark harness keeps working: a tiny run of every figure writes a report with every row."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.report import BEGIN, END, ROW_NAMES
from tests.conftest import ROOT

pytestmark = pytest.mark.worker


@pytest.mark.timeout(600)
def test_quick_bench_reports_every_figure(tmp_path):
    output = tmp_path / "benchmarks.md"
    output.write_text(f"# Benchmarks\n\n{BEGIN}\nold\n{END}\n\n## Before/after optimisation\n\nkept by hand\n")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "all", "--quick", "--runs", "1", "--output", str(output)],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    report = output.read_text()
    assert "kept by hand" in report and "old" not in report.split(BEGIN)[1]
    table = report.split("### Results")[1].split("### Notes")[0]
    for name in ROW_NAMES:
        assert f"| {name}" in table, f"no row {name!r} in:\n{table}"
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    assert len(rows) == len(ROW_NAMES)
    for row in rows:
        assert "n/a" not in row.split("|")[3], f"a figure without a value: {row}"
    # The measurement behind the worker's default concurrency: one line per level tried, each with a rate.
    concurrency = report.split("#### worker concurrency")[1].split("####")[0]
    levels = [line.split("|")[1:3] for line in concurrency.splitlines() if line[2:3].isdigit()]
    assert [level.strip() for level, _ in levels] == ["2", "4"], concurrency
    assert all(float(rate.replace(",", "")) > 0 for _, rate in levels), concurrency
