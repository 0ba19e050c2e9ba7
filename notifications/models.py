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


def default_locale() -> str:
    """The locale of a profile the client gave none (``NOTIFY_DEFAULT_LOCALE``), read at save time."""
    from notifications import conf

    return conf.default_locale()


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


class BroadcastStatus(models.TextChoices):
    EXPANDING = "expanding"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(models.Model):
    """One message to many: to a list of recipient ids (``to``) or a topic's members, on each of
    ``channels``. A task writes the notifications in batches (``services.broadcast_expand``),
    each batch one transaction that also moves ``cursor`` past the recipients it covered, so an
    expansion cut short resumes where its last batch ended."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="broadcasts", db_index=False
    )
    topic = models.CharField(max_length=64, blank=True, default="")
    # The recipient ids, sorted and unique, when sent to a list; null for a topic.
    to = models.JSONField(null=True, blank=True)
    channels = models.JSONField(default=list)
    # The notification fields every row gets: template/data/locale or subject/body/payload, and
    # category, send_at, priority, max_attempts. Templates render per recipient, at expansion.
    content = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=BroadcastStatus.choices, default=BroadcastStatus.EXPANDING)
    notifications = models.PositiveIntegerField(default=0, help_text="Notifications written so far.")
    skipped = models.PositiveIntegerField(
        default=0, help_text="Recipient and channel pairs left out: no profile, no address, or opted out."
    )
    # The last recipient id expanded: the next batch starts after it.
    cursor = models.CharField(max_length=255, blank=True, default="")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("owner", "idempotency_key"),
                condition=Q(idempotency_key__isnull=False),
                name="broadcast_owner_idempotency_key_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=("owner", "-created_at"), name="broadcast_owner_created"),
            # Expansions still running: the sweep resumes those whose worker died.
            models.Index(
                fields=("updated_at",), condition=Q(status=BroadcastStatus.EXPANDING), name="broadcast_expanding"
            ),
        ]

    def __str__(self) -> str:
        return f"broadcast {self.id} ({self.status})"


class Topic(models.Model):
    """A client's named list of recipient ids, for broadcasts (up to ``TOPIC_MAX`` members).

    ``count`` is kept by the writes that change the members, under the topic's row lock, so
    reading it never counts a million rows."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="topics", db_index=False)
    key = models.SlugField(max_length=64)
    count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [models.UniqueConstraint(fields=("owner", "key"), name="topic_owner_key_uniq")]

    def __str__(self) -> str:
        return f"topic {self.key} of {self.owner_id}"


class TopicMember(models.Model):
    """A recipient id in a topic. The id need not have a profile yet: a member without one is
    counted as skipped when a broadcast reaches it."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="members", db_index=False)
    recipient_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            # Also the expansion's order: members of a topic by id, after the cursor.
            models.UniqueConstraint(fields=("topic", "recipient_id"), name="topic_member_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} in {self.topic_id}"


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
