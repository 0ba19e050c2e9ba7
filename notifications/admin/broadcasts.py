"""Broadcasts (read-only, with a Cancel action through ``services.broadcast_cancel``) and topics
(key, owner, count; a million members are never listed on a page, so they are not inlined)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications import services
from notifications.admin.shared import EstimatedCountPaginator, ServiceWrittenAdmin
from notifications.models import Broadcast, BroadcastStatus, Topic


@admin.register(Broadcast)
class BroadcastAdmin(ServiceWrittenAdmin, admin.ModelAdmin):
    # Changed only by the expansion and the cancel action. Django's delete would null the
    # broadcast of up to a million notifications, one page load.
    deletable = False

    list_display = ("id", "owner", "status", "notifications", "skipped", "channels", "topic", "created_at")
    list_filter = ("status",)
    list_select_related = ("owner",)
    search_fields = ("=id",)
    search_help_text = "A broadcast's id."
    actions = ("cancel",)
    fields = (
        "id",
        "owner",
        "status",
        "notifications",
        "skipped",
        "channels",
        "topic",
        "to",
        "content",
        "cursor",
        "idempotency_key",
        "created_at",
        "updated_at",
        "finished_at",
    )
    readonly_fields = fields
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    @admin.action(
        description="Cancel selected (stop expanding; cancel their waiting notifications)", permissions=["operate"]
    )
    def cancel(self, request: HttpRequest, queryset: QuerySet[Broadcast]) -> None:
        cancelled = 0
        for broadcast in queryset:
            if broadcast.status != BroadcastStatus.CANCELLED:
                services.broadcast_cancel(broadcast=broadcast)
                cancelled += 1
        self.message_user(request, f"{cancelled} broadcast(s) cancelled.", messages.SUCCESS)


@admin.register(Topic)
class TopicAdmin(ServiceWrittenAdmin, admin.ModelAdmin):
    # Members change through the API, under the topic's lock that keeps ``count`` right. Django's
    # delete confirmation would list every member: up to a million. The API deletes.
    deletable = False

    list_display = ("key", "owner", "count", "created_at", "updated_at")
    list_select_related = ("owner",)
    search_fields = ("^key",)
    search_help_text = "The start of a topic's key."
    fields = ("owner", "key", "count", "created_at", "updated_at")
    readonly_fields = fields
