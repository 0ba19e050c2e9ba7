"""Creating notifications through /api/v1/notifications/: one, idempotently, or in bulk."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from tests.api.conftest import URL, console, hook

# --- create ------------------------------------------------------------------


def test_create_returns_the_resource_scheduled(alice):
    send_at = timezone.now() + timedelta(minutes=5)
    response = alice.post(URL, hook(send_at=send_at.isoformat(), subject="s"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "scheduled"
    assert body["channel"] == "webhook"
    assert body["payload"] == {"a": 1}
    assert body["priority"] == "normal"
    assert body["max_attempts"] == 18
    assert body["attempts"] == 0
    assert body["last_error"] is None
    assert body["next_attempt_at"] is not None
    uuid.UUID(body["id"])
    row = Notification.objects.get(id=body["id"])
    assert abs((row.send_at - send_at).total_seconds()) < 0.001
    assert row.owner == alice.user


def test_send_at_defaults_to_now_and_a_past_time_means_now(alice):
    before = timezone.now()
    no_time = alice.post(URL, console(), format="json").json()
    past = alice.post(URL, console(send_at="2001-01-01T00:00:00Z"), format="json").json()
    for body in (no_time, past):
        row = Notification.objects.get(id=body["id"])
        assert before <= row.send_at <= timezone.now()


def test_create_publishes_on_commit(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = alice.post(URL, console(), format="json")
    assert response.status_code == 201
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"recipient": "x"}, "channel"),
        ({"channel": "pigeon", "recipient": "x"}, "channel"),
        ({"channel": "webhook"}, "recipient"),
        ({"channel": "webhook", "recipient": "ftp://example.com/x"}, "recipient"),
        ({"channel": "webhook", "recipient": "not a url"}, "recipient"),
        ({"channel": "email", "recipient": "not-an-address"}, "recipient"),
        (console(send_at="tomorrow"), "send_at"),
        (console(send_at="2030-01-01T09:00:00"), "send_at"),
        (console(priority="urgent"), "priority"),
        (console(max_attempts=0), "max_attempts"),
        (console(max_attempts=51), "max_attempts"),
        (console(payload=[1, 2]), "payload"),
        (console(idempotency_key="k" * 256), "idempotency_key"),
    ],
)
def test_invalid_fields_are_400_and_write_nothing(alice, body, field):
    response = alice.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Notification.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        "[1, 2]",
        '"text"',
        "null",
        "\x00\xff",
        "[" * 100_000 + "]" * 100_000,
        '{"channel": "console", "recipient": "x", "payload": {"a": NaN}}',
        '{"channel": "console", "recipient": "x", "payload": {"a": "\\u0000"}}',
        '{"channel": "console", "recipient": "x", "payload": {"\\u0000": 1}}',
        '{"channel": "console", "recipient": "x\\u0000"}',
        '{"channel": "console", "recipient": "x", "max_attempts": ' + "9" * 5000 + "}",
        '{"channel": "console", "recipient": "x", "send_at": "0001-01-01T00:00:00+14:00"}',
    ],
)
def test_malformed_bodies_are_400_and_write_nothing(alice, raw):
    response = alice.generic("POST", URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert Notification.objects.count() == 0


@pytest.mark.parametrize(
    "recipient",
    [
        "http://127.0.0.1/x",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://localhost:8080/",
        "http://LOCALHOST./",
        "http://api.localhost/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
    ],
)
def test_private_webhook_targets_are_refused_at_create(alice, recipient):
    response = alice.post(URL, hook(recipient=recipient), format="json")
    assert response.status_code == 400
    assert "recipient" in response.json()
    assert Notification.objects.count() == 0


def test_private_targets_are_accepted_when_the_operator_allows_them(alice, allow_private):
    assert alice.post(URL, hook(recipient="http://127.0.0.1:9/x"), format="json").status_code == 201


def test_an_oversized_body_is_413_json(alice, settings):
    body = '{"channel": "console", "recipient": "x", "body": "' + "a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}'
    response = alice.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 413
    assert "detail" in response.json()
    assert Notification.objects.count() == 0


def test_a_send_at_beyond_the_brokers_longest_delay_is_published_for_that_delay(alice):
    from notifications.dispatch import MAX_BROKER_DELAY, publish_options

    response = alice.post(URL, console(send_at="2999-01-01T00:00:00Z"), format="json")
    assert response.status_code == 201
    now = timezone.now()
    eta = publish_options(Notification.objects.get().next_attempt_at, "normal", now)["eta"]
    assert eta == now + MAX_BROKER_DELAY


# --- idempotency -------------------------------------------------------------


def test_idempotent_replay_returns_the_original(alice):
    first = alice.post(URL, console(idempotency_key="order-1"), format="json")
    again = alice.post(URL, console(idempotency_key="order-1"), format="json")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Notification.objects.count() == 1


def test_idempotency_key_header_works_like_the_field(alice):
    first = alice.post(URL, console(), format="json", HTTP_IDEMPOTENCY_KEY="h-1")
    again = alice.post(URL, console(idempotency_key="h-1"), format="json")
    assert first.json()["idempotency_key"] == "h-1"
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_same_key_other_body_is_422(alice):
    alice.post(URL, console(idempotency_key="k"), format="json")
    response = alice.post(URL, console(idempotency_key="k", body="other"), format="json")
    assert response.status_code == 422
    assert "detail" in response.json()
    assert Notification.objects.count() == 1


def test_header_and_field_that_disagree_are_400(alice):
    response = alice.post(URL, console(idempotency_key="a"), format="json", HTTP_IDEMPOTENCY_KEY="b")
    assert response.status_code == 400
    assert Notification.objects.count() == 0


def test_idempotency_keys_are_per_client(alice, bob):
    a = alice.post(URL, console(idempotency_key="shared"), format="json")
    b = bob.post(URL, console(idempotency_key="shared", body="bob's"), format="json")
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


# --- bulk --------------------------------------------------------------------


def test_bulk_creates_all(alice, django_capture_on_commit_callbacks):
    items = [console(body=str(i)) for i in range(5)]
    with django_capture_on_commit_callbacks() as callbacks:
        response = alice.post(URL + "bulk/", {"notifications": items}, format="json")
    assert response.status_code == 201
    bodies = [n["body"] for n in response.json()["notifications"]]
    assert bodies == [str(i) for i in range(5)]
    assert Notification.objects.filter(owner=alice.user).count() == 5
    assert len(callbacks) == 1  # one publish pass for the whole batch


def test_bulk_is_all_or_nothing_with_errors_by_index(alice):
    items = [console(), hook(recipient="nope"), console(), console(priority="x")]
    response = alice.post(URL + "bulk/", {"notifications": items}, format="json")
    assert response.status_code == 400
    errors = response.json()["notifications"]
    assert set(errors) == {"1", "3"}
    assert "recipient" in errors["1"]
    assert "priority" in errors["3"]
    assert Notification.objects.count() == 0


def test_bulk_rejects_more_than_1000_and_empty(alice):
    too_many = alice.post(URL + "bulk/", {"notifications": [console()] * 1001}, format="json")
    empty = alice.post(URL + "bulk/", {"notifications": []}, format="json")
    missing = alice.post(URL + "bulk/", {}, format="json")
    assert too_many.status_code == empty.status_code == missing.status_code == 400
    assert Notification.objects.count() == 0


def test_bulk_replays_known_keys_and_refuses_changed_ones(alice):
    first = alice.post(URL, console(idempotency_key="b1"), format="json").json()
    replay = alice.post(URL + "bulk/", {"notifications": [console(idempotency_key="b1"), console()]}, format="json")
    assert replay.status_code == 201
    assert replay.json()["notifications"][0]["id"] == first["id"]
    changed = alice.post(URL + "bulk/", {"notifications": [console(idempotency_key="b1", body="x")]}, format="json")
    assert changed.status_code == 422
    assert Notification.objects.count() == 2
