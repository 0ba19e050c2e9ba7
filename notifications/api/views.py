"""The API: each action parses its input, calls one service or selector, renders."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import selectors, services
from notifications.api.filters import NotificationFilter
from notifications.api.pagination import NewestFirst
from notifications.api.parsers import require_body_media_type
from notifications.api.serializers import (
    BulkCreateSerializer,
    BulkResultSerializer,
    DeliveryAttemptSerializer,
    NotificationCreateSerializer,
    NotificationSerializer,
    NotificationUpdateSerializer,
    ProviderEventSerializer,
    WebhookSecretRotateSerializer,
    WebhookSecretSerializer,
)
from notifications.models import Notification

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Same as the `idempotency_key` field: a replay returns the original (200).",
)
NOT_FOUND = OpenApiResponse(description="Unknown id, or another client's.")
CONFLICT = OpenApiResponse(description="Not allowed in the notification's current status.")
BAD_REQUEST = OpenApiResponse(description='Errors by field, e.g. {"send_at": ["Include a UTC offset, …"]}.')
UNSUPPORTED = OpenApiResponse(description="No Content-Type, or one not accepted; the answer lists those accepted.")
# Each is posted as it is by tests/test_schema.py: an example that stops working fails the build.
CREATE_EXAMPLES = [
    OpenApiExample(
        "console",
        summary="Console, now",
        value={"channel": "console", "recipient": "ops-log", "body": "Deploy finished."},
        request_only=True,
    ),
    OpenApiExample(
        "webhook",
        summary="Webhook at a time, once",
        value={
            "channel": "webhook",
            "recipient": "https://example.com/hooks/notifier",
            "payload": {"order": 42, "event": "shipped"},
            "send_at": "2030-01-01T09:00:00Z",
            "idempotency_key": "order-42-shipped",
        },
        request_only=True,
    ),
    OpenApiExample(
        "email",
        summary="Email, high priority",
        value={
            "channel": "email",
            "recipient": "someone@example.com",
            "subject": "Your order has shipped",
            "body": "Order 42 is on its way.",
            "priority": "high",
            "max_attempts": 5,
        },
        request_only=True,
    ),
]
BULK_EXAMPLES = [
    OpenApiExample(
        "bulk",
        summary="Two at once",
        value={
            "notifications": [
                {"channel": "console", "recipient": "ops-log", "body": "first"},
                {"channel": "webhook", "recipient": "https://example.com/hooks/notifier", "payload": {"n": 2}},
            ]
        },
        request_only=True,
    ),
]
BODY_ACTIONS = ("create", "bulk", "partial_update")


@extend_schema_view(
    list=extend_schema(
        summary="List your notifications, newest first",
        responses={200: NotificationSerializer(many=True), 400: BAD_REQUEST},
    ),
    retrieve=extend_schema(summary="Get one notification", responses={200: NotificationSerializer, 404: NOT_FOUND}),
)
class NotificationViewSet(viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    pagination_class = NewestFirst
    filterset_class = NotificationFilter
    queryset = Notification.objects.none()  # for the schema; requests use get_queryset()
    lookup_value_regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions and throttling first
        if self.action in BODY_ACTIONS:
            require_body_media_type(request)

    def get_queryset(self):
        return selectors.notification_list(owner=self.request.user)

    def get_serializer_class(self):
        return {
            "create": NotificationCreateSerializer,
            "bulk": BulkCreateSerializer,
            "partial_update": NotificationUpdateSerializer,
            "attempts": DeliveryAttemptSerializer,
            "events": ProviderEventSerializer,
        }.get(self.action, NotificationSerializer)

    def get_object(self) -> Notification:
        notification = selectors.notification_get(owner=self.request.user, notification_id=self.kwargs["pk"])
        if notification is None:
            raise Http404
        return notification

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(NotificationSerializer(self.get_object()).data)

    @extend_schema(
        summary="Schedule a notification",
        parameters=[IDEMPOTENCY_HEADER],
        request=NotificationCreateSerializer,
        examples=CREATE_EXAMPLES,
        responses={
            201: NotificationSerializer,
            200: OpenApiResponse(NotificationSerializer, description="Replay of an idempotency key."),
            400: BAD_REQUEST,
            415: UNSUPPORTED,
            422: OpenApiResponse(description="Idempotency key reused with a different body."),
        },
    )
    def create(self, request: Request) -> Response:
        data = _with_idempotency_header(request)
        serializer = NotificationCreateSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        notification, created = services.notification_create(owner=request.user, data=serializer.validated_data)
        return Response(
            NotificationSerializer(notification).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        summary="Schedule up to 1,000 notifications, all or nothing",
        request=BulkCreateSerializer,
        examples=BULK_EXAMPLES,
        responses={
            201: BulkResultSerializer,
            400: OpenApiResponse(
                description='Errors by item index, e.g. {"notifications": {"1": {"recipient": […]}}}.'
            ),
            415: UNSUPPORTED,
        },
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        serializer = BulkCreateSerializer(data=request.data)
        if not serializer.is_valid():
            return Response(_errors_by_index(serializer.errors), status=status.HTTP_400_BAD_REQUEST)
        notifications = services.notification_bulk_create(
            owner=request.user, items=serializer.validated_data["notifications"]
        )
        return Response(
            {"notifications": NotificationSerializer(notifications, many=True).data}, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Reschedule or edit a scheduled notification",
        request=NotificationUpdateSerializer,
        examples=[
            OpenApiExample("later", summary="Later", value={"send_at": "2030-01-02T09:00:00Z"}, request_only=True)
        ],
        responses={200: NotificationSerializer, 400: BAD_REQUEST, 404: NOT_FOUND, 409: CONFLICT, 415: UNSUPPORTED},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        notification = self.get_object()
        serializer = NotificationUpdateSerializer(notification, data=request.data)
        serializer.is_valid(raise_exception=True)
        notification = services.notification_reschedule(notification=notification, changes=serializer.validated_data)
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        summary="Cancel (same as POST cancel/)",
        request=None,
        responses={200: NotificationSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        return self._cancel()

    @extend_schema(
        summary="Cancel", request=None, responses={200: NotificationSerializer, 404: NOT_FOUND, 409: CONFLICT}
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return self._cancel()

    def _cancel(self) -> Response:
        notification = services.notification_cancel(notification=self.get_object())
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        summary="Retry a failed notification now",
        request=None,
        responses={200: NotificationSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        notification = services.notification_retry(notification=self.get_object())
        return Response(NotificationSerializer(notification).data)

    @extend_schema(summary="Delivery attempts", responses={200: DeliveryAttemptSerializer(many=True), 404: NOT_FOUND})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def attempts(self, request: Request, pk: str) -> Response:
        attempts = selectors.attempt_list(notification=self.get_object())
        return Response(DeliveryAttemptSerializer(attempts, many=True).data)

    @extend_schema(
        summary="What the provider reported, oldest first",
        responses={200: ProviderEventSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def events(self, request: Request, pk: str) -> Response:
        events = selectors.provider_event_list(notification=self.get_object())
        return Response(ProviderEventSerializer(events, many=True).data)


def _with_idempotency_header(request: Request):
    header = request.headers.get("Idempotency-Key")
    if not header:
        return request.data
    if not isinstance(request.data, dict):
        return request.data  # the serializer reports the malformed body
    body_key = request.data.get("idempotency_key")
    if body_key not in (None, header):
        raise serializers.ValidationError(
            {"idempotency_key": ["Differs from the Idempotency-Key header; give one or make them equal."]}
        )
    data = request.data.copy() if hasattr(request.data, "copy") else dict(request.data)
    data["idempotency_key"] = header
    return data


def _errors_by_index(errors: dict) -> dict:
    """DRF lists an error dict per item, empty for good ones; keep only the bad, by index."""
    items = errors.get("notifications")
    if isinstance(items, list) and items and all(isinstance(item, dict) for item in items):
        return {"notifications": {str(index): item for index, item in enumerate(items) if item}}
    return errors


class WebhookSecretView(APIView):
    @extend_schema(summary="Your webhook signing secret (made on first use)", responses=WebhookSecretSerializer)
    def get(self, request: Request) -> Response:
        secret = services.webhook_secret_get_or_create(owner_id=request.user.pk)
        return Response(WebhookSecretSerializer(secret).data)


class WebhookSecretRotateView(APIView):
    @extend_schema(
        summary="Rotate your webhook signing secret; the old one signs too for 24 h unless overlap is false",
        request=WebhookSecretRotateSerializer,
        responses=WebhookSecretSerializer,
    )
    def post(self, request: Request) -> Response:
        options = WebhookSecretRotateSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        secret = services.webhook_secret_rotate(owner=request.user, overlap=options.validated_data["overlap"])
        return Response(WebhookSecretSerializer(secret).data)
