"""What the /api/v1/notifications/ tests send: request bodies, and a notification created through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

URL = "/api/v1/notifications/"


def console(**extra):
    return {"channel": "console", "recipient": "ops-log", "body": "hello", **extra}


def hook(**extra):
    return {"channel": "webhook", "recipient": "https://example.com/hook", "payload": {"a": 1}, **extra}


@pytest.fixture
def created(alice):
    return alice.post(URL, hook(send_at=(timezone.now() + timedelta(hours=1)).isoformat()), format="json").json()
