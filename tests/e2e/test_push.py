"""Push end to end: notifications created through the API and sent by a real worker to a
local server answering as Google's token endpoint, FCM and Expo."""

from __future__ import annotations

import pytest

from notifications.models import Status
from notifier import registry
from tests.e2e.test_worker import wait_for_status
from tests.fakes.push import EXPO_SEND, FCM, TOKEN, PushServices

pytestmark = pytest.mark.worker

URL = "/api/v1/notifications/"
EXPO_TOKEN = "ExponentPushToken[e2e-xxxxxxxxxxxxxxxxxxx]"
FCM_TOKEN = "fcm-e2e-" + "b" * 140


@pytest.fixture
def push(settings, tmp_path):
    server = PushServices().start()
    settings.FCM_CREDENTIALS = str(server.account(tmp_path))  # the API checks FCM tokens against it
    registry.reset()
    yield server
    server.stop()


def test_an_expo_and_an_fcm_push_are_sent_by_a_worker(alice, push, settings, start_worker):
    start_worker(FCM_CREDENTIALS=settings.FCM_CREDENTIALS, FCM_API_URL=push.url, EXPO_API_URL=push.url)

    expo = alice.post(URL, {"channel": "push", "recipient": EXPO_TOKEN, "subject": "Hi", "body": "Expo"})
    fcm = alice.post(
        URL, {"channel": "push", "recipient": FCM_TOKEN, "subject": "Hi", "body": "FCM", "payload": {"n": 1}}
    )
    assert (expo.status_code, fcm.status_code) == (201, 201)

    expo_row = wait_for_status(expo.json()["id"], Status.SENT, Status.FAILED)
    fcm_row = wait_for_status(fcm.json()["id"], Status.SENT, Status.FAILED)
    assert (expo_row.status, expo_row.provider) == (Status.SENT, "expo")
    assert expo_row.provider_message_id in push.tickets
    assert (fcm_row.status, fcm_row.provider) == (Status.SENT, "fcm")
    [sent_expo] = push.received(EXPO_SEND)
    assert sent_expo.json()[0]["to"] == EXPO_TOKEN
    [sent_fcm] = push.received(FCM)
    assert sent_fcm.json()["message"]["data"] == {"n": "1"}
    assert len(push.received(TOKEN)) == 1


def test_an_fcm_token_is_refused_at_create_when_fcm_is_not_configured(alice, settings):
    settings.FCM_CREDENTIALS = ""
    registry.reset()

    answer = alice.post(URL, {"channel": "push", "recipient": FCM_TOKEN, "body": "x"})

    assert answer.status_code == 400
    assert "FCM_CREDENTIALS" in answer.json()["recipient"][0]
