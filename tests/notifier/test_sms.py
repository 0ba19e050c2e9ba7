"""``sms`` through Twilio's Messages API, against a local server that answers as Twilio does
(tests/fakes/providers.py): what is sent, how each answer is classed, and what the API refuses."""

from __future__ import annotations

import uuid

import pytest

from notifications import services
from notifications.models import Notification
from notifier import Message, PermanentError, TransientError, get_provider, registry
from notifier.sms import e164
from testkit import free_port
from tests.fakes.providers import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN, twilio_error
from tests.sink import Reply

URL = "/api/v1/notifications/"


def message(**fields: str) -> Message:
    return Message(**{"id": str(uuid.uuid4()), "recipient": "+14155550100", "body": "Your code is 123456", **fields})


def test_an_accepted_sms_returns_twilios_sid_and_posts_the_form_with_basic_auth(twilio):
    receipt = get_provider("sms").send(message())

    [request] = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.basic_auth() == (TWILIO_SID, TWILIO_TOKEN)
    assert request.form() == {"To": "+14155550100", "From": TWILIO_FROM, "Body": "Your code is 123456"}
    assert receipt.provider == "twilio"
    assert receipt.provider_message_id.startswith("SM")
    assert len(receipt.provider_message_id) == 34


def test_the_status_callback_is_asked_for_when_the_service_has_a_public_url(twilio):
    get_provider("sms").send(message(callback_url="https://notify.example.com/api/v1/callbacks/twilio/"))

    assert twilio.requests[0].form()["StatusCallback"] == "https://notify.example.com/api/v1/callbacks/twilio/"


def test_twilio_429_is_transient_after_its_retry_after(twilio):
    twilio.then(twilio_error(429, 20429, "Too Many Requests", **{"Retry-After": "30"}))

    with pytest.raises(TransientError, match="HTTP 429: Twilio error 20429: Too Many Requests") as caught:
        get_provider("sms").send(message())

    assert caught.value.retry_after == 30
    assert caught.value.provider == "twilio"


@pytest.mark.parametrize("status", [500, 503])
def test_twilio_5xx_is_transient(twilio, status):
    twilio.then(twilio_error(status, 20500, "Internal Server Error"))

    with pytest.raises(TransientError, match=f"twilio: HTTP {status}") as caught:
        get_provider("sms").send(message())

    assert caught.value.retry_after is None


def test_a_5xx_page_that_is_not_twilios_json_is_transient_with_its_text(twilio):
    twilio.then(Reply(502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>"))

    with pytest.raises(TransientError, match="HTTP 502: <html>Bad Gateway"):
        get_provider("sms").send(message())


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (21211, "The 'To' number +14155550100 is not a valid phone number."),
        (21610, "Attempt to send to unsubscribed recipient"),
        (21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
    ],
)
def test_twilio_4xx_is_permanent_and_names_its_code_and_message(twilio, code, text):
    twilio.then(twilio_error(400, code, text))

    with pytest.raises(PermanentError) as caught:
        get_provider("sms").send(message())

    assert str(caught.value) == f"twilio: HTTP 400: Twilio error {code}: {text}"
    assert caught.value.provider == "twilio"


def test_a_wrong_auth_token_is_permanent_and_the_token_is_not_in_the_error(twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "a-wrong-token-0000"
    registry.reset()

    with pytest.raises(PermanentError, match="HTTP 401: Twilio error 20003: Authenticate") as caught:
        get_provider("sms").send(message())

    assert "a-wrong-token" not in str(caught.value)


def test_twilio_not_reached_is_transient(twilio, settings):
    settings.TWILIO_API_URL = f"http://127.0.0.1:{free_port()}"
    registry.reset()

    with pytest.raises(TransientError, match="twilio: connection error"):
        get_provider("sms").send(message())


@pytest.mark.parametrize(
    ("given", "stored"),
    [("+14155550100", "+14155550100"), (" +1 (415) 555-0100 ", "+14155550100"), ("+44 7911 123456", "+447911123456")],
)
def test_a_phone_number_is_stored_in_e164(given, stored):
    assert e164(given) == stored


@pytest.mark.parametrize(
    "given", ["4155550100", "+1", "+1415555010099", "+999123456", "not a number", "", "+1 415 CALL ME"]
)
def test_what_is_not_a_phone_number_is_refused_with_a_reason(given):
    with pytest.raises(ValueError, match=r"E\.164"):
        e164(given)


# --- through the API -------------------------------------------------------------------


def test_an_sms_is_created_with_its_number_normalised(alice, twilio):
    response = alice.post(URL, {"channel": "sms", "recipient": "+1 415-555-0100", "body": "Hi"})

    assert response.status_code == 201, response.json()
    assert response.json()["recipient"] == "+14155550100"


def test_an_invalid_number_is_a_400_naming_the_recipient_and_no_row(alice, twilio):
    response = alice.post(URL, {"channel": "sms", "recipient": "555-0100", "body": "Hi"})

    assert response.status_code == 400
    assert list(response.json()) == ["recipient"]
    assert "E.164" in response.json()["recipient"][0]
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [("", "An SMS needs a body."), ("x" * 1601, "An SMS body is at most 1,600 characters; this one has 1,601.")],
)
def test_an_sms_body_that_twilio_refuses_is_a_400_naming_the_body_and_no_row(alice, twilio, body, error):
    response = alice.post(URL, {"channel": "sms", "recipient": "+14155550100", "body": body})

    assert response.status_code == 400
    assert response.json() == {"body": [error]}
    assert not Notification.objects.exists()


def test_an_sms_body_of_exactly_1600_characters_is_taken(alice, twilio):
    response = alice.post(URL, {"channel": "sms", "recipient": "+14155550100", "body": "x" * 1600})

    assert response.status_code == 201


def test_sms_without_twilio_configured_is_a_400_naming_the_channel_and_the_settings(alice, settings):
    settings.TWILIO_ACCOUNT_SID = ""
    registry.reset()

    response = alice.post(URL, {"channel": "sms", "recipient": "+14155550100", "body": "Hi"})

    assert response.status_code == 400
    assert response.json() == {
        "channel": [
            "Channel 'sms' is not configured on this service (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM)."
        ]
    }
    assert not Notification.objects.exists()


# --- through the service layer ---------------------------------------------------------


def deliver(row: Notification):
    return services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)


def test_a_delivered_sms_ends_sent_with_twilios_sid_and_its_callback_url(make_notification, twilio, settings):
    settings.NOTIFY_PUBLIC_URL = "https://notify.example.com/"
    row = make_notification(channel="sms", recipient="+14155550100", body="Shipped.")

    deliver(row)

    row.refresh_from_db()
    [request] = twilio.requests
    assert (row.status, row.provider) == ("sent", "twilio")
    assert row.provider_message_id.startswith("SM")
    assert request.form()["StatusCallback"] == "https://notify.example.com/api/v1/callbacks/twilio/"


def test_an_unsubscribed_number_fails_the_notification_for_good(make_notification, twilio):
    twilio.then(twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"))
    row = make_notification(channel="sms", recipient="+14155550100", body="Shipped.")

    assert deliver(row).status == "failed"

    row.refresh_from_db()
    assert (row.failure_reason, row.provider) == ("permanent", "twilio")
    assert "21610" in row.last_error


def test_a_throttled_sms_is_retried_later(make_notification, twilio):
    twilio.then(twilio_error(429, 20429, "Too Many Requests", **{"Retry-After": "5"}))
    row = make_notification(channel="sms", recipient="+14155550100", body="Shipped.")

    with pytest.raises(services.DeliveryDeferred):
        deliver(row)

    row.refresh_from_db()
    assert row.status == "retrying"
    assert "20429" in row.last_error
