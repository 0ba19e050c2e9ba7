"""An erased person cannot be found afterwards: not through the API, not through the admin's
search, not in any log line written after the erase, whatever was sent to them and how."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from notifications import services
from notifications.models import Notification
from tests.admin.conftest import CHANGELIST, html

PERSON = "person-7f3a"
EMAIL = "grace.hopper@example.net"
PHONE = "+14155550123"
TOKEN = "ExponentPushToken[gracehopperdevice01]"
NAME = "Grace Hopper"
MARKERS = (PERSON, EMAIL, PHONE, TOKEN, NAME, "grace.hopper")


@pytest.fixture
def endpoint(alice, sink, allow_private):
    """An endpoint for every event: what it is told about the person goes with the erase too."""
    assert alice.post("/api/v1/endpoints/", {"url": sink.url}, format="json").status_code == 201
    return sink


@pytest.fixture
def person(alice, endpoint):
    profile = {"email": EMAIL, "phone": PHONE, "push_tokens": [TOKEN], "locale": "en"}
    assert alice.put(f"/api/v1/recipients/{PERSON}/", profile, format="json").status_code == 201
    assert alice.put("/api/v1/recipients/someone-else/", {"email": "x@example.org"}, format="json").status_code == 201
    template = {"subject": "Hello {{ name }}", "body": "Dear {{ name }}, code {{ code }} for {{ recipient.email }}."}
    assert alice.put("/api/v1/templates/hello/", template, format="json").status_code == 201
    topic = {"recipients": [PERSON, "someone-else"]}
    assert alice.put("/api/v1/topics/staff/", topic, format="json").status_code == 201
    made = [
        {"channel": "console", "to": PERSON, "body": f"for {NAME}"},
        {"channel": "email", "to": PERSON, "template": "hello", "data": {"name": NAME, "code": "4711"}},
        {"channel": "email", "recipient": EMAIL, "subject": f"Hi {NAME}", "body": "plain"},
        {"channel": "console", "to": PERSON, "body": "later", "send_at": "2099-01-01T00:00:00Z"},
    ]
    ids = []
    for body in made:
        response = alice.post("/api/v1/notifications/", body, format="json")
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])
    sent = alice.post(
        "/api/v1/broadcasts/", {"topic": "staff", "channels": ["console"], "body": "Hi all"}, format="json"
    )
    while services.broadcast_expand(broadcast_id=sent.json()["id"], budget=timedelta(seconds=30)):
        pass
    first = Notification.objects.get(id=ids[0])
    services.notification_deliver(notification_id=first.id, dispatch_token=first.dispatch_token)
    for event in Notification.objects.exclude(event_type=""):  # the endpoint is told it was sent
        services.notification_deliver(notification_id=event.id, dispatch_token=event.dispatch_token)
    return ids


def everything_the_api_shows(client) -> str:
    pages, url = [], "/api/v1/notifications/?page_size=500"
    while url:
        answer = client.get(url).json()
        pages.append(str(answer))
        url = answer["next"]
    for path in ("/api/v1/recipients/", "/api/v1/topics/staff/", "/api/v1/broadcasts/"):
        pages.append(str(client.get(path).json()))
    for notification in Notification.objects.all():
        for part in ("attempts", "events"):
            pages.append(str(client.get(f"/api/v1/notifications/{notification.id}/{part}/").json()))
    return "\n".join(pages)


def test_nothing_of_an_erased_person_is_findable_afterwards(alice, person, endpoint, admin_client, caplog):
    assert any(marker in everything_the_api_shows(alice) for marker in MARKERS)  # the check can see them
    events_before = str(list(Notification.objects.exclude(event_type="").values_list("payload", flat=True)))
    assert any(marker in events_before for marker in MARKERS)  # the events' check can see them too
    told_before = len(endpoint.requests)

    caplog.set_level(logging.DEBUG)
    assert alice.delete(f"/api/v1/recipients/{PERSON}/").status_code == 204
    # What the service does next with those rows: the sweeps pass, the waiting ones' messages arrive.
    services.sweep_missed()
    services.sweep_stuck()
    for row in Notification.objects.all():
        services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)

    shown = everything_the_api_shows(alice)
    # What the service wrote to its logs since the erase (its own work, and the reads above); a
    # client asking later for the erased id by URL logs what that client sent, so it comes after.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for query in ({"to": PERSON}, {"recipient": EMAIL}, {"recipient": PHONE}):
        assert alice.get("/api/v1/notifications/", query).json()["results"] == []
    assert alice.get(f"/api/v1/recipients/{PERSON}/").status_code == 404
    assert alice.get("/api/v1/topics/staff/").json()["count"] == 1
    admin_pages = [
        html(admin_client.get(CHANGELIST, {"q": term})) for term in (PERSON, EMAIL, "grace", PHONE, TOKEN[:20])
    ] + [html(admin_client.get("/admin/notifications/recipient/", {"q": term})) for term in (PERSON, "grace")]
    assert all('id="result_list"' not in page for page in admin_pages)  # no row found by any search
    events = str(list(Notification.objects.exclude(event_type="").values_list("payload", flat=True)))
    told = "\n".join(request.body.decode() for request in endpoint.requests[told_before:])
    assert "notification.cancelled" in told  # the waiting one was cancelled, and its endpoint told
    for marker in MARKERS:
        assert marker not in shown, f"{marker!r} still shown by the API"
        assert marker not in logged, f"{marker!r} logged after the erase"
        assert marker not in events, f"{marker!r} still in an event"
        assert marker not in told, f"{marker!r} told to an endpoint after the erase"
    assert Notification.objects.filter(owner=alice.user, event_type="").count() == 6  # the rows stay, for the counts
