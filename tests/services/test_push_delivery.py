"""A push notification delivered through the real push provider to a local server answering
as FCM and Expo: sent with the service's name and id, retried when they say later, and failed
for good, with the token kept as dead, when they say the token is gone."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import DeadPushToken, FailureReason, Notification, Status
from tests.fakes.push import EXPO_SEND, FCM, expo_ticket_error, fcm_error

EXPO_TOKEN = "ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]"
FCM_TOKEN = "fcm-" + "a" * 140


def deliver(row: Notification) -> Notification:
    services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)
    row.refresh_from_db()
    return row


@pytest.mark.parametrize(("token", "provider"), [(EXPO_TOKEN, "expo"), (FCM_TOKEN, "fcm")])
def test_a_push_is_sent_and_names_the_service_that_took_it(push, make_notification, token, provider):
    row = deliver(make_notification(channel="push", recipient=token, subject="Hi", body="Shipped."))

    assert (row.status, row.provider) == (Status.SENT, provider)
    assert row.provider_message_id
    assert len(push.received(EXPO_SEND if provider == "expo" else FCM)) == 1


@pytest.mark.parametrize(
    ("token", "route", "reply", "provider"),
    [
        (EXPO_TOKEN, EXPO_SEND, expo_ticket_error("DeviceNotRegistered", "not a registered recipient"), "expo"),
        (FCM_TOKEN, FCM, fcm_error(404, "UNREGISTERED", "Requested entity was not found."), "fcm"),
    ],
)
def test_a_dead_token_fails_for_good_and_is_kept(push, make_notification, token, route, reply, provider):
    push.then(route, reply)

    row = deliver(make_notification(channel="push", recipient=token))

    assert (row.status, row.failure_reason, row.provider) == (Status.FAILED, FailureReason.PERMANENT, provider)
    dead = DeadPushToken.objects.get()
    assert (dead.token, dead.provider, dead.owner_id, dead.notification_id) == (token, provider, row.owner_id, row.id)


@pytest.mark.parametrize(
    ("token", "route", "reply"),
    [
        (EXPO_TOKEN, EXPO_SEND, expo_ticket_error("MessageRateExceeded", "Too many messages.")),
        (FCM_TOKEN, FCM, fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.")),
    ],
)
def test_a_transient_answer_is_retried(push, make_notification, token, route, reply):
    push.then(route, reply)
    row = make_notification(channel="push", recipient=token)

    with pytest.raises(services.DeliveryDeferred):
        services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)

    row.refresh_from_db()
    assert row.status == Status.RETRYING
    assert not DeadPushToken.objects.exists()


def test_a_permanent_answer_fails_without_a_dead_token(push, make_notification):
    push.then(EXPO_SEND, expo_ticket_error("MessageTooBig", "The message was too big."))

    row = deliver(make_notification(channel="push", recipient=EXPO_TOKEN))

    assert (row.status, row.failure_reason) == (Status.FAILED, FailureReason.PERMANENT)
    assert not DeadPushToken.objects.exists()
