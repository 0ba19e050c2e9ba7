"""The sms, telegram and slack settings: a channel is offered only with all its credentials, and a
value that cannot work stops the process at start naming its setting, never echoing a secret."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifier import channel_names, registry
from tests.fakes.providers import SLACK_TOKEN, TELEGRAM_TOKEN, TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN


@pytest.fixture
def unconfigured(settings):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN"):
        setattr(settings, name, "")
    registry.reset()
    return settings


def test_without_credentials_the_channels_are_not_offered_and_say_what_they_need(unconfigured):
    registry.check_settings()

    assert not {"sms", "telegram", "slack"} & set(channel_names())
    assert registry.unconfigured("sms") == ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")
    assert registry.unconfigured("webhook") == ()
    assert registry.unconfigured("pager") == ()


def test_with_credentials_each_channel_is_offered_on_its_provider(unconfigured):
    settings = unconfigured
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = (
        TWILIO_SID,
        TWILIO_TOKEN,
        TWILIO_FROM,
    )
    settings.TELEGRAM_BOT_TOKEN, settings.SLACK_BOT_TOKEN = TELEGRAM_TOKEN, SLACK_TOKEN
    settings.PROVIDER_TIMEOUT = 4.5

    registry.check_settings()

    assert {"sms", "telegram", "slack"} <= set(channel_names())
    for channel, provider in (("sms", "twilio"), ("telegram", "telegram"), ("slack", "slack")):
        assert (registry.get_provider(channel).provider, registry.get_provider(channel).timeout) == (provider, 4.5)
    assert registry.get_provider("sms").base_url == "https://api.twilio.com"


def test_half_the_twilio_credentials_stop_the_process_naming_the_missing_one(unconfigured):
    unconfigured.TWILIO_ACCOUNT_SID = TWILIO_SID

    with pytest.raises(ImproperlyConfigured, match=r"^TWILIO_AUTH_TOKEN: required for the sms channel"):
        registry.check_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TWILIO_ACCOUNT_SID", "ACnot-a-sid-s3cr3t"),
        ("TELEGRAM_BOT_TOKEN", "12345/../s3cr3t"),
        ("SLACK_BOT_TOKEN", "Bearer xoxb-s3cr3t"),
    ],
)
def test_a_malformed_credential_stops_the_process_naming_it_without_echoing_it(settings, name, value):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = (
        TWILIO_SID,
        TWILIO_TOKEN,
        TWILIO_FROM,
    )
    settings.TELEGRAM_BOT_TOKEN, settings.SLACK_BOT_TOKEN = TELEGRAM_TOKEN, SLACK_TOKEN
    setattr(settings, name, value)

    with pytest.raises(ImproperlyConfigured, match=f"^{name}: ") as caught:
        registry.check_settings()

    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("name", ["TWILIO_API_URL", "TELEGRAM_API_URL", "SLACK_API_URL"])
@pytest.mark.parametrize("value", ["api.twilio.com", "ftp://api.example.com", "https://", "https://u:p@x.example/"])
def test_a_base_url_that_is_not_http_stops_the_process_naming_it(settings, name, value):
    setattr(settings, name, value)

    with pytest.raises(ImproperlyConfigured, match=f"^{name}: "):
        registry.check_settings()


@pytest.mark.parametrize("value", [0, -1, "10"])
def test_a_provider_timeout_that_is_not_positive_seconds_stops_the_process(settings, value):
    settings.PROVIDER_TIMEOUT = value

    with pytest.raises(ImproperlyConfigured, match=r"^PROVIDER_TIMEOUT: "):
        registry.check_settings()


def test_a_private_operator_base_url_is_allowed(settings):
    settings.SLACK_API_URL = "http://10.0.0.5:8080/slack/api"

    registry.check_settings()
