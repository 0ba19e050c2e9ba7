"""Endpoints: where a client wants to hear what became of its notifications.

An event to an endpoint is delivered as a webhook notification row of its owner's (``endpoint``
and ``event_type`` set): the same claim, retries, sweeps and signing as any webhook, written in
the transaction of the change it reports (an outbox row). Such rows never raise events of their
own and never show in the client's notification list.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class EventType(models.TextChoices):
    SENT = "notification.sent"
    FAILED = "notification.failed"
    SUPPRESSED = "notification.suppressed"
    CANCELLED = "notification.cancelled"
    DELIVERED = "notification.delivered"
    UNDELIVERED = "notification.undelivered"
    BOUNCED = "notification.bounced"
    COMPLAINED = "notification.complained"
    OPENED = "notification.opened"
    CLICKED = "notification.clicked"


class Endpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="endpoints")
    url = models.CharField(max_length=2048)
    # The event types it wants; empty means every type.
    events = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    # Why the service disabled it (failing for NOTIFY_ENDPOINT_DISABLE_AFTER); "" when it did not.
    disabled_reason = models.CharField(max_length=255, blank=True, default="")
    description = models.CharField(max_length=255, blank=True, default="")
    # When its current run of failed deliveries began; null after any success.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("owner", "-created_at"), name="endpoint_owner_created")]

    def __str__(self) -> str:
        return self.url
