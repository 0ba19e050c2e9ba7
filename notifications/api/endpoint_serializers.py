"""Shapes of ``/api/v1/endpoints/``: the field checks only; the rules live in services.endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from notifications.api.fields import AwareDateTimeField
from notifications.api.recipient_fields import AddressField
from notifications.models import Endpoint, EventType

EVENTS_HELP = "Event types it wants; empty (the default): every type."


class EndpointFieldsSerializer(serializers.Serializer):
    # The webhook channel's own check: http(s), and the private-address guard.
    url = AddressField(
        "webhook",
        max_length=2048,
        allow_null=False,
        required=True,
        help_text="An http(s) URL; private, loopback and link-local targets are refused (WEBHOOK_ALLOW_PRIVATE).",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), required=False, help_text=EVENTS_HELP
    )
    enabled = serializers.BooleanField(required=False, help_text="false pauses it; true re-enables a disabled one.")
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class EndpointUpdateSerializer(EndpointFieldsSerializer):
    """PATCH: any of ``url``, ``events``, ``enabled``, ``description``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give at least one of url, events, enabled, description.")
        return attrs


class EndpointRecoverSerializer(serializers.Serializer):
    since = AwareDateTimeField(help_text="Re-send every event delivery to it that failed at this time or later.")


class EndpointRecoveredSerializer(serializers.Serializer):
    recovered = serializers.IntegerField(help_text="How many failed event deliveries are sent again.")


class EndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), help_text=EVENTS_HELP)

    class Meta:
        model = Endpoint
        fields = ("id", "url", "events", "enabled", "disabled_reason", "description", "created_at", "updated_at")
        read_only_fields = fields
