"""An ESP's tracking webhook (django-anymail's ``tracking`` signal) → ``provider_event_record``.

anymail has already checked the request (basic auth with ``ANYMAIL_WEBHOOK_SECRET``, the
ESP's own signature) and normalised the event; this maps its type to a ``delivery_status``
and stores it under the ESP's provider name, the one the send path recorded. Events with no
``delivery_status`` of their own (queued, sent, deferred, unsubscribed, …) are ignored: they
say nothing final about the message. Storing is idempotent and never moves ``status``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.dispatch import receiver
from django.utils import timezone

from notifications import services
from notifications.models import DeliveryStatus
from notifier.email import esp_provider_name

DELIVERY_STATUS = {
    EventType.DELIVERED: DeliveryStatus.DELIVERED,
    EventType.BOUNCED: DeliveryStatus.BOUNCED,
    EventType.COMPLAINED: DeliveryStatus.COMPLAINED,
    EventType.OPENED: DeliveryStatus.OPENED,
    EventType.CLICKED: DeliveryStatus.CLICKED,
    EventType.REJECTED: DeliveryStatus.UNDELIVERED,
    EventType.FAILED: DeliveryStatus.UNDELIVERED,
}
# What is kept of an event: enough to say why, not the ESP's whole payload (which repeats the
# recipient, headers and metadata), each value cut to this many characters.
DETAIL_FIELDS = ("event_type", "reject_reason", "description", "mta_response", "click_url", "user_agent")
DETAIL_MAX_CHARS = 500


@receiver(tracking, dispatch_uid="notifications-email-tracking")
def email_tracking_received(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    delivery_status = DELIVERY_STATUS.get(event.event_type)
    if delivery_status is None or not event.message_id:
        return
    services.provider_event_record(
        provider=esp_provider_name(esp_name),
        channel="email",
        provider_message_id=str(event.message_id),
        provider_event_id=event_id(event),
        type=delivery_status,
        occurred_at=event.timestamp or timezone.now(),
        detail=detail(event),
    )


def event_id(event: AnymailTrackingEvent) -> str:
    """The ESP's own event id, or (Postmark gives one only for bounces) a hash of the event as
    the ESP sent it: a redelivered webhook hashes alike and is stored once, while two opens
    differ in their time."""
    if event.event_id:
        return str(event.event_id)
    raw = json.dumps(event.esp_event, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(f"{event.event_type}\n{raw}".encode()).hexdigest()


def detail(event: AnymailTrackingEvent) -> dict[str, str]:
    return {name: str(value)[:DETAIL_MAX_CHARS] for name in DETAIL_FIELDS if (value := getattr(event, name, None))}
