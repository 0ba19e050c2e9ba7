"""A client's endpoints: create (at most ``ENDPOINTS_MAX``), change, re-enable, delete, recover.

Re-enabling (``enabled: true``) clears why the service disabled it and its failing run, so the
next failure starts a new run of ``NOTIFY_ENDPOINT_DISABLE_AFTER``. Recover re-sends every event
delivery to it that ended ``failed`` since a time, each through the manual retry (a new dispatch
token, attempts back to 0), published once it commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from notifications import conf, selectors
from notifications.exceptions import ContentInvalid, InvalidState
from notifications.models import LIVE_STATUSES, Endpoint, Notification, Status
from notifications.services.changing import notification_retry

# The fields a client sets.
ENDPOINT_FIELDS = ("url", "events", "enabled", "description")


def endpoint_create(*, owner: AbstractBaseUser, data: dict[str, Any]) -> Endpoint:
    """A new endpoint; ``ContentInvalid`` once the client has ``ENDPOINTS_MAX``. The owner's row
    is locked while counting, so two concurrent creates cannot both take the last place."""
    with transaction.atomic():
        type(owner).objects.select_for_update().filter(pk=owner.pk).first()
        if Endpoint.objects.filter(owner=owner).count() >= conf.ENDPOINTS_MAX:
            raise ContentInvalid(
                {"detail": f"At most {conf.ENDPOINTS_MAX} endpoints per client; delete one you no longer use."}
            )
        return Endpoint.objects.create(owner=owner, **{key: data[key] for key in ENDPOINT_FIELDS if key in data})


def endpoint_update(*, endpoint: Endpoint, changes: dict[str, Any]) -> Endpoint:
    """Change the fields given. ``enabled: true`` also clears ``disabled_reason`` and the
    failing run; ``enabled: false`` is the client's own pause (no reason is set). A new ``url``
    is where its deliveries not yet sent go too: those waiting, and the failed ones a recover
    would send again."""
    fields = {key: changes[key] for key in ENDPOINT_FIELDS if key in changes}
    if fields.get("enabled") is True:
        fields.update(disabled_reason="", failing_since=None)
    moved = "url" in fields and fields["url"] != endpoint.url
    for name, value in fields.items():
        setattr(endpoint, name, value)
    with transaction.atomic():
        endpoint.save(update_fields=[*fields, "updated_at"])
        if moved:  # notification_endpoint_status
            Notification.objects.filter(endpoint=endpoint, status__in=(*LIVE_STATUSES, Status.FAILED)).update(
                recipient=endpoint.url
            )
    return endpoint


def endpoint_delete(*, endpoint: Endpoint) -> None:
    """Delete it, and its event deliveries with it (CASCADE): waiting ones are never sent."""
    endpoint.delete()


def endpoint_recover(*, endpoint: Endpoint, since: datetime) -> int:
    """Re-send every event delivery to ``endpoint`` that ended ``failed`` at ``since`` or later;
    how many. Each goes through ``notification_retry``, so one re-sent meanwhile is skipped."""
    if since > timezone.now():
        raise ContentInvalid({"since": ["In the future: give a time at or before now."]})
    recovered = 0
    failed = selectors.endpoint_failed_deliveries(endpoint=endpoint, since=since).only("id", "status")
    for delivery in list(failed):
        try:
            notification_retry(notification=delivery)
        except InvalidState:
            continue  # it left failed meanwhile
        recovered += 1
    return recovered
