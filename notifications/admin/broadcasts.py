"""Broadcasts (read-only, with a Cancel action through ``services.broadcast_cancel``) and topics
(key, owner, count; a million members are never listed on a page, so they are not inlined)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications import services
from notifications.admin.shared import EstimatedCountPaginator
from notifications.models import Broadcast, BroadcastStatus, Topic


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Changed only by the expansion and the cancel action, never by a saved form.
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Django's delete would null the broadcast of up to a million notifications, one page load.
        return False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Who may cancel: holders of the model's change permission (view-only staff may not)."""
        return super().has_change_permission(request)

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
class TopicAdmin(admin.ModelAdmin):
    list_display = ("key", "owner", "count", "created_at", "updated_at")
    list_select_related = ("owner",)
    search_fields = ("^key",)
    search_help_text = "The start of a topic's key."
    fields = ("owner", "key", "count", "created_at", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Members change through the API, under the topic's lock that keeps ``count`` right.
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Django's confirmation page would list every member: up to a million. The API deletes.
        return False
