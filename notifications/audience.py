"""What a recipient profile says about one notification: its address on a channel, whether
its preferences allow it, and whether its quiet hours hold it back now.

Pure functions of their arguments (no database, no clock of their own), so the same rules
serve the create, the send and a broadcast's expansion, and are tested as tables of cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

# The profile field that holds each channel's address. ``push`` holds a list (every token is
# sent to); ``console`` has none: the recipient's own id is its address.
ADDRESS_FIELDS = {
    "email": "email",
    "sms": "phone",
    "telegram": "telegram_chat_id",
    "slack": "slack_id",
    "webhook": "webhook_url",
}


class Profile(Protocol):
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


def addresses_for(profile: Profile, channel: str) -> list[str]:
    """The profile's addresses on ``channel``: one, every push token, or none (``[]``)."""
    if channel == "push":
        return [token for token in profile.push_tokens if token]
    if channel == "console":
        return [profile.external_id]
    field = ADDRESS_FIELDS.get(channel)
    address = getattr(profile, field) if field else None
    return [address] if address else []


def allows(preferences: Mapping[str, Any] | None, *, category: str, channel: str) -> bool:
    """Whether preferences let a notification of ``category`` (may be "") through ``channel``.

    Anything absent means allowed. Off is off: the channel turned off as a whole, the category
    turned off as a whole, or the category turned off for this channel.
    """
    if not preferences:
        return True
    if preferences.get("channels", {}).get(channel) is False:
        return False
    if not category:
        return True
    setting = preferences.get("categories", {}).get(category, True)
    if isinstance(setting, bool):
        return setting
    return setting.get("channels", {}).get(channel) is not False


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _wall(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` at ``at`` on the zone's wall clock. A time skipped by a spring-forward (02:30 on
    that day) is read with the offset before the change, which lands just after the gap (03:30);
    a time that occurs twice (the fall-back hour) is its first occurrence."""
    return datetime.combine(day, at, tzinfo=zone)


def quiet_until(quiet_hours: Mapping[str, str] | None, *, timezone_name: str, now: datetime) -> datetime | None:
    """When the quiet hours holding a send back at ``now`` end (in UTC), or ``None``
    when ``now`` is outside them.

    ``{"start": "22:00", "end": "07:00"}`` on the recipient's wall clock: start included, end
    excluded; a start later than the end spans midnight. The end is found on the wall clock of
    the day it falls on, so a DST change inside the quiet hours moves it with the clock.
    """
    if not quiet_hours:
        return None
    zone = _zone(timezone_name)
    local = now.astimezone(zone)
    start, end = time.fromisoformat(quiet_hours["start"]), time.fromisoformat(quiet_hours["end"])
    clock = local.time().replace(tzinfo=None)
    today = local.date()
    if start < end:
        inside, end_day = start <= clock < end, today
    elif clock >= start:
        inside, end_day = True, today + timedelta(days=1)
    else:
        inside, end_day = clock < end, today
    if not inside:
        return None
    # In UTC: arithmetic between two datetimes of one zone is wall-clock arithmetic in Python.
    ends = _wall(end_day, end, zone).astimezone(UTC)
    # A zone that skips the end's wall time can place it at or before now: never wait for the past.
    return ends if ends > now else None


def template_context(profile: Profile | None) -> dict[str, Any]:
    """The profile as a template sees it (``{{ recipient.locale }}``): its id, addresses,
    timezone and locale; never its preferences."""
    if profile is None:
        return {}
    return {
        "id": profile.external_id,
        "email": profile.email,
        "phone": profile.phone,
        "telegram_chat_id": profile.telegram_chat_id,
        "slack_id": profile.slack_id,
        "timezone": profile.timezone,
        "locale": profile.locale,
    }
