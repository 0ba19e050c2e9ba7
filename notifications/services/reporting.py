"""What a provider reports after a send: stored once, and ``delivery_status`` follows it.

A report names the provider's own message id; it is matched to the notification that
provider took, on that channel, so a report can never touch a notification of another
kind or provider. The same report twice (same ``provider_event_id``) is stored once.
A report never moves ``status``: that is what this service did, not what happened after. A new
report raises its event (``notification.delivered`` …) in its own transaction; a repeat raises none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from notifications.models import Notification, ProviderEvent
from notifications.services.events import event_of_report, events_record_changed


def provider_event_record(
    *,
    provider: str,
    channel: str,
    provider_message_id: str,
    provider_event_id: str,
    type: str,
    occurred_at: datetime,
    detail: dict[str, Any] | None = None,
) -> ProviderEvent | None:
    """Store a provider's report; ``None`` when it names no notification that provider took
    on that channel (nothing changes), or when the same report was stored before."""
    notification = (
        Notification.objects.filter(provider=provider, channel=channel, provider_message_id=provider_message_id)
        .only("id", "owner_id", "event_type")
        .first()
        if provider_message_id
        else None
    )
    if notification is None:
        return None
    try:
        with transaction.atomic():
            event = ProviderEvent.objects.create(
                notification=notification,
                provider=provider,
                provider_event_id=provider_event_id[:255],
                type=type,
                occurred_at=occurred_at,
                detail=detail or {},
            )
            _follow_latest(notification.id)
            event_type = event_of_report(type)
            if event_type:
                events_record_changed(ids=[notification.id], owner_ids=[notification.owner_id], event_type=event_type)
    except IntegrityError:
        return None  # the same report again
    return event


def _follow_latest(notification_id: Any) -> None:
    """``delivery_status`` is the type of the latest report by when it happened (reports
    may arrive out of order: an 'opened' can overtake its 'delivered')."""
    latest = (
        ProviderEvent.objects.filter(notification_id=notification_id)
        .order_by("-occurred_at", "-id")
        .values_list("type", flat=True)
        .first()
    )
    Notification.objects.filter(id=notification_id).update(delivery_status=latest)
