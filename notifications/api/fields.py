"""The API's input field types: what a value must be before any rule sees it.

Each refuses, as a 400 naming the field, a value that would otherwise fail later
as a 500: a payload PostgreSQL's jsonb or SQLite's JSON1 cannot store (NUL, a
lone surrogate, NaN or Infinity), one nested deep enough to exhaust the stack,
a time that overflows when converted to UTC, a subject that cannot be a header.
The checks are loops, never recursion, so no input can reach the interpreter's
recursion limit.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

import notifier

# How deep a payload may nest: {"a": 1} is 1 level, {"a": {"b": 1}} 2. The JSON parser's
# own guard (parsers.py) only turns the interpreter's recursion limit into a 400 too.
MAX_PAYLOAD_DEPTH = 64

# A day inside Python's datetime range at each end: a time in between converts to any
# UTC offset (PostgreSQL, SQLite's UTC text, the admin's local time) without overflow.
EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
OUT_OF_RANGE = "Out of range: give a time between 0001-01-02T00:00:00Z and 9999-12-30T23:59:59Z."


def in_range(value: datetime) -> bool:
    """Whether an aware ``value`` lies between ``EARLIEST`` and ``LATEST``."""
    try:
        return EARLIEST <= value <= LATEST
    except (OverflowError, TypeError):  # TypeError: naive
        return False


def has_offset(text: str) -> bool:
    text = text.strip()
    if text.endswith(("Z", "z")):
        return True
    tail = text[10:]  # after the date part
    return "+" in tail or "-" in tail


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 datetime that must carry its UTC offset: a naive time is ambiguous."""

    default_error_messages = {"naive": "Include a UTC offset, e.g. 2030-01-01T09:00:00Z or +02:00."}

    def to_internal_value(self, value: Any) -> datetime:
        parsed = super().to_internal_value(value)
        if isinstance(value, str) and not has_offset(value):
            self.fail("naive")
        return parsed


def no_line_breaks(value: str) -> None:
    if "\r" in value or "\n" in value:
        raise serializers.ValidationError(
            "Line breaks (CR, LF) are not allowed: a subject is one line (for email, a header)."
        )


@extend_schema_field(
    {
        "type": "string",
        "enum": list(notifier.registry.KNOWN_CHANNELS),
        "description": "webhook, email and console always; push, sms, telegram and slack once their "
        "provider is configured on the service (a channel that is not answers 400 naming its settings).",
    }
)
class ChannelField(serializers.ChoiceField):
    """One of the configured channels, read when a serializer is bound (not at import), so the
    choices and the error follow ``notifier.channel_names()``; the schema documents every
    channel the code knows (``KNOWN_CHANNELS``), the same on every deployment."""

    default_error_messages = {"invalid_choice": 'Unknown channel "{input}"; choose one of: {channels}.'}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=(), **kwargs)

    def bind(self, field_name: str, parent: serializers.BaseSerializer) -> None:
        super().bind(field_name, parent)
        self.choices = notifier.channel_names()

    def to_internal_value(self, data: Any) -> str:
        if str(data) not in self.choice_strings_to_values:
            if missing := notifier.registry.unconfigured(str(data)):
                raise serializers.ValidationError(
                    f"Channel {str(data)!r} is not configured on this service ({', '.join(missing)})."
                )
            self.fail("invalid_choice", input=data, channels=", ".join(self.choices))
        return self.choice_strings_to_values[str(data)]


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def payload_problem(value: Any) -> str | None:
    """The first reason ``value`` (parsed JSON) cannot be stored as a payload, as an error key of
    ``PayloadField``; ``None`` when it can. Walks the whole value with a stack, not recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "nul"
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return "surrogate"
        elif isinstance(item, dict | list):
            if depth >= MAX_PAYLOAD_DEPTH:
                return "too_deep"
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "not_finite"
        elif item is not None and not isinstance(item, bool | int):
            return "invalid"
    return None


@extend_schema_field(OpenApiTypes.OBJECT)
class PayloadField(serializers.JSONField):
    """A JSON object that every database stores as it is, from a JSON body or, as a JSON string,
    from a form (``application/x-www-form-urlencoded``, ``multipart/form-data``) alike."""

    default_error_messages = {
        "not_object": "Must be a JSON object.",
        "too_deep": f"Nested deeper than {MAX_PAYLOAD_DEPTH} levels.",
        "nul": "Null characters (U+0000) are not allowed.",
        "surrogate": "Lone surrogates (e.g. \\ud800) are not allowed: they are not Unicode text.",
        "not_finite": "NaN and Infinity (or numbers beyond a double, e.g. 1e400) are not allowed.",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if getattr(data, "is_json_string", False):  # form input: DRF marks the raw string
            try:
                data = json.loads(data, parse_constant=_refuse_constant)
            except RecursionError:
                self.fail("too_deep")
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, dict):
            self.fail("not_object")
        problem = payload_problem(data)
        if problem is not None:
            self.fail(problem)
        return data


# BCP 47, as clients use it: a language (2 to 3 letters) and subtags (region, script, …) of 1 to 8
# letters or digits: en, pt-BR, zh-Hant-TW, es-419.
# BCP 47's shape: a language of 2 to 8 letters, then subtags of 1 to 8 letters or digits.
_LOCALE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")


def locale_tag(value: str) -> str:
    """``value`` as a BCP 47 tag in its usual case (``pt-br`` → ``pt-BR``, ``zh-hant-tw`` →
    ``zh-Hant-TW``): the one rule for a profile's, a notification's and a translation's locale."""
    if not _LOCALE.fullmatch(value):
        raise serializers.ValidationError(f"Not a BCP 47 language tag (like fr or pt-BR): {value!r}.")
    language, *rest = value.split("-")
    subtags = [language.lower()]
    for subtag in rest:
        if len(subtag) == 2 and subtag.isalpha():
            subtags.append(subtag.upper())
        elif len(subtag) == 4 and subtag.isalpha():
            subtags.append(subtag.title())
        else:
            subtags.append(subtag.lower())
    return "-".join(subtags)


class LocaleField(serializers.CharField):
    """A BCP 47 language tag (``fr``, ``pt-BR``), in its usual case."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 35)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        return locale_tag(super().to_internal_value(data))
