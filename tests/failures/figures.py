"""What the receiver saw, counted per test: *sent* (accepted at least once), *lost* (never
accepted) and *duplicated* (accepted more than once), from the sink's receipts (each request
carries the notification id as its ``Idempotency-Key``) and the rows.

The line a ``Figures`` prints goes into every assertion message and into the run's summary
(``pytest_terminal_summary`` in the conftest), so it appears in CI output.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from notifications.models import DeliveryAttempt, Notification
from testkit import wait_until
from tests.sink import Sink

if TYPE_CHECKING:
    from tests.failures.stack import Stack

URL = "/api/v1/notifications/"

SUMMARY_TITLE = "failure injection: notifications sent / lost / duplicated"


@dataclass
class Figures:
    """What the receiver saw, for one test: the line printed in assertions and at the end of the run."""

    test: str
    created: int = 0
    sent: int = 0
    lost: int = 0
    duplicated: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __str__(self) -> str:
        statuses = ", ".join(f"{name} {count}" for name, count in sorted(self.statuses.items()))
        line = (
            f"{self.test}: {self.created} created, {self.sent} sent, {self.lost} lost, "
            f"{self.duplicated} duplicated [rows: {statuses or 'none'}] in {self.elapsed:.1f}s"
        )
        if self.notes:
            line += " — " + "; ".join(self.notes)
        return line

    def summary_line(self, outcome: str) -> str:
        """The run summary's line: the test's outcome, then its figures."""
        return f"{'PASSED' if outcome == 'passed' else outcome.upper()} {self}"


def accepted(sink: Sink) -> Counter[str]:
    """How many times the receiver accepted (answered 2xx) each notification id."""
    return Counter(r.headers.get("idempotency-key", "") for r in list(sink.requests) if 200 <= r.status < 300)


def tally(figures: Figures, ids: list[str], sink: Sink) -> dict[str, Notification]:
    """Update ``figures`` from the sink's receipts and the rows; return the rows by id."""
    rows = {str(row.id): row for row in Notification.objects.filter(id__in=ids)}
    counts = accepted(sink)
    figures.created = len(ids)
    figures.sent = sum(1 for i in ids if counts[i])
    figures.lost = figures.created - figures.sent
    figures.duplicated = sum(max(0, counts[i] - 1) for i in ids)
    figures.statuses = dict(Counter(row.status for row in rows.values()))
    return rows


def receipts_by_id(sink: Sink) -> dict[str, list]:
    by_id: dict[str, list] = {}
    for received in list(sink.requests):
        by_id.setdefault(received.headers.get("idempotency-key", ""), []).append(received)
    return by_id


def create_burst(client, sink: Sink, count: int, **fields) -> list[str]:
    """``count`` webhooks to the sink through the bulk API (published on commit); their ids."""
    items = [{"channel": "webhook", "recipient": sink.url, "payload": {"n": n}, **fields} for n in range(count)]
    response = client.post(f"{URL}bulk/", {"notifications": items}, format="json")
    assert response.status_code == 201, response.content[:1000]
    return [item["id"] for item in response.json()["notifications"]]


def wait_receipts(sink: Sink, count: int, figures: Figures, stack: Stack, timeout: float = 60) -> None:
    """Until the receiver has seen ``count`` requests."""
    wait_until(
        lambda: len(sink.requests) >= count,
        timeout,
        lambda: f"the sink got {len(sink.requests)} of {count} requests\n{figures}\n{stack.tails()}",
        interval=0.01,
    )


def wait_all_sent(ids: list[str], sink: Sink, figures: Figures, stack: Stack, timeout: float) -> dict:
    """Until every row is ``sent`` and the sink accepted each at least once; the rows by id."""
    rows: dict[str, Notification] = {}

    def done() -> bool:
        nonlocal rows
        rows = tally(figures, ids, sink)
        return figures.sent == len(ids) and figures.statuses.get("sent", 0) == len(ids)

    wait_until(done, timeout, lambda: f"{figures}\n{stack.tails()}", interval=0.25)
    return rows


def assert_duplicates_explained(ids: list[str], sink: Sink, figures: Figures, stack: Stack) -> None:
    """The claim's promise: every request the receiver saw was preceded by a claim of its own
    (``attempts_total`` counts claims), and each row has exactly one successful attempt —
    so any duplicate receipt is an attempt the system itself recorded as lost or failed."""
    receipts = receipts_by_id(sink)
    rows = {str(row.id): row for row in Notification.objects.filter(id__in=ids)}
    outcomes: dict[str, list[str]] = {}
    for attempt in DeliveryAttempt.objects.filter(notification_id__in=ids).order_by("number"):
        outcomes.setdefault(str(attempt.notification_id), []).append(attempt.outcome)
    unexplained = [
        (i, len(receipts.get(i, [])), rows[i].attempts_total, outcomes.get(i))
        for i in ids
        if len(receipts.get(i, [])) > rows[i].attempts_total or outcomes.get(i, []).count("sent") != 1
    ]
    assert not unexplained, (
        f"receipts not backed by claims (id, receipts, claims, attempts): {unexplained[:10]}\n{figures}\n"
        f"{stack.tails()}"
    )
