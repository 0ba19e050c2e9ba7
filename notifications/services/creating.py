"""Creating notifications, one or a thousand at a time, idempotently.

A create stores the row as ``scheduled`` and publishes it on commit. With an
``idempotency_key`` the same request replays the original and a different
request under the same key is refused; the unique (owner, key) constraint
settles two concurrent requests with one key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connections, transaction
from django.db.models import Model
from django.utils import timezone

from notifications import conf, metrics
from notifications.exceptions import ContentInvalid, IdempotencyConflict
from notifications.logcontext import current_trace_id
from notifications.models import EventType, FailureReason, Notification, Recipient, Schedule, Status
from notifications.services.digests import digest_join, digest_member_check, digest_member_prepare
from notifications.services.events import events_record
from notifications.services.fastpaths import insert_many
from notifications.services.profiles import (
    profile_and_template,
    profiles_by_id,
    resolved_at_create,
    template_context,
)
from notifications.services.publishing import dispatch_of, publish_on_commit
from notifications.services.templates import rendered_content

# What a client sends about a notification, beside when: the fingerprint's and a reschedule's fields.
CONTENT_FIELDS = ("channel", "recipient", "subject", "body", "payload", "priority", "max_attempts")
# A templated request's own fields, and a profile's: in its fingerprint only when it has them,
# so the fingerprints of every other request stay as they were.
TEMPLATE_FIELDS = ("template", "data", "locale")
PROFILE_FIELDS = ("to", "category")


def request_fingerprint(data: dict[str, Any]) -> str:
    """A stable hash of a create request, to tell a replay from a reuse of its key."""
    canonical = {field: data.get(field) for field in (*CONTENT_FIELDS, "send_at")}
    if data.get("template"):
        canonical.update({field: data.get(field) for field in TEMPLATE_FIELDS})
    if data.get("to") or data.get("category"):
        canonical.update({field: data.get(field) for field in PROFILE_FIELDS})
    if data.get("digest"):
        canonical["digest"] = data["digest"]
    if isinstance(canonical["send_at"], datetime):
        canonical["send_at"] = canonical["send_at"].isoformat()
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


def _new_notification(
    *, owner: AbstractBaseUser, data: dict[str, Any], now: datetime, profiles: dict[str, Recipient] | None = None
) -> Notification:
    """The row for one create request. With ``to``, ``profiles`` holds the client's profiles
    by id (read once for a bulk request); a profile whose preferences turn it off makes the row
    ``suppressed`` at once, never published."""
    fingerprint = request_fingerprint(data)  # of the request as sent, before rendering
    allowed, profile, template = True, None, None
    if data.get("to"):
        if profiles is None:
            profile, template = profile_and_template(owner=owner, to=data["to"], template_name=data.get("template", ""))
        else:
            profile = profiles.get(data["to"])
        data, allowed = resolved_at_create(data, profile)
    if data.get("digest"):  # rendered with every member's data when its window closes
        digest_member_check(owner=owner, data=data, template=template)
    else:
        data = rendered_content(owner=owner, item=data, context=template_context(profile), template=template)
    send_at = now if data.get("digest") else max(data.get("send_at") or now, now)
    notification = Notification(
        owner=owner,
        channel=data["channel"],
        recipient=data["recipient"],
        subject=data.get("subject") or "",
        body=data.get("body") or "",
        payload=data.get("payload"),
        html=data.get("html") or "",
        template=data.get("template") or "",
        template_version=data.get("template_version"),
        data=data.get("data"),
        locale=data.get("locale") or "",
        send_at=send_at,
        priority=data.get("priority") or "normal",
        max_attempts=data.get("max_attempts") or conf.max_attempts(),
        idempotency_key=data.get("idempotency_key") or None,
        request_fingerprint=fingerprint,
        next_attempt_at=send_at,
        last_enqueued_at=now,
        to=data.get("to") or "",
        category=data.get("category") or "",
        trace_id=current_trace_id(),
    )
    if not allowed:
        _suppress(notification)
    elif data.get("digest"):
        digest_member_prepare(notification)
    return notification


def notification_build(*, owner: AbstractBaseUser, data: dict[str, Any], now: datetime) -> Notification:
    """The unsaved row a create of ``data`` would store (rendered, preferences applied), for a
    caller that writes many at once (the schedules' pass); ``ContentInvalid`` as a create would."""
    return _new_notification(owner=owner, data=data, now=now)


def _suppress(notification: Notification) -> None:
    notification.status = Status.SUPPRESSED
    notification.failure_reason = FailureReason.OPTED_OUT
    notification.last_error = "the recipient's preferences turn this channel or category off"
    notification.next_attempt_at = None


def _joins_digest(notification: Notification, data: dict[str, Any]) -> bool:
    return bool(data.get("digest")) and notification.status == Status.SCHEDULED


def _publishable(notifications: list[Notification]) -> list[Notification]:
    # A digest member waits for its window's close, which sends the digest in its place.
    return [n for n in notifications if n.status == Status.SCHEDULED and n.next_attempt_at is not None]


def idempotent_original(model: type[Model], *, owner: AbstractBaseUser, key: str, fingerprint: str) -> Model | None:
    """The row of ``model`` (a notification, a broadcast) this owner made under ``key`` for the
    same request, ``None`` if none; ``IdempotencyConflict`` if the key came with another request."""
    original = model.objects.filter(owner=owner, idempotency_key=key).first()
    if original is None:
        return None
    if original.request_fingerprint != fingerprint:
        raise IdempotencyConflict(f"Idempotency key {key!r} was already used with a different request.")
    return original


def notification_create(
    *, owner: AbstractBaseUser, data: dict[str, Any], schedule: Schedule | None = None
) -> tuple[Notification, bool]:
    """Store a notification and publish it on commit.

    Returns ``(notification, created)``. With an ``idempotency_key`` already
    used by this owner, the original is returned (``created`` False) if the
    request is the same, else ``IdempotencyConflict``. ``schedule``: the schedule
    whose occurrence this is.
    """
    key = data.get("idempotency_key")
    if key:
        original = idempotent_original(Notification, owner=owner, key=key, fingerprint=request_fingerprint(data))
        if original is not None:
            return original, False
    now = timezone.now()
    notification = _new_notification(owner=owner, data=data, now=now)
    notification.schedule = schedule
    connection = connections[Notification.objects.db]
    member = _joins_digest(notification, data)
    suppressed = notification.status == Status.SUPPRESSED
    try:
        # One INSERT is atomic on its own: in autocommit it needs no BEGIN/COMMIT (two of
        # a create's four round trips). Inside a caller's transaction, a savepoint keeps
        # that transaction usable if the key's constraint fails. A digest member joins its
        # window in the insert's transaction, which holds the window's row until it commits;
        # a row suppressed at once is written with its event.
        atomic = connection.in_atomic_block or member or suppressed
        with transaction.atomic() if atomic else contextlib.nullcontext():
            if member:
                digest_join(notification=notification, digest=data["digest"], now=now)
            notification.save(force_insert=True)
            metrics.notifications_created([notification.channel])
            publish_on_commit([dispatch_of(n) for n in _publishable([notification])])
            if suppressed:
                events_record(notifications=[notification], event_type=EventType.SUPPRESSED)
    except IntegrityError:
        # A concurrent request with the same key won the insert.
        original = (
            idempotent_original(Notification, owner=owner, key=key, fingerprint=notification.request_fingerprint)
            if key
            else None
        )
        if original is None:
            raise
        return original, False
    return notification, True


def notification_bulk_create(*, owner: AbstractBaseUser, items: list[dict[str, Any]]) -> list[Notification]:
    """Store many notifications at once, all or nothing, and publish them on one producer.

    Items whose idempotency key was used before with the same body come back as
    the original; a key reused with another body raises ``IdempotencyConflict``.
    """
    now = timezone.now()
    keys = [item["idempotency_key"] for item in items if item.get("idempotency_key")]
    if len(keys) != len(set(keys)):
        raise IdempotencyConflict("The same idempotency key appears twice in one bulk request.")
    existing = {n.idempotency_key: n for n in Notification.objects.filter(owner=owner, idempotency_key__in=keys)}
    results: list[Notification] = []
    new: list[Notification] = []
    members: list[tuple[Notification, dict[str, Any]]] = []
    batch_token = uuid.uuid4()  # shared: the rows travel together in deliver_batch messages
    profiles = profiles_by_id(owner=owner, ids=[item.get("to") or "" for item in items])
    for index, item in enumerate(items):
        original = existing.get(item.get("idempotency_key") or "")
        if original is not None:
            if original.request_fingerprint != request_fingerprint(item):
                raise IdempotencyConflict(f"Item {index}: idempotency key reused with a different request.")
            results.append(original)
            continue
        try:
            notification = _new_notification(owner=owner, data=item, now=now, profiles=profiles)
        except ContentInvalid as exc:
            raise ContentInvalid({"notifications": {str(index): exc.errors}}) from exc
        notification.dispatch_token = batch_token
        if _joins_digest(notification, item):
            members.append((notification, item["digest"]))
        new.append(notification)
        results.append(notification)
    try:
        with transaction.atomic():
            _join_digests(members, now)
            insert_many(new)
            publish_on_commit([dispatch_of(n) for n in _publishable(new)])
            suppressed = [n for n in new if n.status == Status.SUPPRESSED]
            events_record(notifications=suppressed, event_type=EventType.SUPPRESSED)
    except IntegrityError as exc:
        raise IdempotencyConflict("An idempotency key in this request was used concurrently; retry it.") from exc
    return results


def _join_digests(members: list[tuple[Notification, dict[str, Any]]], now: datetime) -> None:
    """Join each member's window, always in the same order of windows, so two bulk requests
    joining the same windows wait for each other instead of deadlocking."""
    members = sorted(members, key=lambda pair: (pair[0].to or pair[0].recipient, pair[0].channel, pair[1]["key"]))
    for notification, digest in members:
        digest_join(notification=notification, digest=digest, now=now)
