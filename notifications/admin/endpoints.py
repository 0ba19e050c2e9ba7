"""Endpoints: read-only. A client changes its own through the API; the service disables one whose
event deliveries all failed for ``NOTIFY_ENDPOINT_DISABLE_AFTER`` (its reason is shown here)."""

from __future__ import annotations

from django.contrib import admin

from notifications.admin.shared import ServiceWrittenAdmin
from notifications.models import Endpoint


@admin.register(Endpoint)
class EndpointAdmin(ServiceWrittenAdmin, admin.ModelAdmin):
    list_display = ("id", "owner", "url", "enabled", "disabled_reason", "failing_since", "created_at")
    list_filter = ("enabled",)
    list_select_related = ("owner",)
    search_fields = ("=id", "=owner__username")
    search_help_text = "An endpoint's id, or its client's username."
    fields = (
        "id",
        "owner",
        "url",
        "events",
        "enabled",
        "disabled_reason",
        "failing_since",
        "description",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
