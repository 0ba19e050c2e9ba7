"""POST /api/v1/notifications/ (and bulk/) with ``to``: a recipient profile's id instead of an
address. The profile's address, template context, locale and preferences apply at create."""

from __future__ import annotations

import json
import time

import pytest

from notifications import services
from notifications.dispatch import queue_for
from notifications.models import DeliveryAttempt, Notification
from notifier import registry
from tests.commands.conftest import run

URL = "/api/v1/notifications/"
RECIPIENTS = "/api/v1/recipients/"
TEMPLATES = "/api/v1/templates/"
ADA = {
    "email": "ada@example.com",
    "phone": "+14155550100",
    "webhook_url": "https://example.com/hooks/ada",
    "push_tokens": ["ExponentPushToken[first]", "ExponentPushToken[second]"],
    "timezone": "Europe/Paris",
    "locale": "fr",
}


@pytest.fixture(autouse=True)
def every_channel(settings):
    """Every channel configured, so a refusal is about the profile, never the service."""
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = "AC" + "0" * 32, "t", "+15005550006"
    settings.TELEGRAM_BOT_TOKEN, settings.SLACK_BOT_TOKEN = "123:abc", "xoxb-1"
    registry.reset()


def profile(client, rid: str = "ada", **fields):
    response = client.put(f"{RECIPIENTS}{rid}/", {**ADA, **fields}, format="json")
    assert response.status_code in (200, 201), response.json()
    return response.json()


def mail(**extra):
    return {"channel": "email", "to": "ada", "subject": "Hi", "body": "Hello", **extra}


def ready_in_queue(priority: str = "normal") -> int:
    """Messages waiting in a priority's delivery queue (no worker runs in these tests)."""
    from celery import current_app

    with current_app.connection_for_write() as connection:
        channel = connection.channel()
        try:
            _, ready, _ = channel.queue_declare(queue=queue_for(priority), passive=True)
        finally:
            channel.close()
    return ready


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


# --- the address comes from the profile ------------------------------------------


@pytest.mark.parametrize(
    ("channel", "address"),
    [
        ("email", "ada@example.com"),
        ("sms", "+14155550100"),
        ("webhook", "https://example.com/hooks/ada"),
        ("push", "ExponentPushToken[first]"),  # the first token
        ("console", "ada"),  # the recipient's id is its address
    ],
)
def test_to_takes_the_profiles_address_for_the_channel(alice, channel, address):
    profile(alice)

    response = alice.post(URL, mail(channel=channel, category="orders"), format="json")

    assert response.status_code == 201, response.json()
    made = response.json()
    assert (made["recipient"], made["to"], made["category"], made["broadcast"]) == (address, "ada", "orders", None)
    assert made["status"] == "scheduled"
    assert alice.get(f"{URL}{made['id']}/").json()["recipient"] == address
    assert Notification.objects.get(id=made["id"]).recipient == address


def test_without_a_category_it_is_empty(alice):
    profile(alice)
    made = alice.post(URL, mail(), format="json").json()
    assert (made["to"], made["category"]) == ("ada", "")


def test_recipient_and_to_together_is_refused_naming_to(alice):
    profile(alice)

    response = alice.post(URL, mail(recipient="ada@example.com"), format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"to"}
    assert not Notification.objects.exists()


def test_neither_recipient_nor_to_is_refused_naming_recipient(alice):
    body = mail()
    del body["to"]

    response = alice.post(URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"recipient"}
    assert not Notification.objects.exists()


def test_an_unknown_recipient_is_refused_naming_to_and_another_clients_is_the_same(alice, bob):
    unknown = alice.post(URL, mail(), format="json")
    profile(bob)  # bob's "ada", not alice's
    anothers = alice.post(URL, mail(), format="json")

    assert unknown.status_code == anothers.status_code == 400
    assert set(unknown.json()) == {"to"}
    assert anothers.json() == unknown.json()  # nothing tells alice that bob has an "ada"
    assert not Notification.objects.exists()


@pytest.mark.parametrize("channel", ["email", "sms", "telegram", "slack", "webhook", "push"])
def test_a_profile_without_an_address_for_the_channel_is_refused_naming_to(alice, channel):
    profile(alice, email=None, phone=None, webhook_url=None, push_tokens=[])

    response = alice.post(URL, mail(channel=channel), format="json")

    assert response.status_code == 400, response.json()
    assert set(response.json()) == {"to"}
    assert channel in response.json()["to"][0]
    assert not Notification.objects.exists()


def test_console_needs_no_address_in_the_profile(alice):
    profile(alice, email=None, phone=None, webhook_url=None, push_tokens=[])
    response = alice.post(URL, mail(channel="console"), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["recipient"] == "ada"


# --- templates see the profile ----------------------------------------------------


@pytest.fixture
def greeting(alice):
    template = {
        "subject": "Hello {{ recipient.id }}",
        "body": "Mail to {{ recipient.email }} in {{ recipient.timezone }}, order {{ order }}.",
        "translations": {"fr": {"subject": "Bonjour {{ recipient.id }}", "body": "Pour {{ recipient.email }}."}},
    }
    assert alice.put(TEMPLATES + "greeting/", template, format="json").status_code == 201


def templated(**extra):
    return {"channel": "email", "to": "ada", "template": "greeting", "data": {"order": 7}, **extra}


def test_a_template_renders_with_the_profile_as_recipient_in_the_profiles_locale(alice, greeting):
    profile(alice)

    response = alice.post(URL, templated(), format="json")

    assert response.status_code == 201, response.json()
    made = response.json()
    assert (made["subject"], made["body"], made["locale"]) == ("Bonjour ada", "Pour ada@example.com.", "fr")


def test_the_requests_locale_wins_over_the_profiles(alice, greeting):
    profile(alice)

    made = alice.post(URL, templated(locale="en"), format="json").json()

    assert made["subject"] == "Hello ada"
    assert made["body"] == "Mail to ada@example.com in Europe/Paris, order 7."
    assert made["locale"] == "en"


def test_a_profile_in_a_locale_without_a_translation_gets_the_default_text(alice, greeting):
    profile(alice, locale="de")
    made = alice.post(URL, templated(), format="json").json()
    assert made["subject"] == "Hello ada"


# --- preferences at create ----------------------------------------------------------


@pytest.mark.parametrize(
    ("preferences", "channel", "category"),
    [
        ({"channels": {"email": False}}, "email", ""),
        ({"channels": {"email": False}}, "email", "billing"),
        ({"categories": {"marketing": False}}, "email", "marketing"),
        ({"categories": {"marketing": {"channels": {"sms": False}}}}, "sms", "marketing"),
    ],
)
def test_an_opted_out_notification_is_created_suppressed(alice, preferences, channel, category):
    profile(alice, preferences=preferences)
    body = mail(channel=channel, category=category) if category else mail(channel=channel)

    response = alice.post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    made = response.json()
    assert (made["status"], made["failure_reason"]) == ("suppressed", "opted_out")
    assert made["next_attempt_at"] is None
    assert made["attempts"] == 0
    assert alice.get(f"{URL}{made['id']}/").json()["status"] == "suppressed"


@pytest.mark.parametrize(
    ("preferences", "channel", "category"),
    [
        ({"channels": {"sms": False}}, "email", "marketing"),  # another channel off
        ({"categories": {"marketing": False}}, "email", "billing"),  # another category off
        ({"categories": {"marketing": False}}, "email", ""),  # no category given
        ({"categories": {"marketing": {"channels": {"sms": False}}}}, "email", "marketing"),  # off on sms only
        ({"categories": {"marketing": {"channels": {"email": True}}}}, "email", "marketing"),
    ],
)
def test_preferences_that_do_not_turn_it_off_let_it_through(alice, preferences, channel, category):
    profile(alice, preferences=preferences)
    body = mail(channel=channel, category=category) if category else mail(channel=channel)

    made = alice.post(URL, body, format="json").json()

    assert (made["status"], made["failure_reason"]) == ("scheduled", "")


def test_a_suppressed_notification_is_never_published_nor_sent(alice, empty_queues, django_capture_on_commit_callbacks):
    profile(alice, preferences={"categories": {"marketing": False}})

    with django_capture_on_commit_callbacks(execute=True):
        suppressed = alice.post(URL, mail(category="marketing"), format="json").json()
        allowed = alice.post(URL, mail(category="billing"), format="json").json()
    # Published in order on one producer: once the allowed one's message is counted, a
    # message of the suppressed one would be too.
    wait_until(lambda: ready_in_queue() >= 1)
    assert ready_in_queue() == 1

    row = Notification.objects.get(id=suppressed["id"])
    assert services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token) is None
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at) == ("suppressed", 0, None)
    assert not DeliveryAttempt.objects.filter(notification_id=row.id).exists()
    assert alice.get(f"{URL}{suppressed['id']}/attempts/").json() == []
    assert allowed["status"] == "scheduled"


def test_the_stats_command_counts_suppressed_notifications(alice):
    profile(alice, preferences={"channels": {"email": False}})
    for _ in range(2):
        alice.post(URL, mail(), format="json")
    alice.post(URL, mail(channel="console"), format="json")

    stats = json.loads(run("notification_stats", "--json"))

    assert stats["by_status"]["suppressed"] == 2
    assert stats["by_status"]["scheduled"] == 1


# --- bulk ------------------------------------------------------------------------------


def test_bulk_mixes_to_and_recipient_items_and_suppresses_the_opted_out_one(alice):
    profile(alice, preferences={"categories": {"marketing": False}})
    profile(alice, "bea", email="bea@example.com", push_tokens=["ExponentPushToken[bea]"], locale="en")
    items = [
        mail(),
        {"channel": "email", "recipient": "carl@example.com", "subject": "Hi", "body": "Hello"},
        mail(to="bea", channel="push"),
        mail(category="marketing"),
        {"channel": "console", "recipient": "ops-log", "body": "x"},
    ]

    response = alice.post(URL + "bulk/", {"notifications": items}, format="json")

    assert response.status_code == 201, response.json()
    made = response.json()["notifications"]
    assert [(n["recipient"], n["to"], n["status"]) for n in made] == [
        ("ada@example.com", "ada", "scheduled"),
        ("carl@example.com", "", "scheduled"),
        ("ExponentPushToken[bea]", "bea", "scheduled"),
        ("ada@example.com", "ada", "suppressed"),
        ("ops-log", "", "scheduled"),
    ]
    assert made[3]["failure_reason"] == "opted_out"
    assert Notification.objects.filter(owner=alice.user).count() == 5


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (mail(to="nobody"), "nobody"),
        (mail(channel="telegram"), "telegram"),  # ada has no telegram_chat_id
        (mail(recipient="ada@example.com"), "not both"),
    ],
)
def test_bulk_refuses_a_bad_to_item_by_index_and_stores_nothing(alice, bad, says):
    profile(alice)

    response = alice.post(URL + "bulk/", {"notifications": [mail(), bad]}, format="json")

    assert response.status_code == 400, response.json()
    errors = response.json()["notifications"]
    assert set(errors) == {"1"}
    assert set(errors["1"]) == {"to"}
    assert says in errors["1"]["to"][0]
    assert not Notification.objects.exists()


def test_bulk_refuses_another_clients_recipient(alice, bob):
    profile(bob)
    response = alice.post(URL + "bulk/", {"notifications": [mail()]}, format="json")
    assert response.status_code == 400
    assert set(response.json()["notifications"]["0"]) == {"to"}
    assert not Notification.objects.exists()


# --- idempotency ------------------------------------------------------------------------


def test_a_replay_with_the_same_key_returns_the_original(alice):
    profile(alice)
    first = alice.post(URL, mail(idempotency_key="k1", category="orders"), format="json")
    alice.patch(f"{RECIPIENTS}ada/", {"email": "ada@example.org"}, format="json")

    again = alice.post(URL, mail(idempotency_key="k1", category="orders"), format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["recipient"] == "ada@example.com"
    assert Notification.objects.count() == 1


def test_a_replay_of_a_suppressed_create_returns_it_suppressed(alice):
    profile(alice, preferences={"channels": {"email": False}})
    first = alice.post(URL, mail(idempotency_key="k2"), format="json").json()

    again = alice.post(URL, mail(idempotency_key="k2"), format="json")

    assert again.status_code == 200
    assert (again.json()["id"], again.json()["status"]) == (first["id"], "suppressed")
    assert Notification.objects.count() == 1


@pytest.mark.parametrize("change", [{"to": "bea"}, {"category": "marketing"}])
def test_the_same_key_with_another_to_or_category_is_a_conflict(alice, change):
    profile(alice)
    profile(alice, "bea", email="bea@example.com")
    assert alice.post(URL, mail(idempotency_key="k3", category="orders"), format="json").status_code == 201

    response = alice.post(URL, mail(idempotency_key="k3", **{"category": "orders", **change}), format="json")

    assert response.status_code == 422
    assert Notification.objects.count() == 1


def test_a_bulk_replay_returns_the_originals(alice):
    profile(alice)
    items = [mail(idempotency_key="b1"), mail(channel="console", idempotency_key="b2")]
    first = alice.post(URL + "bulk/", {"notifications": items}, format="json").json()["notifications"]

    again = alice.post(URL + "bulk/", {"notifications": items}, format="json")

    assert again.status_code in (200, 201)
    assert [n["id"] for n in again.json()["notifications"]] == [n["id"] for n in first]
    assert Notification.objects.count() == 2


# --- PATCH of a row sent to a profile -----------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"recipient": "eve@example.com"},
        {"channel": "sms"},
        {"channel": "console", "recipient": "x"},
    ],
)
def test_patch_refuses_recipient_and_channel_on_a_to_row_and_leaves_it_unchanged(alice, change):
    profile(alice)
    made = alice.post(URL, mail(send_at="2999-01-01T00:00:00Z"), format="json").json()

    response = alice.patch(f"{URL}{made['id']}/", change, format="json")

    assert response.status_code == 400, response.json()
    assert set(response.json()) == set(change)
    after = alice.get(f"{URL}{made['id']}/").json()
    assert after == made


def test_patch_of_the_content_of_a_to_row_is_allowed(alice):
    profile(alice)
    made = alice.post(URL, mail(send_at="2999-01-01T00:00:00Z"), format="json").json()

    response = alice.patch(f"{URL}{made['id']}/", {"body": "Changed"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["body"], response.json()["recipient"], response.json()["to"]) == (
        "Changed",
        "ada@example.com",
        "ada",
    )


def test_patch_of_the_recipient_of_a_row_without_to_still_works(alice):
    made = alice.post(
        URL,
        {"channel": "email", "recipient": "a@example.com", "body": "x", "send_at": "2999-01-01T00:00:00Z"},
        format="json",
    ).json()
    response = alice.patch(f"{URL}{made['id']}/", {"recipient": "b@example.com"}, format="json")
    assert response.status_code == 200
    assert response.json()["recipient"] == "b@example.com"


# --- filters ---------------------------------------------------------------------------------


def ids(response) -> set[str]:
    assert response.status_code == 200, response.json()
    return {n["id"] for n in response.json()["results"]}


def test_the_list_filters_by_to_and_by_category(alice, bob):
    profile(alice)
    profile(alice, "bea", email="bea@example.com")
    profile(bob)
    ada_orders = alice.post(URL, mail(category="orders"), format="json").json()["id"]
    ada_news = alice.post(URL, mail(category="news"), format="json").json()["id"]
    bea_orders = alice.post(URL, mail(to="bea", category="orders"), format="json").json()["id"]
    plain = alice.post(URL, {"channel": "email", "recipient": "ada@example.com", "body": "x"}, format="json").json()[
        "id"
    ]
    bob.post(URL, mail(category="orders"), format="json")

    assert ids(alice.get(URL, {"to": "ada"})) == {ada_orders, ada_news}
    assert ids(alice.get(URL, {"to": "bea"})) == {bea_orders}
    assert ids(alice.get(URL, {"to": "nobody"})) == set()
    assert ids(alice.get(URL, {"category": "orders"})) == {ada_orders, bea_orders}
    assert ids(alice.get(URL, {"to": "ada", "category": "orders"})) == {ada_orders}
    assert ids(alice.get(URL, {"recipient": "ada@example.com"})) == {ada_orders, ada_news, plain}
    assert len(ids(bob.get(URL, {"to": "ada"}))) == 1


def test_the_status_filter_finds_suppressed_notifications(alice):
    profile(alice, preferences={"categories": {"marketing": False}})
    suppressed = alice.post(URL, mail(category="marketing"), format="json").json()["id"]
    alice.post(URL, mail(category="orders"), format="json")

    assert ids(alice.get(URL, {"status": "suppressed"})) == {suppressed}


@pytest.mark.parametrize("category", ["a" * 65, "not a slug", "émoji✓"])
def test_a_category_that_is_not_a_short_slug_is_refused(alice, category):
    profile(alice)

    response = alice.post(URL, mail(category=category), format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"category"}
    assert not Notification.objects.exists()


def test_bulk_renders_a_template_for_each_items_own_profile(alice, greeting):
    profile(alice)  # locale fr
    profile(alice, "bea", email="bea@example.com", locale="en")

    response = alice.post(URL + "bulk/", {"notifications": [templated(), templated(to="bea")]}, format="json")

    assert response.status_code == 201, response.json()
    made = response.json()["notifications"]
    assert [(n["subject"], n["body"], n["locale"]) for n in made] == [
        ("Bonjour ada", "Pour ada@example.com.", "fr"),
        ("Hello bea", "Mail to bea@example.com in Europe/Paris, order 7.", "en"),
    ]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("patch", "", {"send_at": "2999-01-01T00:00:00Z"}),
        ("post", "cancel/", None),
        ("post", "retry/", None),
    ],
)
def test_a_suppressed_notification_cannot_be_rescheduled_cancelled_or_retried(alice, method, path, body):
    profile(alice, preferences={"channels": {"email": False}})
    made = alice.post(URL, mail(), format="json").json()

    response = getattr(alice, method)(f"{URL}{made['id']}/{path}", body, format="json")

    assert response.status_code == 409, response.json()
    assert alice.get(f"{URL}{made['id']}/").json() == made
