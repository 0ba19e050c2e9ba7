"""A digest member at create: checked, stored unrendered, and joined to its open window.

A create with ``digest: {"key", "window"}`` stores the row ``scheduled`` with no subject or body
and no ``next_attempt_at``: it is never published, so neither the claim nor the missed-sweep
takes it. Its template is checked to exist and compile now and rendered only when the window
closes (with ``items``), so ``items`` is never a missing variable here.

The join is one statement, ``INSERT … ON CONFLICT (owner, addressee, channel, key) WHERE status
= 'open' DO UPDATE``, run in the member's own transaction before its INSERT: the window's row
stays locked until the member commits, so a close waiting on that lock sees the member, and a
member arriving after the close has committed opens a new window. Never lost, never in both.
Closing lives in ``digest_closing`` (it creates a notification, so it imports ``creating``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from celery import current_app
from django.contrib.auth.models import AbstractBaseUser
from django.db import connections, transaction

from notifications.exceptions import ContentInvalid
from notifications.models import DigestWindow, Notification, Template
from notifications.services.templates import template_check
from notifications.task_names import DIGEST_CLOSE

logger = logging.getLogger(__name__)

MAINTENANCE_QUEUE = "notify.maintenance"


@dataclass(frozen=True)
class Joined:
    window_id: uuid.UUID
    closes_at: datetime
    opened: bool


def digest_member_check(*, owner: AbstractBaseUser, data: dict[str, Any], template: Template | None) -> None:
    """Refuse (``ContentInvalid`` naming ``template``) a member whose template is missing or does not
    compile: it is rendered only at the close, where no client is left to tell."""
    name = data["template"]
    if template is None:
        template = Template.objects.filter(owner=owner, name=name).first()
    if template is None:
        raise ContentInvalid({"template": [f"No template named {name!r}."]})
    try:
        template_check(
            subject=template.subject, body=template.body, html=template.html, translations=template.translations
        )
    except ContentInvalid as exc:
        raise ContentInvalid({"template": [f"Template {name!r} does not compile: {exc.errors}"]}) from exc


def digest_member_prepare(notification: Notification) -> None:
    """Turn a new row into a waiting member: unrendered, never due, never published."""
    notification.subject = notification.body = notification.html = ""
    notification.template_version = None
    notification.next_attempt_at = None
    notification.last_enqueued_at = None


def addressee_of(notification: Notification) -> str:
    return notification.to or notification.recipient


@cache
def _join_sql(vendor: str) -> str:
    meta = DigestWindow._meta
    quote = connections[DigestWindow.objects.db].ops.quote_name
    columns = ", ".join(
        quote(meta.get_field(name).column)
        for name in ("id", "owner", "channel", "addressee", "key", "window", "status", "opens_at", "closes_at")
    )
    members = quote("members")
    # xmax is 0 on a row version this statement inserted; SQLite (the embedded default) has no
    # xmax, and a window it has just opened is the only one holding a single member.
    opened = "(xmax = 0)" if vendor == "postgresql" else f"({members} = 1)"
    return (
        f"INSERT INTO {meta.db_table} ({columns}, {members}, created_at) "  # noqa: S608 -- names from the model
        "VALUES (%s, %s, %s, %s, %s, %s, 'open', %s, %s, 1, %s) "
        "ON CONFLICT (owner_id, addressee, channel, key) WHERE status = 'open' "
        f"DO UPDATE SET {members} = {meta.db_table}.{members} + 1 "
        f"RETURNING id, closes_at, {opened} AS opened"
    )


def digest_join(*, notification: Notification, digest: dict[str, Any], now: datetime) -> Joined:
    """Join (or open) the member's window, in the caller's transaction, and point the row at it.
    The first member publishes the close, due at ``closes_at``, once that transaction commits."""
    connection = connections[DigestWindow.objects.db]
    closes_at = now + timedelta(seconds=digest["window"])
    params = [uuid.uuid4().hex if connection.vendor != "postgresql" else uuid.uuid4()]
    params += [notification.owner_id, notification.channel, addressee_of(notification), digest["key"]]
    params += [digest["window"], now, closes_at, now]
    with connection.cursor() as cursor:
        cursor.execute(_join_sql(connection.vendor), params)
        window_id, closes_at, opened = cursor.fetchone()
    joined = Joined(window_id=uuid.UUID(str(window_id)), closes_at=_aware(closes_at), opened=bool(opened))
    notification.digest_window_id = joined.window_id
    if joined.opened:
        transaction.on_commit(lambda: digest_close_publish(window_id=joined.window_id, closes_at=joined.closes_at))
    return joined


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite's RETURNING hands back the text
        value = datetime.fromisoformat(value)
    return value


def digest_close_publish(*, window_id: uuid.UUID, closes_at: datetime) -> bool:
    """Publish the close, due at ``closes_at`` (RabbitMQ's native delayed delivery holds it). A
    failure is logged, never raised: the beat sweep closes the window a grace after its end."""
    try:
        current_app.send_task(
            DIGEST_CLOSE,
            args=[str(window_id)],
            queue=MAINTENANCE_QUEUE,
            eta=closes_at,
            time_limit=None,
            soft_time_limit=None,
        )
    except Exception:
        logger.exception("publishing the close of digest window %s failed: left to the sweep", window_id)
        return False
    return True
