"""Events to a client's endpoints: written in the transaction of the change they report.

An event delivery is a webhook notification row of the endpoint's owner (the outbox): ``endpoint``
and ``event_type`` set, its payload ``{"type", "timestamp", "data"}`` with ``data`` the
notification as ``GET /api/v1/notifications/{id}/`` shows it right after the change. The row goes
through the same claim, retries, sweeps and signing as any webhook, and its id is the
``webhook-id`` a receiver dedupes on (the same on every retry). Rows are inserted by the caller's
transaction, so a change that rolls back leaves no event, and published once it commits.

Which endpoints hear a change is one indexed query on the owner's endpoints
(``endpoint_owner_created``); an owner with none pays that query and nothing else. An event
delivery never raises events of its own. Each delivery's outcome counts for its endpoint: a
failure starts (or continues) its failing run, a success ends it, and a run as long as
``NOTIFY_ENDPOINT_DISABLE_AFTER`` disables the endpoint.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from notifications import conf, selectors
from notifications.models import Endpoint, EventType, Notification, Priority, Status
from notifications.services.fastpaths import insert_many
from notifications.services.publishing import dispatch_of, publish_on_commit

logger = logging.getLogger(__name__)

# The status a change ends in, and the event it raises.
EVENT_OF_STATUS = {
    Status.SENT: EventType.SENT,
    Status.FAILED: EventType.FAILED,
    Status.SUPPRESSED: EventType.SUPPRESSED,
    Status.CANCELLED: EventType.CANCELLED,
}
# The fields of a notification that can name a person: an erase blanks them in events too.
PERSONAL_FIELDS = {
    "recipient": "",
    "to": "",
    "subject": "",
    "body": "",
    "html": "",
    "payload": None,
    "data": None,
    "last_error": None,
}


def event_of_report(report_type: str) -> str | None:
    """The event a provider's report raises (``delivered`` → ``notification.delivered``)."""
    event_type = f"notification.{report_type}"
    return event_type if event_type in EventType.values else None


def events_listening(*, owner_ids: Iterable[Any], event_type: str) -> list[Endpoint]:
    """The enabled endpoints of these owners that want ``event_type``: the one query a change
    pays when no endpoint wants it."""
    return selectors.endpoints_listening(owner_ids=owner_ids, event_type=event_type)


def events_listening_to(notification: Notification, event_type: str | None) -> list[Endpoint]:
    """The endpoints that want ``event_type`` about ``notification``: none for an event delivery
    (events raise no events) or when the change raises no event (``None``, e.g. ``retrying``)."""
    if notification.event_type or event_type is None:
        return []
    return events_listening(owner_ids=[notification.owner_id], event_type=event_type)


def events_record(
    *, notifications: Sequence[Notification], event_type: str, endpoints: list[Endpoint] | None = None
) -> int:
    """Write an event delivery of ``event_type`` for each notification to each of its owner's
    endpoints that wants it, in the caller's transaction, published on commit; how many were
    written. ``notifications`` are as they are after the change. ``endpoints``: those already
    read with ``events_listening`` (``None`` reads them). Event deliveries are left out."""
    sources = [notification for notification in notifications if not notification.event_type]
    if not sources:
        return 0
    if endpoints is None:
        endpoints = events_listening(owner_ids={n.owner_id for n in sources}, event_type=event_type)
    if not endpoints:
        return 0
    by_owner: dict[Any, list[Endpoint]] = defaultdict(list)
    for endpoint in endpoints:
        by_owner[endpoint.owner_id].append(endpoint)
    now = timezone.now()
    token = uuid.uuid4()  # shared: the rows travel together in deliver_batch messages
    rows = [
        _delivery(source, endpoint, event_type, now, token)
        for source in sources
        for endpoint in by_owner.get(source.owner_id, ())
    ]
    insert_many(rows)
    publish_on_commit([dispatch_of(row) for row in rows])
    return len(rows)


def events_record_changed(*, ids: Sequence[Any], owner_ids: Iterable[Any], event_type: str) -> int:
    """``events_record`` for rows just changed by an UPDATE: read again only when an endpoint
    wants the event, so an owner with none pays one query."""
    if not ids:
        return 0
    endpoints = events_listening(owner_ids=owner_ids, event_type=event_type)
    if not endpoints:
        return 0
    changed = list(Notification.objects.filter(id__in=ids, event_type=""))
    return events_record(notifications=changed, event_type=event_type, endpoints=endpoints)


def _delivery(
    source: Notification, endpoint: Endpoint, event_type: str, now: datetime, token: uuid.UUID
) -> Notification:
    return Notification(
        owner_id=source.owner_id,
        channel="webhook",
        recipient=endpoint.url,
        payload={"type": event_type, "timestamp": now.isoformat(), "data": notification_resource(source)},
        endpoint_id=endpoint.id,
        event_type=event_type,
        trace_id=source.trace_id,
        send_at=now,
        next_attempt_at=now,
        last_enqueued_at=now,
        priority=Priority.NORMAL,
        max_attempts=conf.max_attempts(),
        dispatch_token=token,
    )


def notification_resource(notification: Notification) -> dict[str, Any]:
    """The notification exactly as the API shows it, as JSON values."""
    from notifications.api.serializers import NotificationSerializer  # the API's own shape, not a copy

    return json.loads(json.dumps(NotificationSerializer(notification).data, cls=DjangoJSONEncoder))


def endpoint_delivery_outcome(*, endpoint_id: Any, succeeded: bool, now: datetime | None = None) -> None:
    """Count an event delivery's attempt for its endpoint: a success ends the failing run; a
    failure starts it if none is running, and disables the endpoint once the run has lasted
    ``NOTIFY_ENDPOINT_DISABLE_AFTER``. Conditional UPDATEs: concurrent deliveries agree."""
    now = now or timezone.now()
    endpoints = Endpoint.objects.filter(id=endpoint_id)
    if succeeded:
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    window = conf.endpoint_disable_after()
    disabled = endpoints.filter(enabled=True, failing_since__lte=now - window).update(
        enabled=False,
        disabled_reason=(
            f"Every event delivery failed for {int(window.total_seconds())} s "
            "(NOTIFY_ENDPOINT_DISABLE_AFTER); fix the receiver, PATCH enabled=true, then recover "
            "the failed events."
        ),
        updated_at=now,
    )
    if disabled:
        logger.warning("endpoint %s disabled: its event deliveries failed for %s", endpoint_id, window)


def events_blank(*, owner_id: Any, notification_ids: Sequence[Any]) -> int:
    """An erase's part in events: every event of these notifications loses what could name the
    person (the fields the erase blanks on the notification itself); how many were blanked."""
    endpoint_ids = list(Endpoint.objects.filter(owner_id=owner_id).values_list("id", flat=True))
    if not endpoint_ids or not notification_ids:
        return 0
    events = list(
        Notification.objects.filter(
            endpoint_id__in=endpoint_ids, payload__data__id__in=[str(i) for i in notification_ids]
        ).only("id", "payload")
    )
    for event in events:
        event.payload["data"].update(PERSONAL_FIELDS)
    Notification.objects.bulk_update(events, ["payload"])
    return len(events)
