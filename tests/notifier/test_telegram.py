"""``telegram`` through the Bot API's sendMessage, against a local server that answers as the
Bot API does (tests/fakes/providers.py): what is sent, how each answer is classed, that the
bot token (in the URL path) never reaches an error, and what the API refuses."""

from __future__ import annotations

import logging
import uuid

import pytest

from notifications import services
from notifications.models import Notification
from notifier import Message, PermanentError, TransientError, get_provider, registry
from notifier.telegram import TelegramProvider
from testkit import free_port
from tests.fakes.providers import TELEGRAM_TOKEN, telegram_error
from tests.sink import Reply

URL = "/api/v1/notifications/"


def message(**fields: str) -> Message:
    return Message(**{"id": str(uuid.uuid4()), "recipient": "-1001234567890", "body": "Deploy done.", **fields})


def test_a_sent_message_returns_its_message_id_and_posts_chat_id_and_text(telegram):
    receipt = get_provider("telegram").send(message(subject="Deploys"))

    [request] = telegram.requests
    assert request.path == f"/bot{TELEGRAM_TOKEN}/sendMessage"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"chat_id": -1001234567890, "text": "Deploys\n\nDeploy done."}
    assert (receipt.provider_message_id, receipt.provider) == ("1", "telegram")


def test_a_channel_username_is_sent_as_it_is(telegram):
    get_provider("telegram").send(message(recipient="@notifier_news"))

    assert telegram.requests[0].json()["chat_id"] == "@notifier_news"


def test_flood_control_is_transient_after_parameters_retry_after(telegram):
    telegram.then(telegram_error(429, "Too Many Requests: retry after 17", retry_after=17))

    with pytest.raises(TransientError, match="telegram: error 429: Too Many Requests") as caught:
        get_provider("telegram").send(message())

    assert caught.value.retry_after == 17
    assert caught.value.provider == "telegram"


@pytest.mark.parametrize("status", [500, 502])
def test_telegram_5xx_is_transient(telegram, status):
    telegram.then(Reply(status, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>"))

    with pytest.raises(TransientError, match=f"telegram: HTTP {status}") as caught:
        get_provider("telegram").send(message())

    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (400, "Bad Request: chat not found"),
        (403, "Forbidden: bot was blocked by the user"),
        (403, "Forbidden: bot was kicked from the supergroup chat"),
    ],
)
def test_400_and_403_are_permanent_with_telegrams_description(telegram, code, description):
    telegram.then(telegram_error(code, description))

    with pytest.raises(PermanentError) as caught:
        get_provider("telegram").send(message())

    assert str(caught.value) == f"telegram: error {code}: {description}"


def test_a_migrated_group_says_where_it_went(telegram):
    telegram.then(
        telegram_error(400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=-100987)
    )

    with pytest.raises(PermanentError, match=r"the group is now chat -100987"):
        get_provider("telegram").send(message(recipient="-4567"))


def test_a_wrong_token_is_permanent_and_never_in_the_error(telegram, settings):
    settings.TELEGRAM_BOT_TOKEN = "987654321:wrongwrongwrongwrongwrongwrong"
    registry.reset()

    with pytest.raises(PermanentError, match="telegram: error 401: Unauthorized") as caught:
        get_provider("telegram").send(message())

    assert "wrongwrong" not in str(caught.value)


def test_an_answer_that_echoes_the_url_has_the_token_redacted(telegram):
    telegram.then(telegram_error(400, f"Bad Request: can't parse /bot{TELEGRAM_TOKEN}/sendMessage"))

    with pytest.raises(PermanentError) as caught:
        get_provider("telegram").send(message())

    assert TELEGRAM_TOKEN not in str(caught.value)
    assert "/bot<redacted>/sendMessage" in str(caught.value)


def test_telegram_not_reached_is_transient_and_nothing_logged_or_chained_carries_the_token(telegram, settings, caplog):
    settings.TELEGRAM_API_URL = f"http://127.0.0.1:{free_port()}"
    registry.reset()
    caplog.set_level(logging.DEBUG)

    with pytest.raises(TransientError, match="telegram: connection error") as caught:
        get_provider("telegram").send(message())

    assert TELEGRAM_TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert TELEGRAM_TOKEN not in caplog.text


@pytest.fixture
def provider() -> TelegramProvider:
    return TelegramProvider(bot_token=TELEGRAM_TOKEN, base_url="https://api.telegram.org", timeout=1)


@pytest.mark.parametrize(
    ("given", "stored"),
    [("123456789", "123456789"), (" -1001234567890 ", "-1001234567890"), ("@notifier_news", "@notifier_news")],
)
def test_chat_ids_and_channel_names_are_taken(provider, given, stored):
    assert provider.validate_recipient(given) == stored


@pytest.mark.parametrize("given", ["", "0", "12a", "@abc", "@" + "a" * 33, "@with-dash", "notifier_news", "+1555"])
def test_other_recipients_are_refused_with_a_reason(provider, given):
    with pytest.raises(ValueError, match="Telegram chat id"):
        provider.validate_recipient(given)


# --- through the API -------------------------------------------------------------------


def test_a_telegram_notification_is_created(alice, telegram):
    response = alice.post(URL, {"channel": "telegram", "recipient": "@notifier_news", "body": "Hi"})

    assert response.status_code == 201, response.json()


def test_an_invalid_chat_is_a_400_naming_the_recipient_and_no_row(alice, telegram):
    response = alice.post(URL, {"channel": "telegram", "recipient": "#general", "body": "Hi"})

    assert response.status_code == 400
    assert list(response.json()) == ["recipient"]
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ({"body": ""}, "A Telegram message needs a body."),
        ({"body": "x" * 4096, "subject": "s"}, "A Telegram message (subject and body) is at most 4,096 characters"),
    ],
)
def test_content_telegram_refuses_is_a_400_naming_the_body_and_no_row(alice, telegram, content, error):
    response = alice.post(URL, {"channel": "telegram", "recipient": "12345", **content})

    assert response.status_code == 400
    assert list(response.json()) == ["body"]
    assert response.json()["body"][0].startswith(error)
    assert not Notification.objects.exists()


def test_telegram_without_a_bot_token_is_a_400_naming_the_channel(alice, settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    registry.reset()

    response = alice.post(URL, {"channel": "telegram", "recipient": "12345", "body": "Hi"})

    assert response.status_code == 400
    assert response.json() == {
        "channel": ["Channel 'telegram' is not configured on this service (TELEGRAM_BOT_TOKEN)."]
    }


# --- through the service layer ---------------------------------------------------------


def deliver(row: Notification):
    return services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)


def test_a_delivered_telegram_message_ends_sent_with_its_message_id(make_notification, telegram):
    row = make_notification(channel="telegram", recipient="12345", subject="", body="Shipped.")

    deliver(row)

    row.refresh_from_db()
    assert (row.status, row.provider, row.provider_message_id) == ("sent", "telegram", "1")
    assert telegram.requests[0].json() == {"chat_id": 12345, "text": "Shipped."}


def test_a_blocked_bot_fails_the_notification_without_the_token_in_its_error(make_notification, telegram):
    telegram.then(telegram_error(403, "Forbidden: bot was blocked by the user"))
    row = make_notification(channel="telegram", recipient="12345", body="Shipped.")

    assert deliver(row).status == "failed"

    row.refresh_from_db()
    assert row.last_error == "telegram: error 403: Forbidden: bot was blocked by the user"
