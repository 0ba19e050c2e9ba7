"""How the notification list shows a value in little room: a short id, a status badge, a time to
the second, a long text cut with the whole of it in the tooltip. HTML through ``format_html``
(every value escaped), colour by inline style: no JavaScript, no stylesheet to build."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from notifications.models import Status

# Background per status; white text on each has a contrast ratio of at least 4.5.
STATUS_COLOURS = {
    Status.SCHEDULED: "#1565c0",
    Status.SENDING: "#6a1b9a",
    Status.RETRYING: "#b45309",
    Status.SENT: "#2e7d32",
    Status.FAILED: "#c62828",
    Status.CANCELLED: "#616161",
    Status.SUPPRESSED: "#616161",
    Status.DIGESTED: "#00695c",
}
BADGE = "background:{};color:#fff;padding:1px 7px;border-radius:9px;white-space:nowrap"


def short_id(value: uuid.UUID) -> SafeString:
    """The first 8 characters of a UUID, the whole of it in the tooltip."""
    return format_html('<code title="{}">{}</code>', value, str(value)[:8])


def status_badge(status: str, label: str) -> SafeString:
    return format_html('<span style="{}">{}</span>', BADGE.format(STATUS_COLOURS.get(status, "#616161")), label)


def to_the_second(moment: datetime | None) -> str | None:
    """``2026-11-29 14:03:07`` in the current time zone (``None`` stays empty)."""
    return None if moment is None else timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def cut(text: str | None, length: int) -> SafeString | None:
    """``text`` up to ``length`` characters (then "…"), the whole of it in the tooltip."""
    if not text:
        return None
    shown = text if len(text) <= length else text[: length - 1] + "…"
    return format_html('<span title="{}">{}</span>', text, shown)
