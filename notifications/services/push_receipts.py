"""Expo's receipts: what happened to a push after Expo accepted it.

An Expo ticket only says Expo took the message; whether Apple or Google took it comes
later, as a receipt asked for by ticket id (``getReceipts``, at most 1,000 ids a call),
ready within about 15 minutes and kept by Expo for about a day. Each pass asks for the
Expo pushes sent between a day and 15 minutes ago whose ``delivery_status`` is still
``null`` (a partial index holds exactly those, so a pass reads no other row), and stores
each receipt once as a provider report: ``ok`` → ``delivered``, ``error`` →
``undelivered``; a ``DeviceNotRegistered`` receipt also keeps the token as dead. A
receipt Expo does not have yet is asked for again on the next pass; a failing Expo ends
the pass, and the next one starts over, so nothing is lost and nothing stored twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

import notifier
from notifications.models import DeliveryStatus, Notification, Status
from notifications.services.recording import dead_push_token_record
from notifications.services.reporting import provider_event_record
from notifier.push import MAX_RECEIPT_IDS, ExpoClient

logger = logging.getLogger(__name__)

# Expo's receipts are ready after about this long, and kept for about this long.
RECEIPT_WAIT = timedelta(minutes=15)
RECEIPT_KEPT = timedelta(hours=24)


def expo_receipts_collect(*, now: datetime | None = None, expo: ExpoClient | None = None) -> int:
    """Ask Expo for the receipts of the pushes awaiting one; return how many were stored.
    Idempotent: a receipt stored before is not stored again."""
    now = now or timezone.now()
    expo = expo or notifier.get_provider("push").expo
    stored = 0
    after: tuple[datetime, Any] | None = None
    while batch := _awaiting_receipt(now=now, after=after):
        try:
            receipts = expo.receipts([row["provider_message_id"] for row in batch])
        except notifier.DeliveryError as exc:
            logger.warning("expo receipts: pass stopped, the next one retries: %s", exc)
            break
        stored += sum(
            _record(row, receipts[row["provider_message_id"]], now)
            for row in batch
            if row["provider_message_id"] in receipts
        )
        if len(batch) < MAX_RECEIPT_IDS:
            break
        after = (batch[-1]["sent_at"], batch[-1]["id"])
    return stored


def _awaiting_receipt(*, now: datetime, after: tuple[datetime, Any] | None) -> list[dict[str, Any]]:
    """The next batch of Expo pushes with no receipt yet, oldest first (the partial index
    ``notification_expo_unreceipted``)."""
    rows = Notification.objects.filter(
        channel="push",
        provider="expo",
        delivery_status__isnull=True,
        status=Status.SENT,
        sent_at__gte=now - RECEIPT_KEPT,
        sent_at__lte=now - RECEIPT_WAIT,
    ).exclude(provider_message_id="")
    if after is not None:
        rows = rows.filter(Q(sent_at__gt=after[0]) | Q(sent_at=after[0], id__gt=after[1]))
    fields = ("id", "owner_id", "recipient", "to", "provider_message_id", "sent_at")
    return list(rows.order_by("sent_at", "id").values(*fields)[:MAX_RECEIPT_IDS])


def _record(row: dict[str, Any], receipt: dict[str, Any], now: datetime) -> bool:
    ticket = row["provider_message_id"]
    ok = receipt.get("status") == "ok"
    event = provider_event_record(
        provider="expo",
        channel="push",
        provider_message_id=ticket,
        provider_event_id=f"receipt:{ticket}",
        type=DeliveryStatus.DELIVERED if ok else DeliveryStatus.UNDELIVERED,
        occurred_at=now,  # a receipt carries no time of its own
        detail=receipt,
    )
    details = receipt.get("details")
    if not ok and isinstance(details, dict) and details.get("error") == "DeviceNotRegistered":
        dead_push_token_record(
            owner_id=row["owner_id"],
            token=row["recipient"],
            provider="expo",
            notification_id=row["id"],
            recipient_id=row["to"],
        )
    return event is not None
