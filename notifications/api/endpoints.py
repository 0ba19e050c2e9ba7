"""``/api/v1/endpoints/``: where a client hears what became of its notifications (events)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import selectors, services
from notifications.api.endpoint_serializers import (
    EndpointFieldsSerializer,
    EndpointRecoveredSerializer,
    EndpointRecoverSerializer,
    EndpointSerializer,
    EndpointUpdateSerializer,
)
from notifications.api.owned import OwnedResourceViewSet
from notifications.api.views import UNSUPPORTED
from notifications.models import Endpoint

NOT_FOUND = OpenApiResponse(description="Unknown id, or another client's.")
BAD_REQUEST = OpenApiResponse(
    description='Errors by field, e.g. {"url": ["… refused unless WEBHOOK_ALLOW_PRIVATE=true."]}, '
    '{"events": {"0": ["\\"x\\" is not a valid choice."]}}, or {"detail": "At most 20 endpoints per client; …"}.'
)
# Each is posted as it is by tests/test_schema.py: an example that stops working fails the build.
CREATE_EXAMPLES = [
    OpenApiExample(
        "outcomes",
        summary="Sent and failed only",
        value={
            "url": "https://example.com/hooks/notifier-events",
            "events": ["notification.sent", "notification.failed"],
            "description": "order service",
        },
        request_only=True,
    ),
]


@extend_schema_view(
    list=extend_schema(summary="List your endpoints, newest first", responses={200: EndpointSerializer(many=True)}),
    retrieve=extend_schema(summary="Get an endpoint", responses={200: EndpointSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary="Add an endpoint: events about your notifications are POSTed to it, signed",
        request=EndpointFieldsSerializer,
        examples=CREATE_EXAMPLES,
        responses={201: EndpointSerializer, 400: BAD_REQUEST, 415: UNSUPPORTED},
    ),
    partial_update=extend_schema(
        summary="Change an endpoint; enabled=true re-enables one the service disabled",
        request=EndpointUpdateSerializer,
        responses={200: EndpointSerializer, 400: BAD_REQUEST, 404: NOT_FOUND, 415: UNSUPPORTED},
    ),
    destroy=extend_schema(
        summary="Delete an endpoint (its events not yet delivered are dropped)", responses={204: None, 404: NOT_FOUND}
    ),
)
class EndpointViewSet(OwnedResourceViewSet):
    serializer_class = EndpointSerializer
    create_serializer_class = EndpointFieldsSerializer
    update_serializer_class = EndpointUpdateSerializer
    queryset = Endpoint.objects.none()  # for the schema; requests use the selectors
    body_actions = ("create", "partial_update", "recover")

    def owned_list(self, owner: Any) -> QuerySet[Endpoint]:
        return selectors.endpoint_list(owner=owner)

    def owned_get(self, owner: Any, pk: str) -> Endpoint | None:
        return selectors.endpoint_get(owner=owner, endpoint_id=pk)

    def owned_create(self, owner: Any, data: dict[str, Any]) -> Endpoint:
        return services.endpoint_create(owner=owner, data=data)

    def owned_update(self, instance: Endpoint, changes: dict[str, Any]) -> Endpoint:
        return services.endpoint_update(endpoint=instance, changes=changes)

    def owned_delete(self, instance: Endpoint) -> None:
        services.endpoint_delete(endpoint=instance)

    @extend_schema(
        summary="Send again every event delivery to this endpoint that failed since a time",
        request=EndpointRecoverSerializer,
        examples=[
            OpenApiExample("since", summary="Since a time", value={"since": "2025-01-01T00:00:00Z"}, request_only=True)
        ],
        responses={202: EndpointRecoveredSerializer, 400: BAD_REQUEST, 404: NOT_FOUND, 415: UNSUPPORTED},
    )
    @action(detail=True, methods=["post"])
    def recover(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        options = EndpointRecoverSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        recovered = services.endpoint_recover(endpoint=endpoint, since=options.validated_data["since"])
        return Response({"recovered": recovered}, status=status.HTTP_202_ACCEPTED)
