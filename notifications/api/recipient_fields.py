"""What each field of a recipient profile must be, checked as the channels check an address.

An address is checked by its channel's provider where the provider is configured (the webhook's
private-address guard, push's services); where it is not (a profile may be stored before the
operator sets up Telegram or Slack), by the same shape check the provider uses, from ``notifier``.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Any

from rest_framework import serializers

import notifier
from notifier.errors import UnknownChannel
from notifier.push import push_token
from notifier.slack import slack_id
from notifier.sms import e164
from notifier.telegram import chat_id

# A profile's addresses per channel: the channel's own check when configured, else its shape.
SHAPES: dict[str, Callable[[str], str]] = {"telegram": chat_id, "slack": slack_id, "push": push_token, "sms": e164}
# BCP 47 as far as a profile needs it: a 2-8 letter language, then letter/digit subtags.
HH_MM = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")
CATEGORY = re.compile(r"[-a-zA-Z0-9_]{1,64}")
MAX_PUSH_TOKENS = 100


def address(channel: str) -> Callable[[str], str]:
    """A DRF validator-and-normaliser for an address on ``channel``."""

    def check(value: str) -> str:
        try:
            validate = notifier.get_provider(channel).validate_recipient
        except UnknownChannel:
            validate = SHAPES[channel]
        try:
            return validate(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc.args[0])) from None

    return check


class AddressField(serializers.CharField):
    """A string address, normalised by its channel's check (``+1 415…`` becomes ``+1415…``)."""

    def __init__(self, channel: str, **kwargs: Any) -> None:
        self.channel = channel
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        return address(self.channel)(super().to_internal_value(data))


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def timezone_name(value: str) -> str:
    if value not in _zones():
        raise serializers.ValidationError(f"Unknown timezone {value!r}: give an IANA name, e.g. Europe/Paris or UTC.")
    return value


def _switches(value: Any, where: str) -> dict[str, bool]:
    """``{channel: bool}`` with only known channel names."""
    if not isinstance(value, dict):
        raise serializers.ValidationError(f"{where}: must be an object of channel names to true or false.")
    for name, allowed in value.items():
        if name not in notifier.registry.KNOWN_CHANNELS:
            channels = ", ".join(notifier.registry.KNOWN_CHANNELS)
            raise serializers.ValidationError(f"{where}: unknown channel {name!r}; one of: {channels}.")
        if not isinstance(allowed, bool):
            raise serializers.ValidationError(f"{where}.{name}: must be true or false.")
    return value


def _category(name: str, value: Any) -> None:
    if not CATEGORY.fullmatch(name):
        raise serializers.ValidationError(f"categories: {name!r} is not a category (a slug of at most 64 characters).")
    if isinstance(value, bool):
        return
    if not isinstance(value, dict) or set(value) - {"channels"}:
        raise serializers.ValidationError(
            f'categories.{name}: must be true, false or {{"channels": {{"email": true, "sms": false}}}}.'
        )
    _switches(value.get("channels", {}), f"categories.{name}.channels")


def preferences(value: Any) -> dict[str, Any]:
    """The documented shape only: ``{"channels": {...}, "categories": {...}}``; anything
    absent means allowed, anything unknown is refused (a typo must not silently allow)."""
    if not isinstance(value, dict):
        raise serializers.ValidationError("Must be an object with channels and categories.")
    if unknown := set(value) - {"channels", "categories"}:
        raise serializers.ValidationError(f"Unknown keys {sorted(unknown)}: only channels and categories.")
    _switches(value.get("channels", {}), "channels")
    categories = value.get("categories", {})
    if not isinstance(categories, dict):
        raise serializers.ValidationError("categories: must be an object of category names.")
    for name, setting in categories.items():
        _category(name, setting)
    return value


def quiet_hours(value: Any) -> dict[str, str] | None:
    """``{"start": "HH:MM", "end": "HH:MM"}`` (a span over midnight allowed), or null."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise serializers.ValidationError('Must be {"start": "22:00", "end": "07:00"} or null.')
    for key in ("start", "end"):
        if not isinstance(value[key], str) or not HH_MM.fullmatch(value[key]):
            raise serializers.ValidationError(f"{key}: a time as HH:MM, 00:00 to 23:59.")
    if value["start"] == value["end"]:
        raise serializers.ValidationError("start and end must differ.")
    return {"start": value["start"], "end": value["end"]}
