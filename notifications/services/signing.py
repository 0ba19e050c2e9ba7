"""Each client's Standard Webhooks signing secret: made on first use, rotated with an overlap."""

from __future__ import annotations

import base64
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from notifications import conf
from notifications.models import WebhookSecret


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_secret_get_or_create(*, owner_id: int) -> WebhookSecret:
    """This client's signing secret, made on first use."""
    secret, _ = WebhookSecret.objects.get_or_create(
        owner_id=owner_id, defaults={"secret": _new_secret(), "created_at": timezone.now()}
    )
    return secret


def webhook_secret_rotate(*, owner: AbstractBaseUser, overlap: bool = True) -> WebhookSecret:
    """A new secret. With ``overlap`` the old one keeps signing beside it for
    ``conf.SECRET_ROTATION_OVERLAP``, so receivers can switch without dropping a webhook;
    without it (a leaked secret) the old one, and any earlier one, stops signing at once."""
    now = timezone.now()
    with transaction.atomic():
        current = webhook_secret_get_or_create(owner_id=owner.pk)
        current = WebhookSecret.objects.select_for_update().get(pk=current.pk)
        if overlap:
            current.previous_secret = current.secret
            current.previous_expires_at = now + conf.SECRET_ROTATION_OVERLAP
        else:
            current.previous_secret = ""
            current.previous_expires_at = None
        current.secret = _new_secret()
        current.created_at = now
        current.save()
    return current


def webhook_secrets_expire() -> int:
    """Clear previous secrets whose overlap has ended, so a rotated-out secret is not kept
    (even encrypted) longer than it signs. Returns how many were cleared."""
    return WebhookSecret.objects.filter(previous_expires_at__lte=timezone.now()).update(
        previous_secret="", previous_expires_at=None
    )
