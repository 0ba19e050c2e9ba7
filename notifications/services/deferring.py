"""Not now: a send a gate held back (an open breaker, a busy host, a provider's rate) goes
back to wait, spending no attempt.

One mechanism for every "not now": the claimed row is put back as it was before the
claim (``scheduled`` or ``retrying``, the claim's attempt taken back), due again in
``retry_in`` seconds, with a new dispatch token, and published again. No
``DeliveryAttempt`` is written: nothing was tried. The conditional UPDATE guards it
like every other state change: only the claim that holds the row can put it back.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from notifications import metrics
from notifications.dispatch import Dispatch
from notifications.models import Notification, Status
from notifications.services.publishing import publish_or_leave_to_sweep
from notifications.services.recording import DeliveryResult

logger = logging.getLogger(__name__)

DEFERRED = "deferred"


def notification_defer(
    notification: Notification, *, retry_in: float, reason: str, until: datetime | None = None, kind: str = ""
) -> DeliveryResult | None:
    """Put a claimed row back to wait ``retry_in`` seconds, or until ``until`` when the gate
    named an exact time; ``None`` if the claim was lost. ``kind``: which gate, in a word."""
    now = timezone.now()
    due = until if until is not None and until > now else now + timedelta(seconds=retry_in)
    token = uuid.uuid4()
    # The claim made attempts 1 from a scheduled row (0 before), 2 or more from a retrying one.
    back_to = Status.SCHEDULED if notification.attempts <= 1 else Status.RETRYING
    held = Notification.objects.filter(
        id=notification.id, status=Status.SENDING, attempts_total=notification.attempts_total
    ).update(
        status=back_to,
        attempts=F("attempts") - 1,
        attempts_total=F("attempts_total") - 1,
        lease_expires_at=None,
        next_attempt_at=due,
        dispatch_token=token,
        last_enqueued_at=now,
        updated_at=now,
    )
    if not held:
        return None
    metrics.deferred(channel=notification.channel, reason=kind or "other")
    logger.info("notification %s: not now (%s); again in %.1fs", notification.id, reason, (due - now).total_seconds())
    publish_or_leave_to_sweep([Dispatch(notification.id, token, due, notification.priority, notification.attempts - 1)])
    return DeliveryResult(notification.id, DEFERRED)
