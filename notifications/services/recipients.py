"""Recipient profiles: put (create or replace), update, and erase (GDPR).

An erase must never hold a long lock, however many notifications a person has: their rows are
blanked ``ERASE_BATCH`` at a time, each batch in its own short transaction. It is idempotent —
a blanked row no longer matches an address — so an erase cut short is finished by running it
again. Rows keep their status and times, so a client's counts stay right.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from notifications.models import (
    DeadPushToken,
    DeliveryAttempt,
    Notification,
    ProviderEvent,
    Recipient,
)
from notifications.services.changing import notifications_cancel_live
from notifications.services.events import events_blank
from notifications.services.topics import topic_members_forget

logger = logging.getLogger(__name__)

# Notifications blanked per transaction: each holds its row locks for a few milliseconds.
ERASE_BATCH = 1000
# What a PUT resets a field to when the body leaves it out: a PUT states the whole profile.
PROFILE_DEFAULTS: dict[str, Any] = {
    "email": None,
    "phone": None,
    "telegram_chat_id": None,
    "slack_id": None,
    "webhook_url": None,
    "push_tokens": list,
    "timezone": "UTC",
    "locale": None,  # NOTIFY_DEFAULT_LOCALE, the model's default
    "preferences": dict,
    "quiet_hours": None,
}


@dataclass(frozen=True)
class EraseResult:
    """What an erase removed (or, dry, would remove): profiles deleted, notifications blanked."""

    profiles: int
    notifications: int


def _full_profile(data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, default in PROFILE_DEFAULTS.items():
        if name in data:
            values[name] = data[name]
        elif name == "locale":
            values[name] = Recipient._meta.get_field("locale").get_default()
        else:
            values[name] = default() if callable(default) else default
    return values


def recipient_put(*, owner: AbstractBaseUser, external_id: str, data: Mapping[str, Any]) -> tuple[Recipient, bool]:
    """Create the profile, or replace every field of the existing one (what the body leaves out
    goes back to its default). Returns ``(recipient, created)``. Two concurrent first PUTs of one
    id: the loser's insert hits the unique constraint and it replaces the winner's row instead."""
    values = _full_profile(data)
    for _ in range(2):
        try:
            with transaction.atomic():
                return Recipient.objects.update_or_create(owner=owner, external_id=external_id, defaults=values)
        except IntegrityError:
            continue
    raise IntegrityError("recipient_owner_external_id_uniq")  # a third writer: the API answers 409, retry


def recipient_update(*, recipient: Recipient, changes: Mapping[str, Any]) -> Recipient:
    """Change only the fields given (PATCH)."""
    if not changes:
        return recipient
    for name, value in changes.items():
        setattr(recipient, name, value)
    recipient.save(update_fields=[*changes, "updated_at"])
    return recipient


def _matching(owner_id: int, addresses: Iterable[str], external_id: str | None) -> Q:
    """This client's notifications to the person: any channel's ``recipient`` equal to one of
    the addresses, and those sent to their profile (``to``) or, for ``console`` (whose address
    is a name), to the client's id for them."""
    match = Q(recipient__in=sorted(set(addresses)))
    if external_id:
        match |= Q(channel="console", recipient=external_id) | Q(to=external_id)
    return Q(owner_id=owner_id, event_type="") & match & ~Q(recipient="")  # events: events_blank


def _blank_batch(owner_id: int, ids: list[Any]) -> None:
    """One short transaction: the rows' content and what their attempts, reports and events say
    goes; a row still waiting to be sent is cancelled, as there is no one left to send it to."""
    now = timezone.now()
    with transaction.atomic():
        rows = Notification.objects.filter(id__in=ids)
        notifications_cancel_live(rows=rows, owner_ids=[owner_id], now=now)
        rows.update(
            recipient="",
            to="",
            subject="",
            body="",
            html="",
            payload=None,
            data=None,
            last_error=None,
            provider_message_id="",
        )  # updated_at stays: retention still counts from when the row last changed state
        DeliveryAttempt.objects.filter(notification_id__in=ids).exclude(error="").update(error="")
        ProviderEvent.objects.filter(notification_id__in=ids).update(detail={})
        events_blank(owner_id=owner_id, notification_ids=ids)  # the cancels' just written too


def notifications_erase(
    *, owner_id: int, addresses: Iterable[str], external_id: str | None = None, dry_run: bool = False
) -> int:
    """Blank this client's notifications to these addresses, ``ERASE_BATCH`` per transaction;
    returns how many (with ``dry_run``, how many would be)."""
    match = _matching(owner_id, addresses, external_id)
    if dry_run:
        return Notification.objects.filter(match).count()
    total = 0
    while ids := list(Notification.objects.filter(match).values_list("id", flat=True)[:ERASE_BATCH]):
        _blank_batch(owner_id, ids)
        total += len(ids)
    return total


def recipient_erase(
    *,
    owner: AbstractBaseUser,
    recipients: Iterable[Recipient] = (),
    addresses: Iterable[str] = (),
    dry_run: bool = False,
) -> EraseResult:
    """Erase people of one client: the profiles given, and every notification of this client to
    any of their addresses or to the extra ``addresses`` (an operator's request by email names
    one). Dead-push-token records of their tokens go too, and their ids leave the client's
    topics. Logs counts only, never an address."""
    profiles = list(recipients)
    wanted = {*addresses}
    for profile in profiles:
        wanted.update(profile.addresses())
    blanked = 0
    for profile in profiles or [None]:
        blanked += notifications_erase(
            owner_id=owner.pk,
            addresses=wanted,
            external_id=profile.external_id if profile else None,
            dry_run=dry_run,
        )
        wanted = set()  # the first pass took every address; later ones only their console name
    if not dry_run:
        tokens = [token for profile in profiles for token in profile.push_tokens]
        DeadPushToken.objects.filter(owner=owner, token__in=tokens).delete()
        Recipient.objects.filter(id__in=[profile.id for profile in profiles]).delete()
        topic_members_forget(owner_id=owner.pk, recipient_ids=[profile.external_id for profile in profiles])
        logger.info("erased %d profile(s) and %d notification(s) of client %s", len(profiles), blanked, owner.pk)
    return EraseResult(profiles=len(profiles), notifications=blanked)
