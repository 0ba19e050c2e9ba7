"""The gates before a send, on the real Redis: a breaker per target, a cap per webhook host,
a rate per provider; each "not now" waits without spending an attempt."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import pytest

from notifications import services
from notifications.models import DeliveryAttempt, Notification
from notifier import Message, ProviderBase, Receipt, TransientError, gates, registry
from testkit import free_port
from tests.conftest import ROOT
from tests.sink import Reply


class FlakyProvider(ProviderBase):
    """A provider with a name of its own per test (its own breaker and rate keys in Redis)."""

    name = "pager"

    def __init__(self) -> None:
        self.provider = f"pager{uuid.uuid4().hex[:8]}"
        self.failing = False
        self.sent = 0

    def validate_recipient(self, recipient: str) -> str:
        return recipient

    def send(self, message: Message) -> Receipt:
        if self.failing:
            raise TransientError("pager: HTTP 503")
        self.sent += 1
        return Receipt(provider_message_id=str(self.sent), provider=self.provider)


@pytest.fixture
def pager(monkeypatch, settings):
    settings.NOTIFY_BREAKER_MIN_CALLS = 3
    settings.NOTIFY_BREAKER_WINDOW = 60
    settings.NOTIFY_BREAKER_THRESHOLD = 0.5
    settings.NOTIFY_BREAKER_COOLDOWN = 1
    provider = FlakyProvider()
    monkeypatch.setitem(registry._providers(), FlakyProvider.name, provider)
    return provider


def deliver(row: Notification):
    row.refresh_from_db()
    return services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_breaker_opens_on_failures_holds_sends_back_without_an_attempt_then_probes_and_closes(
    make_notification, pager
):
    pager.failing = True
    for _ in range(3):
        with pytest.raises(services.DeliveryDeferred):
            deliver(make_notification(channel="pager", recipient="ops"))
    assert gates.is_open(f"provider:{pager.provider}")

    pager.failing = False
    held = make_notification(channel="pager", recipient="ops")
    result = deliver(held)
    held.refresh_from_db()
    assert result.status == "deferred"
    assert (held.status, held.attempts, held.attempts_total) == ("scheduled", 0, 0)
    assert not DeliveryAttempt.objects.filter(notification=held).exists()
    assert pager.sent == 0

    wait_until(lambda: not gates.is_open(f"provider:{pager.provider}"))
    probe = make_notification(channel="pager", recipient="ops")
    assert deliver(probe).status == "sent"
    assert deliver(held).status == "sent"  # closed again: the held one goes
    assert pager.sent == 2


def test_a_failed_probe_opens_the_breaker_again(make_notification, pager):
    pager.failing = True
    for _ in range(3):
        with pytest.raises(services.DeliveryDeferred):
            deliver(make_notification(channel="pager", recipient="ops"))
    wait_until(lambda: not gates.is_open(f"provider:{pager.provider}"))
    with pytest.raises(services.DeliveryDeferred):
        deliver(make_notification(channel="pager", recipient="ops"))  # the probe, failing
    assert gates.is_open(f"provider:{pager.provider}")


def test_a_retrying_row_held_back_keeps_its_attempts_and_status(make_notification, pager):
    pager.failing = True
    row = make_notification(channel="pager", recipient="ops", max_attempts=10)
    for _ in range(3):
        with pytest.raises(services.DeliveryDeferred):
            deliver(row)
        Notification.objects.filter(id=row.id).update(next_attempt_at=row.send_at)  # due again now
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("retrying", 3)
    assert deliver(row).status == "deferred"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.attempts_total) == ("retrying", 3, 3)
    assert DeliveryAttempt.objects.filter(notification=row).count() == 3


def test_a_provider_rate_is_shared_by_every_process(make_notification, pager, settings):
    prefix = f"test-{uuid.uuid4().hex}"  # this test's own keys in the shared Redis
    settings.CACHE_KEY_PREFIX = prefix
    settings.NOTIFY_RATES = {**settings.NOTIFY_RATES, "TWILIO": "2/h"}
    pager.provider = "twilio"
    assert deliver(make_notification(channel="pager", recipient="ops")).status == "sent"
    # Another worker process takes the hour's second send from the same Redis.
    script = (
        "import django; django.setup(); from notifier import gates;"
        "gates.admit(gates.GateKeys(breaker='provider:other', rate='twilio')).__enter__(); print('taken')"
    )
    env = {**os.environ, "NOTIFY_RATE_TWILIO": "2/h", "CACHE_KEY_PREFIX": prefix}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip().endswith("taken"), done.stderr[-2000:]
    held = make_notification(channel="pager", recipient="ops")
    assert deliver(held).status == "deferred"
    held.refresh_from_db()
    assert held.status == "scheduled" and held.next_attempt_at is not None
    assert pager.sent == 1


@pytest.mark.django_db(transaction=True)
def test_sends_in_flight_to_one_host_never_exceed_the_cap(make_notification, sink, allow_private, settings):
    settings.WEBHOOK_HOST_CONCURRENCY = 2
    sink.default = Reply(200, delay=0.5)
    rows = [make_notification(recipient=sink.url) for _ in range(6)]
    results: dict[str, str] = {}

    def send(row: Notification) -> None:
        try:
            result = services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)
            results[str(row.id)] = result.status if result else "none"
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=send, args=(row,)) for row in rows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    intervals = [(r.at, r.at + 0.5) for r in sink.requests]
    most_at_once = max(sum(1 for s, e in intervals if s <= start < e) for start, _ in intervals)
    assert most_at_once <= 2
    assert sorted(results.values()).count("sent") == len(sink.requests) >= 2
    deferred = [row for row in rows if results[str(row.id)] == "deferred"]
    assert deferred, results
    for row in deferred:
        row.refresh_from_db()
        assert (row.status, row.attempts) == ("scheduled", 0)


def test_with_redis_down_the_gates_open_and_the_send_goes(make_notification, pager, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    assert deliver(make_notification(channel="pager", recipient="ops")).status == "sent"
