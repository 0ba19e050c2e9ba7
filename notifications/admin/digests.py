"""Digest windows, read-only: who is waiting for which digest, how many members, and when it
closes. Opened by creates and closed by their close message or the sweep, never by a form."""

from __future__ import annotations

from django.contrib import admin

from notifications.admin.shared import EstimatedCountPaginator, ServiceWrittenAdmin
from notifications.models import DigestWindow


@admin.register(DigestWindow)
class DigestWindowAdmin(ServiceWrittenAdmin, admin.ModelAdmin):
    # Its members join under the window's row lock and its close is one conditional UPDATE.
    # Deleting an open window would leave its members waiting for a close that never comes.
    deletable = False

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
