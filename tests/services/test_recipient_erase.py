"""recipient_erase: what goes, what stays, in short batches, and again changes nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import services
from notifications.models import DeadPushToken, DeliveryAttempt, Notification, ProviderEvent, Recipient
from notifications.services import recipients as recipients_module
from tests import factories

TOKEN = "ExponentPushToken[abc123]"


@pytest.fixture
def owner(db):
    return factories.user("client-a")


@pytest.fixture
def profile(owner):
    return Recipient.objects.create(
        owner=owner,
        external_id="ada",
        email="ada@example.com",
        phone="+14155550100",
        webhook_url="https://example.com/ada",
        push_tokens=[TOKEN],
    )


def sent(owner, recipient, channel="email", **fields):
    row = factories.notification(
        owner=owner,
        channel=channel,
        recipient=recipient,
        subject="Hello Ada",
        body="your code is 1234",
        payload={"name": "Ada"},
        status="sent",
        sent_at=timezone.now(),
        last_error="550 ada@example.com unknown",
        provider_message_id="msg-1",
        provider="smtp",
        **fields,
    )
    DeliveryAttempt.objects.create(
        notification=row, number=1, started_at=row.send_at, finished_at=row.send_at, outcome="sent", error="to ada"
    )
    ProviderEvent.objects.create(
        notification=row,
        provider="smtp",
        provider_event_id=f"ev-{row.id}",
        type="delivered",
        occurred_at=row.send_at,
        detail={"email": "ada@example.com"},
    )
    return row


def test_every_channels_notifications_are_blanked_and_keep_status_and_times(owner, profile):
    rows = [
        sent(owner, "ada@example.com"),
        sent(owner, "+14155550100", channel="sms"),
        sent(owner, "https://example.com/ada", channel="webhook"),
        sent(owner, TOKEN, channel="push"),
        sent(owner, "ada", channel="console"),
    ]
    before = {row.id: (row.status, row.sent_at, row.created_at, row.updated_at) for row in rows}

    result = services.recipient_erase(owner=owner, recipients=[profile])

    assert result == services.EraseResult(profiles=1, notifications=5)
    assert not Recipient.objects.exists()
    for row in Notification.objects.all():
        assert (row.recipient, row.subject, row.body, row.payload) == ("", "", "", None)
        assert (row.last_error, row.provider_message_id) == (None, "")
        assert (row.status, row.sent_at, row.created_at, row.updated_at) == before[row.id]
        assert row.provider == "smtp"
    assert set(DeliveryAttempt.objects.values_list("error", flat=True)) == {""}
    assert list(ProviderEvent.objects.values_list("detail", flat=True)) == [{}] * 5
    assert DeliveryAttempt.objects.count() == 5


def test_other_people_and_other_clients_are_untouched(owner, profile):
    other_person = sent(owner, "bo@example.com")
    other_client = sent(factories.user("client-b"), "ada@example.com")
    services.recipient_erase(owner=owner, recipients=[profile])
    for row in (other_person, other_client):
        row.refresh_from_db()
        assert row.body == "your code is 1234"


def test_a_waiting_notification_is_cancelled_not_sent_to_nobody(owner, profile):
    waiting = factories.notification(owner=owner, channel="email", recipient="ada@example.com")
    services.recipient_erase(owner=owner, recipients=[profile])
    waiting.refresh_from_db()
    assert (waiting.status, waiting.recipient, waiting.next_attempt_at) == ("cancelled", "", None)
    assert waiting.cancelled_at is not None


def test_dead_push_tokens_of_the_person_go(owner, profile):
    DeadPushToken.objects.create(owner=owner, token=TOKEN, provider="expo")
    services.recipient_erase(owner=owner, recipients=[profile])
    assert not DeadPushToken.objects.exists()


def test_in_batches_each_its_own_transaction(owner, profile, monkeypatch):
    monkeypatch.setattr(recipients_module, "ERASE_BATCH", 2)
    for _ in range(5):
        sent(owner, "ada@example.com")
    with CaptureQueriesContext(connection) as queries:
        result = services.recipient_erase(owner=owner, recipients=[profile])
    assert result.notifications == 5
    savepoints = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 3  # 2 + 2 + 1: three short transactions (savepoints inside the test's own)
    assert not Notification.objects.exclude(recipient="").exists()


def test_again_changes_nothing_and_dry_run_only_counts(owner, profile):
    sent(owner, "ada@example.com")
    assert services.recipient_erase(owner=owner, recipients=[profile], dry_run=True).notifications == 1
    assert Notification.objects.get().body == "your code is 1234"
    assert Recipient.objects.exists()
    services.recipient_erase(owner=owner, recipients=[profile])
    assert services.recipient_erase(owner=owner, addresses=["ada@example.com"]).notifications == 0
    assert services.recipient_erase(owner=owner, recipients=[profile]).notifications == 0


def test_notifications_sent_to_the_profile_go_too_whatever_address_they_went_to(owner, profile):
    # Sent to the profile when it held an address it no longer holds; rendered from a template.
    row = sent(
        owner,
        "ada.old@example.com",
        to="ada",
        category="billing",
        html="<p>Hello Ada</p>",
        data={"name": "Ada"},
        template="welcome",
        locale="fr",
    )

    result = services.recipient_erase(owner=owner, recipients=[profile])

    assert result.notifications == 1
    row.refresh_from_db()
    assert (row.recipient, row.to, row.html, row.data, row.body) == ("", "", "", None, "")
    assert row.status == "sent"
    assert row.category == "billing"  # what it was about, not who it was for
