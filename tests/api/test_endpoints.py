"""/api/v1/endpoints/ as a client uses it: create, read, list, change, delete, recover, and every
refusal (private or non-http targets, unknown event types, the cap, another client's id)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import conf, services
from notifications.models import Notification

URL = "/api/v1/endpoints/"
HOOK = "https://example.com/hooks/events"


def create(client, **body):
    return client.post(URL, {"url": HOOK, **body}, format="json")


def test_create_read_list_change_delete(alice):
    made = create(alice, events=["notification.sent", "notification.failed"], description="orders")
    assert made.status_code == 201
    endpoint = made.json()
    assert endpoint["url"] == HOOK
    assert endpoint["events"] == ["notification.failed", "notification.sent"]
    assert (endpoint["enabled"], endpoint["disabled_reason"], endpoint["description"]) == (True, "", "orders")
    assert set(endpoint) == {"id", "url", "events", "enabled", "disabled_reason", "description", "created_at",
                             "updated_at"}  # fmt: skip
    assert alice.get(f"{URL}{endpoint['id']}/").json() == endpoint

    second = create(alice).json()
    assert second["events"] == []  # every type
    listed = alice.get(URL).json()
    assert [item["id"] for item in listed["results"]] == [second["id"], endpoint["id"]]
    assert set(listed) == {"next", "previous", "results"}

    changed = alice.patch(f"{URL}{endpoint['id']}/", {"events": [], "description": ""}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["events"], changed.json()["description"]) == ([], "")

    assert alice.delete(f"{URL}{endpoint['id']}/").status_code == 204
    assert alice.get(f"{URL}{endpoint['id']}/").status_code == 404


def test_list_pages_by_cursor(alice):
    for _ in range(3):
        create(alice)
    first = alice.get(URL, {"page_size": 2}).json()
    assert len(first["results"]) == 2
    rest = alice.get(first["next"]).json()
    assert len(rest["results"]) == 1 and rest["next"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1:8080/hook"}, "url"),
        ({"url": "http://10.0.0.7/hook"}, "url"),
        ({"url": "http://localhost/hook"}, "url"),
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "example.com/hook"}, "url"),
        ({"url": ""}, "url"),
        ({"url": None}, "url"),
        ({"events": ["notification.exploded"]}, "events"),
        ({"events": "notification.sent"}, "events"),
        ({"description": "x" * 256}, "description"),
    ],
)
def test_bad_fields_are_400_naming_the_field(alice, body, field):
    answer = alice.post(URL, {"url": HOOK, **body}, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert alice.get(URL).json()["results"] == []


def test_a_missing_url_is_400(alice):
    answer = alice.post(URL, {"events": []}, format="json")
    assert answer.status_code == 400 and "url" in answer.json()


def test_a_private_address_is_refused_on_patch_too(alice):
    endpoint = create(alice).json()
    answer = alice.patch(f"{URL}{endpoint['id']}/", {"url": "http://192.168.1.1/"}, format="json")
    assert answer.status_code == 400 and "url" in answer.json()
    assert alice.get(f"{URL}{endpoint['id']}/").json()["url"] == HOOK


def test_an_empty_patch_is_400(alice):
    endpoint = create(alice).json()
    assert alice.patch(f"{URL}{endpoint['id']}/", {}, format="json").status_code == 400


def test_a_client_has_at_most_the_cap(alice, bob):
    for _ in range(conf.ENDPOINTS_MAX):
        assert create(alice).status_code == 201
    refused = create(alice)
    assert refused.status_code == 400
    assert str(conf.ENDPOINTS_MAX) in refused.json()["detail"]
    assert create(bob).status_code == 201  # per client


def test_another_clients_endpoint_is_404_everywhere(alice, bob):
    endpoint = create(alice).json()
    path = f"{URL}{endpoint['id']}/"
    assert bob.get(path).status_code == 404
    assert bob.patch(path, {"enabled": False}, format="json").status_code == 404
    assert bob.delete(path).status_code == 404
    assert bob.post(f"{path}recover/", {"since": timezone.now().isoformat()}, format="json").status_code == 404
    assert bob.get(URL).json()["results"] == []
    assert alice.get(path).json()["enabled"] is True


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"since": "yesterday"},
        {"since": "2030-01-01T00:00:00"},  # no offset
        {"since": (timezone.now() + timedelta(hours=1)).isoformat()},
    ],
)
def test_recover_needs_a_past_since(alice, body):
    endpoint = create(alice).json()
    answer = alice.post(f"{URL}{endpoint['id']}/recover/", body, format="json")
    assert answer.status_code == 400
    assert "since" in answer.json()


def test_recover_with_nothing_failed_recovers_nothing(alice):
    endpoint = create(alice).json()
    answer = alice.post(f"{URL}{endpoint['id']}/recover/", {"since": "2020-01-01T00:00:00Z"}, format="json")
    assert (answer.status_code, answer.json()) == (202, {"recovered": 0})


def test_event_rows_are_absent_from_the_notification_list_and_retrieve(alice):
    create(alice)
    made = alice.post(
        "/api/v1/notifications/", {"channel": "console", "recipient": "ops", "body": "hi"}, format="json"
    ).json()
    row = Notification.objects.get(id=made["id"])
    services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)
    event = Notification.objects.exclude(event_type="").get()
    assert event.payload["type"] == "notification.sent"

    listed = alice.get("/api/v1/notifications/").json()["results"]
    assert [item["id"] for item in listed] == [made["id"]]
    for query in ({"channel": "webhook"}, {"status": "scheduled"}, {"recipient": HOOK}):
        assert alice.get("/api/v1/notifications/", query).json()["results"] == []
    assert alice.get(f"/api/v1/notifications/{event.id}/").status_code == 404
    assert alice.delete(f"/api/v1/notifications/{event.id}/").status_code == 404


def test_deleting_an_endpoint_drops_its_waiting_events(alice):
    endpoint = create(alice).json()
    made = alice.post(
        "/api/v1/notifications/", {"channel": "console", "recipient": "ops", "body": "hi"}, format="json"
    ).json()
    row = Notification.objects.get(id=made["id"])
    services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)
    assert Notification.objects.exclude(event_type="").count() == 1
    alice.delete(f"{URL}{endpoint['id']}/")
    assert Notification.objects.exclude(event_type="").count() == 0
    assert alice.get(f"/api/v1/notifications/{made['id']}/").json()["status"] == "sent"


def test_no_credentials_is_401(client, db):
    assert client.get(URL).status_code == 401
