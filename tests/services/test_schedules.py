"""Schedules with fixed clocks: occurrences on the wall clock of the timezone across DST, ``until``,
the catch-up rule, and the row lock and idempotency key that make each occurrence once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from notifications import conf, services
from notifications.models import Notification, Schedule
from notifications.services.schedules import next_occurrence, occurrence_key
from tests import factories

BODY = {"channel": "console", "recipient": "ops-log", "body": "standup"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def occurrences(cron: str, tz: str, after: datetime, count: int) -> list[str]:
    """The next ``count`` occurrences, as UTC ISO strings."""
    found = []
    for _ in range(count):
        after = next_occurrence(cron=cron, tz=tz, after=after)
        found.append(after.strftime("%Y-%m-%dT%H:%MZ"))
    return found


@pytest.fixture
def owner(db):
    return factories.user("client-a")


def schedule(owner, *, now: datetime, cron: str = "0 9 * * *", tz: str = "UTC", **extra) -> Schedule:
    return services.schedule_create(
        owner=owner, data={"cron": cron, "timezone": tz, "notification": BODY, **extra}, now=now
    )


# DST. Paris: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
# New York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.


def test_a_0230_job_in_paris_runs_at_0300_on_the_spring_forward_day():
    assert occurrences("30 2 * * *", "Europe/Paris", utc(2026, 3, 28, 12), 2) == [
        "2026-03-29T01:00Z",  # 03:00 CEST: 02:30 does not exist, the first minute after the gap
        "2026-03-30T00:30Z",  # 02:30 CEST
    ]


def test_a_0230_job_in_paris_runs_once_on_the_fall_back_day_at_the_first_0230():
    assert occurrences("30 2 * * *", "Europe/Paris", utc(2026, 10, 24, 12), 3) == [
        "2026-10-25T00:30Z",  # 02:30 CEST, the first of the two 02:30s; not again at 02:30 CET
        "2026-10-26T01:30Z",  # 02:30 CET
        "2026-10-27T01:30Z",
    ]


def test_a_0230_job_in_new_york_across_both_changes():
    assert occurrences("30 2 * * *", "America/New_York", utc(2026, 3, 7, 12), 2) == [
        "2026-03-08T07:00Z",  # 03:00 EDT
        "2026-03-09T06:30Z",
    ]
    # 02:30 happens once on the fall-back day in New York (01:xx is the repeated hour).
    assert occurrences("30 2 * * *", "America/New_York", utc(2026, 10, 31, 12), 2) == [
        "2026-11-01T07:30Z",
        "2026-11-02T07:30Z",
    ]


def test_an_hourly_job_runs_every_real_hour_across_the_changes():
    # Spring forward in New York: 01:00 EST, then 03:00 EDT (no 02:00), one hour apart.
    assert occurrences("0 * * * *", "America/New_York", utc(2026, 3, 8, 5), 3) == [
        "2026-03-08T06:00Z",
        "2026-03-08T07:00Z",
        "2026-03-08T08:00Z",
    ]
    # Fall back: 01:00 EDT and 01:00 EST both run; one each real hour.
    assert occurrences("0 * * * *", "America/New_York", utc(2026, 11, 1, 4), 4) == [
        "2026-11-01T05:00Z",
        "2026-11-01T06:00Z",
        "2026-11-01T07:00Z",
        "2026-11-01T08:00Z",
    ]
    assert occurrences("0 * * * *", "Europe/Paris", utc(2026, 3, 29, 0), 2) == [
        "2026-03-29T01:00Z",
        "2026-03-29T02:00Z",
    ]
    assert occurrences("0 * * * *", "Europe/Paris", utc(2026, 10, 25, 0), 3) == [
        "2026-10-25T01:00Z",  # 02:00 CET, after 02:00 CEST at 00:00Z
        "2026-10-25T02:00Z",
        "2026-10-25T03:00Z",
    ]


def test_the_pass_on_the_spring_forward_day_makes_the_0300_occurrence_once(owner):
    made = schedule(owner, now=utc(2026, 3, 28, 12), cron="30 2 * * *", tz="Europe/Paris")
    assert made.next_run_at == utc(2026, 3, 29, 1)
    result = services.schedules_run_due(now=utc(2026, 3, 29, 1, 0, 5))
    assert (result.schedules, result.created, result.skipped) == (1, 1, 0)
    note = Notification.objects.get(schedule=made)
    assert note.idempotency_key == f"schedule:{made.id}:2026-03-29T01:00:00Z"
    assert note.body == "standup"
    made.refresh_from_db()
    assert (made.next_run_at, made.last_run_at, made.occurrences) == (utc(2026, 3, 30, 0, 30), utc(2026, 3, 29, 1), 1)
    assert services.schedules_run_due(now=utc(2026, 3, 29, 1, 30)).schedules == 0


def test_the_pass_on_the_fall_back_day_makes_one(owner):
    made = schedule(owner, now=utc(2026, 10, 24, 12), cron="30 2 * * *", tz="Europe/Paris")
    services.schedules_run_due(now=utc(2026, 10, 25, 0, 31))
    services.schedules_run_due(now=utc(2026, 10, 25, 1, 31))  # 02:30 CET: not a second time
    assert Notification.objects.filter(schedule=made).count() == 1


def test_until_ends_the_schedule(owner):
    made = schedule(owner, now=utc(2026, 1, 1), until=utc(2026, 1, 2, 12))
    assert made.next_run_at == utc(2026, 1, 1, 9)
    services.schedules_run_due(now=utc(2026, 1, 1, 9))
    made.refresh_from_db()
    assert made.next_run_at == utc(2026, 1, 2, 9)
    services.schedules_run_due(now=utc(2026, 1, 2, 9))
    made.refresh_from_db()
    assert (made.next_run_at, made.occurrences) == (None, 2)  # the next, Jan 3, is past until
    assert services.schedules_run_due(now=utc(2026, 1, 9)).schedules == 0


def test_a_missed_occurrence_within_the_catch_up_is_made_once(owner):
    made = schedule(owner, now=utc(2026, 1, 1), cron="0 * * * *")
    late = utc(2026, 1, 1, 1) + conf.schedule_catchup()  # exactly as old as NOTIFY_SCHEDULE_CATCHUP
    result = services.schedules_run_due(now=late)
    # 01:00 is exactly NOTIFY_SCHEDULE_CATCHUP old, 02:00 younger: both made, none skipped.
    assert (result.created, result.skipped) == (2, 0)
    made.refresh_from_db()
    assert (made.next_run_at, made.last_run_at) == (utc(2026, 1, 1, 3), utc(2026, 1, 1, 2))


def test_occurrences_older_than_the_catch_up_are_skipped_and_counted(owner, settings):
    settings.NOTIFY_SCHEDULE_CATCHUP = 3600
    made = schedule(owner, now=utc(2026, 1, 1), cron="0 * * * *")
    result = services.schedules_run_due(now=utc(2026, 1, 1, 5, 30))  # beat down since before 01:00
    # 01:00 to 04:00 are older than an hour: skipped; 05:00 is 30 minutes old: made.
    assert (result.created, result.skipped) == (1, 4)
    made.refresh_from_db()
    assert (made.occurrences, made.skipped, made.next_run_at) == (1, 4, utc(2026, 1, 1, 6))
    assert list(Notification.objects.filter(schedule=made).values_list("idempotency_key", flat=True)) == [
        f"schedule:{made.id}:2026-01-01T05:00:00Z"
    ]


def test_a_long_outage_is_counted_over_several_passes_not_one_long_lock(owner):
    made = schedule(owner, now=utc(2026, 1, 1), cron="* * * * *")
    now = utc(2026, 1, 2)  # 1,440 minutes missed
    first = services.schedules_run_due(now=now)
    assert first.skipped == services.schedules.STEPS_PER_PASS
    second = services.schedules_run_due(now=now)
    made.refresh_from_db()
    assert first.skipped + second.skipped + second.created == 1440
    assert made.next_run_at == utc(2026, 1, 2, 0, 1)


def test_a_disabled_schedule_is_not_run_and_resumes_from_now(owner):
    made = schedule(owner, now=utc(2026, 1, 1), cron="0 * * * *")
    services.schedule_update(schedule=made, changes={"enabled": False}, now=utc(2026, 1, 1))
    assert services.schedules_run_due(now=utc(2026, 1, 1, 5)).schedules == 0
    resumed = services.schedule_update(schedule=made, changes={"enabled": True}, now=utc(2026, 1, 1, 5, 10))
    assert resumed.next_run_at == utc(2026, 1, 1, 6)  # what was missed while paused is not made
    assert resumed.skipped == 0


def test_a_body_that_no_longer_makes_a_notification_is_skipped_without_stopping_the_pass(owner):
    broken = schedule(owner, now=utc(2026, 1, 1))
    Schedule.objects.filter(pk=broken.pk).update(
        notification={"channel": "console", "recipient": "x", "template": "gone"}
    )
    fine = schedule(owner, now=utc(2026, 1, 1))
    result = services.schedules_run_due(now=utc(2026, 1, 1, 9))
    assert (result.created, result.skipped) == (1, 1)
    assert Notification.objects.filter(schedule=fine).count() == 1


def test_a_killed_pass_makes_nothing_and_the_next_makes_each_once(owner):
    made = schedule(owner, now=utc(2026, 1, 1), cron="0 * * * *")

    class Killed(Exception):
        pass

    with pytest.raises(Killed), transaction.atomic():
        services.schedules_run_due(now=utc(2026, 1, 1, 2))
        assert Notification.objects.filter(schedule=made).count() == 2
        raise Killed  # the worker dies before the commit: the notifications and the advance go
    assert Notification.objects.filter(schedule=made).count() == 0
    services.schedules_run_due(now=utc(2026, 1, 1, 2))
    services.schedules_run_due(now=utc(2026, 1, 1, 2))
    assert Notification.objects.filter(schedule=made).count() == 2


def test_the_idempotency_key_is_the_last_net(owner):
    made = schedule(owner, now=utc(2026, 1, 1))
    services.schedules_run_due(now=utc(2026, 1, 1, 9))
    Schedule.objects.filter(pk=made.pk).update(next_run_at=utc(2026, 1, 1, 9))  # as if the advance were lost
    services.schedules_run_due(now=utc(2026, 1, 1, 9))
    assert Notification.objects.filter(schedule=made).count() == 1
    assert occurrence_key(schedule=made, occurrence=utc(2026, 1, 1, 9)).endswith(":2026-01-01T09:00:00Z")


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_make_every_occurrence_exactly_once():
    owner = factories.user("client-a")
    start = utc(2026, 1, 1)
    made = [schedule(owner, now=start, cron="*/10 * * * *") for _ in range(300)]
    now = start + timedelta(minutes=35)  # 00:10, 00:20, 00:30 for each
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run_pass() -> None:
        try:
            barrier.wait()
            while services.schedules_run_due(now=now, limit=50).schedules:
                pass
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert Notification.objects.filter(schedule__isnull=False).count() == 900
    assert Notification.objects.values("idempotency_key").distinct().count() == 900
    assert set(Schedule.objects.values_list("occurrences", flat=True)) == {3}
    assert {s.pk for s in made} == set(
        Schedule.objects.filter(next_run_at=utc(2026, 1, 1, 0, 40)).values_list("pk", flat=True)
    )


def test_a_key_taken_between_the_read_and_the_copy_falls_back_to_one_by_one_replays(owner, monkeypatch):
    from notifications.services import schedules as module

    made = [schedule(owner, now=utc(2026, 1, 1)) for _ in range(3)]
    built = module._built

    def racing_built(sched, occurrence):
        if sched.pk == made[0].pk:  # as if something outside the row lock made it just now
            module._make(sched, occurrence)
        return built(sched, occurrence)

    monkeypatch.setattr(module, "_built", racing_built)
    result = services.schedules_run_due(now=utc(2026, 1, 1, 9))
    assert (result.created, result.skipped) == (3, 0)
    assert Notification.objects.filter(schedule__isnull=False).count() == 3
    assert Notification.objects.values("idempotency_key").distinct().count() == 3
