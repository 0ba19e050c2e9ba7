"""One message to many: broadcasts, and the topics they go to."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


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
