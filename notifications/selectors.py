"""Every read of notifications a client or a worker makes."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from notifications.models import DeliveryAttempt, Notification, WebhookSecret


def notification_list(*, owner: AbstractBaseUser) -> QuerySet[Notification]:
    """A client's notifications, newest first (filters are applied by the API)."""
    return Notification.objects.filter(owner=owner).order_by("-created_at", "-id")


def notification_get(*, owner: AbstractBaseUser, notification_id: uuid.UUID | str) -> Notification | None:
    """The client's own notification, or ``None`` — another client's id looks unknown."""
    return Notification.objects.filter(owner=owner, id=notification_id).first()


def attempt_list(*, notification: Notification) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.filter(notification=notification).order_by("number")


def signing_secrets(*, secret: WebhookSecret) -> tuple[str, ...]:
    """The secrets that sign this client's webhooks now, newest first."""
    if secret.previous_secret and secret.previous_expires_at and secret.previous_expires_at > timezone.now():
        return (secret.secret, secret.previous_secret)
    return (secret.secret,)
