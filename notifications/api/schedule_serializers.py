"""Shapes of ``/api/v1/schedules/``: the field checks only; the rules live in services.schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from notifications.api.fields import AwareDateTimeField
from notifications.api.serializers import NotificationCreateSerializer
from notifications.models import Schedule
from notifications.services.schedules import SET_PER_OCCURRENCE, cron_check, timezone_check


class ScheduleNotificationSerializer(NotificationCreateSerializer):
    """A create body, checked as ``POST /api/v1/notifications/`` checks it, without the two fields
    each occurrence sets: its time and its idempotency key."""

    send_at = None
    idempotency_key = None

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        named = [field for field in SET_PER_OCCURRENCE if isinstance(data, dict) and field in data]
        if named:
            message = "Set by the schedule at each occurrence: leave it out."
            raise serializers.ValidationError({field: [message] for field in named})
        if isinstance(data, dict) and "digest" in data:
            # The pass writes occurrences in batches, without a digest's window join.
            raise serializers.ValidationError({"digest": ["A schedule's notifications cannot join a digest."]})
        return super().to_internal_value(data)


def _checked(check: Any, value: str) -> str:
    try:
        return check(value)
    except ValueError as exc:
        raise serializers.ValidationError(str(exc)) from exc


class ScheduleFieldsSerializer(serializers.Serializer):
    cron = serializers.CharField(
        max_length=128, help_text="Five fields (minute hour day month weekday), e.g. `0 9 * * 1-5`."
    )
    timezone = serializers.CharField(
        max_length=64, default="UTC", help_text="An IANA name: occurrences follow its wall clock across DST."
    )
    until = AwareDateTimeField(
        required=False, allow_null=True, help_text="No occurrence after this time; null: no end."
    )

    def validate_cron(self, value: str) -> str:
        return _checked(cron_check, value)

    def validate_timezone(self, value: str) -> str:
        return _checked(timezone_check, value)

    def validate_until(self, value: datetime | None) -> datetime | None:
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("In the past: give a later time, or null for no end.")
        return value


class ScheduleCreateSerializer(ScheduleFieldsSerializer):
    notification = ScheduleNotificationSerializer(
        help_text="A create body, as POST /api/v1/notifications/ takes, without send_at and idempotency_key."
    )


class ScheduleUpdateSerializer(ScheduleFieldsSerializer):
    """PATCH: any of ``enabled``, ``cron``, ``timezone``, ``until``; the next run is computed from now."""

    enabled = serializers.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give at least one of enabled, cron, timezone, until.")
        return attrs


class ScheduleSerializer(serializers.ModelSerializer):
    notification = serializers.DictField(read_only=True, help_text="The create body each occurrence is made from.")

    class Meta:
        model = Schedule
        fields = (
            "id",
            "cron",
            "timezone",
            "enabled",
            "next_run_at",
            "notification",
            "until",
            "created_at",
            "last_run_at",
            "occurrences",
            "skipped",
        )
        read_only_fields = fields
