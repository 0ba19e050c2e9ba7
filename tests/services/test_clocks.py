"""Leases run by the database's clock: a host whose own clock is wrong cannot shorten one,
nor take over a send in flight."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.db import connection
from django.utils import timezone

from notifications import services
from notifications.models import Notification


def database_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


def test_a_sweep_on_a_host_whose_clock_runs_ahead_leaves_a_send_in_flight_alone(make_notification):
    row = make_notification()
    services.notification_claim(notification_id=row.id, dispatch_token=row.dispatch_token)
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=True):
        assert services.sweep_stuck() == 0
    assert Notification.objects.get(id=row.id).status == "sending"


def test_a_claim_on_a_host_whose_clock_runs_behind_gets_a_full_lease(make_notification, settings):
    settings.NOTIFY_LEASE_SECONDS = 60
    row = make_notification(send_at=timezone.now() - timedelta(hours=1))
    with time_machine.travel(timezone.now() - timedelta(minutes=10), tick=True):
        claimed = services.notification_claim(notification_id=row.id, dispatch_token=row.dispatch_token)
    lease_left = claimed.lease_expires_at - database_now()
    assert timedelta(seconds=55) < lease_left <= timedelta(seconds=60)
    assert services.sweep_stuck() == 0
