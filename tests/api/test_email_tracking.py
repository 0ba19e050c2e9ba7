"""``POST /api/v1/callbacks/email/{esp}/tracking/``: Postmark-shaped tracking events through
django-anymail's own view, its basic auth, and our receiver."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from notifications.models import Notification, ProviderEvent
from tests.fakes import postmark

URL = "/api/v1/callbacks/email/postmark/tracking/"
SECRET = "anymail:s3cret-webhook"


def auth(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


@pytest.fixture
def secret(settings):
    settings.ANYMAIL = {**getattr(settings, "ANYMAIL", {}), "WEBHOOK_SECRET": SECRET}
    return SECRET


@pytest.fixture
def sent(make_notification):
    """An email Postmark took, as the delivery service records it."""
    return make_notification(
        channel="email",
        recipient="alice@example.com",
        status="sent",
        provider="postmark",
        provider_message_id="pm-0001",
    )


def post(event: dict, *, secret: str | None = SECRET, url: str = URL):
    headers = auth(secret) if secret is not None else {}
    return Client().post(url, json.dumps(event), content_type="application/json", **headers)


def test_delivery_bounce_and_open_are_stored_and_delivery_status_follows_the_latest(secret, sent):
    assert post(postmark.delivery_event("pm-0001")).status_code == 200
    sent.refresh_from_db()
    assert (sent.status, sent.delivery_status) == ("sent", "delivered")

    assert post(postmark.bounce_event("pm-0001")).status_code == 200
    assert post(postmark.open_event("pm-0001")).status_code == 200

    sent.refresh_from_db()
    assert (sent.status, sent.delivery_status) == ("sent", "opened")
    events = list(ProviderEvent.objects.filter(notification=sent).order_by("occurred_at"))
    assert [(e.provider, e.type) for e in events] == [
        ("postmark", "delivered"),
        ("postmark", "bounced"),
        ("postmark", "opened"),
    ]
    bounce = events[1]
    assert bounce.provider_event_id == "4242"
    assert bounce.detail["event_type"] == "bounced"
    assert bounce.detail["reject_reason"] == "bounced"
    assert "550 5.1.1" in bounce.detail["mta_response"]
    assert "Content" not in bounce.detail  # a small summary, not Postmark's payload


def test_the_same_event_twice_is_stored_once(secret, sent):
    assert post(postmark.delivery_event("pm-0001")).status_code == 200
    assert post(postmark.delivery_event("pm-0001")).status_code == 200
    assert post(postmark.bounce_event("pm-0001", bounce_id=7)).status_code == 200
    assert post(postmark.bounce_event("pm-0001", bounce_id=7)).status_code == 200

    assert ProviderEvent.objects.filter(notification=sent).count() == 2


def test_an_unknown_message_id_is_a_200_and_changes_nothing(secret, sent):
    response = post(postmark.delivery_event("pm-unknown"))

    assert response.status_code == 200
    assert not ProviderEvent.objects.exists()
    sent.refresh_from_db()
    assert sent.delivery_status is None


def test_an_event_for_an_email_another_service_sent_changes_nothing(secret, make_notification):
    """The fallback sent it: Postmark's report for the same id is not about it."""
    row = make_notification(
        channel="email",
        recipient="a@example.com",
        status="sent",
        provider="smtp-fallback",
        provider_message_id="pm-0001",
    )

    assert post(postmark.delivery_event("pm-0001")).status_code == 200

    row.refresh_from_db()
    assert row.delivery_status is None
    assert not ProviderEvent.objects.exists()


@pytest.mark.parametrize("given", [None, "anymail:wrong", "other:s3cret-webhook"])
def test_a_wrong_or_missing_secret_is_refused_and_nothing_stored(secret, sent, given):
    response = post(postmark.delivery_event("pm-0001"), secret=given)

    assert response.status_code == 400  # anymail's answer: a SuspiciousOperation
    assert not ProviderEvent.objects.exists()
    sent.refresh_from_db()
    assert sent.delivery_status is None


def test_without_a_configured_secret_the_webhook_is_closed(settings, sent):
    settings.ANYMAIL = {}

    response = post(postmark.delivery_event("pm-0001"), secret=None)

    assert response.status_code == 403
    assert "ANYMAIL_WEBHOOK_SECRET" in response.json()["detail"]
    assert not ProviderEvent.objects.exists()


def test_status_never_moves_whatever_is_reported(secret, make_notification):
    failed = make_notification(
        channel="email",
        recipient="alice@example.com",
        status="failed",
        provider="postmark",
        provider_message_id="pm-0002",
        next_attempt_at=None,
    )

    assert post(postmark.delivery_event("pm-0002")).status_code == 200

    failed.refresh_from_db()
    assert (failed.status, failed.delivery_status) == ("failed", "delivered")


def test_events_with_no_delivery_status_are_ignored(secret, sent):
    deferred = {**postmark.bounce_event("pm-0001"), "Type": "Transient"}  # anymail: deferred

    assert post(deferred).status_code == 200

    assert not ProviderEvent.objects.exists()


def test_the_path_without_its_trailing_slash_is_served_too(secret, sent):
    response = post(postmark.delivery_event("pm-0001"), url=URL.rstrip("/"))

    assert response.status_code == 200
    assert Notification.objects.get(id=sent.id).delivery_status == "delivered"


def test_the_session_and_csrf_of_the_api_do_not_apply(secret, sent):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        URL, json.dumps(postmark.delivery_event("pm-0001")), content_type="application/json", **auth(SECRET)
    )

    assert response.status_code == 200
