"""A client's templates and recipient profiles."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from notifications.models import default_locale


class Template(models.Model):
    """A client's named message in Django's template language, with translations by locale.

    ``version`` grows on every change; a notification stores the version it was rendered from,
    and its rendered text, so editing a template changes no notification already made.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="templates")
    name = models.SlugField(max_length=64)
    subject = models.CharField(max_length=998, blank=True, default="")
    body = models.TextField(blank=True, default="")
    html = models.TextField(blank=True, default="")
    # {"fr": {"subject": …, "body": …, "html": …}, …}
    translations = models.JSONField(default=dict, blank=True)
    # The admin's preview renders with these (never used for a notification).
    sample_data = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [models.UniqueConstraint(fields=("owner", "name"), name="template_owner_name_uniq")]
        indexes = [models.Index(fields=("owner", "-created_at", "-id"), name="template_owner_created")]

    def __str__(self) -> str:
        return f"template {self.name} v{self.version}"


class Recipient(models.Model):
    """One of a client's end users, keyed by the client's own id for them (``external_id``).

    Addresses per channel, and the person's timezone, locale, preferences and quiet hours. The
    API's ``DELETE`` erases it (``services.recipient_erase``): the row goes, and so do the
    addresses and content of this client's notifications to it.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recipients", db_index=False
    )
    external_id = models.CharField(max_length=255)
    email = models.CharField(max_length=254, null=True, blank=True)  # noqa: DJ001 -- the API promises null
    phone = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001
    telegram_chat_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    slack_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    webhook_url = models.CharField(max_length=2048, null=True, blank=True)  # noqa: DJ001
    push_tokens = models.JSONField(default=list, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    locale = models.CharField(max_length=35, default=default_locale)
    preferences = models.JSONField(default=dict, blank=True)
    quiet_hours = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=("owner", "external_id"), name="recipient_owner_external_id_uniq"),
        ]
        indexes = [
            # A client's list, newest first (cursor pagination on created_at), and its two filters.
            models.Index(fields=("owner", "-created_at"), name="recipient_owner_created"),
            models.Index(fields=("owner", "email"), condition=Q(email__isnull=False), name="recipient_owner_email"),
            models.Index(fields=("owner", "phone"), condition=Q(phone__isnull=False), name="recipient_owner_phone"),
            # The admin's search: an external id or an email by its start (LIKE 'term%').
            models.Index(fields=("external_id",), opclasses=["varchar_pattern_ops"], name="recipient_external_id"),
            models.Index(
                fields=("email",),
                opclasses=["varchar_pattern_ops"],
                condition=Q(email__isnull=False),
                name="recipient_email_prefix",
            ),
        ]

    def __str__(self) -> str:
        return f"recipient {self.external_id} of {self.owner_id}"

    def addresses(self) -> list[str]:
        """Every address this profile holds, on any channel: what an erase looks for."""
        fixed = (self.email, self.phone, self.telegram_chat_id, self.slack_id, self.webhook_url)
        return [address for address in (*fixed, *self.push_tokens) if address]
