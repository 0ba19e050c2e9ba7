"""``/api/v1/broadcasts/``: one message to many, accepted at once (202) and written by a task."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import selectors, services
from notifications.api.broadcast_serializers import BroadcastCreateSerializer, BroadcastSerializer
from notifications.api.pagination import NewestFirst
from notifications.api.parsers import require_body_media_type
from notifications.api.views import BAD_REQUEST, IDEMPOTENCY_HEADER, UNSUPPORTED, _with_idempotency_header
from notifications.models import Broadcast

NOT_FOUND = OpenApiResponse(description="Unknown id, or another client's.")
# Each is posted as it is by tests/test_schema.py: an example that stops working fails the build.
CREATE_EXAMPLES = [
    OpenApiExample(
        "list",
        summary="To a list of recipient ids, on two channels",
        value={
            "to": ["ada", "grace"],
            "channels": ["console", "email"],
            "subject": "Hi",
            "body": "Maintenance at 22:00.",
        },
        request_only=True,
    ),
]


@extend_schema_view(
    list=extend_schema(summary="List your broadcasts, newest first", responses={200: BroadcastSerializer(many=True)}),
    retrieve=extend_schema(
        summary="Get a broadcast: its status and counts", responses={200: BroadcastSerializer, 404: NOT_FOUND}
    ),
)
class BroadcastViewSet(viewsets.GenericViewSet):
    serializer_class = BroadcastSerializer
    pagination_class = NewestFirst
    queryset = Broadcast.objects.none()  # for the schema; requests use the selectors
    lookup_value_regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions and throttling first
        if self.action == "create":
            require_body_media_type(request)

    def get_object(self) -> Broadcast:
        broadcast = selectors.broadcast_get(owner=self.request.user, broadcast_id=self.kwargs["pk"])
        if broadcast is None:
            raise Http404
        return broadcast

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.broadcast_list(owner=request.user))
        return self.get_paginated_response(BroadcastSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(BroadcastSerializer(self.get_object()).data)

    @extend_schema(
        summary="Send one message to many recipients: accepted now, written in batches by a task",
        parameters=[IDEMPOTENCY_HEADER],
        request=BroadcastCreateSerializer,
        examples=CREATE_EXAMPLES,
        responses={
            202: BroadcastSerializer,
            200: OpenApiResponse(BroadcastSerializer, description="Replay of an idempotency key."),
            400: BAD_REQUEST,
            415: UNSUPPORTED,
            422: OpenApiResponse(description="Idempotency key reused with a different body."),
        },
    )
    def create(self, request: Request) -> Response:
        serializer = BroadcastCreateSerializer(data=_with_idempotency_header(request))
        serializer.is_valid(raise_exception=True)
        broadcast, created = services.broadcast_create(owner=request.user, data=serializer.validated_data)
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return Response(BroadcastSerializer(broadcast).data, status=code)

    @extend_schema(
        summary="Cancel: stop the expansion and cancel every notification of it still waiting",
        request=None,
        responses={200: BroadcastSerializer, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        broadcast = services.broadcast_cancel(broadcast=self.get_object())
        return Response(BroadcastSerializer(broadcast).data)
