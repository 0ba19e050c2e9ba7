"""Schedules: read-only, with Enable and Disable actions through ``services.schedule_update``, so
the next run is computed as the API computes it (from now: a resumed schedule does not make what
it missed while paused)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications import services
from notifications.admin.shared import ServiceWrittenAdmin
from notifications.models import Schedule


@admin.register(Schedule)
class ScheduleAdmin(ServiceWrittenAdmin, admin.ModelAdmin):
    # Changed by the API, the pass and the actions, each computing next_run_at; never a form.
    list_display = (
        "id",
        "owner",
        "cron",
        "timezone",
        "enabled",
        "next_run_at",
        "last_run_at",
        "occurrences",
        "skipped",
    )
    list_filter = ("enabled",)
    list_select_related = ("owner",)
    search_fields = ("=id",)
    search_help_text = "A schedule's id."
    actions = ("enable", "disable")
    fields = (
        "id",
        "owner",
        "cron",
        "timezone",
        "enabled",
        "until",
        "next_run_at",
        "last_run_at",
        "occurrences",
        "skipped",
        "notification",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[Schedule], enabled: bool) -> None:
        changed = 0
        for schedule in queryset.filter(enabled=not enabled):
            services.schedule_update(schedule=schedule, changes={"enabled": enabled})
            changed += 1
        word = "enabled" if enabled else "disabled"
        self.message_user(request, f"{changed} schedule(s) {word}.", messages.SUCCESS)

    @admin.action(description="Enable selected (next run from now)", permissions=["operate"])
    def enable(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected", permissions=["operate"])
    def disable(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._set_enabled(request, queryset, enabled=False)
