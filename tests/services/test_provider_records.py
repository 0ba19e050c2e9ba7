"""What a provider says about a send is kept: which service took it, its message id, a dead push token."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import DeadPushToken, DeliveryAttempt, Notification
from notifier import DeadToken, Message, ProviderBase, Receipt, TransientError, registry

URL = "/api/v1/notifications/"


class PagerProvider(ProviderBase):
    """A channel whose answers the test scripts: a receipt, or an error to raise."""

    name = "pager"

    def __init__(self) -> None:
        self.answers: list[Receipt | Exception] = []

    def validate_recipient(self, recipient: str) -> str:
        return recipient

    def validate_content(self, *, subject: str, body: str, payload: object) -> None:
        if len(body) > 10:
            raise ValueError("A pager shows at most 10 characters.", "body")

    def send(self, message: Message) -> Receipt:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def pager(monkeypatch):
    provider = PagerProvider()
    monkeypatch.setitem(registry._providers(), PagerProvider.name, provider)
    return provider


def deliver(row: Notification):
    return services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)


def test_the_service_that_took_a_send_and_its_message_id_are_kept(make_notification, pager):
    pager.answers.append(Receipt(provider_message_id="SM123", provider="pagerduty"))
    row = make_notification(channel="pager", recipient="ops")
    deliver(row)
    row.refresh_from_db()
    assert (row.status, row.provider, row.provider_message_id) == ("sent", "pagerduty", "SM123")
    assert DeliveryAttempt.objects.get(notification=row).provider == "pagerduty"


def test_a_transient_error_names_the_service_that_gave_it(make_notification, pager):
    error = TransientError("pagerduty: HTTP 503")
    error.provider = "pagerduty"
    pager.answers.append(error)
    row = make_notification(channel="pager", recipient="ops")
    with pytest.raises(services.DeliveryDeferred):
        deliver(row)
    assert DeliveryAttempt.objects.get(notification=row).provider == "pagerduty"


def test_a_dead_push_token_fails_the_send_and_is_remembered_for_the_client(make_notification, pager):
    pager.answers.append(DeadToken("fcm: UNREGISTERED", token="tok-1", provider="fcm"))
    row = make_notification(channel="pager", recipient="tok-1")
    assert deliver(row).status == "failed"
    row.refresh_from_db()
    assert (row.failure_reason, row.provider) == ("permanent", "fcm")
    dead = DeadPushToken.objects.get()
    assert (dead.owner_id, dead.token, dead.provider, dead.notification_id) == (row.owner_id, "tok-1", "fcm", row.id)


def test_content_a_channel_cannot_carry_is_a_400_naming_the_field(alice, pager):
    response = alice.post(URL, {"channel": "pager", "recipient": "ops", "body": "far too long for a pager"})
    assert response.status_code == 400
    assert response.json() == {"body": ["A pager shows at most 10 characters."]}
    assert not Notification.objects.exists()


def test_delivery_status_is_null_until_a_provider_reports(alice):
    response = alice.post(URL, {"channel": "console", "recipient": "ops"})
    assert response.status_code == 201
    assert response.json()["delivery_status"] is None


def report(row: Notification, event_id: str, type: str, minutes: int, **overrides):
    from datetime import timedelta

    from django.utils import timezone

    values = {
        "provider": "twilio",
        "channel": "sms",
        "provider_message_id": "SM1",
        "provider_event_id": event_id,
        "type": type,
        "occurred_at": timezone.now() + timedelta(minutes=minutes),
        "detail": {"raw": event_id},
        **overrides,
    }
    return services.provider_event_record(**values)


def test_a_report_is_stored_once_and_delivery_status_follows_the_latest(make_notification):
    row = make_notification(
        channel="sms", recipient="+14155550100", status="sent", provider="twilio", provider_message_id="SM1"
    )
    assert report(row, "e2", "opened", 2) is not None
    assert report(row, "e1", "delivered", 1) is not None  # arrives later, happened earlier
    assert report(row, "e1", "delivered", 1) is None  # the same report again
    row.refresh_from_db()
    assert (row.status, row.delivery_status) == ("sent", "opened")
    assert list(row.provider_events.values_list("type", flat=True)) == ["delivered", "opened"]


def test_a_report_for_another_provider_or_channel_changes_nothing(make_notification):
    row = make_notification(
        channel="sms", recipient="+1415555", status="sent", provider="twilio", provider_message_id="SM1"
    )
    assert report(row, "e1", "delivered", 0, provider="postmark") is None
    assert report(row, "e2", "delivered", 0, channel="email") is None
    assert report(row, "e3", "delivered", 0, provider_message_id="SM-unknown") is None
    row.refresh_from_db()
    assert row.delivery_status is None
