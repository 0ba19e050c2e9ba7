"""/api/v1/recipients/: every endpoint and answer, the validation table, and another client's 404."""

from __future__ import annotations

import pytest

from notifications.models import Notification, Recipient
from tests.api.test_listing import FORGED_CURSORS

URL = "/api/v1/recipients/"
PROFILE = {
    "email": "Ada@Example.COM",
    "phone": "+1 415 555 0100",
    "telegram_chat_id": "123456789",
    "slack_id": "U01234567AB",
    "webhook_url": "https://example.com/hooks/ada",
    "push_tokens": ["ExponentPushToken[abc123]", "ExponentPushToken[abc123]"],
    "timezone": "Europe/Paris",
    "locale": "pt-br",
    "preferences": {
        "channels": {"sms": False},
        "categories": {"marketing": False, "billing": {"channels": {"email": True}}},
    },
    "quiet_hours": {"start": "22:00", "end": "07:00"},
}


def put(client, rid: str = "ada", body: dict | None = None):
    return client.put(f"{URL}{rid}/", PROFILE if body is None else body, format="json")


def test_put_creates_with_normalised_values_then_replaces(alice):
    created = put(alice)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["id"] == "ada"
    assert body["email"] == "Ada@example.com"
    assert body["phone"] == "+14155550100"
    assert body["push_tokens"] == ["ExponentPushToken[abc123]"]
    assert body["locale"] == "pt-BR"
    assert body["quiet_hours"] == {"start": "22:00", "end": "07:00"}

    replaced = put(alice, body={"email": "ada@example.org"})
    assert replaced.status_code == 200
    again = replaced.json()
    assert again["email"] == "ada@example.org"
    assert again["phone"] is None  # a PUT states the whole profile
    assert again["push_tokens"] == []
    assert again["timezone"] == "UTC"
    assert again["locale"] == "en"
    assert again["preferences"] == {}
    assert again["created_at"] == body["created_at"]
    assert Recipient.objects.count() == 1


def test_default_locale_is_the_setting(alice, settings):
    settings.NOTIFY_DEFAULT_LOCALE = "de"
    assert put(alice, body={}).json()["locale"] == "de"


def test_patch_changes_only_what_is_given(alice):
    put(alice)
    response = alice.patch(f"{URL}ada/", {"timezone": "America/New_York"}, format="json")
    assert response.status_code == 200
    assert response.json()["timezone"] == "America/New_York"
    assert response.json()["phone"] == "+14155550100"


def test_get_own_and_404_for_unknown_and_for_anothers(alice, bob):
    put(alice)
    assert alice.get(f"{URL}ada/").status_code == 200
    assert alice.get(f"{URL}ada").status_code == 200  # no trailing slash works too
    for client, rid in ((alice, "nobody"), (bob, "ada")):
        response = client.get(f"{URL}{rid}/")
        assert response.status_code == 404
        assert set(response.json()) == {"detail"}
    assert bob.patch(f"{URL}ada/", {"timezone": "UTC"}, format="json").status_code == 404
    assert bob.delete(f"{URL}ada/").status_code == 404
    assert alice.get(f"{URL}ada/").json()["timezone"] == "Europe/Paris"


def test_bobs_put_of_the_same_id_is_his_own_profile(alice, bob):
    put(alice)
    assert put(bob, body={"email": "b@example.com"}).status_code == 201
    assert alice.get(f"{URL}ada/").json()["email"] == "Ada@example.com"


def test_an_id_longer_than_255_is_404(alice):
    assert put(alice, rid="x" * 256).status_code == 404
    assert put(alice, rid="x" * 255).status_code == 201


def test_list_is_newest_first_in_cursor_pages_and_only_own(alice, bob):
    for rid in ("a", "b", "c"):
        put(alice, rid=rid, body={})
    put(bob, rid="z", body={})
    first = alice.get(URL, {"page_size": 2}).json()
    assert [r["id"] for r in first["results"]] == ["c", "b"]
    second = alice.get(first["next"]).json()
    assert [r["id"] for r in second["results"]] == ["a"]


def test_list_filters_by_email_and_phone(alice):
    put(alice, rid="ada")
    put(alice, rid="bo", body={"email": "bo@example.com", "phone": "+442079460000"})
    by_email = alice.get(URL, {"email": "Ada@EXAMPLE.com"}).json()["results"]
    assert [r["id"] for r in by_email] == ["ada"]
    by_phone = alice.get(URL, {"phone": "+44 20 7946 0000"}).json()["results"]
    assert [r["id"] for r in by_phone] == ["bo"]
    assert alice.get(URL, {"phone": "12"}).status_code == 400


@pytest.mark.parametrize("cursor", list(FORGED_CURSORS.values())[:6])
def test_forged_cursors_are_400_naming_cursor(alice, cursor):
    put(alice)
    response = alice.get(URL, {"cursor": cursor})
    assert response.status_code == 400
    assert list(response.json()) == ["cursor"]


BAD = {
    "email not an address": ("email", "not-an-email"),
    "phone not E.164": ("phone", "4155550100"),
    "phone not a number": ("phone", "+1 000"),
    "webhook private": ("webhook_url", "http://127.0.0.1/hook"),
    "webhook not http": ("webhook_url", "ftp://example.com/"),
    "telegram not a chat": ("telegram_chat_id", "@no"),
    "slack a #name": ("slack_id", "#general"),
    "push token junk": ("push_tokens", ["junk"]),
    "push token too long": ("push_tokens", ["ExponentPushToken[" + "a" * 600 + "]"]),
    "push tokens not a list": ("push_tokens", "ExponentPushToken[abc]"),
    "timezone unknown": ("timezone", "Mars/Olympus"),
    "timezone a path": ("timezone", "../etc/passwd"),
    "locale not BCP 47": ("locale", "en_US"),
    "locale empty": ("locale", ""),
    "preferences unknown key": ("preferences", {"channel": {"sms": False}}),
    "preferences unknown channel": ("preferences", {"channels": {"fax": False}}),
    "preferences not boolean": ("preferences", {"channels": {"sms": "no"}}),
    "category not boolean": ("preferences", {"categories": {"marketing": "off"}}),
    "category unknown key": ("preferences", {"categories": {"billing": {"chanels": {}}}}),
    "category not a slug": ("preferences", {"categories": {"a b": False}}),
    "preferences a list": ("preferences", []),
    "quiet hours bad time": ("quiet_hours", {"start": "24:00", "end": "07:00"}),
    "quiet hours same": ("quiet_hours", {"start": "07:00", "end": "07:00"}),
    "quiet hours missing end": ("quiet_hours", {"start": "22:00"}),
    "quiet hours extra key": ("quiet_hours", {"start": "22:00", "end": "07:00", "tz": "UTC"}),
}


@pytest.mark.parametrize(("field", "value"), BAD.values(), ids=BAD.keys())
def test_invalid_fields_are_400_naming_the_field(alice, field, value):
    response = put(alice, body={field: value})
    assert response.status_code == 400, response.json()
    assert list(response.json()) == [field]
    assert not Recipient.objects.exists()


def test_timezone_error_names_it(alice):
    assert "Mars/Olympus" in put(alice, body={"timezone": "Mars/Olympus"}).json()["timezone"][0]


def test_webhook_private_is_allowed_when_the_operator_allows_it(alice, allow_private):
    assert put(alice, body={"webhook_url": "http://127.0.0.1/hook"}).status_code == 201


def test_telegram_and_slack_follow_their_provider_when_configured(alice, settings):
    settings.TELEGRAM_BOT_TOKEN = "123:abc"
    settings.SLACK_BOT_TOKEN = "xoxb-1"
    assert put(alice, body={"telegram_chat_id": "@somechannel", "slack_id": "C012AB3CD"}).status_code == 201
    assert put(alice, body={"slack_id": "general"}).status_code == 400


GOOD = {
    "midnight wrap": {"quiet_hours": {"start": "22:00", "end": "07:00"}},
    "same day": {"quiet_hours": {"start": "12:00", "end": "13:30"}},
    "null quiet hours": {"quiet_hours": None},
    "script and region": {"locale": "zh-hant-tw"},
    "negative chat": {"telegram_chat_id": "-1001234567890"},
    "nulls": {"email": None, "phone": None, "webhook_url": None},
}


@pytest.mark.parametrize("body", GOOD.values(), ids=GOOD.keys())
def test_valid_profiles_are_taken(alice, body):
    assert put(alice, body=body).status_code == 201


def test_put_needs_a_json_body_type(alice):
    response = alice.put(f"{URL}ada/", "email=a@example.com", content_type="text/plain")
    assert response.status_code == 415


def test_delete_erases_the_profile_and_the_notifications_content(alice, bob, make_notification):
    put(alice)
    mine = make_notification(owner=alice.user, channel="email", recipient="Ada@example.com", body="secret")
    other = make_notification(owner=bob.user, channel="email", recipient="Ada@example.com", body="bob's")

    assert alice.delete(f"{URL}ada/").status_code == 204

    assert alice.get(f"{URL}ada/").status_code == 404
    assert alice.get(URL, {"email": "Ada@example.com"}).json()["results"] == []
    assert alice.get("/api/v1/notifications/", {"recipient": "Ada@example.com"}).json()["results"] == []
    mine.refresh_from_db()
    assert (mine.recipient, mine.body) == ("", "")
    assert Notification.objects.get(id=other.id).body == "bob's"
    assert alice.delete(f"{URL}ada/").status_code == 404
