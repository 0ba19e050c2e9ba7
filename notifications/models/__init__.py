"""The app's models, by concern: ``notifications`` (a notification, its attempts and the
provider's reports, a client's signing secret, dead push tokens), ``recipients`` (templates and
recipient profiles), ``broadcasts`` (broadcasts and topics), ``recurring`` (schedules and digest
windows), ``endpoints`` (where a client hears of events). Everything is importable from here,
as when this was one module.
"""

from __future__ import annotations


def default_locale() -> str:
    """The locale of a profile the client gave none (``NOTIFY_DEFAULT_LOCALE``), read at save time.

    Defined here, before the model modules load: migrations name it ``notifications.models.default_locale``.
    """
    from notifications import conf

    return conf.default_locale()


from notifications.models.broadcasts import Broadcast, BroadcastStatus, Topic, TopicMember  # noqa: E402
from notifications.models.endpoints import Endpoint, EventType  # noqa: E402
from notifications.models.notifications import (  # noqa: E402
    LIVE_STATUSES,
    RECIPIENT_PREFIX,
    TERMINAL_STATUSES,
    DeadPushToken,
    DeliveryAttempt,
    DeliveryStatus,
    FailureReason,
    Notification,
    Outcome,
    Priority,
    ProviderEvent,
    Status,
    WebhookSecret,
)
from notifications.models.recipients import Recipient, Template  # noqa: E402
from notifications.models.recurring import DigestStatus, DigestWindow, Schedule  # noqa: E402

__all__ = [
    "LIVE_STATUSES",
    "RECIPIENT_PREFIX",
    "TERMINAL_STATUSES",
    "Broadcast",
    "BroadcastStatus",
    "DeadPushToken",
    "DeliveryAttempt",
    "DeliveryStatus",
    "DigestStatus",
    "DigestWindow",
    "Endpoint",
    "EventType",
    "FailureReason",
    "Notification",
    "Outcome",
    "Priority",
    "ProviderEvent",
    "Recipient",
    "Schedule",
    "Status",
    "Template",
    "Topic",
    "TopicMember",
    "WebhookSecret",
    "default_locale",
]
