"""Digest windows, read-only: who is waiting for which digest, how many members, and when it
closes. Opened by creates and closed by their close message or the sweep, never by a form."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from notifications.admin.shared import EstimatedCountPaginator
from notifications.models import DigestWindow


@admin.register(DigestWindow)
class DigestWindowAdmin(admin.ModelAdmin):
    list_display = ("key", "owner", "channel", "addressee", "members", "closes_at", "status")
    list_filter = ("status",)
    list_select_related = ("owner",)
    search_fields = ("=id", "^key")
    search_help_text = "A window's id, or the start of its key."
    fields = (
        "id",
        "owner",
        "key",
        "channel",
        "addressee",
        "status",
        "members",
        "window",
        "opens_at",
        "closes_at",
        "closed_at",
        "digest_notification",
    )
    readonly_fields = fields
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Its members join under the window's row lock and its close is one conditional UPDATE.
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Deleting an open window would leave its members waiting for a close that never comes.
        return False
