"""The receiver down for a while: every notification is retried with growing, jittered
backoff and ends sent within its attempts."""

from __future__ import annotations

import itertools
import time

import pytest

from notifications.models import Notification
from tests.failures.figures import URL, assert_duplicates_explained, create_burst, receipts_by_id, wait_all_sent
from tests.sink import Reply

pytestmark = pytest.mark.worker

DOWN_FOR = 20.0  # seconds the receiver answers 503
BASE, CAP = 1, 8  # NOTIFY_RETRY_BACKOFF, NOTIFY_RETRY_BACKOFF_MAX
# Seconds a retry may arrive after its countdown: the attempt's own work, the publish, the
# broker's delay queues (≈ 0.4 s at worst for a burst), and the worker's queue — a pool process
# waits out a sub-second remainder itself, so a burst of short retries queues behind it.
SLACK = 2.5


def bound(retries: int) -> int:
    """The longest wait after ``retries`` earlier retries: each is drawn between half of this and all of it."""
    return min(CAP, BASE * 2**retries)


def test_provider_down_then_back_every_notification_is_sent_with_growing_jittered_backoff(
    alice, sink, allow_private, stack, figures
):
    # The backoff alone: the breaker would hold every send back after the first 20 failures
    # (tested on its own in tests/services/test_gates.py).
    stack.worker(NOTIFY_RETRY_BACKOFF=str(BASE), NOTIFY_RETRY_BACKOFF_MAX=str(CAP), NOTIFY_BREAKER_MIN_CALLS="1000000")
    back_at = time.time() + DOWN_FOR
    sink.responder = lambda: Reply(503, body=b"down for maintenance") if time.time() < back_at else Reply()
    max_attempts = 20
    # Half one by one (a ``deliver`` message each), half in one bulk request (``deliver_batch``).
    ids = [
        alice.post(URL, {"channel": "webhook", "recipient": sink.url, "max_attempts": max_attempts}).json()["id"]
        for _ in range(10)
    ]
    ids += create_burst(alice, sink, 10, max_attempts=max_attempts)
    rows = wait_all_sent(ids, sink, figures, stack, timeout=DOWN_FOR + CAP + 30)
    receipts = receipts_by_id(sink)
    attempts = [len(receipts[i]) for i in ids]
    figures.note(f"503 for {DOWN_FOR:.0f}s; attempts per notification {min(attempts)}-{max(attempts)}")

    # Every notification ends sent within its attempts: 503s while the receiver was down, then one 200.
    for i in ids:
        statuses = [r.status for r in receipts[i]]
        assert statuses[-1] == 200 and set(statuses[:-1]) == {503}, f"{i}: {statuses}\n{figures}"
        assert rows[i].attempts == len(statuses) <= max_attempts, f"{i}: {rows[i].attempts} attempts\n{figures}"
    assert figures.lost == 0 and figures.duplicated == 0, figures
    assert not Notification.objects.filter(id__in=ids).exclude(status="sent").exists(), figures

    # The gaps between one notification's attempts, by retry number.
    gaps: dict[int, list[float]] = {}
    for i in ids:
        times = [r.at for r in receipts[i]]
        for retries, (before, after) in enumerate(itertools.pairwise(times)):
            gaps.setdefault(retries, []).append(after - before)
    observed = {r: f"≤{bound(r)}s: max {max(g):.1f}s" for r, g in sorted(gaps.items())}
    figures.note(f"gaps by retry {observed}")
    detail = f"gaps by retry number: { {r: [round(x, 2) for x in g] for r, g in sorted(gaps.items())} }\n{figures}"
    # Never longer than the backoff allows ...
    over = [(r, round(g, 2)) for r, gs in gaps.items() for g in gs if g > bound(r) + SLACK]
    assert not over, f"gaps over their bound (retry number, gap): {over}\n{detail}"
    # ... which grows with the retry number: later gaps reach far beyond what the first two allow ...
    assert max(g for r in gaps if r >= 3 for g in gaps[r]) > bound(1) + SLACK, f"no growth: {detail}"
    # ... and jittered: not the plain exponential series, and not the same for every notification.
    assert any(g < bound(r) - 0.5 for r in gaps if r >= 1 for g in gaps[r]), f"no jitter: {detail}"
    assert len({round(g) for g in gaps[2]}) > 1, f"every notification waited the same: {detail}"
    assert_duplicates_explained(ids, sink, figures, stack)
