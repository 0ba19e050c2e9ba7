"""Rows for tests: a sensible default for every required field, any field given by keyword."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from notifications.models import LIVE_STATUSES, Notification, Status


def user(username: str = "client-1") -> AbstractBaseUser:
    """The client of that name, made on first use (no password: hashing one costs ~0.3 s)."""
    model = get_user_model()
    return model.objects.filter(username=username).first() or model.objects.create_user(username=username)


def notification(
    *, owner: AbstractBaseUser | None = None, age: timedelta = timedelta(0), **fields: object
) -> Notification:
    """A notification as the create service stores it ``age`` ago: published then, due at ``send_at``.

    By default it is a webhook to example.com for ``user()``, scheduled now with 3 attempts. It is
    due (``next_attempt_at``) only while scheduled or retrying, as the services keep it. ``age``
    backdates ``send_at`` and ``updated_at`` (auto_now, so written after the insert), which is what
    retention and the dead-letter commands select by.
    """
    then = timezone.now() - age
    values = {
        "channel": "webhook",
        "recipient": "https://example.com/hook",
        "send_at": then,
        "max_attempts": 3,
        "last_enqueued_at": then,
        **fields,
    }
    if "next_attempt_at" not in values:
        live = values.get("status", Status.SCHEDULED) in LIVE_STATUSES
        values["next_attempt_at"] = values["send_at"] if live else None
    row = Notification.objects.create(owner=owner or user(), **values)
    if age:
        Notification.objects.filter(id=row.id).update(updated_at=then)
        row.refresh_from_db()
    return row
