"""Input and output shapes of the API. Validation of fields only: the rules live in services."""

from __future__ import annotations

import functools
import json
from typing import Any

from rest_framework import serializers

import notifier
from notifications import conf
from notifications.api.fields import (
    MAX_PAYLOAD_DEPTH,
    AwareDateTimeField,
    ChannelField,
    LocaleField,
    PayloadField,
    no_line_breaks,
)
from notifications.models import DeliveryAttempt, Notification, Priority, ProviderEvent

# What NOTIFY_MAX_CONTENT_BYTES measures, as stored.
CONTENT_FIELDS = ("subject", "body", "payload")


class NotificationSerializer(serializers.ModelSerializer):
    """A notification as clients see it."""

    payload = PayloadField(read_only=True, allow_null=True)
    data = PayloadField(read_only=True, allow_null=True)
    digest = serializers.ListField(
        child=serializers.UUIDField(),
        read_only=True,
        allow_null=True,
        help_text="On a digest (the one notification sent when a window closes): its members' ids, oldest first.",
    )

    class Meta:
        model = Notification
        fields = (
            "id",
            "channel",
            "recipient",
            "to",
            "category",
            "broadcast",
            "digest_window",
            "digest",
            "subject",
            "body",
            "payload",
            "html",
            "template",
            "template_version",
            "data",
            "locale",
            "send_at",
            "priority",
            "max_attempts",
            "idempotency_key",
            "status",
            "attempts",
            "last_error",
            "failure_reason",
            "delivery_status",
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


def content_size(subject: str, body: str, payload: dict[str, Any] | None) -> int:
    """UTF-8 bytes of a notification's content as stored: the payload as compact JSON."""
    size = len(subject.encode()) + len(body.encode())
    if payload is not None:
        size += len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    return size


class NotificationContentSerializer(serializers.Serializer):
    """Fields a client sets, shared by create and PATCH."""

    channel = ChannelField()
    recipient = serializers.CharField(
        max_length=2048,
        required=False,
        help_text=(
            "An http(s) URL for webhook, an email address for email, any label for console. "
            "Or give `to` instead, never both."
        ),
    )
    subject = serializers.CharField(
        max_length=998,
        required=False,
        allow_blank=True,
        validators=[no_line_breaks],
        help_text="One line: no CR or LF.",
    )
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    payload = PayloadField(
        required=False,
        allow_null=True,
        help_text=(
            f"A JSON object, nested at most {MAX_PAYLOAD_DEPTH} levels; a webhook posts it as its body. "
            "Subject, body and payload together: at most NOTIFY_MAX_CONTENT_BYTES (default 256 KiB)."
        ),
    )
    send_at = AwareDateTimeField(
        required=False,
        allow_null=True,
        help_text="ISO 8601 with a UTC offset (Z or +02:00). Absent, null or past: now.",
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False, help_text="Default: normal.")
    max_attempts = serializers.IntegerField(
        min_value=1, max_value=50, required=False, help_text="Default: the server's NOTIFY_MAX_ATTEMPTS."
    )

    def _check_recipient(self, attrs: dict[str, Any], channel: str) -> None:
        if "recipient" not in attrs and "channel" not in attrs:
            return
        recipient = attrs.get("recipient", getattr(self.instance, "recipient", ""))
        try:
            attrs["recipient"] = notifier.get_provider(channel).validate_recipient(recipient)
        except ValueError as exc:
            raise serializers.ValidationError({"recipient": [str(exc)]}) from exc

    def _check_channel_content(self, attrs: dict[str, Any], channel: str) -> None:
        """What this channel can carry (an SMS body's length, …), as the row would hold it."""
        content = {field: attrs.get(field, getattr(self.instance, field, None)) for field in CONTENT_FIELDS}
        try:
            notifier.get_provider(channel).validate_content(
                subject=content["subject"] or "", body=content["body"] or "", payload=content["payload"]
            )
        except ValueError as exc:
            field = exc.args[1] if len(exc.args) > 1 else "body"
            raise serializers.ValidationError({field: [str(exc.args[0])]}) from exc

    def _check_content_size(self, attrs: dict[str, Any]) -> None:
        """At most ``NOTIFY_MAX_CONTENT_BYTES`` of subject, body and payload together, as the row
        would store them (on PATCH, the stored fields with the changed ones); the error names the
        fields this request sets."""
        given = [field for field in CONTENT_FIELDS if field in attrs]
        if not given:
            return
        content = {field: attrs.get(field, getattr(self.instance, field, None)) for field in CONTENT_FIELDS}
        size = content_size(content["subject"] or "", content["body"] or "", content["payload"])
        limit = conf.max_content_bytes()
        if size > limit:
            message = f"Content is {size:,} bytes; at most {limit:,} (NOTIFY_MAX_CONTENT_BYTES)."
            named = [field for field in given if attrs[field]] or given
            raise serializers.ValidationError({field: [message] for field in named})


class DigestSerializer(serializers.Serializer):
    """Where a notification joins a digest instead of being sent on its own."""

    key = serializers.SlugField(max_length=64, help_text="Members with the same key, recipient and channel join.")
    window = serializers.IntegerField(
        min_value=10, max_value=86_400, help_text="Seconds from the first member to the digest's send."
    )


class NotificationCreateSerializer(NotificationContentSerializer):
    idempotency_key = serializers.CharField(max_length=255, required=False, allow_blank=False)
    to = serializers.CharField(
        max_length=255,
        required=False,
        help_text=(
            "A recipient profile's id, instead of `recipient`: the channel's address is read from the "
            "profile when the notification is sent, and its preferences and quiet hours apply."
        ),
    )
    category = serializers.SlugField(
        max_length=64, required=False, help_text="What this is about (e.g. marketing): preferences turn categories off."
    )
    template = serializers.SlugField(
        max_length=64, required=False, help_text="A template's name: rendered now with `data`, instead of subject/body."
    )
    data = PayloadField(required=False, help_text="The template's variables: a JSON object.")
    locale = LocaleField(required=False, help_text="BCP 47; picks the template's translation (pt-BR, then pt).")
    digest = DigestSerializer(
        required=False,
        help_text=(
            "Join the open digest of this key for the recipient and channel (or open one): sent as one "
            "notification when the window ends, the template rendered with `items`, every member's data."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        self._check_addressee(attrs)
        self._check_digest(attrs)
        if attrs.get("template"):
            return self._validate_templated(attrs)
        if "data" in attrs:
            raise serializers.ValidationError({"data": ["Only with a template."]})
        self._check_recipient(attrs, attrs["channel"])
        self._check_channel_content(attrs, attrs["channel"])
        self._check_content_size(attrs)
        attrs.setdefault("max_attempts", conf.max_attempts())
        return attrs

    def _check_digest(self, attrs: dict[str, Any]) -> None:
        """A digest renders its first member's template with every member's data: one is needed,
        and a member has no time of its own (its window's end sends it)."""
        if "digest" not in attrs:
            return
        if not attrs.get("template"):
            raise serializers.ValidationError({"digest": ["Needs a template: the digest renders it with `items`."]})
        if attrs.get("send_at"):
            raise serializers.ValidationError({"send_at": ["Not with digest: the window's end sends it."]})

    def _check_addressee(self, attrs: dict[str, Any]) -> None:
        """Exactly one of ``recipient`` (an address) and ``to`` (a profile's id)."""
        if "recipient" in attrs and "to" in attrs:
            raise serializers.ValidationError({"to": ["Give recipient or to, not both."]})
        if "recipient" not in attrs and "to" not in attrs:
            raise serializers.ValidationError({"recipient": ["This field is required, unless to names a recipient."]})

    def _check_recipient(self, attrs: dict[str, Any], channel: str) -> None:
        if "to" in attrs:
            return  # the profile's addresses were checked when it was stored
        super()._check_recipient(attrs, channel)

    def _validate_templated(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The template renders in the service, which checks the rendered text as this would."""
        given = [field for field in ("subject", "body") if field in attrs]
        if given:
            raise serializers.ValidationError(
                {field: ["Give a template or a subject and body, not both."] for field in given}
            )
        self._check_recipient(attrs, attrs["channel"])
        attrs.setdefault("data", {})
        attrs.setdefault("max_attempts", conf.max_attempts())
        return attrs


class NotificationUpdateSerializer(NotificationContentSerializer):
    """PATCH: any content field and ``send_at``; the channel's recipient rules still apply."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give at least one field to change.")
        if self.instance.to:
            fixed = [field for field in ("recipient", "channel") if field in attrs]
            message = f"Sent to recipient {self.instance.to!r}: its address comes from the profile."
            if fixed:
                raise serializers.ValidationError({field: [message] for field in fixed})
        self._check_recipient(attrs, attrs.get("channel", self.instance.channel))
        self._check_channel_content(attrs, attrs.get("channel", self.instance.channel))
        self._check_content_size(attrs)
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


class ProviderEventSerializer(serializers.ModelSerializer):
    """One report of a provider about a notification (``delivery_status`` is the latest's type)."""

    detail = serializers.DictField(
        read_only=True, help_text='What the provider said, e.g. {"status": "undelivered", "error_code": "30003"}.'
    )

    class Meta:
        model = ProviderEvent
        fields = ("type", "provider", "occurred_at", "detail")
        read_only_fields = fields


class TwilioStatusCallbackSerializer(serializers.Serializer):
    """The fields of Twilio's message status callback that are read, by Twilio's names; Twilio
    sends more, and the signature covers them all."""

    MessageSid = serializers.CharField(max_length=64)
    MessageStatus = serializers.CharField(max_length=32)
    ErrorCode = serializers.CharField(max_length=16, required=False, allow_blank=True)


class CallbackResultSerializer(serializers.Serializer):
    stored = serializers.BooleanField(
        help_text="false for a report already stored, of a status that is not kept, or naming no notification."
    )


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class WebhookSecretRotateSerializer(serializers.Serializer):
    overlap = serializers.BooleanField(
        default=True,
        help_text="false for a leaked secret: the old one stops signing at once, instead of for 24 h.",
    )
