"""Broadcasts: one message to many, accepted at once and written by a task.

A create stores the ``Broadcast`` (its audience, channels and content) and publishes the
expansion on commit; the notifications are written by ``services.expanding``, in batches. A
cancel locks the broadcast's row, as every expansion batch does, so no batch can commit after
it: the cancel's UPDATE sees every row written before, and nothing is written after. An
expansion whose message was lost, or whose worker died, is published again by
``broadcasts_resume`` once its row has not moved for ``STALE_AFTER``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.dispatch import trace_headers
from notifications.exceptions import ContentInvalid
from notifications.models import Broadcast, BroadcastStatus, Notification, Template, Topic
from notifications.services.changing import notifications_cancel_live
from notifications.services.creating import idempotent_original
from notifications.task_names import BROADCAST_EXPAND

logger = logging.getLogger(__name__)

# Not behind the delivery queues' backlog (a broadcast's own deliveries fill them): the
# expansion of the next broadcast must start at once.
EXPANSION_QUEUE = "notify.maintenance"
# An expansion whose row has not moved for this long has lost its worker or its message.
STALE_AFTER = timedelta(minutes=1)
# Broadcasts one sweep re-publishes at most.
RESUME_BATCH = 100
# What a broadcast's rows get, beside the audience and channels: the fingerprint's fields too.
CONTENT_FIELDS = (
    "subject",
    "body",
    "payload",
    "template",
    "data",
    "locale",
    "category",
    "send_at",
    "priority",
    "max_attempts",
)


def broadcast_fingerprint(data: dict[str, Any]) -> str:
    """A stable hash of a broadcast request, to tell a replay from a reuse of its key."""
    canonical = {field: data.get(field) for field in ("to", "topic", "channels", *CONTENT_FIELDS)}
    if isinstance(canonical["send_at"], datetime):
        canonical["send_at"] = canonical["send_at"].isoformat()
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


def publish_expansions(broadcast_ids: Iterable[uuid.UUID | str]) -> None:
    """Publish an expansion message per broadcast; a failure is logged and left to the sweep."""
    try:
        with current_app.producer_or_acquire() as producer:
            for broadcast_id in broadcast_ids:
                # time limits None: the worker's own apply (as dispatch.publish does).
                current_app.send_task(
                    BROADCAST_EXPAND,
                    args=[str(broadcast_id)],
                    queue=EXPANSION_QUEUE,
                    producer=producer,
                    time_limit=None,
                    soft_time_limit=None,
                    headers=trace_headers(),  # the broadcast's rows get the request's trace id
                )
    except Exception:
        logger.exception("broker unavailable: expansion left to the broadcast sweep")


def _check_references(owner: AbstractBaseUser, data: dict[str, Any]) -> None:
    """The topic and the template a broadcast names must exist now (each a 400 otherwise)."""
    errors: dict[str, list[str]] = {}
    if data.get("topic") and not Topic.objects.filter(owner=owner, key=data["topic"]).exists():
        errors["topic"] = [f"No topic named {data['topic']!r}."]
    if data.get("template") and not Template.objects.filter(owner=owner, name=data["template"]).exists():
        errors["template"] = [f"No template named {data['template']!r}."]
    if errors:
        raise ContentInvalid(errors)


def _content(data: dict[str, Any]) -> dict[str, Any]:
    content = {field: data[field] for field in CONTENT_FIELDS if data.get(field) not in (None, "")}
    if isinstance(content.get("send_at"), datetime):
        content["send_at"] = content["send_at"].isoformat()
    return content


def broadcast_create(*, owner: AbstractBaseUser, data: dict[str, Any]) -> tuple[Broadcast, bool]:
    """Store a broadcast and publish its expansion on commit; ``(broadcast, created)``.

    With an ``idempotency_key`` already used by this owner, the original is returned
    (``created`` False) if the request is the same, else ``IdempotencyConflict``.
    """
    fingerprint = broadcast_fingerprint(data)
    key = data.get("idempotency_key") or None
    if key and (original := idempotent_original(Broadcast, owner=owner, key=key, fingerprint=fingerprint)) is not None:
        return original, False
    _check_references(owner, data)
    to = data.get("to")
    broadcast = Broadcast(
        owner=owner,
        topic=data.get("topic") or "",
        to=sorted(set(to)) if to is not None else None,
        channels=list(dict.fromkeys(data["channels"])),
        content=_content(data),
        idempotency_key=key,
        request_fingerprint=fingerprint,
    )
    try:
        with transaction.atomic():
            broadcast.save(force_insert=True)
            transaction.on_commit(lambda: publish_expansions([broadcast.id]))
    except IntegrityError:
        original = idempotent_original(Broadcast, owner=owner, key=key, fingerprint=fingerprint) if key else None
        if original is None:
            raise
        return original, False
    return broadcast, True


def broadcast_cancel(*, broadcast: Broadcast) -> Broadcast:
    """Stop the expansion and cancel every notification of the broadcast still waiting.

    Holds the broadcast's row lock (as each expansion batch does), so a batch either committed
    before, and its rows are cancelled here, or runs after, finds ``cancelled`` and writes
    nothing. Idempotent: a second cancel finds nothing left to cancel.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = Broadcast.objects.select_for_update().get(id=broadcast.id)
        locked.status = BroadcastStatus.CANCELLED
        locked.finished_at = locked.finished_at or now
        locked.save(update_fields=["status", "finished_at", "updated_at"])
        # Through notification_broadcast_created: the broadcast's rows only.
        cancelled = notifications_cancel_live(
            rows=Notification.objects.filter(broadcast_id=locked.id), owner_ids=[locked.owner_id], now=now
        )
    logger.info("broadcast %s cancelled: %d notification(s) cancelled", locked.id, cancelled)
    return locked


def broadcasts_resume(*, now: datetime | None = None) -> int:
    """Publish again the expansions of broadcasts still ``expanding`` whose row has not moved
    for ``STALE_AFTER`` (a lost message, a dead worker). Their ``updated_at`` is moved on, so
    each is re-published at most once per ``STALE_AFTER``. Returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Broadcast.objects.filter(status=BroadcastStatus.EXPANDING, updated_at__lt=now - STALE_AFTER)
            .order_by("updated_at")
            .values_list("id", flat=True)[:RESUME_BATCH]
        )
        if ids:
            Broadcast.objects.filter(id__in=ids, status=BroadcastStatus.EXPANDING).update(updated_at=now)
            transaction.on_commit(lambda: publish_expansions(ids))
    if ids:
        logger.warning("resumed %d stalled broadcast expansion(s)", len(ids))
    return len(ids)
