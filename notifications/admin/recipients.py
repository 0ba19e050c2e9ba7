"""Clients' templates (saved through ``template_put``, previewed in the sandbox) and recipient
profiles (view-only; a delete is an erase)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from notifications import services
from notifications.admin.shared import EstimatedCountPaginator
from notifications.exceptions import ContentInvalid
from notifications.models import Recipient, Template


class TemplateForm(forms.ModelForm):
    class Meta:
        model = Template
        fields = ("owner", "name", "subject", "body", "html", "translations", "sample_data")

    def clean(self) -> dict:
        cleaned = super().clean()
        try:
            services.template_check(
                subject=cleaned.get("subject") or "",
                body=cleaned.get("body") or "",
                html=cleaned.get("html") or "",
                translations=cleaned.get("translations") or {},
            )
        except ContentInvalid as exc:
            raise forms.ValidationError(f"Does not compile: {exc.errors}") from exc
        return cleaned


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    """Clients' templates; a save goes through ``template_put`` (checked, the version grows), and
    the preview renders the saved template with its ``sample_data`` in the sandbox."""

    form = TemplateForm
    list_display = ("name", "owner", "version", "updated_at")
    list_select_related = ("owner",)
    search_fields = ("name",)
    raw_id_fields = ("owner",)
    readonly_fields = ("version", "created_at", "updated_at", "preview")
    fields = (
        "owner",
        "name",
        "subject",
        "body",
        "html",
        "translations",
        "sample_data",
        "preview",
        *readonly_fields[:3],
    )

    @admin.display(description="Preview (from sample data)")
    def preview(self, obj: Template) -> str:
        if obj.pk is None:
            return "Save to preview."
        try:
            rendered = services.template_render(owner=obj.owner, name=obj.name, data=obj.sample_data or {})
        except ContentInvalid as exc:
            return f"Does not render: {exc.errors}"
        return format_html(
            "<p><b>Subject:</b> {}</p><pre>{}</pre><div>{}</div>",
            rendered.subject,
            rendered.body,
            mark_safe(rendered.html),  # noqa: S308 -- the client's own HTML, autoescaped data; shown to staff
        )

    def save_model(self, request: HttpRequest, obj: Template, form, change: bool) -> None:
        fields = {field: getattr(obj, field) for field in ("subject", "body", "html", "translations")}
        saved, _ = services.template_put(owner=obj.owner, name=obj.name, fields=fields)
        saved.sample_data = obj.sample_data
        saved.save(update_fields=["sample_data"])
        obj.pk, obj.version = saved.pk, saved.version


@admin.register(Recipient)
class RecipientAdmin(admin.ModelAdmin):
    """Clients' recipient profiles, view-only: they change through the API, which checks every
    address. No secrets on the page: a webhook URL (whose query may carry a token) shows as its
    host, push tokens as a count. Deleting one erases the person (``services.recipient_erase``).

    Search is by the start of an external id or an email, case-sensitive (``LIKE 'term%'``, each
    through its ``varchar_pattern_ops`` index); the owner filter lists clients from the user table,
    never a ``SELECT DISTINCT`` over the profiles.
    """

    list_display = ("external_id", "owner", "email", "phone", "timezone", "locale", "created_at")
    list_filter = ("owner",)
    search_fields = ("^external_id", "^email")
    search_help_text = "The start of an external id or of an email (case-sensitive)."
    list_select_related = ("owner",)
    fields = (
        "owner",
        "external_id",
        "email",
        "phone",
        "telegram_chat_id",
        "slack_id",
        "webhook_host",
        "push_token_count",
        "timezone",
        "locale",
        "preferences",
        "quiet_hours",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Recipient], search_term: str
    ) -> tuple[QuerySet[Recipient], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(external_id__startswith=term) | Q(email__startswith=term)), False

    @admin.display(description="webhook host")
    def webhook_host(self, obj: Recipient) -> str:
        return urlsplit(obj.webhook_url).hostname or "" if obj.webhook_url else ""

    @admin.display(description="push tokens")
    def push_token_count(self, obj: Recipient) -> int:
        return len(obj.push_tokens)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Recipient) -> None:
        services.recipient_erase(owner=obj.owner, recipients=[obj])

    def log_deletions(self, request: HttpRequest, queryset: Iterable[Recipient]) -> None:
        """No admin log entry: its text would keep the erased person's id after the erase."""

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id) -> HttpResponseRedirect:
        # Django's message names the object; after an erase nothing may name the person.
        self.message_user(request, "The recipient was erased.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:notifications_recipient_changelist"))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Recipient]) -> None:
        for recipient in queryset.select_related("owner"):
            services.recipient_erase(owner=recipient.owner, recipients=[recipient])
