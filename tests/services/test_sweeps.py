"""The sweeps pick exactly the rows they should, and overlapping runs never take the same row."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from notifications import dispatch, services
from notifications.models import Notification


@pytest.fixture
def row(make_notification):
    """Rows as a create leaves them (due and published now), unless a test says otherwise."""
    return make_notification


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def test_missed_sweep_takes_overdue_rows_only(row, empty_queues, django_capture_on_commit_callbacks):
    overdue = row(next_attempt_at=ago(120), last_enqueued_at=ago(120))
    overdue_retrying = row(status="retrying", next_attempt_at=ago(120), last_enqueued_at=ago(120))
    publish_failed = row(next_attempt_at=ago(1), last_enqueued_at=None)
    row(next_attempt_at=ago(5), last_enqueued_at=ago(5))  # due, but within the grace period
    row(next_attempt_at=ago(120), last_enqueued_at=ago(5))  # re-published recently
    row(next_attempt_at=timezone.now() + timedelta(hours=1), last_enqueued_at=None)  # not due
    row(status="sent", next_attempt_at=None)
    row(status="cancelled", next_attempt_at=ago(120), last_enqueued_at=ago(120))
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.sweep_missed() == 3
    assert len(callbacks) == 1
    for taken in (overdue, overdue_retrying, publish_failed):
        taken.refresh_from_db()
        assert taken.last_enqueued_at > ago(5)
    assert services.sweep_missed() == 0  # just re-published: not again until the grace passes


def test_missed_sweep_leaves_rows_queued_behind_a_backlog(row, backlog, settings):
    settings.NOTIFY_SWEEP_GRACE = 30
    backlog("normal")  # the workers are behind on notify.normal: its overdue rows' messages are still queued
    waiting = row(next_attempt_at=ago(120), last_enqueued_at=ago(120))
    lost = row(next_attempt_at=ago(120), last_enqueued_at=None)  # its publish failed: no message anywhere
    other_queue = row(priority="high", next_attempt_at=ago(120), last_enqueued_at=ago(120))
    past_patience = row(next_attempt_at=ago(30 * services.BACKLOG_PATIENCE + 5), last_enqueued_at=ago(400))
    assert services.sweep_missed() == 3
    for taken in (lost, other_queue, past_patience):
        taken.refresh_from_db()
        assert taken.last_enqueued_at > ago(5)
    waiting.refresh_from_db()
    assert waiting.last_enqueued_at < ago(60)


def test_queue_depth_unknown_counts_as_no_backlog(caplog):
    assert dispatch.queues_with_backlog(["no-such-priority"]) == []
    assert "could not read the queues' depth" in caplog.text


def test_stuck_sweep_recovers_expired_leases(row):
    stuck = row(status="sending", attempts=1, attempts_total=1, lease_expires_at=ago(1))
    last_try = row(status="sending", attempts=3, attempts_total=3, lease_expires_at=ago(1))
    row(status="sending", attempts=1, attempts_total=1, lease_expires_at=timezone.now() + timedelta(seconds=30))
    assert services.sweep_stuck() == 2
    stuck.refresh_from_db()
    last_try.refresh_from_db()
    assert stuck.status == "retrying"
    assert "worker lost" in stuck.last_error
    assert [(a.number, a.outcome) for a in stuck.delivery_attempts.all()] == [(1, "worker_lost")]
    assert (last_try.status, last_try.failure_reason) == ("failed", "worker_lost")


def test_sweeps_work_in_bounded_batches(row, empty_queues, settings):
    settings.NOTIFY_SWEEP_BATCH = 2
    for _ in range(5):
        row(next_attempt_at=ago(120), last_enqueued_at=ago(120))
    assert services.sweep_missed() == 5  # three batches of at most two


@pytest.mark.django_db(transaction=True)
def test_overlapping_sweeps_skip_rows_another_sweep_holds(row, empty_queues):
    held = row(next_attempt_at=ago(120), last_enqueued_at=ago(120))
    free = row(next_attempt_at=ago(120), last_enqueued_at=ago(120))
    locked = threading.Event()
    release = threading.Event()

    def other_sweep() -> None:
        try:
            with transaction.atomic():
                list(Notification.objects.select_for_update().filter(id=held.id))
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_sweep)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        assert services.sweep_missed() == 1
    finally:
        release.set()
        thread.join()
    free.refresh_from_db()
    held.refresh_from_db()
    assert free.last_enqueued_at > ago(5)
    assert held.last_enqueued_at < ago(60)
