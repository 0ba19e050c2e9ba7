"""What one expansion batch reads and builds, measured to keep a 100,000-recipient broadcast
within seconds (docs/benchmarks.md, "broadcast").

- ``batch_after``: the next recipients after the cursor with their profiles, in one query (a
  topic's members LEFT JOIN their profiles, or a list's ids IN their profiles), read as plain
  values: building a ``Recipient`` model per member cost a sixth of a batch's CPU.
- ``RowMaker``: notification rows as value lists from a per-batch template, written by
  ``fastpaths.insert_values``. Django's ``__init__`` per row (keyword or positional) was a third
  of a batch's CPU; the shared JSON values are encoded once per batch.
"""

from __future__ import annotations

import bisect
import json
import uuid
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

from django.db import connection

from notifications.dispatch import Dispatch
from notifications.models import Broadcast, Notification, Recipient, TopicMember

_JSON_FIELDS = ("push_tokens", "preferences", "quiet_hours")


@dataclass(frozen=True, slots=True)
class Profile:
    """A recipient's profile as plain values: what ``audience`` reads, nothing to save."""

    external_id: str
    email: str | None
    phone: str | None
    telegram_chat_id: str | None
    slack_id: str | None
    webhook_url: str | None
    push_tokens: list[str]
    timezone: str
    locale: str
    preferences: dict[str, Any]
    quiet_hours: dict[str, str] | None


# The profile's fields, in the query's column order.
PROFILE_FIELDS = tuple(field.name for field in dataclass_fields(Profile))

# Most profiles hold no push token, no preference and no quiet hours: no parse for those.
_EMPTY_JSON = {"[]": list, "{}": dict, "null": lambda: None}


def _profile(values: tuple) -> Profile:
    fields = dict(zip(PROFILE_FIELDS, values, strict=True))
    for name in _JSON_FIELDS:  # a raw cursor gives JSON columns as text on both backends
        text = fields[name]
        if isinstance(text, str):
            empty = _EMPTY_JSON.get(text)
            fields[name] = empty() if empty else json.loads(text)
    return Profile(**fields)


def _topic_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(f"r.{quote(name)}" for name in PROFILE_FIELDS[1:])
    # Only names from the models' own metadata are interpolated; every value is a parameter.
    return (
        f"SELECT m.recipient_id, r.id, {columns} "  # noqa: S608
        f"FROM {quote(TopicMember._meta.db_table)} m LEFT JOIN {quote(Recipient._meta.db_table)} r "
        "ON r.owner_id = %s AND r.external_id = m.recipient_id "
        "WHERE m.topic_id = %s AND m.recipient_id > %s ORDER BY m.recipient_id LIMIT %s"
    )


def batch_after(broadcast: Broadcast, *, topic_id: int | None, size: int) -> list[tuple[str, Profile | None]]:
    """The next ``size`` recipient ids after ``broadcast.cursor``, in id order, each with its
    profile or ``None``: one query, by the unique (topic, recipient_id) and (owner,
    external_id) indexes."""
    if broadcast.to is not None:
        start = bisect.bisect_right(broadcast.to, broadcast.cursor) if broadcast.cursor else 0
        ids = broadcast.to[start : start + size]
        found = Recipient.objects.filter(owner_id=broadcast.owner_id, external_id__in=ids)
        profiles = {values[0]: _profile(values) for values in found.values_list(*PROFILE_FIELDS)}
        return [(rid, profiles.get(rid)) for rid in ids]
    if topic_id is None:
        return []  # the topic was deleted: as if it had no more members
    with connection.cursor() as cursor:
        cursor.execute(_topic_sql(), [broadcast.owner_id, topic_id, broadcast.cursor, size])
        rows = cursor.fetchall()
    return [(rid, _profile((rid, *rest)) if profile_id is not None else None) for rid, profile_id, *rest in rows]


_FIELDS = Notification._meta.concrete_fields
_INDEX = {field.attname: index for index, field in enumerate(_FIELDS)}


class RowMaker:
    """Notification rows that share most values (a batch of one broadcast), as value lists in the
    model's field order, for ``fastpaths.insert_values``: no model instance per row."""

    def __init__(self, **common: Any) -> None:
        self.base = [field.get_default() for field in _FIELDS]
        for name, value in common.items():
            self.base[_INDEX[name]] = value
        self.dispatch = (common["dispatch_token"], common["next_attempt_at"], common["priority"])

    def make(self, **varying: Any) -> list[Any]:
        values = self.base.copy()
        for name, value in varying.items():
            values[_INDEX[name]] = value
        values[_INDEX["id"]] = uuid.uuid4()
        return values

    def dispatch_of(self, row: list[Any]) -> Dispatch:
        """The message that wakes a worker for ``row`` (``publishing.dispatch_of`` of its model)."""
        token, due, priority = self.dispatch
        return Dispatch(row[_INDEX["id"]], token, due, priority)
