from __future__ import annotations

from datetime import datetime

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from notifications.api.fields import OUT_OF_RANGE, in_range
from notifications.models import Notification, Priority, Status


class InRangeIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time (naive means UTC) that converts to UTC without overflow on every
    database: SQLite's backend converts it in Python (``OverflowError``, a 500), PostgreSQL
    takes it as written; both must answer the same 400."""

    def to_python(self, value: str | None) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is not None and not in_range(parsed):
            raise ValidationError(OUT_OF_RANGE, code="out_of_range")
        return parsed


class InRangeIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = InRangeIsoDateTimeField


class NotificationFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    channel = django_filters.CharFilter()
    recipient = django_filters.CharFilter()
    # Through notification_owner_to: (owner, to).
    to = django_filters.CharFilter()
    category = django_filters.CharFilter()
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    send_at_after = InRangeIsoDateTimeFilter(field_name="send_at", lookup_expr="gte")
    send_at_before = InRangeIsoDateTimeFilter(field_name="send_at", lookup_expr="lte")
    # A broadcast's notifications, through notification_broadcast_created; a malformed id is a 400.
    broadcast = django_filters.UUIDFilter(field_name="broadcast_id")
    # A schedule's occurrences, through notification_schedule_created; a malformed id is a 400.
    schedule = django_filters.UUIDFilter(field_name="schedule_id")

    class Meta:
        model = Notification
        fields = (
            "status",
            "channel",
            "recipient",
            "to",
            "category",
            "priority",
            "send_at_after",
            "send_at_before",
            "broadcast",
            "schedule",
        )
