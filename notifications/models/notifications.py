"""Notifications, their delivery attempts, and each client's signing secret.

The ``Notification`` row is the source of truth; broker messages only wake a
worker. ``next_attempt_at`` is when the row is next due (``send_at`` while
scheduled, the retry time while retrying) so one partial index serves both the
claim's due check and the missed-sweep.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Collate, Left

from notifications.fields import EncryptedTextField


class Status(models.TextChoices):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # The recipient's preferences said no (``failure_reason: "opted_out"``): never sent.
    SUPPRESSED = "suppressed"
    # A member of a digest whose window closed: sent as one item of the digest's notification.
    DIGESTED = "digested"


# Rows a message may still claim: the due index, the sweeps and cancel work on these.
LIVE_STATUSES = (Status.SCHEDULED, Status.RETRYING)
# Rows that never change again on their own: retention deletes these.
TERMINAL_STATUSES = (Status.SENT, Status.FAILED, Status.CANCELLED, Status.SUPPRESSED, Status.DIGESTED)


class Priority(models.TextChoices):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class DeliveryStatus(models.TextChoices):
    """What a provider later reported about a sent notification (``status`` is what this
    service did; this is what happened after)."""

    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    OPENED = "opened"
    CLICKED = "clicked"


class FailureReason(models.TextChoices):
    """Why a row ended ``failed``: the dead-letter list's categories."""

    PERMANENT = "permanent"
    EXHAUSTED = "exhausted"
    WORKER_LOST = "worker_lost"
    # Only with status suppressed: the recipient's preferences turned this channel or category off.
    OPTED_OUT = "opted_out"


# What the recipient search index holds: the first 255 characters in byte order ("C"), so that
# LIKE 'prefix%' can use it under any database collation, and a 2,048-character recipient never
# exceeds a b-tree entry's limit (2,704 bytes). The admin searches by this same expression.
RECIPIENT_PREFIX = Collate(Left("recipient", 255), "C")


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: notification_owner_created leads with the owner and serves every
    # lookup by it (the API's list, a client's deletion); one index less on every write.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    channel = models.CharField(max_length=32)
    recipient = models.CharField(max_length=2048)
    subject = models.CharField(max_length=998, blank=True, default="")
    body = models.TextField(blank=True, default="")
    payload = models.JSONField(null=True, blank=True)
    send_at = models.DateTimeField()
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    max_attempts = models.PositiveSmallIntegerField()
    # NULL, not "": the unique constraint must ignore rows without a key.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    # sha256 of the create request, to tell a replay from a reuse of the key.
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Attempts started since the last manual retry.")
    attempts_total = models.PositiveIntegerField(default=0, help_text="Attempts started over the row's life.")
    last_error = models.TextField(null=True, blank=True)  # noqa: DJ001 -- the API promises null, not ""
    failure_reason = models.CharField(max_length=16, choices=FailureReason.choices, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    # The service that took it (twilio, fcm, expo, smtp, …): for email, the fallback's name
    # when the fallback sent it.
    provider = models.CharField(max_length=32, blank=True, default="")
    # The provider's latest report (ProviderEvent): null until one arrives. Never moves status.
    delivery_status = models.CharField(max_length=16, choices=DeliveryStatus.choices, null=True, blank=True)  # noqa: DJ001

    # Rendered at create from a Template (never again): the name and version it came from, the
    # data and locale it was rendered with, and for email the HTML alternative.
    template = models.CharField(max_length=64, blank=True, default="")
    template_version = models.PositiveIntegerField(null=True, blank=True)
    data = models.JSONField(null=True, blank=True)
    locale = models.CharField(max_length=35, blank=True, default="")
    html = models.TextField(blank=True, default="")

    # Sent to a recipient profile (``to``, the client's id for the person): the address is read
    # from the profile at send time, and its preferences and quiet hours apply. "" otherwise.
    to = models.CharField(max_length=255, blank=True, default="")
    # The client's slug for what this is about (``marketing``, ``billing``): preferences by category.
    category = models.CharField(max_length=64, blank=True, default="")
    # The broadcast that wrote this row, if one did. No FK constraint check on every insert of a
    # 100,000-row expansion is wanted, but the ORM join is: a plain FK, indexed below.
    broadcast = models.ForeignKey(
        "Broadcast", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    # The schedule whose occurrence made this row (its idempotency key is schedule:<id>:<occurrence>).
    schedule = models.ForeignKey(
        "Schedule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    # A digest member: the open window it joined. It waits (scheduled, cancellable, never published)
    # until the window closes, then ends ``digested``.
    digest_window = models.ForeignKey(
        "DigestWindow", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    # The digest itself (the one notification sent when a window closes): its members' ids.
    digest = models.JSONField(null=True, blank=True)

    # An event delivery (the outbox): the endpoint it goes to and its type, e.g.
    # "notification.sent". Such a row is a webhook like any other, but raises no events and is
    # not in the client's list. Deleting the endpoint deletes its deliveries.
    endpoint = models.ForeignKey(
        "Endpoint", on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    event_type = models.CharField(max_length=32, blank=True, default="")
    # The X-Request-ID of the request that made it: worker log lines and traces carry it.
    trace_id = models.CharField(max_length=64, blank=True, default="")

    # A message carries the token it was published with; reschedule and manual
    # retry change it, so messages published before are ignored by the claim.
    dispatch_token = models.UUIDField(default=uuid.uuid4)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)

    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("owner", "idempotency_key"),
                condition=Q(idempotency_key__isnull=False),
                name="notification_owner_idempotency_key_uniq",
            ),
            # A broadcast writes one row per recipient and channel, even if its expansion runs twice.
            models.UniqueConstraint(
                fields=("broadcast", "to", "channel"),
                condition=Q(broadcast__isnull=False),
                name="notification_broadcast_to_channel_uniq",
            ),
        ]
        indexes = [
            # A client's list, newest first (cursor pagination on created_at).
            models.Index(fields=("owner", "-created_at"), name="notification_owner_created"),
            models.Index(fields=("owner", "status", "-created_at"), name="notification_owner_status"),
            # Due rows: the missed-sweep; small because it holds live rows only.
            models.Index(
                fields=("next_attempt_at",),
                condition=Q(status__in=LIVE_STATUSES),
                name="notification_live_due",
            ),
            # Stuck rows: the stuck-sweep over expired leases.
            models.Index(
                fields=("lease_expires_at",),
                condition=Q(status=Status.SENDING),
                name="notification_sending_lease",
            ),
            models.Index(fields=("status", "updated_at"), name="notification_status_updated"),
            # The admin's list across clients, newest first, and each of its filters: every page
            # reads its 100 rows in index order, never sorting or counting the whole table.
            models.Index(fields=("-created_at", "-id"), name="notification_created"),
            # Sent rows are most rows: that filter reads notification_created in order. Leaving them
            # (and normal priority) out keeps these two indexes out of most rows' every update.
            models.Index(
                fields=("status", "-created_at", "-id"),
                condition=~Q(status=Status.SENT),
                name="notification_status_created",
            ),
            models.Index(fields=("channel", "-created_at", "-id"), name="notification_channel_created"),
            models.Index(
                fields=("priority", "-created_at", "-id"),
                condition=~Q(priority=Priority.NORMAL),
                name="notification_priority_created",
            ),
            models.Index(
                fields=("failure_reason", "-created_at", "-id"),
                condition=~Q(failure_reason=""),
                name="notification_failure_created",
            ),
            # The admin's search: exact or prefix (LIKE 'term%') under any collation.
            models.Index(
                fields=("idempotency_key",),
                opclasses=["varchar_pattern_ops"],
                condition=Q(idempotency_key__isnull=False),
                name="notification_idempotency_key",
            ),
            models.Index(RECIPIENT_PREFIX, name="notification_recipient_prefix"),
            # The admin's provider and delivery-status filters. Rows no provider took, and rows no
            # report reached, are left out. The first also lists the providers (selectors.provider_names).
            models.Index(
                fields=("provider", "-created_at", "-id"),
                condition=~Q(provider=""),
                name="notification_provider_created",
            ),
            models.Index(
                fields=("delivery_status", "-created_at", "-id"),
                condition=Q(delivery_status__isnull=False),
                name="notification_delivery_created",
            ),
            # A provider's report names its own message id.
            models.Index(
                fields=("provider_message_id",),
                condition=~Q(provider_message_id=""),
                name="notification_provider_msg",
            ),
            # Expo pushes whose receipt is not known yet, by when they went: the receipts pass reads
            # the last day's of them; a receipt sets delivery_status and takes the row out.
            models.Index(
                fields=("sent_at",),
                condition=Q(channel="push", provider="expo", delivery_status__isnull=True),
                name="notification_expo_unreceipted",
            ),
            # A broadcast's notifications: its list (?broadcast=), its cancel, its counts.
            models.Index(
                fields=("broadcast", "-created_at", "-id"),
                condition=Q(broadcast__isnull=False),
                name="notification_broadcast_created",
            ),
            # Rows to one profile: its erase, and a push's dead-token clean-up.
            models.Index(fields=("owner", "to"), condition=~Q(to=""), name="notification_owner_to"),
            # A schedule's occurrences (?schedule=), newest first.
            models.Index(
                fields=("schedule", "-created_at", "-id"),
                condition=Q(schedule__isnull=False),
                name="notification_schedule_created",
            ),
            # An endpoint's event deliveries: its recover (failed since a time) and its disable check.
            models.Index(
                fields=("endpoint", "status", "updated_at"),
                condition=Q(endpoint__isnull=False),
                name="notification_endpoint_status",
            ),
            # The admin's "events to endpoints" filter, newest first.
            models.Index(
                fields=("-created_at", "-id"),
                condition=Q(endpoint__isnull=False),
                name="notification_event_created",
            ),
            # A window's members, read when it closes (and when a member is cancelled).
            models.Index(
                fields=("digest_window", "created_at"),
                condition=Q(digest_window__isnull=False),
                name="notification_digest_members",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient} ({self.status})"


class Outcome(models.TextChoices):
    SENT = "sent"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    WORKER_LOST = "worker_lost"


class DeliveryAttempt(models.Model):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="delivery_attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error = models.TextField(blank=True, default="")
    provider = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ("notification", "number")
        constraints = [
            models.UniqueConstraint(fields=("notification", "number"), name="attempt_notification_number_uniq"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.outcome}"


class WebhookSecret(models.Model):
    """A client's Standard Webhooks signing secret; the previous one signs too until it expires.

    Both are encrypted at rest (``NOTIFY_ENCRYPTION_KEYS``): a database dump alone cannot forge
    a client's webhooks. The previous secret is cleared once its overlap ends.
    """

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_secret")
    secret = EncryptedTextField()
    created_at = models.DateTimeField()
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"signing secret of {self.owner}"


class ProviderEvent(models.Model):
    """One report from a provider about a notification it took (a status callback, a tracking
    webhook, a push receipt). Unique on (provider, provider_event_id): the same report twice is
    stored once."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="provider_events")
    provider = models.CharField(max_length=32)
    provider_event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=DeliveryStatus.choices)
    occurred_at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("notification", "occurred_at", "id")
        constraints = [
            models.UniqueConstraint(fields=("provider", "provider_event_id"), name="provider_event_uniq"),
        ]
        indexes = [models.Index(fields=("notification", "occurred_at"), name="provider_event_notification")]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} for {self.notification_id}"


class DeadPushToken(models.Model):
    """A push token a push service called dead (FCM UNREGISTERED, Expo DeviceNotRegistered), per
    client: kept so the client can learn of it, and so recipient profiles can drop it."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dead_push_tokens")
    token = models.CharField(max_length=512)  # push validate_recipient refuses longer ones
    provider = models.CharField(max_length=32)
    notification = models.ForeignKey(Notification, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("owner", "token"), name="dead_push_token_uniq")]

    def __str__(self) -> str:
        return f"dead {self.provider} token of {self.owner}"
