"""The beat task of schedules: registered on notify.maintenance every 5 s, and a run makes every
due occurrence across batches, each once."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from notifications import services, tasks
from notifications.models import Notification, Schedule
from tests import factories

BODY = {"channel": "console", "recipient": "ops-log", "body": "tick"}


def test_run_schedules_is_in_beat_on_the_maintenance_queue(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["notifications.run_schedules"]
    assert entry["task"] == tasks.run_schedules.name == "notifications.run_schedules"
    assert (entry["schedule"], entry["options"]["queue"]) == (5.0, "notify.maintenance")


def test_a_run_takes_batch_after_batch_until_none_is_due(db):
    owner = factories.user("client-a")
    for _ in range(5):
        services.schedule_create(owner=owner, data={"cron": "0 * * * *", "notification": BODY})
    Schedule.objects.update(next_run_at=timezone.now() - timedelta(minutes=1))
    assert services.schedules_run(batch=2) == 5  # three short transactions: 2, 2, 1
    assert tasks.run_schedules() == 0
    assert Notification.objects.filter(schedule__isnull=False).count() == 5
    assert not Schedule.objects.filter(next_run_at__lte=timezone.now()).exists()
