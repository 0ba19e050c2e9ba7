"""The README's "Recurring notifications" curl lines, run as written against the API."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from notifications import services
from notifications.models import Schedule
from tests.api.test_readme_examples import curls, run, section


def test_recurring_notifications_work_as_written(alice):
    commands = curls("Recurring notifications")
    assert [c.method for c in commands] == ["POST", "GET", "PATCH", "GET", "DELETE"]
    variables: dict[str, str] = {}

    created, got = (run(alice, command, variables) for command in commands[:2])
    assert created.status_code == 201, created.json()
    next_run = Schedule.objects.get(pk=variables["SCHEDULE"]).next_run_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (next_run.hour, next_run.minute, next_run.weekday() < 5) == (9, 0, True)  # as the prose says
    assert got.json()["next_run_at"] == created.json()["next_run_at"]
    # As if a weekday's 09:00 had passed: the beat task's pass makes it.
    Schedule.objects.filter(pk=variables["SCHEDULE"]).update(next_run_at=timezone.now() - timedelta(seconds=1))
    services.schedules_run_due()

    paused, listed, deleted = (run(alice, command, variables) for command in commands[2:])
    assert paused.json()["enabled"] is False
    assert [row["idempotency_key"].split(":")[1] for row in listed.json()["results"]] == [variables["SCHEDULE"]]
    assert deleted.status_code == 204


def test_the_readme_states_the_dst_and_catch_up_rules_that_the_services_tests_check():
    text = " ".join(section("Recurring notifications").split())
    assert "at 03:00 CEST (01:00 UTC)" in text  # tests/services/test_schedules.py, spring forward
    assert "at the first, 02:30 CEST (00:30 UTC)" in text  # and fall back
    assert "NOTIFY_SCHEDULE_CATCHUP" in text and "skipped and counted" in text
