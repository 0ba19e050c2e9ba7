"""Input and output shapes of the API. Validation of fields only: the rules live in services."""

from __future__ import annotations

import functools
from typing import Any

from rest_framework import serializers

import notifier
from notifications import conf
from notifications.models import DeliveryAttempt, Notification, Priority


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 datetime that must carry its UTC offset: a naive time is ambiguous."""

    default_error_messages = {"naive": "Include a UTC offset, e.g. 2030-01-01T09:00:00Z or +02:00."}

    def to_internal_value(self, value: Any):
        parsed = super().to_internal_value(value)
        if isinstance(value, str) and not _has_offset(value):
            self.fail("naive")
        return parsed


def _has_nul(value: Any) -> bool:
    """PostgreSQL's jsonb cannot store U+0000 anywhere, in keys or values."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _has_offset(text: str) -> bool:
    text = text.strip()
    if text.endswith(("Z", "z")):
        return True
    tail = text[10:]  # after the date part
    return "+" in tail or "-" in tail


class NotificationSerializer(serializers.ModelSerializer):
    """A notification as clients see it."""

    class Meta:
        model = Notification
        fields = (
            "id",
            "channel",
            "recipient",
            "subject",
            "body",
            "payload",
            "send_at",
            "priority",
            "max_attempts",
            "idempotency_key",
            "status",
            "attempts",
            "last_error",
            "failure_reason",
            "next_attempt_at",
            "sent_at",
            "cancelled_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        # DRF deep-copies every declared field into each new serializer (~0.5 ms for
        # these 19) before rendering one row. The fields are stateless when rendering,
        # so one bound set, built once per process, renders every row the same way.
        return serializers.ModelSerializer.to_representation(_shared_notification_renderer(), instance)


@functools.cache
def _shared_notification_renderer() -> NotificationSerializer:
    renderer = NotificationSerializer()
    renderer.fields  # noqa: B018 -- binds the fields once, here
    return renderer


class NotificationContentSerializer(serializers.Serializer):
    """Fields a client sets, shared by create and PATCH."""

    channel = serializers.CharField(max_length=32)
    recipient = serializers.CharField(max_length=2048)
    subject = serializers.CharField(max_length=998, required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    payload = serializers.JSONField(required=False, allow_null=True)
    send_at = AwareDateTimeField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    max_attempts = serializers.IntegerField(min_value=1, max_value=50, required=False)

    def validate_channel(self, value: str) -> str:
        if value not in notifier.channel_names():
            raise serializers.ValidationError(f"Unknown channel; choose one of: {', '.join(notifier.channel_names())}.")
        return value

    def validate_payload(self, value: Any) -> Any:
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        if _has_nul(value):
            raise serializers.ValidationError("Null characters are not allowed.")
        return value

    def _check_recipient(self, attrs: dict[str, Any], channel: str) -> None:
        if "recipient" not in attrs and "channel" not in attrs:
            return
        recipient = attrs.get("recipient", getattr(self.instance, "recipient", ""))
        try:
            attrs["recipient"] = notifier.get_provider(channel).validate_recipient(recipient)
        except ValueError as exc:
            raise serializers.ValidationError({"recipient": [str(exc)]}) from exc


class NotificationCreateSerializer(NotificationContentSerializer):
    idempotency_key = serializers.CharField(max_length=255, required=False, allow_blank=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        self._check_recipient(attrs, attrs["channel"])
        attrs.setdefault("max_attempts", conf.max_attempts())
        return attrs


class NotificationUpdateSerializer(NotificationContentSerializer):
    """PATCH: any content field and ``send_at``; the channel's recipient rules still apply."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give at least one field to change.")
        self._check_recipient(attrs, attrs.get("channel", self.instance.channel))
        return attrs


class BulkCreateSerializer(serializers.Serializer):
    notifications = NotificationCreateSerializer(many=True, allow_empty=False, max_length=conf.BULK_MAX)


class BulkResultSerializer(serializers.Serializer):
    notifications = NotificationSerializer(many=True)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ("number", "started_at", "finished_at", "outcome", "error")
        read_only_fields = fields


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class WebhookSecretRotateSerializer(serializers.Serializer):
    overlap = serializers.BooleanField(
        default=True,
        help_text="false for a leaked secret: the old one stops signing at once, instead of for 24 h.",
    )
