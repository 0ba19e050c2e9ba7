"""A client's endpoints: create (at most ``ENDPOINTS_MAX``), change, re-enable, delete, recover.

Re-enabling (``enabled: true``) clears why the service disabled it and its failing run, so the
next failure starts a new run of ``NOTIFY_ENDPOINT_DISABLE_AFTER``. Recover re-sends every event
delivery to it that ended ``failed`` since a time as the manual retry does (a new dispatch token,
attempts back to 0, due now), a batch at a time, published once each batch commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from notifications import conf, selectors
from notifications.dispatch import Dispatch
from notifications.exceptions import ContentInvalid
from notifications.models import LIVE_STATUSES, Endpoint, Notification, Status
from notifications.services.publishing import publish_on_commit

# Event deliveries a recover re-sends per transaction: an endpoint down for days has many.
RECOVER_BATCH = 1000
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
    how many. An endpoint that failed for days holds many, so not one retry each: batches of
    ``RECOVER_BATCH`` rows locked (``SKIP LOCKED``: a concurrent recover takes others), moved
    back to ``scheduled`` by one conditional UPDATE that only failed rows pass, under one
    dispatch token (they travel together in batch messages), published when the batch commits."""
    if since > timezone.now():
        raise ContentInvalid({"since": ["In the future: give a time at or before now."]})
    recovered, started_at = 0, timezone.now()
    while True:
        with transaction.atomic():
            # Only what had failed when the recover began: a row re-sent here that fails again
            # at once (a receiver still refusing) is not taken a second time.
            failed = selectors.endpoint_failed_deliveries(endpoint=endpoint, since=since)
            failed = failed.filter(updated_at__lte=started_at)
            ids = list(failed.select_for_update(skip_locked=True).values_list("id", flat=True)[:RECOVER_BATCH])
            if not ids:
                return recovered
            now, token = timezone.now(), uuid.uuid4()
            rows = Notification.objects.filter(id__in=ids, status=Status.FAILED)
            priorities = dict(rows.values_list("id", "priority"))
            rows.update(
                status=Status.SCHEDULED,
                attempts=0,
                failure_reason="",
                next_attempt_at=now,
                dispatch_token=token,
                last_enqueued_at=now,
                updated_at=now,
            )
            publish_on_commit([Dispatch(row_id, token, now, priority) for row_id, priority in priorities.items()])
            recovered += len(priorities)
