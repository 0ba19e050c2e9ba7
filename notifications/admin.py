"""Operators' view: every notification, its attempts, and the cancel / retry-now actions.

Actions call the same services as the API, so the admin holds no rule of its own.
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications import services
from notifications.exceptions import InvalidState
from notifications.models import DeliveryAttempt, Notification, WebhookSecret


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("number", "started_at", "finished_at", "outcome", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("number",)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "owner",
        "channel",
        "recipient",
        "status",
        "priority",
        "send_at",
        "attempts",
        "failure_reason",
    )
    list_filter = ("status", "channel", "priority", "failure_reason")
    search_fields = ("recipient", "id", "idempotency_key")
    list_select_related = ("owner",)
    inlines = (DeliveryAttemptInline,)
    actions = ("cancel", "retry_now")
    readonly_fields = tuple(field.name for field in Notification._meta.fields)
    show_full_result_count = False  # COUNT(*) over millions of rows on every page is not worth it

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Rows change only through services (the actions), never by a saved form: a save would
        # write every field back and could undo a worker's concurrent update. So the change page
        # is a view page ("View notification", a Close button, no Save that would answer 403).
        return False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Who may run the actions: holders of the model's change permission (view-only staff may not)."""
        return super().has_change_permission(request)

    @admin.action(description="Cancel selected (scheduled or retrying)", permissions=["operate"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        self._apply(request, queryset, services.notification_cancel, "cancelled")

    @admin.action(description="Retry now (failed)", permissions=["operate"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        self._apply(request, queryset, services.notification_retry, "scheduled for a retry now")

    def _apply(self, request, queryset, service, done: str) -> None:
        changed, refused = 0, 0
        for notification in queryset:
            try:
                service(notification=notification)
                changed += 1
            except InvalidState:
                refused += 1
        if changed:
            self.message_user(request, f"{changed} notification(s) {done}.", messages.SUCCESS)
        if refused:
            self.message_user(
                request, f"{refused} notification(s) skipped: not in a state that allows it.", messages.WARNING
            )


@admin.register(WebhookSecret)
class WebhookSecretAdmin(admin.ModelAdmin):
    """When each client's secret was made or rotated; never the secret itself.

    Secrets are made on first use and rotated through the API, so here they are view-only:
    an add form (every field read-only) would save an empty row and fail with a 500.
    """

    list_display = ("owner", "created_at", "previous_expires_at")
    fields = ("owner", "created_at", "previous_expires_at")
    readonly_fields = fields
    search_fields = ("owner__username",)
    list_select_related = ("owner",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
