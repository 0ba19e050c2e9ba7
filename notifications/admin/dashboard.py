"""The operator's dashboard (``/admin/notifications/notification/dashboard/``): the last 24 hours'
sent, failed and suppressed notifications per hour and channel, how late the sends were, the due
backlog and the open circuit breakers. Server-rendered, each chart an inline SVG with a table
that says the same (for screen readers and for reading exact numbers); staff with the view
permission on notifications only. What it reads is in ``notifications.dashboard``."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse

from notifications import dashboard
from notifications.admin.charts import Chart, Series, lines, stacked_bars

# Colours with enough contrast on white, told apart by more than hue in the tables.
SENT, FAILED, SUPPRESSED = "#2e7d32", "#c62828", "#757575"
P50, P99 = "#1565c0", "#ef6c00"


@dataclass(frozen=True)
class ChannelPanel:
    """One channel's outcomes: its chart and its table's rows (hours with any outcome)."""

    channel: str
    chart: Chart
    rows: list[dashboard.HourOutcomes]
    sent: int
    failed: int
    suppressed: int


def channel_panels(data: dashboard.Dashboard) -> list[ChannelPanel]:
    by_channel: dict[str, list[dashboard.HourOutcomes]] = {}
    for row in data.outcomes:
        by_channel.setdefault(row.channel, []).append(row)
    panels = []
    for channel, rows in sorted(by_channel.items()):
        series = [
            Series(name, colour, {row.hour: getattr(row, name) for row in rows})
            for name, colour in (("sent", SENT), ("failed", FAILED), ("suppressed", SUPPRESSED))
        ]
        title = f"{channel}: outcomes per hour"
        chart = stacked_bars(title=title, unit="notifications", hours=data.hours, series=series)
        totals = {name: sum(getattr(row, name) for row in rows) for name in ("sent", "failed", "suppressed")}
        panels.append(ChannelPanel(channel, chart, rows, **totals))
    return panels


def lateness_chart(data: dashboard.Dashboard) -> Chart:
    series = [
        Series("p50", P50, {row.hour: row.p50 for row in data.lateness_by_hour}),
        Series("p99", P99, {row.hour: row.p99 for row in data.lateness_by_hour}),
    ]
    return lines(title="Lateness per hour: sent time minus due time", unit="s", hours=data.hours, series=series)


def duration(seconds: float) -> str:
    """``90.6 s``; past two minutes with its hours and minutes too: ``7,260.0 s (2 h 1 min)``."""
    text = f"{seconds:,.1f} s"
    if seconds < 120:
        return text
    hours, minutes = divmod(int(seconds) // 60, 60)
    return f"{text} ({hours} h {minutes} min)" if hours else f"{text} ({minutes} min)"


def breaker_rows(breakers: dict[str, float] | None) -> list[tuple[str, float]] | None:
    return None if breakers is None else sorted(breakers.items())


def dashboard_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> TemplateResponse:
    """The page; the admin site's ``admin_view`` has already sent anyone not staff to the login."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    data = dashboard.dashboard()
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Dashboard",
        "opts": model_admin.model._meta,
        "data": data,
        "first_hour": data.hours[0],
        "panels": channel_panels(data),
        "lateness_chart": lateness_chart(data),
        "breakers": breaker_rows(data.breakers),
        "backlog_cap": f"{dashboard.BACKLOG_CAP:,}",
        "oldest_due": duration(data.backlog.oldest_due_seconds),
    }
    return TemplateResponse(request, "admin/notifications/dashboard.html", context)
