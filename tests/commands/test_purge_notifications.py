"""purge_notifications: retention deletes old finished rows, never live ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError
from django.utils import timezone

from notifications.models import DeliveryAttempt, Notification
from tests.commands.conftest import run


def test_purge_deletes_old_terminal_rows_with_their_attempts_in_batches(make_notification):
    now = timezone.now()
    old = [
        make_notification(status=status, age=timedelta(days=40))
        for status in ("sent", "failed", "cancelled", "sent", "sent")
    ]
    for row in old:
        DeliveryAttempt.objects.create(notification=row, number=1, started_at=now, finished_at=now, outcome="sent")
    recent = make_notification(status="sent", age=timedelta(days=1))
    old_but_live = [
        make_notification(status=status, age=timedelta(days=40)) for status in ("scheduled", "retrying", "sending")
    ]
    assert "5 notification(s) would delete" in run("purge_notifications", "--older-than", "30", "--dry-run")
    assert Notification.objects.count() == 9
    out = run("purge_notifications", "--older-than", "30", "--batch-size", "2")
    assert "5 notification(s) deleted" in out
    assert set(Notification.objects.values_list("id", flat=True)) == {recent.id, *(r.id for r in old_but_live)}
    assert DeliveryAttempt.objects.count() == 0


def test_purge_older_than_accepts_units_and_refuses_nonsense(make_notification):
    make_notification(status="sent", age=timedelta(hours=3))
    assert "1 notification(s) would delete" in run("purge_notifications", "--older-than", "2h", "--dry-run")
    with pytest.raises(CommandError):
        run("purge_notifications", "--older-than", "soon")
