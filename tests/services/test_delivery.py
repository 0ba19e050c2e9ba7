"""The claim and one delivery, through the service layer, against a real local HTTP server."""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Notification
from tests.sink import Reply


@pytest.fixture
def due(make_notification, sink):
    """Webhook notifications due now, addressed to the local sink."""
    return functools.partial(make_notification, recipient=sink.url, payload={"k": "v"})


def deliver(row: Notification):
    return services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)


# --- claim -------------------------------------------------------------------


def test_claim_takes_a_due_row_once(due):
    row = due()
    claimed = services.notification_claim(notification_id=row.id, dispatch_token=row.dispatch_token)
    assert claimed.status == "sending"
    assert claimed.attempts == 1
    assert claimed.lease_expires_at > timezone.now()
    assert services.notification_claim(notification_id=row.id, dispatch_token=row.dispatch_token) is None
    assert Notification.objects.get(id=row.id).attempts == 1


def test_claim_returns_the_row_as_the_orm_reads_it(due):
    row = due(payload={"order": [1, 2], "note": "ü"}, subject="hi")
    claimed = services.notification_claim(notification_id=row.id, dispatch_token=row.dispatch_token)
    stored = Notification.objects.get(id=row.id)
    for field in Notification._meta.concrete_fields:
        assert getattr(claimed, field.attname) == getattr(stored, field.attname), field.name
    assert claimed.payload == {"order": [1, 2], "note": "ü"}
    assert claimed._state.adding is False


def test_claim_skips_a_cancelled_row(due):
    row = due()
    services.notification_cancel(notification=row)
    assert services.notification_claim(notification_id=row.id, dispatch_token=row.dispatch_token) is None
    assert Notification.objects.get(id=row.id).status == "cancelled"


def test_claim_skips_a_message_from_before_a_reschedule(due):
    row = due()
    old_token = row.dispatch_token
    services.notification_reschedule(notification=row, changes={"body": "edited"})
    assert services.notification_claim(notification_id=row.id, dispatch_token=old_token) is None
    fresh = Notification.objects.get(id=row.id)
    assert fresh.status == "scheduled"
    assert services.notification_claim(notification_id=row.id, dispatch_token=fresh.dispatch_token) is not None


def test_claim_skips_a_row_not_yet_due(due):
    row = due(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert services.notification_claim(notification_id=row.id, dispatch_token=row.dispatch_token) is None


def test_unknown_or_foreign_token_does_nothing(due, sink):
    row = due()
    assert services.notification_deliver(notification_id=uuid.uuid4(), dispatch_token=uuid.uuid4()) is None
    assert services.notification_deliver(notification_id=row.id, dispatch_token=uuid.uuid4()) is None
    assert sink.requests == []
    assert Notification.objects.get(id=row.id).status == "scheduled"


# --- outcomes ----------------------------------------------------------------


def test_success_is_sent_with_one_attempt(due, sink, allow_private):
    row = due()
    result = deliver(row)
    assert result.status == "sent"
    row.refresh_from_db()
    assert row.status == "sent"
    assert row.sent_at is not None
    assert row.lease_expires_at is None
    [attempt] = row.delivery_attempts.all()
    assert (attempt.number, attempt.outcome) == (1, "sent")
    assert attempt.started_at <= attempt.finished_at
    [received] = sink.requests
    assert received.headers["webhook-id"] == str(row.id)
    assert received.headers["idempotency-key"] == str(row.id)


def test_a_second_message_for_a_sent_row_sends_nothing(due, sink, allow_private):
    row = due()
    deliver(row)
    assert deliver(row) is None
    assert len(sink.requests) == 1


def test_transient_error_defers_with_the_row_retrying(due, sink, allow_private):
    row = due()
    sink.then(Reply(503, {"Retry-After": "7"}))
    with pytest.raises(services.DeliveryDeferred) as deferred:
        deliver(row)
    assert deferred.value.retry_after == 7
    row.refresh_from_db()
    assert row.status == "retrying"
    assert "HTTP 503" in row.last_error
    assert [a.outcome for a in row.delivery_attempts.all()] == ["transient"]


def test_retry_after_is_capped(due, sink, allow_private, settings):
    settings.NOTIFY_RETRY_AFTER_MAX = 60
    sink.then(Reply(429, {"Retry-After": "86400"}))
    with pytest.raises(services.DeliveryDeferred) as deferred:
        deliver(due())
    assert deferred.value.retry_after == 60


def test_last_attempt_failing_transiently_ends_failed_exhausted(due, sink, allow_private):
    row = due(max_attempts=1)
    sink.then(Reply(500))
    result = deliver(row)
    assert result.status == "failed"
    row.refresh_from_db()
    assert (row.status, row.failure_reason) == ("failed", "exhausted")


def test_permanent_error_ends_failed(due, sink, allow_private):
    row = due()
    sink.then(Reply(404))
    assert deliver(row).status == "failed"
    row.refresh_from_db()
    assert (row.status, row.failure_reason, row.attempts) == ("failed", "permanent", 1)
    assert "HTTP 404" in row.last_error


def test_send_time_guard_refuses_a_private_target_stored_earlier(due, sink):
    # Stored while private targets were allowed; the operator has since turned that off.
    row = due()
    assert deliver(row).status == "failed"
    row.refresh_from_db()
    assert row.failure_reason == "permanent"
    assert "non-public" in row.last_error or "not a public" in row.last_error
    assert sink.requests == []


def test_schedule_retry_records_when_the_next_attempt_is_due(due, sink, allow_private):
    row = due()
    sink.then(Reply(503))
    with pytest.raises(services.DeliveryDeferred):
        deliver(row)
    due_at = services.notification_schedule_retry(
        notification_id=row.id, dispatch_token=row.dispatch_token, countdown=4
    )
    row.refresh_from_db()
    assert row.next_attempt_at == due_at
    assert 3.5 < (due_at - timezone.now()).total_seconds() <= 4
    # Not due yet: a message arriving now claims nothing.
    assert services.notification_claim(notification_id=row.id, dispatch_token=row.dispatch_token) is None


def test_a_late_finish_after_the_stuck_sweep_took_over_changes_nothing(due, sink, allow_private):
    row = due()
    claimed = services.notification_claim(notification_id=row.id, dispatch_token=row.dispatch_token)
    Notification.objects.filter(id=row.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.sweep_stuck() == 1  # (inside the test's transaction: nothing is published)
    held = services.record_attempt(claimed, started_at=timezone.now(), outcome="sent", status="sent")
    assert held is False
    row.refresh_from_db()
    assert row.status == "retrying"
    assert [a.outcome for a in row.delivery_attempts.all()] == ["worker_lost"]


# --- batches -----------------------------------------------------------------


def test_a_batch_delivers_each_row_once_with_its_own_outcome(due, sink, allow_private):
    token = uuid.uuid4()
    rows = [due(dispatch_token=token) for _ in range(4)]
    sink.then(Reply(200), Reply(503, {"Retry-After": "60"}), Reply(404), Reply(200))
    ids = [str(row.id) for row in rows]
    result = services.notification_deliver_batch(notification_ids=ids, dispatch_token=token, budget=timedelta(60))
    assert (result.sent, result.retrying, result.failed, result.skipped) == (2, 1, 1, 0)
    statuses = [Notification.objects.get(id=row.id).status for row in rows]
    assert statuses == ["sent", "retrying", "failed", "sent"]
    retrying = Notification.objects.get(id=rows[1].id)
    assert retrying.next_attempt_at > timezone.now() + timedelta(seconds=55)
    # The same batch again (a redelivered message): nothing is sent twice.
    again = services.notification_deliver_batch(notification_ids=ids, dispatch_token=token, budget=timedelta(60))
    assert again.sent == 0
    assert len(sink.requests) == 4


def test_a_batch_over_its_budget_hands_off_the_rest(due, sink, allow_private):
    token = uuid.uuid4()
    rows = [due(dispatch_token=token) for _ in range(3)]
    ids = [str(row.id) for row in rows]
    result = services.notification_deliver_batch(notification_ids=ids, dispatch_token=token, budget=timedelta(0))
    assert (result.sent, result.handed_off) == (0, 3)
    assert sink.requests == []
    assert {Notification.objects.get(id=row.id).status for row in rows} == {"scheduled"}


def test_retry_countdown_grows_with_attempts_and_honours_retry_after(settings):
    settings.NOTIFY_RETRY_BACKOFF = 2
    settings.NOTIFY_RETRY_BACKOFF_MAX = 600
    for attempts in (1, 2, 3, 4):
        samples = {services.retry_countdown(attempts=attempts) for _ in range(200)}
        assert max(samples) <= 2 * 2 ** (attempts - 1)
        assert len(samples) > 1  # jittered
    assert services.retry_countdown(attempts=1, retry_after=30) == 30


def test_rows_due_within_one_second_share_a_message_due_with_the_earliest():
    from notifications.dispatch import Dispatch, _messages
    from notifications.task_names import DELIVER_BATCH

    now = timezone.now()
    base = (now + timedelta(seconds=30)).replace(microsecond=100_000)
    token = uuid.uuid4()
    spread = [Dispatch(uuid.uuid4(), token, base + timedelta(milliseconds=ms), "normal") for ms in (800, 0, 450)]
    later = Dispatch(uuid.uuid4(), token, base + timedelta(seconds=2), "normal")
    messages = _messages([*spread, later], now)
    assert [name for name, *_ in messages] == [DELIVER_BATCH, "notifications.deliver"]
    _, args, options, _ = messages[0]
    assert options["eta"] == base  # the earliest row's time: none is sent early
    assert args[1] == [str(spread[1].notification_id), str(spread[2].notification_id), str(spread[0].notification_id)]
