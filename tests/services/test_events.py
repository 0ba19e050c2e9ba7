"""Events to a client's endpoints, as its receiver gets them: each change raises its event in
the change's own transaction, only to the endpoints that want it, never from an event delivery;
a failing endpoint is disabled after its window; recover re-sends the failed ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks import Webhook

from notifications import services
from notifications.models import Notification, Schedule
from tests.services.test_receiver_answers import terminate
from tests.sink import Reply, Sink

URL = "/api/v1/notifications/"


class RolledBack(Exception):
    pass


@pytest.fixture
def receiver(allow_private):
    server = Sink().start()
    yield server
    server.stop()


@pytest.fixture
def endpoint(alice, receiver):
    """Alice's endpoint for every event type, at the receiver."""
    response = alice.post("/api/v1/endpoints/", {"url": receiver.url}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def event_rows() -> list[Notification]:
    return list(Notification.objects.exclude(event_type="").order_by("created_at"))


def deliver(row: Notification):
    row.refresh_from_db()
    try:
        return services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)
    except services.DeliveryDeferred:
        return None


def deliver_events(receiver: Sink) -> list[dict]:
    """Deliver every event waiting (as a worker would) and return the bodies the receiver got."""
    before = len(receiver.requests)
    for row in Notification.objects.exclude(event_type="").filter(status__in=("scheduled", "retrying")):
        deliver(row)
    return [request.json() for request in receiver.requests[before:]]


def console(alice, **extra) -> dict:
    response = alice.post(URL, {"channel": "console", "recipient": "ops-log", "body": "hi", **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_sent_notification_raises_one_signed_event_with_the_resource_as_the_api_shows_it(alice, endpoint, receiver):
    made = console(alice)
    deliver(Notification.objects.get(id=made["id"]))

    [event] = deliver_events(receiver)
    assert event["type"] == "notification.sent"
    assert event["data"] == alice.get(f"{URL}{made['id']}/").json()
    assert event["data"]["status"] == "sent"
    assert timezone.datetime.fromisoformat(event["timestamp"]) <= timezone.now()
    request = receiver.requests[-1]
    secret = alice.get("/api/v1/webhook-secret/").json()["secret"]
    assert Webhook(secret).verify(request.body, request.headers) == event


def test_a_permanent_failure_raises_failed(alice, endpoint, receiver):
    with Sink() as target:
        target.default = Reply(status=400, body=b"no such hook")
        made = alice.post(URL, {"channel": "webhook", "recipient": target.url, "payload": {"a": 1}}, format="json")
        deliver(Notification.objects.get(id=made.json()["id"]))
    [event] = deliver_events(receiver)
    assert (event["type"], event["data"]["status"], event["data"]["failure_reason"]) == (
        "notification.failed",
        "failed",
        "permanent",
    )


def test_a_retry_raises_nothing_and_exhaustion_raises_failed(alice, endpoint, receiver):
    with Sink() as target:
        target.default = Reply(status=503)
        made = alice.post(
            URL, {"channel": "webhook", "recipient": target.url, "payload": {}, "max_attempts": 2}, format="json"
        ).json()
        row = Notification.objects.get(id=made["id"])
        deliver(row)
        assert deliver_events(receiver) == []  # retrying: no event
        deliver(row)
    [event] = deliver_events(receiver)
    assert (event["type"], event["data"]["failure_reason"]) == ("notification.failed", "exhausted")


def test_cancel_raises_cancelled(alice, endpoint, receiver):
    made = console(alice, send_at="2099-01-01T00:00:00Z")
    assert alice.post(f"{URL}{made['id']}/cancel/").status_code == 200
    [event] = deliver_events(receiver)
    assert event["type"] == "notification.cancelled"
    assert event["data"] == alice.get(f"{URL}{made['id']}/").json()


def test_a_broadcast_cancel_raises_cancelled_for_each_waiting_notification(alice, endpoint, receiver):
    for person in ("ana", "bo"):
        assert alice.put(f"/api/v1/recipients/{person}/", {}, format="json").status_code == 201
    assert alice.put("/api/v1/topics/team/", {"recipients": ["ana", "bo"]}, format="json").status_code == 201
    broadcast = alice.post(
        "/api/v1/broadcasts/",
        {"topic": "team", "channels": ["console"], "body": "later", "send_at": "2099-01-01T00:00:00Z"},
        format="json",
    ).json()
    services.broadcast_expand(broadcast_id=broadcast["id"], budget=timedelta(seconds=30))
    assert alice.post(f"/api/v1/broadcasts/{broadcast['id']}/cancel/").status_code in (200, 202)
    events = deliver_events(receiver)
    assert sorted((e["type"], e["data"]["to"]) for e in events) == [
        ("notification.cancelled", "ana"),
        ("notification.cancelled", "bo"),
    ]


def test_suppressed_at_create_and_at_send_each_raise_suppressed(alice, endpoint, receiver):
    assert alice.put("/api/v1/recipients/ana/", {"preferences": {"channels": {"console": False}}}, format="json")
    at_create = alice.post(URL, {"channel": "console", "to": "ana", "body": "hi"}, format="json").json()
    assert at_create["status"] == "suppressed"
    assert alice.put("/api/v1/recipients/bo/", {}, format="json").status_code == 201
    at_send = alice.post(URL, {"channel": "console", "to": "bo", "body": "hi"}, format="json").json()
    assert alice.patch("/api/v1/recipients/bo/", {"preferences": {"channels": {"console": False}}}, format="json")
    deliver(Notification.objects.get(id=at_send["id"]))

    events = deliver_events(receiver)
    assert sorted((e["type"], e["data"]["id"], e["data"]["status"]) for e in events) == sorted(
        [
            ("notification.suppressed", at_create["id"], "suppressed"),
            ("notification.suppressed", at_send["id"], "suppressed"),
        ]
    )


def test_a_provider_report_raises_its_event_once(alice, endpoint, receiver, make_notification):
    row = make_notification(
        owner=alice.user, channel="sms", recipient="+14155550100", status="sent", provider="twilio",
        provider_message_id="SM1",
    )  # fmt: skip
    report = {
        "provider": "twilio",
        "channel": "sms",
        "provider_message_id": "SM1",
        "provider_event_id": "SM1:delivered",
        "type": "delivered",
        "occurred_at": timezone.now(),
    }
    assert services.provider_event_record(**report) is not None
    assert services.provider_event_record(**report) is None  # the same report again
    [event] = deliver_events(receiver)
    assert (event["type"], event["data"]["id"], event["data"]["delivery_status"]) == (
        "notification.delivered",
        str(row.id),
        "delivered",
    )


def test_a_worker_lost_for_good_raises_failed(alice, endpoint, receiver, make_notification):
    row = make_notification(
        owner=alice.user, status="sending", attempts=3, attempts_total=3,
        lease_expires_at=timezone.now() - timedelta(minutes=1), next_attempt_at=None,
    )  # fmt: skip
    assert services.sweep_stuck() == 1
    [event] = deliver_events(receiver)
    assert (event["type"], event["data"]["id"], event["data"]["failure_reason"]) == (
        "notification.failed",
        str(row.id),
        "worker_lost",
    )


@pytest.mark.parametrize("change", ["cancel", "suppress_at_create", "report"])
def test_a_change_rolled_back_leaves_no_event(alice, endpoint, receiver, make_notification, change):
    assert alice.put("/api/v1/recipients/ana/", {"preferences": {"channels": {"console": False}}}, format="json")
    waiting = make_notification(owner=alice.user, send_at=timezone.now() + timedelta(days=1))
    make_notification(owner=alice.user, channel="sms", status="sent", provider="twilio", provider_message_id="SM9")
    with pytest.raises(RolledBack), transaction.atomic():
        if change == "cancel":
            services.notification_cancel(notification=waiting)
        elif change == "suppress_at_create":
            services.notification_create(owner=alice.user, data={"channel": "console", "to": "ana", "body": "x"})
        else:
            services.provider_event_record(
                provider="twilio", channel="sms", provider_message_id="SM9", provider_event_id="e",
                type="delivered", occurred_at=timezone.now(),
            )  # fmt: skip
        assert len(event_rows()) == 1  # written with the change, in its transaction
        raise RolledBack
    assert event_rows() == []
    assert deliver_events(receiver) == []


def test_an_endpoint_hears_only_the_types_it_names(alice, receiver):
    alice.post("/api/v1/endpoints/", {"url": receiver.url, "events": ["notification.failed"]}, format="json")
    deliver(Notification.objects.get(id=console(alice)["id"]))
    assert event_rows() == []
    assert deliver_events(receiver) == []


def test_a_disabled_endpoint_and_another_clients_hear_nothing(alice, bob, endpoint, receiver):
    assert alice.patch(f"/api/v1/endpoints/{endpoint['id']}/", {"enabled": False}, format="json").status_code == 200
    bob.post("/api/v1/endpoints/", {"url": receiver.url, "events": ["notification.failed"]}, format="json")
    deliver(Notification.objects.get(id=console(alice)["id"]))
    deliver(Notification.objects.get(id=console(bob)["id"]))
    assert deliver_events(receiver) == []


def test_an_event_delivery_raises_no_event_whether_it_is_sent_or_fails(alice, endpoint, receiver):
    deliver(Notification.objects.get(id=console(alice)["id"]))
    [sent] = deliver_events(receiver)
    assert sent["type"] == "notification.sent"
    receiver.default = Reply(status=410)  # the next one fails for good
    deliver(Notification.objects.get(id=console(alice)["id"]))
    deliver_events(receiver)
    assert [row.status for row in event_rows()] == ["sent", "failed"]  # and no third row


def test_event_rows_are_not_the_clients_notifications(alice, endpoint, receiver):
    made = console(alice)
    deliver(Notification.objects.get(id=made["id"]))
    [row] = event_rows()
    assert [item["id"] for item in alice.get(URL).json()["results"]] == [made["id"]]
    for path in ("", "attempts/", "events/", "cancel/", "retry/"):
        method = alice.post if path in ("cancel/", "retry/") else alice.get
        assert method(f"{URL}{row.id}/{path}").status_code == 404
    assert alice.patch(f"{URL}{row.id}/", {"body": "x"}, format="json").status_code == 404


def test_an_endpoint_failing_for_the_whole_window_is_disabled_and_a_success_ends_a_run(
    alice, endpoint, receiver, settings
):
    settings.NOTIFY_ENDPOINT_DISABLE_AFTER = 3600
    receiver.default = Reply(status=500)
    deliver(Notification.objects.get(id=console(alice)["id"]))
    [first] = event_rows()
    deliver(first)  # fails: the run starts
    with time_machine.travel(timezone.now() + timedelta(minutes=59), tick=False):
        deliver(first)
        assert alice.get(f"/api/v1/endpoints/{endpoint['id']}/").json()["enabled"] is True
    receiver.default = Reply(status=200)
    with time_machine.travel(timezone.now() + timedelta(minutes=59, seconds=30), tick=False):
        deliver(first)  # a success: the run ends
    receiver.default = Reply(status=500)
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        deliver(Notification.objects.get(id=console(alice)["id"]))
        deliver_events(receiver)  # a new run starts here, not an hour ago
        assert alice.get(f"/api/v1/endpoints/{endpoint['id']}/").json()["enabled"] is True
    with time_machine.travel(timezone.now() + timedelta(minutes=122), tick=False):
        deliver_events(receiver)  # the same run, an hour on
        shown = alice.get(f"/api/v1/endpoints/{endpoint['id']}/").json()
        assert shown["enabled"] is False
        assert "NOTIFY_ENDPOINT_DISABLE_AFTER" in shown["disabled_reason"]
        deliver(Notification.objects.get(id=console(alice)["id"]))
    assert len(event_rows()) == 2  # none for the last one: disabled


def test_re_enabling_clears_the_reason_and_the_run(alice, endpoint):
    services.endpoint_delivery_outcome(endpoint_id=endpoint["id"], succeeded=False)
    services.endpoint_delivery_outcome(
        endpoint_id=endpoint["id"], succeeded=False, now=timezone.now() + timedelta(days=6)
    )
    assert alice.get(f"/api/v1/endpoints/{endpoint['id']}/").json()["enabled"] is False
    shown = alice.patch(f"/api/v1/endpoints/{endpoint['id']}/", {"enabled": True}, format="json").json()
    assert (shown["enabled"], shown["disabled_reason"]) == (True, "")
    services.endpoint_delivery_outcome(endpoint_id=endpoint["id"], succeeded=False)  # a new run, not the old one
    assert alice.get(f"/api/v1/endpoints/{endpoint['id']}/").json()["enabled"] is True


def test_recover_re_sends_only_the_deliveries_that_failed_since_the_time(alice, endpoint, receiver):
    receiver.default = Reply(status=410)
    deliver(Notification.objects.get(id=console(alice)["id"]))
    deliver_events(receiver)  # failed for good, before the time
    since = timezone.now()
    made = [console(alice) for _ in range(2)]
    for item in made:
        deliver(Notification.objects.get(id=item["id"]))
    deliver_events(receiver)  # both fail, after the time
    receiver.default = Reply(status=200)
    deliver(Notification.objects.get(id=console(alice)["id"]))
    deliver_events(receiver)  # sent: nothing to recover

    answer = alice.post(f"/api/v1/endpoints/{endpoint['id']}/recover/", {"since": since.isoformat()}, format="json")
    assert answer.status_code == 202
    assert answer.json() == {"recovered": 2}
    events = deliver_events(receiver)
    assert sorted(event["data"]["id"] for event in events) == sorted(item["id"] for item in made)
    assert receiver.requests[-1].status == 200


def test_recover_takes_many_failed_deliveries_a_batch_at_a_time_each_once(alice, endpoint, receiver, monkeypatch):
    monkeypatch.setattr(services.endpoints, "RECOVER_BATCH", 2)
    receiver.default = Reply(status=410)
    since = timezone.now()
    made = [console(alice) for _ in range(5)]
    for item in made:
        deliver(Notification.objects.get(id=item["id"]))
    deliver_events(receiver)  # all five fail for good
    receiver.default = Reply(status=200)

    answer = alice.post(f"/api/v1/endpoints/{endpoint['id']}/recover/", {"since": since.isoformat()}, format="json")

    assert answer.json() == {"recovered": 5}
    again = [row for row in event_rows() if row.status == "scheduled"]
    assert len(again) == 5 and {row.attempts for row in again} == {0}
    assert sorted(event["data"]["id"] for event in deliver_events(receiver)) == sorted(item["id"] for item in made)
    assert alice.post(
        f"/api/v1/endpoints/{endpoint['id']}/recover/", {"since": since.isoformat()}, format="json"
    ).json() == {"recovered": 0}


def test_a_schedules_occurrence_suppressed_at_create_raises_suppressed(alice, endpoint, receiver):
    assert alice.put("/api/v1/recipients/ana/", {"preferences": {"channels": {"console": False}}}, format="json")
    body = {"cron": "* * * * *", "notification": {"channel": "console", "to": "ana", "body": "tick"}}
    schedule = alice.post("/api/v1/schedules/", body, format="json").json()
    Schedule.objects.filter(id=schedule["id"]).update(next_run_at=timezone.now() - timedelta(seconds=1))
    services.schedules_run_due()
    [event] = deliver_events(receiver)
    assert (event["type"], event["data"]["status"], event["data"]["to"]) == (
        "notification.suppressed",
        "suppressed",
        "ana",
    )


@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_during_the_send_still_records_the_outcome_with_its_event(alice, endpoint, receiver):
    with Sink() as target:
        made = alice.post(URL, {"channel": "webhook", "recipient": target.url, "payload": {}}, format="json").json()
        connection.ensure_connection()
        backend_pid = connection.connection.info.backend_pid

        def cut_the_database_session_then_accept() -> Reply:
            terminate(backend_pid)
            return Reply(200)

        target.responder = cut_the_database_session_then_accept
        assert deliver(Notification.objects.get(id=made["id"])).status == "sent"
    [event] = deliver_events(receiver)
    assert (event["type"], event["data"]["id"], event["data"]["attempts"]) == ("notification.sent", made["id"], 1)


def test_a_digest_that_fails_to_render_at_its_close_raises_failed(alice, endpoint, receiver):
    template = {"subject": "{{ items|length }} new", "body": "{% for item in items %}{{ item.who }}{% endfor %}"}
    assert alice.put("/api/v1/templates/comments/", template, format="json").status_code == 201
    joined = {"template": "comments", "data": {"who": "ana"}, "digest": {"key": "comments", "window": 60}}
    made = alice.post(URL, {"channel": "console", "recipient": "ops-log", **joined}, format="json").json()
    assert alice.delete("/api/v1/templates/comments/").status_code == 204
    closed = services.digest_close(window_id=made["digest_window"], now=timezone.now() + timedelta(hours=1))
    [event] = deliver_events(receiver)
    assert (event["type"], event["data"]["id"]) == ("notification.failed", str(closed.digest_notification.id))
    assert event["data"]["digest"] == [made["id"]]


def test_a_new_url_takes_the_deliveries_not_yet_sent_and_those_recovered(alice, endpoint, receiver):
    receiver.default = Reply(status=410)
    since = timezone.now()
    failed = console(alice)
    deliver(Notification.objects.get(id=failed["id"]))
    deliver_events(receiver)  # failed for good at the old address
    waiting = console(alice)
    deliver(Notification.objects.get(id=waiting["id"]))  # its event waits
    with Sink() as moved:
        path = f"/api/v1/endpoints/{endpoint['id']}/"
        assert alice.patch(path, {"url": moved.url}, format="json").json()["url"] == moved.url
        assert alice.post(f"{path}recover/", {"since": since.isoformat()}, format="json").json() == {"recovered": 1}
        deliver_events(receiver)
        assert sorted(request.json()["data"]["id"] for request in moved.requests) == sorted(
            [failed["id"], waiting["id"]]
        )
