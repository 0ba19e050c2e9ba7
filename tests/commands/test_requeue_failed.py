"""requeue_failed: dead letters back to scheduled, chosen by id or by channel, reason and age."""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest
from django.core.management import CommandError
from django.utils import timezone

from notifications.models import Notification
from tests.commands.conftest import run


@pytest.fixture
def failed(make_notification):
    """Dead letters: notifications that ended failed."""
    return functools.partial(make_notification, status="failed")


def test_requeue_by_id(failed, django_capture_on_commit_callbacks):
    chosen, other = failed(attempts=3), failed(attempts=3)
    with django_capture_on_commit_callbacks() as published:
        out = run("requeue_failed", str(chosen.id))
    assert "1 notification(s) requeued" in out
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert (chosen.status, chosen.attempts) == ("scheduled", 0)
    assert chosen.next_attempt_at <= timezone.now()
    assert other.status == "failed"
    assert len(published) == 1


def test_requeue_by_channel_reason_and_age(failed):
    recent_hook = failed(failure_reason="exhausted", age=timedelta(hours=1))
    old_hook = failed(failure_reason="exhausted", age=timedelta(days=2))
    permanent_hook = failed(failure_reason="permanent", age=timedelta(hours=1))
    recent_email = failed(
        channel="email", recipient="a@example.com", failure_reason="exhausted", age=timedelta(hours=1)
    )
    out = run("requeue_failed", "--channel", "webhook", "--reason", "exhausted", "--newer-than", "6h")
    assert "1 notification(s) requeued" in out
    assert str(recent_hook.id) in out
    statuses = {n.id: n.status for n in Notification.objects.all()}
    assert statuses[recent_hook.id] == "scheduled"
    assert statuses[old_hook.id] == statuses[permanent_hook.id] == statuses[recent_email.id] == "failed"
    out = run("requeue_failed", "--older-than", "1d")
    assert str(old_hook.id) in out
    assert Notification.objects.get(id=old_hook.id).status == "scheduled"


def test_requeue_dry_run_changes_nothing(failed):
    row = failed()
    out = run("requeue_failed", "--all", "--dry-run")
    assert f"would requeue {row.id}" in out
    row.refresh_from_db()
    assert row.status == "failed"


def test_requeue_needs_a_selection(failed):
    failed()
    with pytest.raises(CommandError, match="--all"):
        run("requeue_failed")
    assert Notification.objects.get().status == "failed"


def test_requeue_skips_rows_that_are_not_failed(make_notification):
    sent = make_notification(status="sent")
    out = run("requeue_failed", str(sent.id))
    assert "0 notification(s) requeued" in out
    assert Notification.objects.get(id=sent.id).status == "sent"
