"""Workers that die, are stopped, or are fed garbage: nothing is lost, nothing loops."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from celery import current_app

from notifications.models import DeliveryAttempt, Notification
from testkit import wait_until
from tests.failures.figures import (
    accepted,
    assert_duplicates_explained,
    create_burst,
    tally,
    wait_all_sent,
    wait_receipts,
)
from tests.failures.outages import queue_depths
from tests.sink import Reply

pytestmark = pytest.mark.worker

SLOW = Reply(delay=0.03)  # a receiver taking 30 ms per request, so a burst lasts seconds


# Bulk requests travel as ``deliver_batch`` messages of NOTIFY_DISPATCH_BATCH rows; with 1,
# every notification has its own ``deliver`` message, as single creates do.
MESSAGES = pytest.mark.parametrize("batch", [1, 50], ids=["one-message-each", "batches-of-50"])


@MESSAGES
def test_worker_killed_mid_burst_loses_nothing(batch, alice, sink, allow_private, settings, stack, figures):
    """SIGKILL of a worker's whole process group in the middle of 300 sends: the broker
    redelivers what it held, the stuck-sweep (real beat) recovers what it was sending."""
    settings.NOTIFY_DISPATCH_BATCH = batch
    concurrency = 2
    stack.environ["NOTIFY_SWEEP_GRACE"] = "300"  # only the stuck-sweep may help here
    stack.beat()
    sink.default = SLOW
    ids = create_burst(alice, sink, 300)
    worker = stack.worker(concurrency=concurrency)
    wait_receipts(sink, 50, figures, stack)
    worker.kill_group()
    received_at_kill = len(sink.requests)
    figures.note(f"killed after {received_at_kill} receipts")
    assert received_at_kill < 300, f"the burst was over before the kill: {figures}"

    stack.worker(concurrency=concurrency)
    wait_all_sent(ids, sink, figures, stack, timeout=90)
    lost_with_worker = {
        str(i)
        for i in DeliveryAttempt.objects.filter(notification_id__in=ids, outcome="worker_lost").values_list(
            "notification_id", flat=True
        )
    }
    figures.note(f"{len(lost_with_worker)} recovered by the stuck-sweep")
    duplicated = {i for i, count in accepted(sink).items() if count > 1}
    assert figures.lost == 0 and figures.sent == 300, figures
    # Only what was in flight at the kill can be sent twice: one row per pool process at most,
    # each recorded by the stuck-sweep as an attempt lost with its worker.
    assert len(lost_with_worker) <= concurrency, f"more rows in flight than pool processes: {figures}"
    assert duplicated <= lost_with_worker, f"duplicates {duplicated} were not in flight at the kill: {figures}"
    assert_duplicates_explained(ids, sink, figures, stack)


@MESSAGES
def test_sigterm_mid_burst_finishes_or_returns_its_work(batch, alice, sink, allow_private, settings, stack, figures):
    """A warm shutdown (SIGTERM to the worker, as honcho or systemd send it) during 200 sends
    leaves nothing ``sending``: the next worker sends the rest at once, with no lease to wait out."""
    settings.NOTIFY_DISPATCH_BATCH = batch
    # Leases and sweeps far beyond the test's bounds: only a real warm shutdown can pass.
    stack.environ.update(NOTIFY_LEASE_SECONDS="300", NOTIFY_SWEEP_GRACE="300")
    sink.default = SLOW
    ids = create_burst(alice, sink, 200)
    worker = stack.worker()
    wait_receipts(sink, 40, figures, stack)
    worker.terminate()
    try:
        code = worker.popen.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the worker did not finish its warm shutdown in 30s\n{stack.tails()}") from None
    tally(figures, ids, sink)
    figures.note(f"SIGTERM after 40 receipts, worker exited {code} after {len(sink.requests)}")
    assert "Warm shutdown" in worker.text(), f"{figures}\n{stack.tails()}"
    assert code == 0, f"{figures}\n{stack.tails()}"
    sending = Notification.objects.filter(id__in=ids, status="sending").count()
    assert sending == 0, f"{sending} left sending by the warm shutdown: {figures}\n{stack.tails()}"
    assert figures.sent < 200, f"the burst was over before the shutdown: {figures}"

    stack.worker()
    wait_all_sent(ids, sink, figures, stack, timeout=60)
    tally(figures, ids, sink)
    assert figures.lost == 0, figures
    assert figures.duplicated == 0, f"a warm shutdown sends nothing twice: {figures}"
    assert not DeliveryAttempt.objects.filter(notification_id__in=ids).exclude(outcome="sent").exists(), figures
    assert_duplicates_explained(ids, sink, figures, stack)


def _publish_raw(body: bytes, content_type: str, headers: dict) -> None:
    """A message that is not what Celery's client would publish, straight onto the queue."""
    with current_app.connection_for_write() as connection:
        connection.Producer().publish(
            body,
            exchange="notifier",
            routing_key="notify.normal",
            content_type=content_type,
            content_encoding="utf-8",
            headers=headers,
            delivery_mode=2,
        )


def test_poison_messages_are_logged_acknowledged_once_and_the_worker_keeps_working(
    alice, sink, allow_private, stack, figures
):
    """Messages no client of ours would publish: each is logged once, acknowledged (the queue
    drains, nothing is redelivered) and the worker goes on delivering."""
    worker = stack.worker()
    deliver, batch = "notifications.deliver", "notifications.deliver_batch"
    unknown = str(uuid.uuid4())

    def send(name: str, *args, **kwargs) -> str:
        return current_app.send_task(name, args=list(args), kwargs=kwargs, queue="notify.normal").id

    # What each one must leave in the worker's log, exactly once.
    expected: dict[str, list[str]] = {}
    task_id = send(deliver, "not-a-uuid", "x")
    expected["malformed id"] = [f"{deliver}[{task_id}] succeeded", "malformed message 'not-a-uuid' 'x' dropped"]
    task_id = send(deliver, unknown, str(uuid.uuid4()))
    expected["unknown id"] = [f"{deliver}[{task_id}] received", f"{deliver}[{task_id}] succeeded"]
    task_id = send(deliver, "not-a-uuid")
    expected["too few arguments"] = [f"{deliver}[{task_id}] raised unexpected: TypeError"]
    task_id = send(deliver, unknown, unknown, bogus=1)
    expected["unexpected keyword"] = [f"{deliver}[{task_id}] raised unexpected: TypeError"]
    task_id = send(batch, "x", [None, 3, "y"])
    expected["batch of garbage"] = [f"{batch}[{task_id}] succeeded", "deliver_batch: malformed message"]
    task_id = send("notifications.nope", 1)
    expected["unregistered task"] = ["unregistered task of type 'notifications.nope'", f"'id': '{task_id}'"]
    task_id = str(uuid.uuid4())
    _publish_raw(b"{not json", "application/json", {"task": deliver, "id": task_id})
    expected["invalid JSON"] = ["Can't decode message body", f"'id': '{task_id}'"]
    _publish_raw(b"\x80\x04K\x01.", "application/x-python-serialize", {"task": deliver, "id": str(uuid.uuid4())})
    expected["pickle"] = ["invalid task message: Refusing to deserialize untrusted content of type pickle"]

    def drained() -> bool:
        ready, unacked = queue_depths().get("notify.normal", (-1, -1))
        return ready == 0 and unacked == 0

    wait_until(drained, 30, lambda: f"notify.normal holds {queue_depths().get('notify.normal')}\n{stack.tails()}")

    # The worker still works: a real notification arrives.
    created = alice.post("/api/v1/notifications/", {"channel": "webhook", "recipient": sink.url}).json()
    ids = [created["id"]]
    wait_all_sent(ids, sink, figures, stack, timeout=30)
    tally(figures, ids, sink)
    figures.note(f"{len(expected)} poison messages, each logged and acknowledged once; queue drained")
    assert figures.lost == 0 and figures.duplicated == 0, figures
    log = worker.text()
    assert " received" in log and "Task notifications.deliver" in log, worker.tail()
    counts = {name: [log.count(needle) for needle in needles] for name, needles in expected.items()}
    wrong = {name: list(zip(expected[name], n, strict=True)) for name, n in counts.items() if n != [1] * len(n)}
    assert not wrong, f"not logged exactly once: {wrong}\n{figures}\n{worker.tail(8000)}"
    assert queue_depths().get("notify.normal") == (0, 0), f"{figures}\n{worker.tail()}"
