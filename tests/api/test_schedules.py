"""``/api/v1/schedules/``: every endpoint and status code, what is refused (and not stored), another
client's id, and the notification list's ``?schedule=`` filter."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from notifications import services
from notifications.api import schedules as schedule_views
from notifications.models import Notification, Schedule

URL = "/api/v1/schedules/"
BODY = {"channel": "console", "recipient": "ops-log", "body": "standup"}


def schedule(**extra):
    return {"cron": "0 9 * * 1-5", "timezone": "Europe/Paris", "notification": BODY, "until": None, **extra}


@pytest.fixture
def created(alice):
    return alice.post(URL, schedule(), format="json").json()


def test_create_answers_201_with_the_next_run(alice):
    response = alice.post(URL, schedule(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {
        "id", "cron", "timezone", "enabled", "next_run_at", "notification", "until", "created_at",
        "last_run_at", "occurrences", "skipped",
    }  # fmt: skip
    assert (body["cron"], body["timezone"], body["enabled"], body["until"]) == (
        "0 9 * * 1-5",
        "Europe/Paris",
        True,
        None,
    )
    assert body["notification"]["body"] == "standup"
    assert (body["occurrences"], body["skipped"], body["last_run_at"]) == (0, 0, None)
    stored = Schedule.objects.get(pk=body["id"])
    assert stored.next_run_at > timezone.now()
    local = stored.next_run_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute, local.weekday() < 5) == (9, 0, True)


def test_timezone_defaults_to_utc(alice):
    response = alice.post(URL, {"cron": "*/5 * * * *", "notification": BODY}, format="json")
    assert response.status_code == 201 and response.json()["timezone"] == "UTC"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "every day"}, "cron"),
        ({"cron": "0 0 30 2 *"}, "cron"),  # never fires
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"until": "2001-01-01T00:00:00Z"}, "until"),
        ({"until": "2099-01-01T00:00:00"}, "until"),  # naive
        ({"notification": None}, "notification"),
    ],
)
def test_bad_fields_are_400_and_nothing_is_stored(alice, change, field):
    response = alice.post(URL, schedule(**change), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Schedule.objects.exists()


def test_a_body_the_create_serializer_refuses_is_400_nested_under_notification(alice):
    response = alice.post(URL, schedule(notification={"channel": "console", "body": "no recipient"}), format="json")
    assert response.status_code == 400
    assert "recipient" in response.json()["notification"]
    response = alice.post(URL, schedule(notification={**BODY, "channel": "pigeon"}), format="json")
    assert response.status_code == 400 and "channel" in response.json()["notification"]
    assert not Schedule.objects.exists()


def test_send_at_and_idempotency_key_are_refused_by_name(alice):
    notification = {**BODY, "send_at": "2030-01-01T00:00:00Z", "idempotency_key": "k"}
    response = alice.post(URL, schedule(notification=notification), format="json")
    assert response.status_code == 400
    assert set(response.json()["notification"]) == {"send_at", "idempotency_key"}
    assert not Schedule.objects.exists()


def test_a_digest_in_the_body_is_refused_by_name(alice):
    alice.put("/api/v1/templates/t/", {"body": "{{ items|length }}"}, format="json")
    notification = {**BODY, "template": "t", "digest": {"key": "k", "window": 60}}
    notification.pop("body", None)
    response = alice.post(URL, schedule(notification=notification), format="json")
    assert response.status_code == 400
    assert "digest" in response.json()["notification"]
    assert not Schedule.objects.exists()


def test_a_body_that_is_not_json_is_415(alice):
    assert alice.post(URL, "cron=x", content_type="text/plain").status_code == 415


def test_get_and_list_newest_first_per_client(alice, bob, created):
    second = alice.post(URL, schedule(cron="0 18 * * *"), format="json").json()
    bob.post(URL, schedule(), format="json")
    assert alice.get(f"{URL}{created['id']}/").json()["id"] == created["id"]
    page = alice.get(URL).json()
    assert [row["id"] for row in page["results"]] == [second["id"], created["id"]]
    assert alice.get(URL, {"page_size": 1}).json()["next"]


def test_another_clients_id_is_404(bob, created):
    path = f"{URL}{created['id']}/"
    assert bob.get(path).status_code == 404
    assert bob.patch(path, {"enabled": False}, format="json").status_code == 404
    assert bob.delete(path).status_code == 404
    assert Schedule.objects.get(pk=created["id"]).enabled


def test_patch_pauses_resumes_and_changes_with_the_next_run_from_now(alice, created):
    path = f"{URL}{created['id']}/"
    paused = alice.patch(path, {"enabled": False}, format="json")
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    changed = alice.patch(path, {"enabled": True, "cron": "*/15 * * * *", "timezone": "UTC"}, format="json").json()
    assert (changed["enabled"], changed["cron"], changed["timezone"]) == (True, "*/15 * * * *", "UTC")
    next_run = Schedule.objects.get(pk=created["id"]).next_run_at
    assert timezone.now() < next_run <= timezone.now() + timedelta(minutes=15)
    assert next_run.minute % 15 == 0


def test_patch_until_before_the_next_run_ends_it(alice, created):
    until = (timezone.now() + timedelta(seconds=30)).isoformat()
    ended = alice.patch(f"{URL}{created['id']}/", {"cron": "0 0 1 1 *", "until": until}, format="json").json()
    assert ended["next_run_at"] is None


@pytest.mark.parametrize(
    "change", [{}, {"cron": "nope"}, {"timezone": "Nowhere/City"}, {"until": "2001-01-01T00:00:00Z"}, {"enabled": "x"}]
)
def test_patch_refuses_bad_changes(alice, created, change):
    response = alice.patch(f"{URL}{created['id']}/", change, format="json")
    assert response.status_code == 400
    stored = Schedule.objects.get(pk=created["id"])
    assert (stored.cron, stored.timezone, stored.until) == ("0 9 * * 1-5", "Europe/Paris", None)


def test_delete_is_204_and_keeps_the_notifications(alice, created):
    Schedule.objects.filter(pk=created["id"]).update(next_run_at=timezone.now() - timedelta(seconds=1))
    services.schedules_run_due()
    assert alice.delete(f"{URL}{created['id']}/").status_code == 204
    assert alice.get(f"{URL}{created['id']}/").status_code == 404
    assert Notification.objects.filter(schedule__isnull=True, body="standup").count() == 1


def test_the_notification_list_filters_by_schedule(alice, bob, created):
    Schedule.objects.filter(pk=created["id"]).update(next_run_at=timezone.now() - timedelta(seconds=1))
    services.schedules_run_due()
    alice.post("/api/v1/notifications/", BODY, format="json")
    listed = alice.get("/api/v1/notifications/", {"schedule": created["id"]}).json()["results"]
    assert len(listed) == 1
    assert listed[0]["idempotency_key"].startswith(f"schedule:{created['id']}:")
    assert bob.get("/api/v1/notifications/", {"schedule": created["id"]}).json()["results"] == []
    response = alice.get("/api/v1/notifications/", {"schedule": "not-a-uuid"})
    assert response.status_code == 400 and "schedule" in response.json()


def test_the_documented_example_works_as_sent(alice):
    for example in schedule_views.CREATE_EXAMPLES:
        response = alice.post(URL, example.value, format="json")
        assert response.status_code == 201, (example.value, response.json())
