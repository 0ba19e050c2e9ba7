"""The README's "Events to your endpoints": its curl lines run as written, and its Python check of
a signature run on an event a receiver got."""

from __future__ import annotations

import re

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from notifications import conf, services
from notifications.models import Notification
from tests.api.test_readme_examples import curls, run, section

TITLE = "Events to your endpoints"


def deliver(row: Notification) -> None:
    services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)


def test_endpoints_work_as_written(alice):
    commands = curls(TITLE)
    assert [c.method for c in commands] == ["POST", "GET", "PATCH", "POST"]
    variables: dict[str, str] = {}

    created, got = (run(alice, command, variables) for command in commands[:2])
    assert created.status_code == 201, created.json()
    assert created.json()["enabled"] is True
    assert created.json()["events"] == ["notification.failed", "notification.sent"]
    assert got.json() == created.json()
    # As if its receiver had refused an event for good: a notification sent, its event failed.
    made = alice.post("/api/v1/notifications/", {"channel": "console", "recipient": "ops", "body": "hi"}).json()
    deliver(Notification.objects.get(id=made["id"]))
    Notification.objects.exclude(event_type="").update(status="failed", next_attempt_at=None)

    enabled, recovered = (run(alice, command, variables) for command in commands[2:])
    assert (enabled.json()["enabled"], enabled.json()["disabled_reason"]) == (True, "")
    assert (recovered.status_code, recovered.json()) == (202, {"recovered": 1})
    assert Notification.objects.exclude(event_type="").get().status == "scheduled"  # sent again


def test_the_signature_check_as_written_accepts_the_clients_events_only(alice, bob, sink, allow_private):
    [code] = re.findall(r"```python\n(.*?)```", section(TITLE), re.S)
    namespace: dict = {}
    exec(code, namespace)  # the README's own example
    alice.post("/api/v1/endpoints/", {"url": sink.url}, format="json")
    made = alice.post("/api/v1/notifications/", {"channel": "console", "recipient": "ops", "body": "hi"}).json()
    deliver(Notification.objects.get(id=made["id"]))
    deliver(Notification.objects.exclude(event_type="").get())

    [request] = sink.requests
    secret = alice.get("/api/v1/webhook-secret/").json()["secret"]
    event = namespace["event_from"](request.body, request.headers, secret)
    assert (event["type"], event["data"]["id"]) == ("notification.sent", made["id"])
    with pytest.raises(WebhookVerificationError):
        namespace["event_from"](request.body, request.headers, bob.get("/api/v1/webhook-secret/").json()["secret"])


def test_the_readme_states_the_cap_and_the_disable_window():
    text = " ".join(section(TITLE).split())
    assert f"at most {conf.ENDPOINTS_MAX} endpoints per client" in text
    assert "NOTIFY_ENDPOINT_DISABLE_AFTER" in text and "5 days" in text
