"""Failure injection: real processes (worker, beat, web) and real services (RabbitMQ,
PostgreSQL) broken on purpose, each test proving that nothing is lost.

Fixtures and pytest hooks only: what the receiver saw is counted in ``figures.py``, the
deployment's processes are ``stack.py``, the outages ``outages.py``. Every test's figures
are printed at the run's end (``pytest_terminal_summary``), so they appear in CI output.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rest_framework.authtoken.models import Token

from tests.failures.figures import SUMMARY_TITLE, Figures
from tests.failures.stack import Stack

_OUTCOME = pytest.StashKey[str]()
_SUMMARY = pytest.StashKey[list[str]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[_OUTCOME] = report.outcome
    return report


@pytest.fixture
def figures(request) -> Iterator[Figures]:
    figures = Figures(request.node.name)
    yield figures
    outcome = request.node.stash.get(_OUTCOME, "error")
    request.config.stash.setdefault(_SUMMARY, []).append(figures.summary_line(outcome))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = config.stash.get(_SUMMARY, [])
    if lines:
        terminalreporter.section(SUMMARY_TITLE)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def stack(transactional_db, tmp_path) -> Iterator[Stack]:
    processes = Stack(tmp_path)
    try:
        yield processes
    finally:
        processes.stop_all()


@pytest.fixture
def token(alice) -> str:
    """``alice``'s API token, for requests to a web process."""
    return Token.objects.get(user=alice.user).key
