"""Real Celery workers (``celery -A config worker``) on this run's RabbitMQ vhost and database,
delivering to a real local HTTP server."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from notifications import services
from notifications.models import Notification
from tests.sink import Reply
from tests.smtp import LoopbackController, Recorder

pytestmark = pytest.mark.worker

URL = "/api/v1/notifications/"


def wait_for_status(notification_id: str, *statuses: str, timeout: float = 30.0) -> Notification:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = Notification.objects.get(id=notification_id)
        if row.status in statuses:
            return row
        time.sleep(0.05)
    raise AssertionError(
        f"{notification_id} is {row.status}, not {statuses} after {timeout}s (error: {row.last_error})"
    )


def test_delayed_notification_arrives_no_earlier_than_send_at(alice, sink, allow_private, start_worker):
    start_worker()
    send_at = timezone.now() + timedelta(seconds=3)
    created = alice.post(
        URL, {"channel": "webhook", "recipient": sink.url, "payload": {"n": 1}, "send_at": send_at.isoformat()}
    )
    assert created.status_code == 201
    [received] = sink.wait_for(1, timeout=30)
    lateness = received.at - send_at.timestamp()
    assert lateness >= 0, f"arrived {-lateness:.3f}s early"
    assert lateness < 2.0, f"arrived {lateness:.3f}s late"
    secret = services.webhook_secret_get_or_create(owner_id=alice.user.pk).secret
    Webhook(secret).verify(received.body, received.headers)
    row = wait_for_status(created.json()["id"], "sent")
    assert row.attempts == 1
    assert [a.outcome for a in row.delivery_attempts.all()] == ["sent"]


def test_transient_failures_are_retried_until_sent(alice, sink, allow_private, start_worker):
    start_worker(NOTIFY_RETRY_BACKOFF="1", NOTIFY_RETRY_BACKOFF_MAX="2")
    sink.then(Reply(503), Reply(500))
    created = alice.post(URL, {"channel": "webhook", "recipient": sink.url, "payload": {"n": 2}}).json()
    row = wait_for_status(created["id"], "sent")
    assert len(sink.requests) == 3
    assert {r.headers["webhook-id"] for r in sink.requests} == {created["id"]}
    assert row.attempts == 3
    assert [a.outcome for a in row.delivery_attempts.all()] == ["transient", "transient", "sent"]
    attempts = alice.get(f"{URL}{created['id']}/attempts/").json()
    assert [a["number"] for a in attempts] == [1, 2, 3]
    assert "HTTP 503" in attempts[0]["error"]


def test_retry_after_from_the_provider_is_honoured(alice, sink, allow_private, start_worker):
    start_worker(NOTIFY_RETRY_BACKOFF="1", NOTIFY_RETRY_BACKOFF_MAX="1")
    sink.then(Reply(429, {"Retry-After": "3"}))
    created = alice.post(URL, {"channel": "webhook", "recipient": sink.url}).json()
    first, second = sink.wait_for(2, timeout=30)
    assert second.at - first.at >= 3.0
    wait_for_status(created["id"], "sent")


def test_attempts_exhausted_end_failed(alice, sink, allow_private, start_worker):
    start_worker(NOTIFY_RETRY_BACKOFF="1", NOTIFY_RETRY_BACKOFF_MAX="1")
    sink.default = Reply(503)
    created = alice.post(URL, {"channel": "webhook", "recipient": sink.url, "max_attempts": 3}).json()
    row = wait_for_status(created["id"], "failed")
    assert row.failure_reason == "exhausted"
    assert row.attempts == 3
    assert len(sink.requests) == 3
    assert "HTTP 503" in row.last_error


def test_permanent_error_fails_at_once(alice, sink, allow_private, start_worker):
    start_worker()
    sink.then(Reply(410))
    created = alice.post(URL, {"channel": "webhook", "recipient": sink.url}).json()
    row = wait_for_status(created["id"], "failed")
    assert row.failure_reason == "permanent"
    assert len(sink.requests) == 1


def test_a_row_whose_publish_never_happened_is_sent_by_the_sweep(
    alice, sink, allow_private, start_worker, empty_queues
):
    start_worker()
    now = timezone.now()
    row = Notification.objects.create(
        owner=alice.user,
        channel="webhook",
        recipient=sink.url,
        send_at=now - timedelta(minutes=5),
        next_attempt_at=now - timedelta(minutes=5),
        last_enqueued_at=now - timedelta(minutes=5),
        max_attempts=3,
    )
    assert services.sweep_missed() == 1
    sink.wait_for(1)
    assert wait_for_status(str(row.id), "sent").attempts == 1


def test_an_expired_lease_is_recovered_by_the_sweep(alice, sink, allow_private, start_worker):
    start_worker()
    now = timezone.now()
    row = Notification.objects.create(
        owner=alice.user,
        channel="webhook",
        recipient=sink.url,
        send_at=now - timedelta(minutes=5),
        status="sending",
        attempts=1,
        attempts_total=1,
        lease_expires_at=now - timedelta(seconds=1),
        max_attempts=3,
    )
    assert services.sweep_stuck() == 1
    sink.wait_for(1)
    row = wait_for_status(str(row.id), "sent")
    assert row.attempts == 2
    assert [a.outcome for a in row.delivery_attempts.all()] == ["worker_lost", "sent"]


def test_a_cancelled_notification_is_never_sent(alice, sink, allow_private, start_worker):
    start_worker()
    send_at = timezone.now() + timedelta(seconds=2)
    cancelled = alice.post(URL, {"channel": "webhook", "recipient": sink.url, "send_at": send_at.isoformat()}).json()
    kept = alice.post(
        URL,
        {"channel": "webhook", "recipient": sink.url, "send_at": (send_at + timedelta(seconds=1)).isoformat()},
    ).json()
    assert alice.post(f"{URL}{cancelled['id']}/cancel/").status_code == 200
    [received] = sink.wait_for(1)
    assert received.headers["webhook-id"] == kept["id"]
    wait_for_status(kept["id"], "sent")
    assert Notification.objects.get(id=cancelled["id"]).status == "cancelled"
    assert len(sink.requests) == 1


def test_priority_picks_the_queue(alice, sink, allow_private, start_worker):
    start_worker("-Q", "notify.high")  # a worker that serves only high priority
    low = alice.post(URL, {"channel": "webhook", "recipient": sink.url, "priority": "low"}).json()
    high = alice.post(URL, {"channel": "webhook", "recipient": sink.url, "priority": "high"}).json()
    [received] = sink.wait_for(1)
    assert received.headers["webhook-id"] == high["id"]
    wait_for_status(high["id"], "sent")
    assert Notification.objects.get(id=low["id"]).status == "scheduled"


def test_email_goes_through_the_smtp_server_named_by_email_url(alice, start_worker):
    recorder = Recorder()
    server = LoopbackController(recorder)
    server.start()
    try:
        start_worker(EMAIL_URL=f"smtp://127.0.0.1:{server.port}", DEFAULT_FROM_EMAIL="notifier@example.com")
        created = alice.post(
            URL, {"channel": "email", "recipient": "bob@example.com", "subject": "Hi", "body": "Your order shipped."}
        ).json()
        wait_for_status(created["id"], "sent")
        [mail] = recorder.messages
        assert mail["To"] == "bob@example.com"
        assert mail["Subject"] == "Hi"
        assert mail.get_content().strip() == "Your order shipped."
    finally:
        server.stop()


def test_a_receiver_that_hangs_past_the_time_limit_is_retried_not_stuck(alice, sink, allow_private, start_worker):
    # Per-read timeouts alone would let this receiver hold the worker for WEBHOOK_TIMEOUT;
    # the task's soft time limit (3/4 of the lease) cuts the attempt short first.
    start_worker(NOTIFY_LEASE_SECONDS="4", WEBHOOK_TIMEOUT="30", NOTIFY_RETRY_BACKOFF="1", NOTIFY_RETRY_BACKOFF_MAX="1")
    sink.then(Reply(200, delay=20))
    created = alice.post(URL, {"channel": "webhook", "recipient": sink.url}).json()
    row = wait_for_status(created["id"], "sent", timeout=20)
    first, second = row.delivery_attempts.all()
    assert first.outcome == "transient"
    assert "TimeLimit" in first.error
    assert (first.finished_at - first.started_at).total_seconds() < 4
    assert second.outcome == "sent"


def test_a_bulk_request_travels_in_few_messages_and_every_row_arrives(alice, sink, allow_private, start_worker):
    worker = start_worker(NOTIFY_RETRY_BACKOFF="1", NOTIFY_RETRY_BACKOFF_MAX="1")
    sink.then(Reply(503))  # one row fails once and is retried on its own
    items = [{"channel": "webhook", "recipient": sink.url, "payload": {"i": i}} for i in range(120)]
    response = alice.post(URL + "bulk/", {"notifications": items})
    assert response.status_code == 201
    ids = {n["id"] for n in response.json()["notifications"]}
    received = sink.wait_for(121, timeout=60)
    assert {r.headers["webhook-id"] for r in received} == ids
    for notification_id in ids:
        wait_for_status(notification_id, "sent")
    log = worker.log.read_text()
    batches = set(re.findall(r"Task notifications\.deliver_batch\[([0-9a-f-]+)\] received", log))
    assert len(batches) == 3, log[-3000:]  # 120 rows in messages of NOTIFY_DISPATCH_BATCH=50
