"""notification_stats: the state of delivery at a glance, for the runbook."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.commands.conftest import run


def test_stats_show_lag_leases_and_dead_letters(make_notification):
    make_notification(status="scheduled", next_attempt_at=timezone.now() - timedelta(minutes=2))
    make_notification(status="sending", lease_expires_at=timezone.now() - timedelta(seconds=5))
    make_notification(status="failed", failure_reason="exhausted")
    make_notification(status="failed", failure_reason="exhausted")
    out = run("notification_stats")
    assert "due now: 1" in out
    assert "expired leases: 1" in out
    assert "exhausted: 2" in out
