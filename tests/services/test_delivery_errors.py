"""What a failed send becomes: an unknown channel is permanent, a provider's own bug is retried."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import DeliveryAttempt, Notification
from notifier import Message, ProviderBase, Receipt, registry


class ProviderWithABug(ProviderBase):
    """A provider whose own code raises ``KeyError``, as a missing dict key in a parser would."""

    name = "buggy"

    def validate_recipient(self, recipient: str) -> str:
        return recipient

    def send(self, message: Message) -> Receipt:
        return Receipt(provider_message_id={}["id"])


@pytest.fixture
def buggy_channel(monkeypatch):
    monkeypatch.setitem(registry._providers(), ProviderWithABug.name, ProviderWithABug())


def deliver(row: Notification):
    return services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)


def test_a_channel_with_no_provider_fails_permanently_naming_the_channel(make_notification):
    row = make_notification(channel="pager", recipient="+15550100")
    result = deliver(row)
    row.refresh_from_db()
    assert result.status == "failed"
    assert (row.status, row.failure_reason) == ("failed", "permanent")
    assert row.last_error == "no provider for channel 'pager'"
    assert DeliveryAttempt.objects.get(notification=row).outcome == "permanent"


def test_a_key_error_inside_a_provider_is_retried_not_taken_for_an_unknown_channel(make_notification, buggy_channel):
    row = make_notification(channel="buggy", recipient="anyone")
    with pytest.raises(services.DeliveryDeferred):
        deliver(row)
    row.refresh_from_db()
    assert (row.status, row.failure_reason) == ("retrying", "")
    assert row.last_error.startswith("unexpected error: KeyError")
    assert DeliveryAttempt.objects.get(notification=row).outcome == "transient"


def test_a_provider_bug_on_the_last_attempt_ends_exhausted(make_notification, buggy_channel):
    row = make_notification(channel="buggy", recipient="anyone", max_attempts=1)
    result = deliver(row)
    row.refresh_from_db()
    assert result.status == "failed"
    assert (row.status, row.failure_reason) == ("failed", "exhausted")
