"""POST /api/v1/callbacks/twilio/: Twilio's status callback, verified by its signature of the URL
this service gave Twilio; it stores a final status once and never moves ``status``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from notifications.api.callbacks import TWILIO_CALLBACK_PATH, twilio_signature
from notifications.models import Notification, ProviderEvent

pytestmark = pytest.mark.django_db

PATH = "/api/v1/callbacks/twilio/"
TOKEN = "a3f1c0ffee0ddba11a3f1c0ffee0ddba"
PUBLIC = "https://notify.example.com"
SID = "SM0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def configured(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.NOTIFY_PUBLIC_URL = PUBLIC + "/"  # a trailing slash is dropped, as for the URL given to Twilio


@pytest.fixture
def sms(make_notification):
    return make_notification(
        channel="sms", recipient="+14155550100", status="sent", provider="twilio", provider_message_id=SID
    )


def signed(params: dict[str, str], *, url: str = PUBLIC + PATH, token: str = TOKEN) -> str:
    """Twilio's signature, written out from its documentation independently of the code under test."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def callback(status: str, sid: str = SID, **extra: str) -> dict[str, str]:
    """The fields Twilio posts to a message's StatusCallback."""
    return {
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "ApiVersion": "2010-04-01",
        "From": "+14155550199",
        "To": "+14155550100",
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        **extra,
    }


def post(params: dict[str, str], signature: str | None = None, *, path: str = PATH, client: Client | None = None):
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    return (client or Client()).post(
        path, urlencode(params), content_type="application/x-www-form-urlencoded", headers=headers
    )


def post_signed(params: dict[str, str], **kwargs):
    return post(params, signed(params), **kwargs)


# --- the signature ---------------------------------------------------------------------


def test_the_signature_matches_twilios_published_example():
    """Twilio's own example (TwilioDevEd/api-snippets, security/signature_validation): auth token
    12345, this URL and these parameters sign as GvWf1cFY/Q7PnoempGyD5oXAezc=."""
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }

    signature = twilio_signature(
        auth_token="12345", url="https://mycompany.com/myapp.php?foo=1&bar=2", params=params.items()
    )

    assert signature == "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_the_signature_matches_one_written_out_from_the_documentation():
    params = callback("delivered", ErrorCode="", Body="ünïcode & = ?")

    assert twilio_signature(auth_token=TOKEN, url=PUBLIC + PATH, params=params.items()) == signed(params)


def test_the_url_verified_is_the_route():
    """The sms provider's ``callback_path`` is this same path: the URL Twilio is given is the one verified."""
    assert reverse("twilio-callback") == TWILIO_CALLBACK_PATH == PATH


# --- what a verified callback does ------------------------------------------------------


def test_a_signed_delivered_callback_is_stored_and_sets_delivery_status(sms):
    response = post_signed(callback("delivered"))

    assert response.status_code == 200, response.content
    assert response.json() == {"stored": True}
    [event] = ProviderEvent.objects.all()
    assert (event.notification_id, event.provider, event.type) == (sms.id, "twilio", "delivered")
    assert event.provider_event_id == f"{SID}:delivered"
    assert event.detail == {"status": "delivered", "error_code": None}
    sms.refresh_from_db()
    assert (sms.delivery_status, sms.status) == ("delivered", "sent")


@pytest.mark.parametrize("twilio_status", ["undelivered", "failed"])
def test_undelivered_and_failed_are_undelivered_with_the_error_code(sms, twilio_status):
    response = post_signed(callback(twilio_status, ErrorCode="30003"))

    assert response.status_code == 200
    [event] = ProviderEvent.objects.all()
    assert event.type == "undelivered"
    assert event.detail == {"status": twilio_status, "error_code": "30003"}
    sms.refresh_from_db()
    assert (sms.delivery_status, sms.status) == ("undelivered", "sent")


def test_the_same_callback_twice_is_stored_once(sms):
    assert post_signed(callback("delivered")).json() == {"stored": True}

    again = post_signed(callback("delivered"))

    assert again.status_code == 200
    assert again.json() == {"stored": False}
    assert ProviderEvent.objects.count() == 1


@pytest.mark.parametrize("twilio_status", ["queued", "sending", "sent", "accepted", "scheduled", "read"])
def test_a_status_on_the_way_is_200_and_nothing_is_stored(sms, twilio_status):
    response = post_signed(callback(twilio_status))

    assert response.status_code == 200
    assert response.json() == {"stored": False}
    assert not ProviderEvent.objects.exists()
    sms.refresh_from_db()
    assert sms.delivery_status is None


def test_an_unknown_sid_is_200_and_changes_nothing(sms):
    response = post_signed(callback("delivered", sid="SMffffffffffffffffffffffffffffffff"))

    assert response.status_code == 200
    assert response.json() == {"stored": False}
    assert not ProviderEvent.objects.exists()
    sms.refresh_from_db()
    assert sms.delivery_status is None


@pytest.mark.parametrize("status", ["failed", "sending", "cancelled"])
def test_status_never_moves(make_notification, status):
    row = make_notification(
        channel="sms", recipient="+14155550100", status=status, provider="twilio", provider_message_id=SID
    )
    before = Notification.objects.values("status", "updated_at", "attempts", "next_attempt_at").get(id=row.id)

    post_signed(callback("delivered"))
    post_signed(callback("undelivered", ErrorCode="30005"))

    after = Notification.objects.values("status", "updated_at", "attempts", "next_attempt_at").get(id=row.id)
    assert after["status"] == before["status"] == status
    assert after["attempts"] == before["attempts"]
    assert after["next_attempt_at"] == before["next_attempt_at"]
    row.refresh_from_db()
    assert row.delivery_status == "undelivered"  # the latest report


def test_a_notification_of_another_channel_with_the_same_message_id_is_untouched(sms, make_notification):
    email = make_notification(
        channel="email", recipient="a@example.com", status="sent", provider="twilio", provider_message_id=SID
    )
    other_provider = make_notification(
        channel="sms", recipient="+14155550100", status="sent", provider="other", provider_message_id=SID
    )

    post_signed(callback("delivered"))

    assert list(ProviderEvent.objects.values_list("notification_id", flat=True)) == [sms.id]
    for row in (email, other_provider):
        row.refresh_from_db()
        assert row.delivery_status is None


# --- what is refused ---------------------------------------------------------------------


def refused(response) -> None:
    assert response.status_code == 403, response.content
    assert "detail" in response.json()
    assert not ProviderEvent.objects.exists()
    assert not Notification.objects.exclude(delivery_status=None).exists()


def test_no_signature_is_403(sms):
    refused(post(callback("delivered")))


def test_a_forged_signature_is_403(sms):
    refused(post(callback("delivered"), signed(callback("delivered"), token="not-the-auth-token")))


def test_a_signature_of_other_parameters_is_403(sms):
    refused(post(callback("delivered"), signed(callback("undelivered"))))


def test_a_signature_of_the_url_django_sees_is_403(sms):
    """Behind a proxy Django sees another URL than the one Twilio was given: that one is verified."""
    params = callback("delivered")
    for url in (
        "http://testserver" + PATH,
        PUBLIC + PATH.rstrip("/"),
        PUBLIC + "/" + PATH,
        "https://evil.example" + PATH,
    ):
        refused(post(params, signed(params, url=url)))


def test_a_garbage_signature_is_403_not_500(sms):
    refused(post(callback("delivered"), "ünïcode, not base64"))


@pytest.mark.parametrize("unset", ["TWILIO_AUTH_TOKEN", "NOTIFY_PUBLIC_URL"])
def test_without_the_auth_token_or_the_public_url_every_callback_is_403(settings, sms, unset):
    params = callback("delivered")
    signature = signed(params)
    setattr(settings, unset, "")

    response = post(params, signature)

    refused(response)
    assert unset in response.json()["detail"]


# --- how it is reached -----------------------------------------------------------------------


def test_no_api_key_or_csrf_token_is_needed(sms):
    response = post_signed(callback("delivered"), client=Client(enforce_csrf_checks=True))

    assert response.status_code == 200
    assert ProviderEvent.objects.count() == 1


def test_without_the_trailing_slash_it_is_served_the_same(sms):
    response = post_signed(callback("delivered"), path=PATH.rstrip("/"))

    assert response.status_code == 200
    assert ProviderEvent.objects.count() == 1


def test_a_signed_callback_without_its_fields_is_400(sms):
    params = {"AccountSid": "AC0123456789abcdef0123456789abcdef"}

    response = post_signed(params)

    assert response.status_code == 400
    assert set(response.json()) == {"MessageSid", "MessageStatus"}


def test_a_json_body_is_415(sms):
    response = Client().post(
        PATH, {"MessageSid": SID}, content_type="application/json", headers={"X-Twilio-Signature": "x"}
    )

    assert response.status_code == 415
    assert "detail" in response.json()


def test_an_oversized_body_is_413_json(settings, sms):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    params = callback("delivered", Body="a" * 2048)

    response = post_signed(params)

    assert response.status_code == 413
    assert "detail" in response.json()
    assert not ProviderEvent.objects.exists()
