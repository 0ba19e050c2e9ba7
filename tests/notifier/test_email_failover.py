"""Email failover: an ESP (the Postmark fake) as primary and a real SMTP server (aiosmtpd) as
``EMAIL_FALLBACK_URL``, through the delivery service, so the row and its attempt are checked."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications import services
from notifications.models import DeliveryAttempt, Notification
from notifier import Message, TransientError, gates, get_provider, registry
from tests.fakes import postmark
from tests.smtp import LoopbackController, Recorder


@pytest.fixture
def fallback(settings):
    """A real SMTP server as the fallback; the primary's own SMTP settings point elsewhere, so a
    send that reached it went through the fallback's URL alone."""
    recorder = Recorder()
    controller = LoopbackController(recorder)
    controller.start()
    settings.EMAIL_FALLBACK_URL = f"smtp://127.0.0.1:{controller.port}"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "192.0.2.1", 2525
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "primary-user", "primary-password"
    settings.EMAIL_USE_TLS = True
    registry.reset()
    yield recorder
    controller.stop()


@pytest.fixture
def esp(settings, sink):
    postmark.configure(settings, sink)
    return sink


def deliver(row: Notification):
    return services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)


@pytest.fixture
def email_row(make_notification):
    return lambda: make_notification(channel="email", recipient="alice@example.com", subject="Hi", body="Shipped.")


def test_without_trouble_the_esp_sends_and_the_fallback_is_not_used(esp, fallback, email_row):
    esp.then(postmark.accepted("pm-1"))
    row = email_row()

    deliver(row)

    row.refresh_from_db()
    assert (row.status, row.provider, row.provider_message_id) == ("sent", "postmark", "pm-1")
    assert fallback.messages == []


def test_an_esp_503_goes_out_through_the_fallback_on_the_same_attempt(esp, fallback, email_row):
    esp.then(postmark.unavailable())
    row = email_row()

    deliver(row)

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
    assert (row.provider, row.provider_message_id) == ("smtp-fallback", f"<{row.id}@notifier>")
    [attempt] = DeliveryAttempt.objects.filter(notification=row)
    assert (attempt.outcome, attempt.provider) == ("sent", "smtp-fallback")
    assert len(esp.requests) == 1
    [received] = fallback.messages
    assert received["Subject"] == "Hi"
    assert received["Message-ID"] == f"<{row.id}@notifier>"


def test_an_esp_422_fails_without_trying_the_fallback(esp, fallback, email_row):
    esp.then(postmark.unprocessable())
    row = email_row()

    assert deliver(row).status == "failed"

    row.refresh_from_db()
    assert (row.status, row.failure_reason) == ("failed", "permanent")
    assert DeliveryAttempt.objects.get(notification=row).provider == "postmark"
    assert fallback.messages == []


def test_both_down_retries_with_both_named(esp, fallback, email_row):
    esp.then(postmark.unavailable())
    fallback.replies["MAIL"] = "421 4.3.2 Service not available"
    row = email_row()

    with pytest.raises(services.DeliveryDeferred):
        deliver(row)

    row.refresh_from_db()
    assert row.status == "retrying"
    assert "postmark: ESP HTTP 503" in row.last_error
    assert "smtp-fallback: SMTP 421" in row.last_error
    attempt = DeliveryAttempt.objects.get(notification=row)
    assert (attempt.outcome, attempt.provider) == ("transient", "smtp-fallback")


def test_a_fallback_refusal_after_an_esp_outage_is_retried_not_final(esp, fallback):
    """The fallback only adds a chance to send: its 5xx does not end the retries the ESP would get."""
    esp.then(postmark.unavailable())
    fallback.replies["RCPT"] = "554 5.7.1 Relay access denied"

    with pytest.raises(TransientError, match="Relay access denied") as caught:
        get_provider("email").send(Message(id=str(uuid.uuid4()), recipient="alice@example.com"))

    assert caught.value.provider == "smtp-fallback"


def test_when_the_primary_is_unavailable_the_fallback_sends_without_asking_it(esp, fallback):
    """The circuit breaker's seam: ``primary_available`` answering False skips the primary."""
    provider = get_provider("email")
    provider.primary_available = lambda: False

    receipt = provider.send(Message(id=str(uuid.uuid4()), recipient="alice@example.com", subject="Hi"))

    assert receipt.provider == "smtp-fallback"
    assert esp.requests == []
    assert len(fallback.messages) == 1


def test_without_a_fallback_an_esp_503_is_retried(esp, email_row):
    esp.then(postmark.unavailable())
    row = email_row()

    with pytest.raises(services.DeliveryDeferred):
        deliver(row)

    row.refresh_from_db()
    assert row.status == "retrying"
    assert DeliveryAttempt.objects.get(notification=row).provider == "postmark"


@pytest.mark.parametrize(
    "url",
    ["http://mail.example.com", "consolemail://", "smtp://", "smtp://mail.example.com:99999", "not a url"],
)
def test_a_fallback_url_that_cannot_work_stops_the_process_naming_it(settings, url):
    settings.EMAIL_FALLBACK_URL = url

    with pytest.raises(ImproperlyConfigured, match=r"^EMAIL_FALLBACK_URL: "):
        registry.check_settings()


def test_a_fallback_url_with_a_password_is_never_echoed(settings):
    settings.EMAIL_FALLBACK_URL = "ftp://user:hunter2@mail.example.com"

    with pytest.raises(ImproperlyConfigured) as caught:
        registry.check_settings()

    assert "hunter2" not in str(caught.value)


def test_the_fallback_url_gives_its_own_credentials_and_tls_never_the_primarys(settings):
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD, settings.EMAIL_USE_TLS = "p-user", "p-pass", True
    settings.EMAIL_FALLBACK_URL = "smtp+ssl://relay:secret@mail.example.com"

    assert registry.email_fallback() == {
        "backend": "django.core.mail.backends.smtp.EmailBackend",
        "host": "mail.example.com",
        "port": 465,
        "username": "relay",
        "password": "secret",
        "use_ssl": True,
        "use_tls": False,
        "timeout": settings.EMAIL_TIMEOUT,
    }


def test_an_open_primary_breaker_sends_through_the_fallback_without_waiting(esp, fallback, email_row, settings):
    settings.NOTIFY_BREAKER_MIN_CALLS, settings.NOTIFY_BREAKER_COOLDOWN = 2, 60
    settings.CACHE_KEY_PREFIX = f"test-{uuid.uuid4().hex}"  # this test's own breaker in Redis
    esp.then(postmark.unavailable(), postmark.unavailable())
    for _ in range(2):
        deliver(email_row())  # each saved by the fallback, each counted against postmark
    assert gates.is_open("provider:postmark")

    row = email_row()
    deliver(row)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.provider) == ("sent", 1, "smtp-fallback")
    assert len(esp.requests) == 2  # the open breaker kept the third away from postmark
    assert len(fallback.messages) == 3


def test_without_a_fallback_an_open_primary_breaker_holds_the_send_back(esp, email_row, settings):
    settings.NOTIFY_BREAKER_MIN_CALLS, settings.NOTIFY_BREAKER_COOLDOWN = 2, 60
    settings.CACHE_KEY_PREFIX = f"test-{uuid.uuid4().hex}"
    esp.then(postmark.unavailable(), postmark.unavailable())
    for _ in range(2):
        with pytest.raises(services.DeliveryDeferred):
            deliver(email_row())
    row = email_row()
    assert deliver(row).status == "deferred"
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("scheduled", 0)
    assert len(esp.requests) == 2
