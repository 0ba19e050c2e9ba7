"""Operators' view, one module per concern: ``notifications`` (every notification, its attempts
and provider reports, the cancel / retry-now / delete actions; signing secrets), ``recipients``
(templates, recipient profiles), ``broadcasts`` (broadcasts and topics), ``schedules`` (enable /
disable), ``digests`` (digest windows, read-only), ``endpoints`` (clients' event endpoints,
read-only), ``shared`` (the estimated count, the service-written models' permissions),
``dashboard`` and ``charts`` (the operator's dashboard page), ``display`` (how the notification list
shows a value in little room).

Actions call the same services as the API, so the admin holds no rule of its own.

Built for a table of millions of rows: each page reads its rows in the order of an index (see
``Notification.Meta.indexes``), the filters offer values without a ``SELECT DISTINCT`` over the
table, search matches an id exactly and a key or recipient by its start (index range scans, never
a ``LIKE '%…%'`` over every row), and the count of a long list is PostgreSQL's estimate.
"""

from django.contrib import admin

from notifications.admin.broadcasts import BroadcastAdmin, TopicAdmin
from notifications.admin.digests import DigestWindowAdmin
from notifications.admin.endpoints import EndpointAdmin
from notifications.admin.notifications import (
    ChannelFilter,
    DeliveryAttemptInline,
    DeliveryStatusFilter,
    NotificationAdmin,
    ProviderEventInline,
    ProviderFilter,
    WebhookSecretAdmin,
    matching,
)
from notifications.admin.recipients import RecipientAdmin, TemplateAdmin, TemplateForm
from notifications.admin.schedules import ScheduleAdmin
from notifications.admin.shared import EstimatedCountPaginator

# The index links the dashboard (NotificationAdmin serves it under its own URLs).
admin.site.index_template = "admin/notifications/index.html"

__all__ = [
    "BroadcastAdmin",
    "ChannelFilter",
    "DeliveryAttemptInline",
    "DeliveryStatusFilter",
    "DigestWindowAdmin",
    "EndpointAdmin",
    "EstimatedCountPaginator",
    "NotificationAdmin",
    "ProviderEventInline",
    "ProviderFilter",
    "RecipientAdmin",
    "ScheduleAdmin",
    "TemplateAdmin",
    "TemplateForm",
    "TopicAdmin",
    "WebhookSecretAdmin",
    "matching",
]
