"""Recurring notifications and digests."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Schedule(models.Model):
    """A recurring notification: at each occurrence of ``cron`` on the wall clock of ``timezone``,
    one notification is made from ``notification`` (a create body), with the idempotency key
    ``schedule:<id>:<occurrence in UTC, ISO 8601>``, so an occurrence never makes two.

    ``next_run_at`` is the next occurrence (null once ``until`` has passed); the periodic pass
    reads enabled rows by it, through a partial index, so 100,000 schedules cost a due-check of
    a few milliseconds."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="schedules", db_index=False
    )
    cron = models.CharField(max_length=128)
    timezone = models.CharField(max_length=64, default="UTC")
    notification = models.JSONField()
    until = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True, help_text="The last occurrence made.")
    occurrences = models.PositiveIntegerField(default=0, help_text="Occurrences that made a notification.")
    skipped = models.PositiveIntegerField(
        default=0, help_text="Occurrences missed for longer than NOTIFY_SCHEDULE_CATCHUP: not made."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=("owner", "-created_at"), name="schedule_owner_created"),
            # The periodic pass: enabled schedules by their next occurrence.
            models.Index(
                fields=("next_run_at",),
                condition=Q(enabled=True, next_run_at__isnull=False),
                name="schedule_due",
            ),
        ]

    def __str__(self) -> str:
        return f"schedule {self.cron} ({self.timezone})"


class DigestStatus(models.TextChoices):
    OPEN = "open"
    CLOSED = "closed"


class DigestWindow(models.Model):
    """The open window of a digest: the first notification for a (client, addressee, channel,
    key) opens it; those created before ``closes_at`` join it (one INSERT … ON CONFLICT on the
    unique open window); a message due at ``closes_at`` closes it with a conditional UPDATE
    and makes the one notification sent in the members' place."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_windows", db_index=False
    )
    channel = models.CharField(max_length=32)
    # The members' ``to`` (a profile id) when given, else their ``recipient`` address.
    addressee = models.CharField(max_length=2048)
    key = models.SlugField(max_length=64)
    window = models.PositiveIntegerField(help_text="Seconds from the first member to the close.")
    status = models.CharField(max_length=8, choices=DigestStatus.choices, default=DigestStatus.OPEN)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    members = models.PositiveIntegerField(default=0)
    # The notification sent in the members' place, once closed (none when every member was cancelled).
    digest_notification = models.UUIDField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-opens_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("owner", "addressee", "channel", "key"),
                condition=Q(status="open"),
                name="digest_window_open_uniq",
            ),
        ]
        indexes = [
            # Open windows by their end: the sweep closes those whose close message was lost.
            models.Index(fields=("closes_at",), condition=Q(status="open"), name="digest_window_closing"),
        ]

    def __str__(self) -> str:
        return f"digest {self.key} to {self.addressee} ({self.status})"
