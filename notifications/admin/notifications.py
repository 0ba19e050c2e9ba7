"""Notifications: every row, its attempts and provider reports, and the cancel / retry-now /
delete actions (through the same services as the API); and each client's signing secret."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable

from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.lookups import StartsWith
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

import notifier
from notifications import selectors, services
from notifications.admin.shared import EstimatedCountPaginator, ServiceWrittenAdmin
from notifications.exceptions import InvalidState
from notifications.models import (
    RECIPIENT_PREFIX,
    DeliveryAttempt,
    DeliveryStatus,
    Notification,
    ProviderEvent,
    WebhookSecret,
)


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


class ProviderEventInline(admin.TabularInline):
    """What the provider reported after the send, oldest first: read-only, as the attempts."""

    model = ProviderEvent
    verbose_name = "provider report"
    fields = ("occurred_at", "provider", "type", "detail", "provider_event_id")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("occurred_at", "id")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ChannelFilter(admin.SimpleListFilter):
    """The channels the registry knows: Django's default would ``SELECT DISTINCT channel`` over every row."""

    title = "channel"
    parameter_name = "channel"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, name) for name in notifier.channel_names()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Notification]) -> QuerySet[Notification]:
        return queryset.filter(channel=self.value()) if self.value() else queryset


class ProviderFilter(admin.SimpleListFilter):
    """The providers that took a notification, listed through their index one name at a time
    (``selectors.provider_names``): never a ``SELECT DISTINCT provider`` over every row."""

    title = "provider"
    parameter_name = "provider"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, name) for name in selectors.provider_names()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Notification]) -> QuerySet[Notification]:
        return queryset.filter(provider=self.value()) if self.value() else queryset


class DeliveryStatusFilter(admin.SimpleListFilter):
    """What the provider last reported, from the fixed choices (never read from the rows)."""

    title = "delivery status"
    parameter_name = "delivery_status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(DeliveryStatus.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Notification]) -> QuerySet[Notification]:
        return queryset.filter(delivery_status=self.value()) if self.value() else queryset


def matching(term: str) -> Q:
    """An id exactly; an idempotency key or a recipient by its start (case-sensitive): each by its index."""
    if connection.vendor == "postgresql":
        # Through the index on the recipient's first characters; the second test checks the rest.
        recipient = Q(StartsWith(RECIPIENT_PREFIX, term[:255])) & Q(recipient__startswith=term)
    else:
        recipient = Q(recipient__startswith=term)
    match = Q(idempotency_key__startswith=term) | recipient
    with contextlib.suppress(ValueError):  # not an id
        match |= Q(id=uuid.UUID(term))
    return match


@admin.register(Notification)
class NotificationAdmin(ServiceWrittenAdmin, admin.ModelAdmin):
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
    list_filter = ("status", ChannelFilter, "priority", "failure_reason", ProviderFilter, DeliveryStatusFilter)
    # What ``get_search_results`` matches, in Django's notation (= exact, ^ start); it shows the search box.
    search_fields = ("=id", "^idempotency_key", "^recipient")
    search_help_text = "An id, or the start of an idempotency key or of a recipient (case-sensitive)."
    list_select_related = ("owner",)
    inlines = (DeliveryAttemptInline, ProviderEventInline)
    actions = ("cancel", "retry_now", "delete_selected")
    readonly_fields = tuple(field.name for field in Notification._meta.fields)
    show_full_result_count = False  # COUNT(*) over millions of rows on every page is not worth it
    paginator = EstimatedCountPaginator

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Notification], search_term: str
    ) -> tuple[QuerySet[Notification], bool]:
        term = search_term.strip()
        return (queryset.filter(matching(term)) if term else queryset), False

    @admin.action(description="Cancel selected (scheduled or retrying)", permissions=["operate"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        self._apply(request, queryset, services.notification_cancel, "cancelled")

    @admin.action(description="Retry now (failed)", permissions=["operate"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        self._apply(request, queryset, services.notification_retry, "scheduled for a retry now")

    @admin.action(description="Delete selected (finished; live ones are cancelled)", permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Notification]):
        """Django's confirmation page, then ``services.notification_delete`` row by row.

        Replaces Django's own action, which deletes every selected row, ``sending`` ones included.
        """
        if not request.POST.get("post"):
            return admin_actions.delete_selected(self, request, queryset)
        self._delete(request, queryset)
        return None

    # The delete page of one notification: confirmed, it goes through the same service.
    def delete_model(self, request: HttpRequest, obj: Notification) -> None:
        self._delete(request, [obj])

    def log_deletions(self, request: HttpRequest, queryset: Iterable[Notification]) -> None:
        """Django logs before it deletes; ``_delete`` logs the rows it did delete, once it knows them."""

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id) -> HttpResponseRedirect:
        # ``_delete`` said what happened; Django's "deleted successfully" is not true of a kept row.
        return HttpResponseRedirect(reverse("admin:notifications_notification_changelist"))

    def _delete(self, request: HttpRequest, notifications: Iterable[Notification]) -> None:
        done: dict[str, list[Notification]] = {"deleted": [], "cancelled": [], "refused": []}
        for notification in notifications:
            try:
                done[services.notification_delete(notification=notification)].append(notification)
            except InvalidState:
                done["refused"].append(notification)
        if done["deleted"]:
            super().log_deletions(request, done["deleted"])
            self.message_user(request, f"{len(done['deleted'])} notification(s) deleted.", messages.SUCCESS)
        if done["cancelled"]:
            self.message_user(
                request,
                f"{len(done['cancelled'])} notification(s) cancelled instead of deleted: they were still to be "
                "sent. Delete them again to remove them.",
                messages.WARNING,
            )
        if done["refused"]:
            self.message_user(
                request,
                f"{len(done['refused'])} notification(s) not deleted: being sent right now. "
                "Try again once they have finished.",
                messages.ERROR,
            )

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
