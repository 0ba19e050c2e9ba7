"""The README's curl line for each provider channel, as written, creates a notification that
the provider's stand-in then receives (the JSON each line sends, through the API and a delivery)."""

from __future__ import annotations

import json
import re

import pytest

from notifications import services
from notifications.models import Notification
from tests.conftest import ROOT
from tests.fakes.providers import slack, telegram, twilio  # noqa: F401  fixtures

CURL_BODY = re.compile(r"-d '(\{.*?\})'")


def readme_bodies() -> dict[str, dict]:
    bodies = [json.loads(text) for text in CURL_BODY.findall((ROOT / "README.md").read_text())]
    return {body["channel"]: body for body in bodies if "channel" in body}


@pytest.mark.parametrize("channel", ["sms", "push", "telegram", "slack"])
def test_the_readme_curl_line_of_each_provider_channel_is_sent(channel, alice, request):
    fake = request.getfixturevalue({"sms": "twilio"}.get(channel, channel))
    body = readme_bodies()[channel]
    response = alice.post("/api/v1/notifications/", body)
    assert response.status_code == 201, response.json()
    row = Notification.objects.get(id=response.json()["id"])

    result = services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)

    assert result.status == "sent"
    row.refresh_from_db()
    assert row.provider and row.provider_message_id
    assert fake.requests, f"the {channel} stand-in received nothing"
