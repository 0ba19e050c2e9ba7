"""Expo's receipts pass against a real local server answering as Expo's getReceipts: each
receipt stored once as a provider report, delivery_status following it, dead tokens kept,
and only the pushes that await a receipt asked about."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import DeadPushToken, Notification, ProviderEvent, Status
from notifier import registry
from tests.fakes.push import EXPO_RECEIPTS, PushServices, expo_request_error

TOKEN = "ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]"


@pytest.fixture
def expo(settings):
    server = PushServices().start()
    settings.EXPO_API_URL = server.url
    registry.reset()
    yield server
    server.stop()


@pytest.fixture
def sent(make_notification):
    """An Expo push sent ``ago`` (20 minutes by default), with a fresh ticket id."""

    def make(ago: timedelta = timedelta(minutes=20), **fields: object) -> Notification:
        at = timezone.now() - ago
        values = {
            "channel": "push",
            "recipient": TOKEN,
            "status": Status.SENT,
            "provider": "expo",
            "provider_message_id": str(uuid.uuid4()),
            "sent_at": at,
            **fields,
        }
        return make_notification(**values)

    return make


def asked(expo: PushServices) -> list[str]:
    return [i for request in expo.received(EXPO_RECEIPTS) for i in request.json()["ids"]]


def test_receipts_are_stored_once_and_delivery_status_follows(expo, sent):
    ok, refused = sent(), sent()
    expo.receipts = {
        ok.provider_message_id: {"status": "ok"},
        refused.provider_message_id: {
            "status": "error",
            "message": "The message was too big.",
            "details": {"error": "MessageTooBig"},
        },
    }

    assert services.expo_receipts_collect() == 2
    assert services.expo_receipts_collect() == 0  # nothing new: both rows have their receipt

    ok.refresh_from_db(), refused.refresh_from_db()
    assert (ok.delivery_status, refused.delivery_status) == ("delivered", "undelivered")
    assert (ok.status, refused.status) == (Status.SENT, Status.SENT)
    event = ProviderEvent.objects.get(notification=refused)
    assert (event.provider, event.provider_event_id, event.type) == (
        "expo",
        f"receipt:{refused.provider_message_id}",
        "undelivered",
    )
    assert event.detail["details"] == {"error": "MessageTooBig"}
    assert ProviderEvent.objects.count() == 2
    assert len(expo.received(EXPO_RECEIPTS)) == 1  # the second pass had no row to ask about


def test_a_device_not_registered_receipt_keeps_the_dead_token(expo, sent):
    row = sent()
    expo.receipts = {
        row.provider_message_id: {
            "status": "error",
            "message": f'"{TOKEN}" is not a registered push notification recipient',
            "details": {"error": "DeviceNotRegistered"},
        }
    }

    services.expo_receipts_collect()

    dead = DeadPushToken.objects.get()
    assert (dead.owner_id, dead.token, dead.provider, dead.notification_id) == (row.owner_id, TOKEN, "expo", row.id)


def test_a_receipt_not_ready_is_asked_for_again_next_time(expo, sent):
    row = sent()

    assert services.expo_receipts_collect() == 0
    expo.receipts = {row.provider_message_id: {"status": "ok"}}
    assert services.expo_receipts_collect() == 1

    assert asked(expo) == [row.provider_message_id, row.provider_message_id]


def test_only_expo_pushes_sent_between_a_day_and_15_minutes_ago_are_asked_about(expo, sent):
    due = sent()
    sent(ago=timedelta(minutes=5))  # too early: Expo has no receipt yet
    sent(ago=timedelta(hours=25))  # too late: Expo no longer has it
    sent(provider="fcm")
    sent(channel="webhook", recipient="https://example.com/hook")
    sent(status=Status.FAILED)

    services.expo_receipts_collect()

    assert asked(expo) == [due.provider_message_id]


def test_a_failing_expo_ends_the_pass_and_the_next_one_asks_again(expo, sent):
    row = sent()
    expo.then(EXPO_RECEIPTS, expo_request_error(503, "INTERNAL_SERVER_ERROR", "Try again later."))
    expo.receipts = {row.provider_message_id: {"status": "ok"}}

    assert services.expo_receipts_collect() == 0
    assert services.expo_receipts_collect() == 1


def test_ids_are_asked_for_in_batches_of_at_most_1000(expo, sent, make_notification):
    base = timezone.now() - timedelta(hours=1)
    owner = sent().owner
    Notification.objects.bulk_create(
        Notification(
            owner=owner,
            channel="push",
            recipient=TOKEN,
            send_at=base,
            max_attempts=3,
            status=Status.SENT,
            provider="expo",
            provider_message_id=f"ticket-{n:04}",
            sent_at=base + timedelta(milliseconds=n),
        )
        for n in range(1500)
    )
    expo.receipts = {f"ticket-{n:04}": {"status": "ok"} for n in range(1500)}

    assert services.expo_receipts_collect() == 1500

    sizes = [len(request.json()["ids"]) for request in expo.received(EXPO_RECEIPTS)]
    assert sizes == [1000, 501]
    assert len(set(asked(expo))) == 1501
