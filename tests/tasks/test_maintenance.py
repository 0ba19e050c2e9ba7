"""The maintenance tasks: purge_old, and beat's schedule that runs it and the sweeps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notifications import tasks
from notifications.models import Notification


def test_purge_task_follows_the_retention_setting(make_notification, settings):
    make_notification(status="sent", age=timedelta(days=10))
    settings.NOTIFY_RETENTION_DAYS = 0
    assert tasks.purge_old() == 0
    settings.NOTIFY_RETENTION_DAYS = 7
    assert tasks.purge_old() == 1
    assert Notification.objects.count() == 0


def test_purge_runs_in_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["notifications.purge_old"]
    assert entry["task"] == "notifications.purge_old"
    assert entry["options"]["queue"] == "notify.maintenance"


@pytest.mark.django_db(transaction=True)
def test_beat_schedule_becomes_periodic_task_rows():
    from celery import current_app
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    DatabaseScheduler(app=current_app)
    tasks = {t.name: t for t in PeriodicTask.objects.all()}
    assert {"notifications.sweep_missed", "notifications.sweep_stuck"} <= set(tasks)
    assert tasks["notifications.sweep_missed"].interval.every == 30
    assert tasks["notifications.sweep_missed"].queue == "notify.maintenance"
