"""/api/v1/broadcasts/: create (202), idempotency, get, list, cancel, scope, and the
notifications list's ``?broadcast=`` filter."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.api import broadcasts as broadcast_views
from notifications.api import topics as topic_views
from notifications.models import Broadcast, Notification, Recipient

URL = "/api/v1/broadcasts/"


def body(**extra):
    return {"to": ["ada", "grace"], "channels": ["console"], "body": "Maintenance at 22:00.", **extra}


def expand(broadcast_id: str) -> None:
    while services.broadcast_expand(broadcast_id=broadcast_id, budget=timedelta(seconds=30)):
        pass


@pytest.fixture
def people(alice):
    for rid in ("ada", "grace"):
        Recipient.objects.create(owner=alice.user, external_id=rid, email=f"{rid}@example.com")


def test_create_answers_202_at_once_then_the_task_writes_the_rows(alice, people):
    response = alice.post(URL, body(channels=["console", "email"], subject="Tonight"), format="json")
    assert response.status_code == 202, response.content
    created = response.json()
    assert created["status"] == "expanding" and created["notifications"] == 0
    assert {"id", "status", "created_at", "channels", "topic", "finished_at"} <= set(created)
    expand(created["id"])
    done = alice.get(f"{URL}{created['id']}/").json()
    assert (done["status"], done["notifications"], done["skipped"]) == ("done", 4, 0)
    assert done["finished_at"] is not None and done["channels"] == ["console", "email"]


def test_to_a_topic(alice, people):
    alice.put("/api/v1/topics/staff/", {"recipients": ["ada", "grace", "nobody"]}, format="json")
    created = alice.post(URL, {"topic": "staff", "channels": ["email"], "body": "hi"}, format="json").json()
    assert created["topic"] == "staff"
    expand(created["id"])
    done = alice.get(f"{URL}{created['id']}/").json()
    assert (done["notifications"], done["skipped"]) == (2, 1)


def test_a_templated_broadcast_needs_the_template_to_exist(alice, people):
    response = alice.post(URL, {"to": ["ada"], "channels": ["console"], "template": "nope"}, format="json")
    assert response.status_code == 400 and "template" in response.json()
    alice.put("/api/v1/templates/hi/", {"body": "Hi {{ recipient.id }} {{ x }}"}, format="json")
    created = alice.post(
        URL, {"to": ["ada"], "channels": ["console"], "template": "hi", "data": {"x": 1}}, format="json"
    )
    assert created.status_code == 202, created.content
    expand(created.json()["id"])
    assert Notification.objects.get(broadcast_id=created.json()["id"]).body == "Hi ada 1"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"to": None}, "to"),
        ({"topic": "staff"}, "to"),  # both
        ({"to": []}, "to"),
        ({"to": [f"id-{n}" for n in range(10_001)]}, "to"),
        ({"to": ["x" * 256]}, "to"),
        ({"channels": []}, "channels"),
        ({"channels": ["pigeon"]}, "channels"),
        ({"channels": ["sms"]}, "channels"),  # known, but its provider is not configured
        ({"channels": "console"}, "channels"),
        ({"subject": "two\nlines"}, "subject"),
        ({"template": "hi"}, "body"),  # template with body
        ({"data": {"a": 1}}, "data"),  # data without a template
        ({"send_at": "2030-01-01T09:00:00"}, "send_at"),  # no offset
        ({"priority": "urgent"}, "priority"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"category": "not a slug"}, "category"),
        ({"locale": "???"}, "locale"),
        ({"payload": []}, "payload"),
    ],
)
def test_bad_requests_are_400_naming_the_field(alice, settings, extra, field):
    settings.TWILIO_ACCOUNT_SID = ""
    request = {key: value for key, value in body(**extra).items() if value is not None}
    response = alice.post(URL, request, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Broadcast.objects.exists()


def test_an_unknown_topic_is_400(alice, bob):
    bob.put("/api/v1/topics/staff/", {"recipients": ["a"]}, format="json")
    response = alice.post(URL, {"topic": "staff", "channels": ["console"], "body": "x"}, format="json")
    assert response.status_code == 400 and "topic" in response.json()


def test_content_too_long_for_a_channel_is_400_naming_it(alice, settings):
    settings.NOTIFY_MAX_CONTENT_BYTES = 10
    response = alice.post(URL, body(body="x" * 11), format="json")
    assert response.status_code == 400 and "body" in response.json()


def test_idempotency_key_replays_200_and_refuses_another_request_422(alice):
    first = alice.post(URL, body(idempotency_key="k1"), format="json")
    again = alice.post(URL, body(idempotency_key="k1"), format="json")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    other = alice.post(URL, body(idempotency_key="k1", body="else"), format="json")
    assert other.status_code == 422
    header = alice.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (header.status_code, header.json()["id"]) == (200, first.json()["id"])
    assert Broadcast.objects.count() == 1


def test_get_list_and_cross_client_404(alice, bob):
    first = alice.post(URL, body(), format="json").json()
    second = alice.post(URL, body(), format="json").json()
    page = alice.get(URL, {"page_size": 1}).json()
    assert [item["id"] for item in page["results"]] == [second["id"]]
    assert [item["id"] for item in alice.get(page["next"]).json()["results"]] == [first["id"]]
    assert bob.get(f"{URL}{first['id']}/").status_code == 404
    assert bob.post(f"{URL}{first['id']}/cancel/").status_code == 404
    assert bob.get(URL).json()["results"] == []
    assert alice.get(f"{URL}{uuid.uuid4()}/").status_code == 404
    assert alice.get(f"{URL}not-a-uuid/").status_code == 404


def test_cancel_answers_200_with_the_broadcast_and_cancels_what_waits(alice, people):
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    created = alice.post(URL, body(send_at=later), format="json").json()
    expand(created["id"])
    response = alice.post(f"{URL}{created['id']}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["id"] == created["id"]
    rows = Notification.objects.filter(broadcast_id=created["id"])
    assert set(rows.values_list("status", flat=True)) == {"cancelled"}
    assert alice.post(f"{URL}{created['id']}/cancel/").status_code == 200  # again: nothing left, same answer


def test_a_body_that_is_not_json_is_415(alice):
    assert alice.post(URL, "to=ada", content_type="text/plain").status_code == 415


def test_the_notification_list_filters_by_broadcast(alice, bob, people):
    created = alice.post(URL, body(), format="json").json()
    other = alice.post(URL, body(to=["ada"]), format="json").json()
    expand(created["id"])
    expand(other["id"])
    alice.post("/api/v1/notifications/", {"channel": "console", "recipient": "x", "body": "alone"}, format="json")
    listed = alice.get("/api/v1/notifications/", {"broadcast": created["id"]}).json()["results"]
    assert len(listed) == 2
    assert {row["id"] for row in listed} == {
        str(i) for i in Notification.objects.filter(broadcast_id=created["id"]).values_list("id", flat=True)
    }
    assert bob.get("/api/v1/notifications/", {"broadcast": created["id"]}).json()["results"] == []
    response = alice.get("/api/v1/notifications/", {"broadcast": "not-a-uuid"})
    assert response.status_code == 400 and "broadcast" in response.json()


def test_the_documented_examples_work_as_sent(alice):
    for example in [*broadcast_views.CREATE_EXAMPLES]:
        response = alice.post(URL, example.value, format="json")
        assert response.status_code == 202, (example.value, response.json())
    members = topic_views.MEMBERS_EXAMPLE.value
    assert alice.put("/api/v1/topics/news/", members, format="json").status_code == 201
    assert alice.post("/api/v1/topics/news/subscribe/", members, format="json").status_code == 200
    assert alice.post("/api/v1/topics/news/unsubscribe/", members, format="json").status_code == 200
