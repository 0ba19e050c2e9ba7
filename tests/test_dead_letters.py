"""Dead letters and retention: the failed list, requeue_failed, purge_notifications, the purge task."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications import tasks
from notifications.models import DeliveryAttempt, Notification

URL = "/api/v1/notifications/"


@pytest.fixture
def make(alice):
    def make(*, status="failed", age=timedelta(0), **fields) -> Notification:
        now = timezone.now()
        row = Notification.objects.create(
            owner=alice.user,
            channel=fields.pop("channel", "webhook"),
            recipient=fields.pop("recipient", "https://example.com/hook"),
            send_at=now - age,
            max_attempts=3,
            status=status,
            **fields,
        )
        # updated_at is auto_now: set the age with a plain UPDATE.
        Notification.objects.filter(id=row.id).update(updated_at=now - age)
        row.refresh_from_db()
        return row

    return make


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_failed_is_listed_with_its_reason_and_error(alice, make):
    make(failure_reason="exhausted", last_error="HTTP 503: busy", attempts=3)
    make(status="sent")
    body = alice.get(URL, {"status": "failed"}).json()
    [row] = body["results"]
    assert (row["status"], row["failure_reason"], row["last_error"]) == ("failed", "exhausted", "HTTP 503: busy")


def test_requeue_by_id(make, django_capture_on_commit_callbacks):
    chosen, other = make(attempts=3), make(attempts=3)
    with django_capture_on_commit_callbacks() as published:
        out = run("requeue_failed", str(chosen.id))
    assert "1 notification(s) requeued" in out
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert (chosen.status, chosen.attempts) == ("scheduled", 0)
    assert chosen.next_attempt_at <= timezone.now()
    assert other.status == "failed"
    assert len(published) == 1


def test_requeue_by_channel_reason_and_age(make):
    recent_hook = make(failure_reason="exhausted", age=timedelta(hours=1))
    old_hook = make(failure_reason="exhausted", age=timedelta(days=2))
    permanent_hook = make(failure_reason="permanent", age=timedelta(hours=1))
    recent_email = make(channel="email", recipient="a@example.com", failure_reason="exhausted", age=timedelta(hours=1))
    out = run("requeue_failed", "--channel", "webhook", "--reason", "exhausted", "--newer-than", "6h")
    assert "1 notification(s) requeued" in out
    assert str(recent_hook.id) in out
    statuses = {n.id: n.status for n in Notification.objects.all()}
    assert statuses[recent_hook.id] == "scheduled"
    assert statuses[old_hook.id] == statuses[permanent_hook.id] == statuses[recent_email.id] == "failed"
    out = run("requeue_failed", "--older-than", "1d")
    assert str(old_hook.id) in out
    assert Notification.objects.get(id=old_hook.id).status == "scheduled"


def test_requeue_dry_run_changes_nothing(make):
    row = make()
    out = run("requeue_failed", "--all", "--dry-run")
    assert f"would requeue {row.id}" in out
    row.refresh_from_db()
    assert row.status == "failed"


def test_requeue_needs_a_selection(make):
    make()
    with pytest.raises(CommandError, match="--all"):
        run("requeue_failed")
    assert Notification.objects.get().status == "failed"


def test_requeue_skips_rows_that_are_not_failed(make):
    sent = make(status="sent")
    out = run("requeue_failed", str(sent.id))
    assert "0 notification(s) requeued" in out
    assert Notification.objects.get(id=sent.id).status == "sent"


def test_purge_deletes_old_terminal_rows_with_their_attempts_in_batches(make):
    now = timezone.now()
    old = [make(status=status, age=timedelta(days=40)) for status in ("sent", "failed", "cancelled", "sent", "sent")]
    for row in old:
        DeliveryAttempt.objects.create(notification=row, number=1, started_at=now, finished_at=now, outcome="sent")
    recent = make(status="sent", age=timedelta(days=1))
    old_but_live = [make(status=status, age=timedelta(days=40)) for status in ("scheduled", "retrying", "sending")]
    assert "5 notification(s) would delete" in run("purge_notifications", "--older-than", "30", "--dry-run")
    assert Notification.objects.count() == 9
    out = run("purge_notifications", "--older-than", "30", "--batch-size", "2")
    assert "5 notification(s) deleted" in out
    assert set(Notification.objects.values_list("id", flat=True)) == {recent.id, *(r.id for r in old_but_live)}
    assert DeliveryAttempt.objects.count() == 0


def test_purge_older_than_accepts_units_and_refuses_nonsense(make):
    make(status="sent", age=timedelta(hours=3))
    assert "1 notification(s) would delete" in run("purge_notifications", "--older-than", "2h", "--dry-run")
    with pytest.raises(CommandError):
        run("purge_notifications", "--older-than", "soon")


def test_purge_task_follows_the_retention_setting(make, settings):
    make(status="sent", age=timedelta(days=10))
    settings.NOTIFY_RETENTION_DAYS = 0
    assert tasks.purge_old() == 0
    settings.NOTIFY_RETENTION_DAYS = 7
    assert tasks.purge_old() == 1
    assert Notification.objects.count() == 0


def test_purge_runs_in_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["notifications.purge_old"]
    assert entry["task"] == "notifications.purge_old"
    assert entry["options"]["queue"] == "notify.maintenance"


def test_stats_show_lag_leases_and_dead_letters(make):
    make(status="scheduled", next_attempt_at=timezone.now() - timedelta(minutes=2))
    make(status="sending", lease_expires_at=timezone.now() - timedelta(seconds=5))
    make(failure_reason="exhausted")
    make(failure_reason="exhausted")
    out = run("notification_stats")
    assert "due now: 1" in out
    assert "expired leases: 1" in out
    assert "exhausted: 2" in out
