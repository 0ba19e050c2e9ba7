"""sms, telegram and slack end to end: created through the API, delivered by a real worker
process (``celery -A config worker``) to local servers that answer as Twilio, Telegram and
Slack do, its settings pointing there through the environment as an operator's would."""

from __future__ import annotations

import pytest

from notifications.models import Notification
from testkit import wait_until
from tests.fakes.providers import (
    TELEGRAM_TOKEN,
    TWILIO_FROM,
    TWILIO_SID,
    slack,
    telegram,
    telegram_error,
    twilio,
    worker_env,
)

pytestmark = pytest.mark.worker

__all__ = ["slack", "telegram", "twilio"]  # the fixtures, used by name below

URL = "/api/v1/notifications/"


def settled(notification_id: str) -> Notification:
    return wait_until(
        lambda: Notification.objects.filter(id=notification_id, status__in=("sent", "failed")).first(),
        timeout=30,
        describe=lambda: str(Notification.objects.values("status", "last_error").get(id=notification_id)),
        interval=0.05,
    )


def test_a_worker_sends_an_sms_a_telegram_and_a_slack_message_created_through_the_api(
    alice, twilio, telegram, slack, start_worker
):
    start_worker(
        **worker_env(twilio=twilio, telegram=telegram, slack=slack),
        NOTIFY_PUBLIC_URL="https://notify.example.com",
        NOTIFY_RETRY_BACKOFF="1",
        NOTIFY_RETRY_BACKOFF_MAX="1",
    )
    telegram.then(telegram_error(429, "Too Many Requests: retry after 1", retry_after=1))

    created = {
        channel: alice.post(URL, {"channel": channel, "recipient": recipient, "subject": "Deploy", "body": "Done."})
        for channel, recipient in (("sms", "+1 415 555 0100"), ("telegram", "-1001234567890"), ("slack", "C012AB3CD"))
    }

    assert {channel: response.status_code for channel, response in created.items()} == dict.fromkeys(created, 201)
    rows = {channel: settled(response.json()["id"]) for channel, response in created.items()}
    assert {channel: (row.status, row.provider) for channel, row in rows.items()} == {
        "sms": ("sent", "twilio"),
        "telegram": ("sent", "telegram"),
        "slack": ("sent", "slack"),
    }

    [sms] = twilio.requests
    assert sms.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert sms.form() == {
        "To": "+14155550100",
        "From": TWILIO_FROM,
        "Body": "Done.",
        "StatusCallback": "https://notify.example.com/api/v1/callbacks/twilio/",
    }
    assert rows["sms"].provider_message_id.startswith("SM")

    throttled, sent = telegram.requests  # flood control first: retried after its retry_after
    assert throttled.path == sent.path == f"/bot{TELEGRAM_TOKEN}/sendMessage"
    assert sent.json() == {"chat_id": -1001234567890, "text": "Deploy\n\nDone."}
    assert (rows["telegram"].attempts, rows["telegram"].provider_message_id) == (2, "1")
    assert TELEGRAM_TOKEN not in "".join(rows["telegram"].delivery_attempts.values_list("error", flat=True))

    [posted] = slack.requests
    assert posted.json() == {"channel": "C012AB3CD", "text": "Deploy\n\nDone."}
    assert posted.headers["authorization"] == f"Bearer {slack.token}"
    assert rows["slack"].provider_message_id
