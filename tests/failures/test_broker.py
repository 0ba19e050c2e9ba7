"""The broker unreachable or restarting: the API keeps answering, the database keeps every
notification, and the sweeps send what the broker never got or lost."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from testkit import free_port
from tests.failures.figures import URL, assert_duplicates_explained, tally, wait_all_sent
from tests.failures.outages import rabbitmq_stopped

pytestmark = pytest.mark.worker


def post(web, token: str, data: dict) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(f"{web.url}{URL}", json=data, headers={"Authorization": f"Token {token}"}, timeout=15)
    return response, time.monotonic() - started


def test_broker_unreachable_at_create_the_row_is_kept_and_the_sweep_sends_it(token, sink, stack, figures):
    nowhere = f"amqp://guest:guest@127.0.0.1:{free_port()}//"  # a closed port: connections refused
    web = stack.web(CELERY_BROKER_URL=nowhere)
    ids, slowest = [], 0.0
    for n in range(20):
        response, elapsed = post(web, token, {"channel": "webhook", "recipient": sink.url, "payload": {"n": n}})
        slowest = max(slowest, elapsed)
        assert response.status_code == 201, f"{response.status_code} {response.text[:500]}\n{stack.tails()}"
        assert elapsed < 2.0, f"create took {elapsed:.2f}s with the broker away\n{stack.tails()}"
        ids.append(response.json()["id"])
    figures.note(f"20 creates with the broker unreachable, slowest {slowest:.2f}s")
    ready = httpx.get(f"{web.url}/readyz", timeout=15)
    assert ready.status_code == 503 and ready.json()["down"] == ["broker"], ready.text
    tally(figures, ids, sink)
    assert figures.statuses == {"scheduled": 20}, figures
    assert not sink.requests, figures

    # A worker and beat on the real broker: the missed-sweep publishes what the web could not.
    stack.environ["NOTIFY_SWEEP_GRACE"] = "300"  # a failed publish is swept at once, not after the grace
    stack.worker()
    stack.beat()
    wait_all_sent(ids, sink, figures, stack, timeout=60)
    tally(figures, ids, sink)
    assert figures.lost == 0 and figures.duplicated == 0, figures
    assert_duplicates_explained(ids, sink, figures, stack)


def test_broker_restart_mid_burst_loses_nothing(token, sink, stack, figures):
    """``rabbitmqctl stop_app`` / ``start_app`` while 200 notifications due in 1-5 s are being
    created through the API, published and delivered."""
    web = stack.web()
    stack.worker()
    stack.beat()
    rng = random.Random(3)
    ids: list[str] = []
    slow: list[float] = []

    def create(count: int) -> None:
        for _ in range(count):
            send_at = timezone.now() + timedelta(seconds=rng.uniform(1, 5))
            data = {"channel": "webhook", "recipient": sink.url, "send_at": send_at.isoformat()}
            response, elapsed = post(web, token, data)
            assert response.status_code == 201, f"{response.status_code} {response.text[:500]}\n{stack.tails()}"
            assert elapsed < 2.0, f"create took {elapsed:.2f}s\n{figures}\n{stack.tails()}"
            ids.append(response.json()["id"])
            slow.append(elapsed)

    create(100)
    tally(figures, ids, sink)
    with rabbitmq_stopped():
        figures.note(f"broker stopped after {figures.sent} of 100 were sent")
        create(50)  # published into nothing: stored, and left to the sweep
    create(50)
    figures.note(f"slowest create {max(slow):.2f}s")
    wait_all_sent(ids, sink, figures, stack, timeout=90)
    tally(figures, ids, sink)
    assert figures.lost == 0, figures
    assert_duplicates_explained(ids, sink, figures, stack)
    assert figures.duplicated == 0, figures
