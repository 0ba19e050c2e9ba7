"""Notifications: every row, its attempts and provider reports, the cancel / retry-now / delete
actions and a row's own Cancel / Retry now buttons (through the same services as the API), the
dashboard's URL; and each client's signing secret."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable
from functools import partial

from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.lookups import StartsWith
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

import notifier
from notifications import selectors, services
from notifications.admin import display
from notifications.admin.dashboard import dashboard_view
from notifications.admin.shared import EstimatedCountPaginator, ServiceWrittenAdmin
from notifications.exceptions import InvalidState
from notifications.models import (
    LIVE_STATUSES,
    RECIPIENT_PREFIX,
    DeliveryAttempt,
    DeliveryStatus,
    Notification,
    ProviderEvent,
    Status,
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


class KindFilter(admin.SimpleListFilter):
    """Notifications the clients made, or the service's deliveries of events to their endpoints
    (webhook rows like any other, which the clients' own lists never show)."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("notifications", "Notifications"), ("events", "Events to endpoints")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Notification]) -> QuerySet[Notification]:
        if self.value() == "events":
            return queryset.filter(endpoint__isnull=False)
        if self.value() == "notifications":
            return queryset.filter(endpoint__isnull=True)
        return queryset


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


# What the claim and the API's idempotency keep on a row: rarely read, so folded away on its page.
INTERNALS = ("dispatch_token", "request_fingerprint", "lease_expires_at", "last_enqueued_at")
# A notification page's buttons: (the row's statuses it applies to, its service, what it did).
ROW_ACTIONS = {
    "cancel": (LIVE_STATUSES, services.notification_cancel, "cancelled"),
    "retry": ((Status.FAILED,), services.notification_retry, "scheduled for a retry now"),
}


@admin.register(Notification)
class NotificationAdmin(ServiceWrittenAdmin, admin.ModelAdmin):
    # Fits a laptop's screen: long values are cut, the whole of each in its tooltip.
    list_display = (
        "short_id",
        "owner",
        "channel",
        "recipient_cut",
        "status_badge",
        "priority",
        "send_at_seconds",
        "attempts",
        "failure_reason",
        "last_error_cut",
    )
    list_filter = (
        "status",
        ChannelFilter,
        "priority",
        "failure_reason",
        ProviderFilter,
        DeliveryStatusFilter,
        KindFilter,
    )
    # What ``get_search_results`` matches, in Django's notation (= exact, ^ start); it shows the search box.
    search_fields = ("=id", "^idempotency_key", "^recipient")
    search_help_text = "An id, or the start of an idempotency key or of a recipient (case-sensitive)."
    list_select_related = ("owner",)
    inlines = (DeliveryAttemptInline, ProviderEventInline)
    actions = ("cancel", "retry_now", "delete_selected")
    readonly_fields = tuple(field.name for field in Notification._meta.fields)
    fieldsets = (
        (None, {"fields": tuple(name for name in readonly_fields if name not in INTERNALS)}),
        ("Internals", {"fields": INTERNALS, "classes": ("collapse",)}),
    )
    show_full_result_count = False  # COUNT(*) over millions of rows on every page is not worth it
    paginator = EstimatedCountPaginator

    @admin.display(description="id", ordering="id")
    def short_id(self, obj: Notification) -> str:
        return display.short_id(obj.pk)

    @admin.display(description="recipient", ordering="recipient")
    def recipient_cut(self, obj: Notification) -> str | None:
        return display.cut(obj.recipient, 40)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Notification) -> str:
        return display.status_badge(obj.status, obj.get_status_display())

    @admin.display(description="send at", ordering="send_at")
    def send_at_seconds(self, obj: Notification) -> str | None:
        return display.to_the_second(obj.send_at)

    @admin.display(description="last error")
    def last_error_cut(self, obj: Notification) -> str | None:
        return display.cut(obj.last_error, 60)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("dashboard/", view(partial(dashboard_view, self)), name="notifications_dashboard"),
            *(
                path(
                    f"<path:object_id>/{name}/",
                    view(partial(self.row_action_view, name=name)),
                    name=f"notifications_notification_{name}",
                )
                for name in ROW_ACTIONS
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request: HttpRequest, context: dict, *args, obj=None, **kwargs) -> HttpResponse:
        # The buttons that apply to this row now, for this user (the change_form template draws them).
        allowed = obj is not None and self.has_operate_permission(request)
        context["row_actions"] = [
            (name, reverse(f"admin:notifications_notification_{name}", args=[obj.pk]))
            for name, (statuses, _, _) in ROW_ACTIONS.items()
            if allowed and obj.status in statuses
        ]
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    @method_decorator(require_POST)
    def row_action_view(self, request: HttpRequest, object_id: str, *, name: str) -> HttpResponseRedirect:
        """A button on a notification's page: its service on this row, then back to the page with
        what happened. A row that moved on meanwhile is refused by the service and not changed."""
        notification = self.get_object(request, object_id)
        if notification is None:
            raise Http404
        if not self.has_operate_permission(request):
            raise PermissionDenied
        _, service, done = ROW_ACTIONS[name]
        try:
            service(notification=notification)
        except InvalidState as exc:
            self.message_user(request, f"Not {done}: {exc}", messages.ERROR)
        else:
            self.log_change(request, notification, f"{name.capitalize()} from its page.")
            self.message_user(request, f"The notification was {done}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:notifications_notification_change", args=[notification.pk]))

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
