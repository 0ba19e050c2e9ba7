"""A schedule on the real stack: beat's periodic pass, run by a real worker, makes the due
occurrence's notification once, and the worker sends it."""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification, Schedule
from testkit.processes import Proc, wait_until
from tests.conftest import database_url

pytestmark = pytest.mark.worker


@pytest.fixture
def start_beat(transactional_db, tmp_path):
    import os

    procs: list[Proc] = []

    def start() -> Proc:
        argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"]
        argv += ["--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]
        beat = Proc("beat", argv, {**os.environ, "DATABASE_URL": database_url()}, tmp_path / "beat.log")
        procs.append(beat)
        beat.wait_for_log("beat: Starting...")
        return beat

    yield start
    for proc in procs:
        proc.stop()


def test_beat_makes_a_due_occurrence_once_and_the_worker_sends_it(alice, start_worker, start_beat):
    body = {"cron": "* * * * *", "notification": {"channel": "console", "recipient": "ops-log", "body": "tick"}}
    created = alice.post("/api/v1/schedules/", body, format="json")
    assert created.status_code == 201, created.json()
    # The occurrence due now, rather than at the next minute: its time is the one the pass reads.
    due = (timezone.now() - timedelta(seconds=1)).replace(microsecond=0)
    Schedule.objects.filter(id=created.json()["id"]).update(next_run_at=due)
    start_worker()
    start_beat()

    def sent() -> Notification | None:
        return Notification.objects.filter(schedule_id=created.json()["id"], status="sent").first()

    notification = wait_until(sent, timeout=60, describe=lambda: "no occurrence sent")
    key = f"schedule:{created.json()['id']}:{due.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    assert notification.idempotency_key == key
    schedule = Schedule.objects.get(id=created.json()["id"])
    assert schedule.next_run_at > due and schedule.occurrences >= 1
    # Passes every 5 s went on meanwhile: still one notification for that occurrence.
    assert Notification.objects.filter(idempotency_key=key).count() == 1
