"""GET /api/v1/notifications/{id}/events/: what the provider reported, oldest first, to its owner only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from tests.api.conftest import URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms(alice, make_notification):
    return make_notification(
        owner=alice.user,
        channel="sms",
        recipient="+14155550100",
        status="sent",
        provider="twilio",
        provider_message_id="SM0001",
    )


def report(notification, event_type: str, at, **detail):
    return services.provider_event_record(
        provider=notification.provider,
        channel=notification.channel,
        provider_message_id=notification.provider_message_id,
        provider_event_id=f"{notification.provider_message_id}:{event_type}:{at.isoformat()}",
        type=event_type,
        occurred_at=at,
        detail=detail,
    )


def test_none_yet_is_an_empty_list(alice, sms):
    response = alice.get(f"{URL}{sms.id}/events/")

    assert response.status_code == 200
    assert response.json() == []


def test_events_are_listed_oldest_first_whatever_order_they_arrived_in(alice, sms):
    now = timezone.now()
    report(sms, "undelivered", now, status="undelivered", error_code="30003")
    report(sms, "delivered", now - timedelta(minutes=1), status="delivered", error_code=None)

    body = alice.get(f"{URL}{sms.id}/events/").json()

    assert [event["type"] for event in body] == ["delivered", "undelivered"]
    assert body[1] == {
        "type": "undelivered",
        "provider": "twilio",
        "occurred_at": body[1]["occurred_at"],
        "detail": {"status": "undelivered", "error_code": "30003"},
    }
    assert body[0]["occurred_at"] < body[1]["occurred_at"]


def test_another_clients_notification_is_404(bob, sms):
    report(sms, "delivered", timezone.now())

    response = bob.get(f"{URL}{sms.id}/events/")

    assert response.status_code == 404
    assert "detail" in response.json()


def test_an_unknown_id_is_404(alice):
    assert alice.get(f"{URL}00000000-0000-0000-0000-000000000000/events/").status_code == 404


def test_without_a_trailing_slash_it_is_the_same(alice, sms):
    report(sms, "delivered", timezone.now())

    response = alice.get(f"{URL}{sms.id}/events")

    assert response.status_code == 200
    assert [event["type"] for event in response.json()] == ["delivered"]
