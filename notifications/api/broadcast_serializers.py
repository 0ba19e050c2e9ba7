"""Input and output shapes of ``/api/v1/broadcasts/``. Field checks only: the rules (the topic
and template exist, idempotency, the expansion) live in ``services.broadcasts``."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

import notifier
from notifications import conf, services
from notifications.api.fields import AwareDateTimeField, ChannelField, LocaleField, PayloadField, no_line_breaks
from notifications.api.serializers import content_size
from notifications.models import Broadcast, Priority


class BroadcastCreateSerializer(serializers.Serializer):
    to = serializers.ListField(
        child=serializers.CharField(max_length=255, trim_whitespace=False),
        allow_empty=False,
        max_length=services.REQUEST_IDS_MAX,
        required=False,
        help_text=f"Recipient ids, at most {services.REQUEST_IDS_MAX:,}; or give `topic`.",
    )
    topic = serializers.SlugField(max_length=64, required=False, help_text="A topic's key; or give `to`.")
    channels = serializers.ListField(
        child=ChannelField(), allow_empty=False, help_text="One notification per recipient and channel."
    )
    subject = serializers.CharField(max_length=998, required=False, allow_blank=True, validators=[no_line_breaks])
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    payload = PayloadField(required=False, allow_null=True)
    template = serializers.SlugField(
        max_length=64, required=False, help_text="A template's name, rendered for each recipient with `data`."
    )
    data = PayloadField(required=False, help_text="The template's variables; `recipient` is the profile.")
    locale = LocaleField(required=False, help_text="Every recipient's translation; default: each one's own locale.")
    category = serializers.SlugField(max_length=64, required=False, help_text="For recipients' preferences.")
    send_at = AwareDateTimeField(required=False, allow_null=True, help_text="With a UTC offset; default: now.")
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    max_attempts = serializers.IntegerField(min_value=1, max_value=50, required=False)
    idempotency_key = serializers.CharField(max_length=255, required=False, allow_blank=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("to" in attrs) == ("topic" in attrs):
            raise serializers.ValidationError({"to": ["Give either `to` (recipient ids) or `topic`, not both."]})
        if attrs.get("template"):
            given = [field for field in ("subject", "body") if field in attrs]
            if given:
                raise serializers.ValidationError(
                    {field: ["Give a template or a subject and body, not both."] for field in given}
                )
            attrs.setdefault("data", {})
        elif "data" in attrs:
            raise serializers.ValidationError({"data": ["Only with a template."]})
        else:
            self._check_content(attrs)
        attrs.setdefault("max_attempts", conf.max_attempts())
        return attrs

    def _check_content(self, attrs: dict[str, Any]) -> None:
        """What each channel can carry, and ``NOTIFY_MAX_CONTENT_BYTES``, as for a notification."""
        subject, body, payload = attrs.get("subject") or "", attrs.get("body") or "", attrs.get("payload")
        for channel in dict.fromkeys(attrs["channels"]):
            try:
                notifier.get_provider(channel).validate_content(subject=subject, body=body, payload=payload)
            except ValueError as exc:
                field = exc.args[1] if len(exc.args) > 1 else "body"
                raise serializers.ValidationError({field: [f"{channel}: {exc.args[0]}"]}) from exc
        size, limit = content_size(subject, body, payload), conf.max_content_bytes()
        if size > limit:
            message = f"Content is {size:,} bytes; at most {limit:,} (NOTIFY_MAX_CONTENT_BYTES)."
            raise serializers.ValidationError({"body": [message]})


class BroadcastSerializer(serializers.ModelSerializer):
    """A broadcast as clients see it: its counts grow while it is ``expanding``."""

    status = serializers.CharField(read_only=True, help_text="expanding, done or cancelled.")
    notifications = serializers.IntegerField(read_only=True, help_text="Notifications written so far.")
    skipped = serializers.IntegerField(
        read_only=True, help_text="Recipient and channel pairs left out: no profile, no address, opted out."
    )
    template = serializers.CharField(source="content.template", default="", read_only=True)
    category = serializers.CharField(source="content.category", default="", read_only=True)
    send_at = serializers.CharField(source="content.send_at", default=None, read_only=True, allow_null=True)
    priority = serializers.CharField(source="content.priority", default="normal", read_only=True)

    class Meta:
        model = Broadcast
        fields = (
            "id",
            "status",
            "notifications",
            "skipped",
            "channels",
            "topic",
            "template",
            "category",
            "send_at",
            "priority",
            "idempotency_key",
            "created_at",
            "updated_at",
            "finished_at",
        )
        read_only_fields = fields
