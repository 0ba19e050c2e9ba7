"""Input and output shapes of ``/api/v1/recipients/``. Field checks only (recipient_fields)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications.api import recipient_fields as checks
from notifications.api.fields import locale_tag
from notifications.models import Recipient


@extend_schema_field(
    {
        "type": "object",
        "example": {"channels": {"sms": False}, "categories": {"marketing": False}},
        "description": 'channels: {channel: bool}; categories: {slug: bool or {"channels": {channel: bool}}}. '
        "Absent means allowed; unknown keys are refused.",
    }
)
class PreferencesField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> dict[str, Any]:
        return checks.preferences(super().to_internal_value(data))


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "properties": {"start": {"type": "string", "example": "22:00"}, "end": {"type": "string", "example": "07:00"}},
        "description": "In the recipient's timezone; a span over midnight is allowed.",
    }
)
class QuietHoursField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> dict[str, str] | None:
        return checks.quiet_hours(super().to_internal_value(data))


class RecipientSerializer(serializers.ModelSerializer):
    """A profile as clients see and send it; ``id`` is the client's id for the person (from the URL)."""

    id = serializers.CharField(source="external_id", read_only=True)
    email = serializers.EmailField(allow_null=True, required=False, max_length=254)
    phone = checks.AddressField("sms", max_length=32)
    telegram_chat_id = checks.AddressField("telegram", max_length=64)
    slack_id = checks.AddressField("slack", max_length=64)
    webhook_url = checks.AddressField("webhook", max_length=2048)
    push_tokens = serializers.ListField(
        child=checks.AddressField("push", allow_null=False, max_length=512),
        max_length=checks.MAX_PUSH_TOKENS,
        required=False,
    )
    timezone = serializers.CharField(max_length=64, required=False, validators=[checks.timezone_name])
    locale = serializers.CharField(max_length=35, required=False)
    preferences = PreferencesField(required=False)
    quiet_hours = QuietHoursField(required=False, allow_null=True)

    class Meta:
        model = Recipient
        fields = (
            "id",
            "email",
            "phone",
            "telegram_chat_id",
            "slack_id",
            "webhook_url",
            "push_tokens",
            "timezone",
            "locale",
            "preferences",
            "quiet_hours",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")

    def validate_email(self, value: str | None) -> str | None:
        if value is None:
            return None
        local, _, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"

    def validate_locale(self, value: str) -> str:
        return locale_tag(value)

    def validate_push_tokens(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))  # one token once, first place kept


class RecipientFilterSerializer(serializers.Serializer):
    """The list's filters, normalised as the stored values are."""

    email = serializers.EmailField(required=False)
    phone = checks.AddressField("sms", allow_null=False)

    def validate_email(self, value: str) -> str:
        return RecipientSerializer().validate_email(value)
