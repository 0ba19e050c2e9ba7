"""/api/v1/webhook-secret/: each client's Standard Webhooks signing secret, and its rotation."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks import Webhook, WebhookVerificationError

from notifications import selectors, services
from notifications.models import Notification, WebhookSecret

URL = "/api/v1/webhook-secret/"
ROTATE = "/api/v1/webhook-secret/rotate/"


def key_bytes(secret: str) -> bytes:
    assert secret.startswith("whsec_")
    return base64.b64decode(secret.removeprefix("whsec_"), validate=True)


def signing_secrets_of(client: APIClient) -> tuple[str, ...]:
    return selectors.signing_secrets(secret=WebhookSecret.objects.get(owner=client.user))


# --- authentication ----------------------------------------------------------


@pytest.mark.parametrize(("method", "url"), [("get", URL), ("post", ROTATE)])
def test_no_credentials_is_401(db, method, url):
    assert getattr(APIClient(), method)(url).status_code == 401
    assert not WebhookSecret.objects.exists()


def test_bad_token_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.post(ROTATE).status_code == 401


# --- GET ---------------------------------------------------------------------


def test_first_get_makes_a_secret_and_later_gets_return_it(alice):
    first = alice.get(URL)

    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"secret", "created_at"}
    assert len(key_bytes(body["secret"])) == 32
    created_at = datetime.fromisoformat(body["created_at"])
    assert abs(timezone.now() - created_at) < timedelta(minutes=1)
    assert alice.get(URL).json() == body
    assert alice.get(URL).json() == body
    assert WebhookSecret.objects.filter(owner=alice.user).count() == 1


def test_each_client_has_its_own_secret(alice, bob):
    alices, bobs = alice.get(URL).json()["secret"], bob.get(URL).json()["secret"]

    assert alices != bobs
    assert key_bytes(alices) != key_bytes(bobs)


# --- rotate ------------------------------------------------------------------


def test_rotate_returns_a_new_secret_that_get_then_returns(alice):
    old = alice.get(URL).json()

    rotated = alice.post(ROTATE)

    assert rotated.status_code == 200
    new = rotated.json()
    assert new["secret"] != old["secret"]
    assert len(key_bytes(new["secret"])) == 32
    assert datetime.fromisoformat(new["created_at"]) >= datetime.fromisoformat(old["created_at"])
    assert alice.get(URL).json() == new


def test_after_a_rotation_both_secrets_sign_for_24_hours(alice):
    old = alice.get(URL).json()["secret"]
    before = timezone.now()

    new = alice.post(ROTATE).json()["secret"]

    assert signing_secrets_of(alice) == (new, old)
    expires = WebhookSecret.objects.get(owner=alice.user).previous_expires_at
    assert before + timedelta(hours=24) <= expires <= timezone.now() + timedelta(hours=24)


def test_once_the_overlap_is_over_only_the_new_secret_signs(alice):
    alice.get(URL)
    new = alice.post(ROTATE).json()["secret"]

    WebhookSecret.objects.filter(owner=alice.user).update(previous_expires_at=timezone.now() - timedelta(seconds=1))

    assert signing_secrets_of(alice) == (new,)
    assert alice.get(URL).json()["secret"] == new


def test_a_second_rotation_drops_the_oldest_secret(alice):
    first = alice.get(URL).json()["secret"]
    second = alice.post(ROTATE).json()["secret"]

    third = alice.post(ROTATE).json()["secret"]

    assert len({first, second, third}) == 3
    assert signing_secrets_of(alice) == (third, second)


def test_rotating_before_any_get_makes_a_secret(alice):
    rotated = alice.post(ROTATE)

    assert rotated.status_code == 200
    assert alice.get(URL).json()["secret"] == rotated.json()["secret"]


def test_rotating_one_client_leaves_the_other_alone(alice, bob):
    bobs = bob.get(URL).json()
    alice.get(URL)

    alice.post(ROTATE)

    assert bob.get(URL).json() == bobs
    assert signing_secrets_of(bob) == (bobs["secret"],)


@pytest.mark.parametrize(("method", "url"), [("get", ROTATE), ("post", URL), ("delete", URL), ("put", URL)])
def test_wrong_methods_are_405_and_change_nothing(alice, method, url):
    before = alice.get(URL).json()

    assert getattr(alice, method)(url).status_code == 405
    assert alice.get(URL).json() == before


# --- the secret the API gives is the one webhooks are signed with ------------------


def deliver(client: APIClient, sink, payload: dict):
    """Create a webhook notification due now and run the delivery the worker would."""
    seen = len(sink.requests)
    created = client.post("/api/v1/notifications/", {"channel": "webhook", "recipient": sink.url, "payload": payload})
    assert created.status_code == 201, created.content
    row = Notification.objects.get(id=created.json()["id"])
    result = services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)
    assert result is not None
    assert result.status == "sent"
    return sink.wait_for(seen + 1)[seen]


def test_delivered_webhooks_verify_with_the_secret_the_api_gives(alice, bob, sink, allow_private):
    alices = alice.get(URL).json()["secret"]
    bobs = bob.get(URL).json()["secret"]

    received = deliver(alice, sink, {"n": 1})

    assert Webhook(alices).verify(received.body, received.headers) == {"n": 1}
    with pytest.raises(WebhookVerificationError):
        Webhook(bobs).verify(received.body, received.headers)


def test_after_rotation_webhooks_verify_with_old_and_new_until_the_overlap_ends(alice, sink, allow_private):
    old = alice.get(URL).json()["secret"]
    new = alice.post(ROTATE).json()["secret"]

    during = deliver(alice, sink, {"n": 1})

    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(during.body, during.headers)
    Webhook(old).verify(during.body, during.headers)

    WebhookSecret.objects.filter(owner=alice.user).update(previous_expires_at=timezone.now() - timedelta(seconds=1))
    after = deliver(alice, sink, {"n": 2})

    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)


def test_rotating_a_leaked_secret_without_overlap_stops_the_old_one_at_once(alice, sink, allow_private):
    old = alice.get(URL).json()["secret"]
    response = alice.post(ROTATE, {"overlap": False})
    assert response.status_code == 200
    new = response.json()["secret"]

    received = deliver(alice, sink, {"n": 1})

    assert len(received.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(received.body, received.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(received.body, received.headers)


def test_rotate_with_a_malformed_overlap_is_400_and_keeps_the_secret(alice):
    old = alice.get(URL).json()["secret"]
    response = alice.post(ROTATE, {"overlap": "sometimes"})
    assert response.status_code == 400
    assert "overlap" in response.json()
    assert alice.get(URL).json()["secret"] == old
