"""Every read of notifications a client or a worker makes."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from notifications.models import (
    LIVE_STATUSES,
    Broadcast,
    DeliveryAttempt,
    Endpoint,
    Notification,
    ProviderEvent,
    Recipient,
    Schedule,
    Status,
    Template,
    Topic,
    WebhookSecret,
)


def notification_list(*, owner: AbstractBaseUser) -> QuerySet[Notification]:
    """A client's notifications, newest first (filters are applied by the API). Event deliveries
    to its endpoints are not among them."""
    return Notification.objects.filter(owner=owner, event_type="").order_by("-created_at", "-id")


def notification_get(*, owner: AbstractBaseUser, notification_id: uuid.UUID | str) -> Notification | None:
    """The client's own notification, or ``None`` — another client's id, or an event delivery's,
    looks unknown."""
    return Notification.objects.filter(owner=owner, id=notification_id, event_type="").first()


def attempt_list(*, notification: Notification) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.filter(notification=notification).order_by("number")


def provider_event_list(*, notification: Notification) -> QuerySet[ProviderEvent]:
    """What the providers reported about a notification, oldest first (as they happened, not as
    they arrived)."""
    return ProviderEvent.objects.filter(notification=notification).order_by("occurred_at", "id")


def provider_names() -> list[str]:
    """The providers that took at least one notification, by name, for the admin's filter.

    A loose index scan of ``notification_provider_created``: each step asks the index for the
    first name after the last one, so the cost is one index probe per provider however many
    rows there are (a ``SELECT DISTINCT provider`` reads every row). Rows no provider took
    (``provider = ''``) are left out, as that index leaves them out.
    """
    table = connection.ops.quote_name(Notification._meta.db_table)
    sql = f"""
        WITH RECURSIVE names(name) AS (
            SELECT (SELECT provider FROM {table} WHERE provider <> '' ORDER BY provider LIMIT 1)
            UNION ALL
            SELECT (SELECT provider FROM {table} WHERE provider <> '' AND provider > names.name
                    ORDER BY provider LIMIT 1)
            FROM names WHERE names.name IS NOT NULL
        )
        SELECT name FROM names WHERE name IS NOT NULL
    """  # noqa: S608 -- the table name is the model's, quoted; no input reaches this text
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [name for (name,) in cursor.fetchall()]


def signing_secrets(*, secret: WebhookSecret) -> tuple[str, ...]:
    """The secrets that sign this client's webhooks now, newest first."""
    if secret.previous_secret and secret.previous_expires_at and secret.previous_expires_at > timezone.now():
        return (secret.secret, secret.previous_secret)
    return (secret.secret,)


def failed_list(
    *,
    ids: list[uuid.UUID] | None = None,
    channel: str | None = None,
    reason: str | None = None,
    owner_username: str | None = None,
    failed_before: datetime | None = None,
    failed_after: datetime | None = None,
) -> QuerySet[Notification]:
    """The dead-letter list (``failed`` rows), oldest failure first, narrowed by any of the filters."""
    rows = Notification.objects.filter(status=Status.FAILED)
    if ids:
        rows = rows.filter(id__in=ids)
    if channel:
        rows = rows.filter(channel=channel)
    if reason:
        rows = rows.filter(failure_reason=reason)
    if owner_username:
        rows = rows.filter(owner__username=owner_username)
    if failed_before:
        rows = rows.filter(updated_at__lt=failed_before)
    if failed_after:
        rows = rows.filter(updated_at__gte=failed_after)
    return rows.order_by("updated_at")


def due_backlog(*, now: datetime, cap: int | None = None) -> tuple[int, float]:
    """Live rows due by ``now`` (counting stops past ``cap``, when given) and the seconds the
    oldest of them has waited (0 with none): both read through ``notification_live_due``."""
    due = Notification.objects.filter(status__in=LIVE_STATUSES, next_attempt_at__lte=now).order_by()
    count = (due if cap is None else due[: cap + 1]).count()
    oldest = due.order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
    return count, max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


def delivery_health(*, now: datetime | None = None) -> dict[str, object]:
    """What an operator checks first: rows by status, how far behind the due rows are,
    leases past expiry, and the dead letters by reason."""
    now = now or timezone.now()
    by_status = dict(Notification.objects.values_list("status").annotate(n=Count("id")).order_by())
    due_now, oldest_due_seconds = due_backlog(now=now)
    failed_by_reason = dict(
        Notification.objects.filter(status=Status.FAILED)
        .values_list("failure_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "by_status": {status: by_status.get(status, 0) for status in Status.values},
        "due_now": due_now,
        "oldest_due_seconds": round(oldest_due_seconds, 1),
        "expired_leases": Notification.objects.filter(status=Status.SENDING, lease_expires_at__lt=Now()).count(),
        "failed_by_reason": failed_by_reason,
    }


@dataclass(frozen=True)
class Backlog:
    due: int
    oldest_due_age: float  # seconds; 0 with nothing due
    dead_letters: int  # failed in the last DEAD_LETTER_WINDOW


DEAD_LETTER_WINDOW = timedelta(hours=24)


def backlog(*, timeout: timedelta, now: datetime | None = None) -> Backlog:
    """The due backlog and the recent dead letters, for the metrics' scrape: index reads
    (``notification_live_due``, ``notification_status_updated``), each stopped by
    ``timeout`` on PostgreSQL, so a slow database cannot hang a scrape (it raises instead)."""
    now = now or timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # SET takes no parameters; set_config(…, true) is SET LOCAL, for this transaction.
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{timeout.total_seconds():.3f}s"])
        due, oldest_due_age = due_backlog(now=now)
        dead = Notification.objects.filter(status=Status.FAILED, updated_at__gte=now - DEAD_LETTER_WINDOW).count()
    return Backlog(due=due, oldest_due_age=oldest_due_age, dead_letters=dead)


def recipient_list(*, owner: AbstractBaseUser) -> QuerySet[Recipient]:
    """A client's recipient profiles, newest first (filters are applied by the API)."""
    return Recipient.objects.filter(owner=owner).order_by("-created_at", "-id")


def recipient_get(*, owner: AbstractBaseUser, external_id: str) -> Recipient | None:
    """The client's own profile under its id for the person, or ``None`` — another client's
    looks unknown."""
    return Recipient.objects.filter(owner=owner, external_id=external_id).first()


def template_list(*, owner: AbstractBaseUser) -> QuerySet[Template]:
    """A client's templates, newest first."""
    return Template.objects.filter(owner=owner).order_by("-created_at", "-id")


def template_get(*, owner: AbstractBaseUser, name: str) -> Template | None:
    """The client's own template by name, or ``None`` — another client's looks unknown."""
    return Template.objects.filter(owner=owner, name=name).first()


def recipients_with_address(*, owner: AbstractBaseUser, address: str) -> QuerySet[Recipient]:
    """The client's profiles that hold ``address`` on any channel: whom an operator's erase
    request by address is about. Push tokens are looked into on PostgreSQL (SQLite's JSON has
    no containment lookup; the embedded default holds few profiles, so that misses little)."""
    match = Q(email=address) | Q(phone=address) | Q(telegram_chat_id=address) | Q(slack_id=address)
    match |= Q(webhook_url=address)
    if connection.vendor == "postgresql":
        match |= Q(push_tokens__contains=[address])
    return Recipient.objects.filter(owner=owner).filter(match)


def topic_list(*, owner: AbstractBaseUser) -> QuerySet[Topic]:
    """A client's topics, newest first."""
    return Topic.objects.filter(owner=owner).order_by("-created_at", "-id")


def topic_get(*, owner: AbstractBaseUser, key: str) -> Topic | None:
    """The client's own topic by key, or ``None`` — another client's looks unknown."""
    return Topic.objects.filter(owner=owner, key=key).first()


def broadcast_list(*, owner: AbstractBaseUser) -> QuerySet[Broadcast]:
    """A client's broadcasts, newest first."""
    return Broadcast.objects.filter(owner=owner).order_by("-created_at", "-id")


def broadcast_get(*, owner: AbstractBaseUser, broadcast_id: uuid.UUID | str) -> Broadcast | None:
    """The client's own broadcast, or ``None`` — another client's id looks unknown."""
    return Broadcast.objects.filter(owner=owner, id=broadcast_id).first()


def schedule_list(*, owner: AbstractBaseUser) -> QuerySet[Schedule]:
    """A client's schedules, newest first (schedule_owner_created)."""
    return Schedule.objects.filter(owner=owner).order_by("-created_at", "-id")


def schedule_get(*, owner: AbstractBaseUser, schedule_id: uuid.UUID | str) -> Schedule | None:
    """The client's own schedule, or ``None`` — another client's id looks unknown."""
    return Schedule.objects.filter(owner=owner, id=schedule_id).first()


def endpoint_list(*, owner: AbstractBaseUser) -> QuerySet[Endpoint]:
    """A client's endpoints, newest first (endpoint_owner_created)."""
    return Endpoint.objects.filter(owner=owner).order_by("-created_at", "-id")


def endpoint_get(*, owner: AbstractBaseUser, endpoint_id: uuid.UUID | str) -> Endpoint | None:
    """The client's own endpoint, or ``None`` — another client's id looks unknown."""
    return Endpoint.objects.filter(owner=owner, id=endpoint_id).first()


def endpoints_listening(*, owner_ids: Iterable[object], event_type: str) -> list[Endpoint]:
    """The enabled endpoints of these owners whose ``events`` is empty (every type) or names
    ``event_type``: one query on endpoint_owner_created; the few rows are matched here, as
    SQLite's JSON has no containment lookup.

    Every delivery asks this, and nearly always of an owner with no endpoint, so it is plain SQL:
    the ORM's compile of the same query (its ordering, its lookups) took 0.6 ms of CPU per
    delivery, twice the claim's; this takes the round trip only. Names come from the model's
    metadata; every value is a parameter.
    """
    owners = list(set(owner_ids))
    if not owners:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_endpoints_sql(len(owners)), owners)
        rows = cursor.fetchall()
    endpoints = [
        Endpoint(id=uuid.UUID(str(id_)), owner_id=owner, url=url, events=_json(events))
        for id_, owner, url, events in rows
    ]
    return [endpoint for endpoint in endpoints if not endpoint.events or event_type in endpoint.events]


@functools.cache
def _endpoints_sql(owners: int) -> str:
    table, quote = Endpoint._meta.db_table, connection.ops.quote_name
    columns = ", ".join(quote(Endpoint._meta.get_field(name).column) for name in ("id", "owner", "url", "events"))
    owner, enabled = (quote(Endpoint._meta.get_field(name).column) for name in ("owner", "enabled"))
    placeholders = ", ".join(["%s"] * owners)
    return f"SELECT {columns} FROM {quote(table)} WHERE {enabled} AND {owner} IN ({placeholders})"  # noqa: S608


def _json(value: object) -> list[str]:
    return json.loads(value) if isinstance(value, str | bytes) else value or []


def endpoint_failed_deliveries(*, endpoint: Endpoint, since: datetime) -> QuerySet[Notification]:
    """The endpoint's event deliveries that ended ``failed`` at ``since`` or later, oldest first
    (notification_endpoint_status)."""
    return Notification.objects.filter(endpoint=endpoint, status=Status.FAILED, updated_at__gte=since).order_by(
        "updated_at"
    )
