"""Events on the real stack: a real worker sends a client's notifications and then their events to
its endpoint, signed with that client's secret; a failing endpoint is disabled, and after the
client fixes and re-enables it, recover brings the failed events."""

from __future__ import annotations

import pytest
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from notifications import services
from notifications.models import Notification
from testkit.processes import wait_until
from tests import factories
from tests.sink import Reply, Sink

pytestmark = pytest.mark.worker

URL = "/api/v1/notifications/"


@pytest.fixture
def receiver(allow_private):
    """The client's endpoint: a second local server beside ``sink``."""
    server = Sink().start()
    yield server
    server.stop()


def endpoint_for(client, receiver: Sink) -> dict:
    answer = client.post("/api/v1/endpoints/", {"url": receiver.url}, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def secret_of(client) -> str:
    return client.get("/api/v1/webhook-secret/").json()["secret"]


def received(receiver: Sink, count: int, *, status: int = 200, timeout: float = 40) -> list:
    """The first ``count`` requests the receiver answered with ``status``, once they are there."""

    def answered():
        hits = [request for request in receiver.requests if request.status == status]
        return hits[:count] if len(hits) >= count else None

    return wait_until(answered, timeout=timeout, describe=lambda: f"{len(receiver.requests)} request(s) so far")


def test_sent_failed_cancelled_and_delivered_reach_the_endpoint_signed_by_the_clients_secret(
    alice, bob, sink, receiver, start_worker
):
    start_worker()
    endpoint_for(alice, receiver)
    sink.default = Reply(status=400, body=b"unknown hook")  # a permanent failure
    sent = alice.post(URL, {"channel": "console", "recipient": "ops", "body": "hi"}, format="json").json()
    failed = alice.post(URL, {"channel": "webhook", "recipient": sink.url, "payload": {}}, format="json").json()
    later = {"channel": "console", "recipient": "ops", "body": "later", "send_at": "2099-01-01T00:00:00Z"}
    cancelled = alice.post(URL, later, format="json").json()
    assert alice.post(f"{URL}{cancelled['id']}/cancel/").status_code == 200
    reported = factories.notification(
        owner=alice.user, channel="sms", recipient="+14155550100", status="sent", provider="twilio",
        provider_message_id="SM42", sent_at=timezone.now(),
    )  # fmt: skip
    services.provider_event_record(
        provider="twilio", channel="sms", provider_message_id="SM42", provider_event_id="SM42:delivered",
        type="delivered", occurred_at=timezone.now(),
    )  # fmt: skip

    requests = received(receiver, 4)
    events = {request.json()["type"]: request.json()["data"]["id"] for request in requests}
    assert events == {
        "notification.sent": sent["id"],
        "notification.failed": failed["id"],
        "notification.cancelled": cancelled["id"],
        "notification.delivered": str(reported.id),
    }
    alice_secret, bob_secret = secret_of(alice), secret_of(bob)
    for request in requests:
        assert Webhook(alice_secret).verify(request.body, request.headers) == request.json()
        with pytest.raises(WebhookVerificationError):
            Webhook(bob_secret).verify(request.body, request.headers)
    assert len({request.headers["webhook-id"] for request in requests}) == 4
    shown = alice.get(f"{URL}{sent['id']}/").json()
    assert next(r.json() for r in requests if r.json()["type"] == "notification.sent")["data"] == shown


def test_a_failing_endpoint_is_disabled_and_recover_brings_its_failed_events_once_fixed(alice, receiver, start_worker):
    start_worker(
        NOTIFY_ENDPOINT_DISABLE_AFTER="2",
        NOTIFY_MAX_ATTEMPTS="4",
        NOTIFY_RETRY_BACKOFF="1",
        NOTIFY_RETRY_BACKOFF_MAX="1",
    )
    endpoint = endpoint_for(alice, receiver)
    path = f"/api/v1/endpoints/{endpoint['id']}/"
    since = timezone.now()
    receiver.default = Reply(status=500)
    made = [
        alice.post(URL, {"channel": "console", "recipient": "ops", "body": str(n)}, format="json").json()
        for n in range(2)
    ]

    disabled = wait_until(
        lambda: (shown := alice.get(path).json())["enabled"] is False and shown,
        timeout=40,
        describe=lambda: f"endpoint {alice.get(path).json()}, {len(receiver.requests)} request(s)",
    )
    assert "NOTIFY_ENDPOINT_DISABLE_AFTER" in disabled["disabled_reason"]
    wait_until(
        lambda: set(Notification.objects.exclude(event_type="").values_list("status", flat=True)) == {"failed"},
        timeout=40,
        describe=lambda: str(list(Notification.objects.exclude(event_type="").values_list("status", flat=True))),
    )
    while_disabled = alice.post(URL, {"channel": "console", "recipient": "ops", "body": "x"}, format="json").json()
    wait_until(lambda: alice.get(f"{URL}{while_disabled['id']}/").json()["status"] == "sent", timeout=30, describe=str)

    assert Notification.objects.exclude(event_type="").count() == 2  # none for it: the endpoint is disabled

    receiver.default = Reply(status=200)  # the client fixes its receiver
    enabled = alice.patch(path, {"enabled": True}, format="json").json()
    assert (enabled["enabled"], enabled["disabled_reason"]) == (True, "")
    answer = alice.post(f"{path}recover/", {"since": since.isoformat()}, format="json")
    assert (answer.status_code, answer.json()) == (202, {"recovered": 2})

    recovered = received(receiver, 2)
    assert sorted(request.json()["data"]["id"] for request in recovered) == sorted(item["id"] for item in made)
    assert {request.json()["type"] for request in recovered} == {"notification.sent"}
    assert alice.get(path).json()["enabled"] is True
