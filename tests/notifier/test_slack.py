"""``slack`` through the Web API's chat.postMessage, against a local server that answers as
Slack does (tests/fakes/providers.py): what is sent, how each answer is classed, and what
the API refuses."""

from __future__ import annotations

import uuid

import pytest

from notifications import services
from notifications.models import Notification
from notifier import Message, PermanentError, TransientError, get_provider, registry
from notifier.slack import SlackProvider
from testkit import free_port
from tests.fakes.providers import SLACK_TOKEN, slack_error
from tests.sink import Reply

URL = "/api/v1/notifications/"


def message(**fields: str) -> Message:
    return Message(**{"id": str(uuid.uuid4()), "recipient": "C012AB3CD", "body": "Deploy done.", **fields})


def test_a_posted_message_returns_its_ts_and_sends_channel_and_text_with_the_bearer_token(slack):
    receipt = get_provider("slack").send(message(subject="Deploys"))

    [request] = slack.requests
    assert request.path == "/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {SLACK_TOKEN}"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.json() == {"channel": "C012AB3CD", "text": "Deploys\n\nDeploy done."}
    assert receipt.provider == "slack"
    assert receipt.provider_message_id.endswith(".000001")


def test_http_429_is_transient_after_its_retry_after(slack):
    slack.then(slack_error("ratelimited", status=429, **{"Retry-After": "30"}))

    with pytest.raises(TransientError, match="slack: HTTP 429") as caught:
        get_provider("slack").send(message())

    assert caught.value.retry_after == 30
    assert caught.value.provider == "slack"


def test_ok_false_ratelimited_is_transient(slack):
    slack.then(slack_error("ratelimited", **{"Retry-After": "3"}))

    with pytest.raises(TransientError, match="slack: ratelimited") as caught:
        get_provider("slack").send(message())

    assert caught.value.retry_after == 3


@pytest.mark.parametrize("status", [500, 503])
def test_slack_5xx_is_transient(slack, status):
    slack.then(Reply(status, {"Content-Type": "text/html"}, b"<html>Service Unavailable</html>"))

    with pytest.raises(TransientError, match=f"slack: HTTP {status}"):
        get_provider("slack").send(message())


@pytest.mark.parametrize(
    "error", ["channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive", "msg_too_long"]
)
def test_any_other_error_is_permanent_and_named(slack, error):
    slack.then(slack_error(error))

    with pytest.raises(PermanentError) as caught:
        get_provider("slack").send(message())

    assert str(caught.value) == f"slack: {error}"
    assert caught.value.provider == "slack"


def test_a_wrong_token_is_permanent_and_never_in_the_error(slack, settings):
    settings.SLACK_BOT_TOKEN = "xoxb-wrong-token-000"
    registry.reset()

    with pytest.raises(PermanentError, match=r"^slack: invalid_auth$"):
        get_provider("slack").send(message())


def test_slack_not_reached_is_transient(slack, settings):
    settings.SLACK_API_URL = f"http://127.0.0.1:{free_port()}/api"
    registry.reset()

    with pytest.raises(TransientError, match="slack: connection error") as caught:
        get_provider("slack").send(message())

    assert SLACK_TOKEN not in str(caught.value)


@pytest.fixture
def provider() -> SlackProvider:
    return SlackProvider(bot_token=SLACK_TOKEN, base_url="https://slack.com/api", timeout=1)


@pytest.mark.parametrize("given", ["C012AB3CD", "C1234567890", "G0123ABCD", "D024BE91L", " U1234567890 ", "W012A3BCD"])
def test_channel_and_user_ids_are_taken(provider, given):
    assert provider.validate_recipient(given) == given.strip()


@pytest.mark.parametrize("given", ["", "#general", "general", "C123", "c012ab3cd", "X012AB3CD", "C012AB3C-", "@alice"])
def test_names_and_other_text_are_refused_with_a_reason(provider, given):
    with pytest.raises(ValueError, match="Slack channel or user id"):
        provider.validate_recipient(given)


# --- through the API -------------------------------------------------------------------


def test_a_slack_notification_is_created(alice, slack):
    response = alice.post(URL, {"channel": "slack", "recipient": "C012AB3CD", "body": "Hi"})

    assert response.status_code == 201, response.json()


def test_a_channel_name_is_a_400_naming_the_recipient_and_no_row(alice, slack):
    response = alice.post(URL, {"channel": "slack", "recipient": "#general", "body": "Hi"})

    assert response.status_code == 400
    assert list(response.json()) == ["recipient"]
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("content", "error"),
    [({}, "A Slack message needs a body."), ({"body": "x" * 40_001}, "A Slack message (subject and body) is at most")],
)
def test_content_slack_refuses_is_a_400_naming_the_body_and_no_row(alice, slack, content, error):
    response = alice.post(URL, {"channel": "slack", "recipient": "C012AB3CD", **content})

    assert response.status_code == 400
    assert list(response.json()) == ["body"]
    assert response.json()["body"][0].startswith(error)
    assert not Notification.objects.exists()


def test_slack_without_a_bot_token_is_a_400_naming_the_channel(alice, settings):
    settings.SLACK_BOT_TOKEN = ""
    registry.reset()

    response = alice.post(URL, {"channel": "slack", "recipient": "C012AB3CD", "body": "Hi"})

    assert response.status_code == 400
    assert response.json() == {"channel": ["Channel 'slack' is not configured on this service (SLACK_BOT_TOKEN)."]}


# --- through the service layer ---------------------------------------------------------


def deliver(row: Notification):
    return services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)


def test_a_delivered_slack_message_ends_sent_with_its_ts(make_notification, slack):
    row = make_notification(channel="slack", recipient="C012AB3CD", body="Shipped.")

    deliver(row)

    row.refresh_from_db()
    assert (row.status, row.provider) == ("sent", "slack")
    assert row.provider_message_id.endswith(".000001")


def test_a_bot_not_in_the_channel_fails_the_notification(make_notification, slack):
    slack.then(slack_error("not_in_channel"))
    row = make_notification(channel="slack", recipient="C012AB3CD", body="Shipped.")

    assert deliver(row).status == "failed"

    row.refresh_from_db()
    assert (row.failure_reason, row.last_error) == ("permanent", "slack: not_in_channel")
