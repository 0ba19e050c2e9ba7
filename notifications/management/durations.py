"""Durations as operators type them: ``90s``, ``30m``, ``2h``, ``7d`` (a bare number is days)."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def duration(text: str) -> timedelta:
    """argparse type: ``2h`` → ``timedelta(hours=2)``."""
    match = _PATTERN.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 30m, 2h or 7d")
    amount, unit = float(match.group(1)), match.group(2) or "d"
    return timedelta(**{_UNITS[unit]: amount})
