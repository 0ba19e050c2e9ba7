"""The profile rules as tables of cases: addresses per channel, preferences, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from notifications import audience

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def profile(**fields):
    base = {
        "external_id": "user-1",
        "email": None,
        "phone": None,
        "telegram_chat_id": None,
        "slack_id": None,
        "webhook_url": None,
        "push_tokens": [],
        "timezone": "UTC",
        "locale": "en",
        "preferences": {},
        "quiet_hours": None,
    }
    return SimpleNamespace(**{**base, **fields})


@pytest.mark.parametrize(
    ("fields", "channel", "expected"),
    [
        ({"email": "a@example.com"}, "email", ["a@example.com"]),
        ({}, "email", []),
        ({"phone": "+14155550100"}, "sms", ["+14155550100"]),
        ({"telegram_chat_id": "42"}, "telegram", ["42"]),
        ({"slack_id": "U1"}, "slack", ["U1"]),
        ({"webhook_url": "https://example.com/h"}, "webhook", ["https://example.com/h"]),
        ({"push_tokens": ["ExponentPushToken[a]", "fcm-b"]}, "push", ["ExponentPushToken[a]", "fcm-b"]),
        ({"push_tokens": []}, "push", []),
        ({}, "console", ["user-1"]),
        ({"email": "a@example.com"}, "sms", []),
    ],
)
def test_addresses_for_each_channel(fields, channel, expected):
    assert audience.addresses_for(profile(**fields), channel) == expected


BILLING_EMAIL_ONLY = {"categories": {"billing": {"channels": {"email": True, "sms": False}}}}


@pytest.mark.parametrize(
    ("preferences", "category", "channel", "allowed"),
    [
        ({}, "", "sms", True),
        (None, "marketing", "sms", True),
        ({"channels": {"sms": False}}, "", "sms", False),
        ({"channels": {"sms": False}}, "billing", "sms", False),
        ({"channels": {"sms": False}}, "", "email", True),
        ({"channels": {"sms": True}}, "", "sms", True),
        ({"categories": {"marketing": False}}, "marketing", "email", False),
        ({"categories": {"marketing": False}}, "billing", "email", True),
        ({"categories": {"marketing": False}}, "", "email", True),
        ({"categories": {"marketing": True}}, "marketing", "email", True),
        (BILLING_EMAIL_ONLY, "billing", "email", True),
        (BILLING_EMAIL_ONLY, "billing", "sms", False),
        (BILLING_EMAIL_ONLY, "billing", "push", True),  # absent means allowed
        (BILLING_EMAIL_ONLY, "marketing", "sms", True),
        ({"categories": {"billing": {}}}, "billing", "sms", True),
        # The channel off as a whole wins over the category turning it on.
        ({"channels": {"email": False}, **BILLING_EMAIL_ONLY}, "billing", "email", False),
    ],
)
def test_preferences(preferences, category, channel, allowed):
    assert audience.allows(preferences, category=category, channel=channel) is allowed


NIGHT = {"start": "22:00", "end": "07:00"}
LUNCH = {"start": "12:00", "end": "13:30"}


def paris(*args):
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("quiet", "now", "until"),
    [
        (None, paris(2026, 6, 1, 23, 0), None),
        (NIGHT, paris(2026, 6, 1, 21, 59), None),
        (NIGHT, paris(2026, 6, 1, 22, 0), paris(2026, 6, 2, 7, 0)),  # start included
        (NIGHT, paris(2026, 6, 1, 23, 30), paris(2026, 6, 2, 7, 0)),  # before midnight: tomorrow's end
        (NIGHT, paris(2026, 6, 2, 0, 0), paris(2026, 6, 2, 7, 0)),  # after midnight: today's end
        (NIGHT, paris(2026, 6, 2, 6, 59), paris(2026, 6, 2, 7, 0)),
        (NIGHT, paris(2026, 6, 2, 7, 0), None),  # end excluded
        (NIGHT, paris(2026, 6, 2, 12, 0), None),
        (LUNCH, paris(2026, 6, 2, 11, 59), None),
        (LUNCH, paris(2026, 6, 2, 12, 0), paris(2026, 6, 2, 13, 30)),
        (LUNCH, paris(2026, 6, 2, 13, 30), None),
        # Spring forward in Paris, 29 March 2026: 02:00 → 03:00. The night is an hour shorter
        # in UTC, and 07:00 is still 07:00 on the wall.
        (NIGHT, paris(2026, 3, 28, 23, 0), paris(2026, 3, 29, 7, 0)),
        # Fall back, 25 October 2026: 03:00 → 02:00; the night is an hour longer.
        (NIGHT, paris(2026, 10, 24, 23, 0), paris(2026, 10, 25, 7, 0)),
    ],
)
def test_quiet_until(quiet, now, until):
    assert audience.quiet_until(quiet, timezone_name="Europe/Paris", now=now.astimezone(UTC)) == until


def test_quiet_hours_across_spring_forward_last_the_shorter_utc_night():
    now = paris(2026, 3, 28, 22, 0).astimezone(UTC)
    until = audience.quiet_until(NIGHT, timezone_name="Europe/Paris", now=now)
    assert (until - now).total_seconds() == 8 * 3600  # 9 wall hours, one of them skipped


def test_quiet_hours_across_fall_back_last_the_longer_utc_night():
    now = paris(2026, 10, 24, 22, 0).astimezone(UTC)
    until = audience.quiet_until(NIGHT, timezone_name="Europe/Paris", now=now)
    assert (until - now).total_seconds() == 10 * 3600


def test_an_end_inside_the_spring_forward_gap_lands_just_after_it():
    # New York, 8 March 2026: 02:00 → 03:00. Quiet until 02:30, a wall time that day skips.
    quiet = {"start": "01:00", "end": "02:30"}
    now = datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK).astimezone(UTC)
    until = audience.quiet_until(quiet, timezone_name="America/New_York", now=now)
    assert until.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)


def test_quiet_hours_read_the_recipients_own_clock():
    # 23:00 UTC is 19:00 in New York: not quiet there, though it is night in London.
    now = datetime(2026, 6, 1, 23, 0, tzinfo=UTC)
    assert audience.quiet_until(NIGHT, timezone_name="America/New_York", now=now) is None
    assert audience.quiet_until(NIGHT, timezone_name="Europe/London", now=now) is not None


def test_template_context_leaves_preferences_out():
    context = audience.template_context(profile(email="a@example.com", preferences={"channels": {"sms": False}}))
    assert context["id"] == "user-1"
    assert context["email"] == "a@example.com"
    assert "preferences" not in context
    assert audience.template_context(None) == {}
