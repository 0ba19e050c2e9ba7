"""One client's slow receiver must not hold the workers: another client's notifications are
late by seconds, not by the slow client's backlog."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.sink import Reply, Sink

pytestmark = pytest.mark.worker

SLOW_ANSWER = 5.0  # seconds the slow receiver takes to answer
BACKLOG = 150  # client A's webhooks to it: 375 s of sending at 2 at a time


@pytest.fixture
def slow_sink():
    server = Sink().start()
    server.default = Reply(200, delay=SLOW_ANSWER)
    yield server
    server.stop()


def test_a_slow_receiver_of_one_client_delays_another_client_by_seconds_not_by_its_backlog(
    alice, bob, sink, slow_sink, allow_private, start_worker, settings
):
    settings.NOTIFY_API_RATE = ""  # client A's burst of creates is not what is measured
    start_worker("--concurrency", "4", WEBHOOK_HOST_CONCURRENCY="2", WEBHOOK_TIMEOUT="10")
    for n in range(BACKLOG):  # one message each: without the cap, every pool process takes one and waits
        body = {"channel": "webhook", "recipient": slow_sink.url, "payload": {"n": n}}
        assert alice.post("/api/v1/notifications/", body).status_code == 201
    slow_sink.wait_for(2, timeout=30)  # client A's receiver is busy

    send_at = timezone.now() + timezone.timedelta(seconds=2)
    for n in range(20):
        body = {"channel": "webhook", "recipient": sink.url, "payload": {"n": n}, "send_at": send_at.isoformat()}
        assert bob.post("/api/v1/notifications/", body).status_code == 201
    received = sink.wait_for(20, timeout=60)

    lateness = sorted(r.at - send_at.timestamp() for r in received)
    assert lateness[-1] < 10, f"client B late by {lateness[-1]:.1f}s (all: {[round(x, 1) for x in lateness]})"
    # Meanwhile A's receiver never had more than its two slots' worth of sends at once.
    starts = [r.at for r in slow_sink.requests]
    at_once = max(sum(1 for other in starts if other <= at < other + SLOW_ANSWER) for at in starts)
    assert at_once <= 2, f"{at_once} sends in flight to client A's receiver"
    assert len(slow_sink.requests) < BACKLOG / 4, "A's backlog did not wait: the test proves nothing"
