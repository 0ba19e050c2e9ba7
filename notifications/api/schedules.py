"""``/api/v1/schedules/``: recurring notifications, one made at each occurrence of a cron."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import selectors, services
from notifications.api.pagination import NewestFirst
from notifications.api.parsers import require_body_media_type
from notifications.api.schedule_serializers import (
    ScheduleCreateSerializer,
    ScheduleSerializer,
    ScheduleUpdateSerializer,
)
from notifications.api.views import UNSUPPORTED
from notifications.models import Schedule

NOT_FOUND = OpenApiResponse(description="Unknown id, or another client's.")
BAD_REQUEST = OpenApiResponse(
    description='Errors by field, e.g. {"cron": ["Not a cron expression: …"]}; the notification body\'s '
    'errors nested under it, e.g. {"notification": {"recipient": ["This field is required, …"]}}.'
)
# Each is posted as it is by tests/test_schema.py: an example that stops working fails the build.
CREATE_EXAMPLES = [
    OpenApiExample(
        "weekdays",
        summary="Every weekday at 9:00 in Paris",
        value={
            "cron": "0 9 * * 1-5",
            "timezone": "Europe/Paris",
            "notification": {"channel": "console", "recipient": "ops-log", "body": "Standup in 5 minutes."},
            "until": None,
        },
        request_only=True,
    ),
]
BODY_ACTIONS = ("create", "partial_update")


@extend_schema_view(
    list=extend_schema(summary="List your schedules, newest first", responses={200: ScheduleSerializer(many=True)}),
    retrieve=extend_schema(
        summary="Get a schedule: its next run, last run and counts", responses={200: ScheduleSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary="Make a notification at each occurrence of a cron, on a timezone's wall clock",
        request=ScheduleCreateSerializer,
        examples=CREATE_EXAMPLES,
        responses={201: ScheduleSerializer, 400: BAD_REQUEST, 415: UNSUPPORTED},
    ),
    partial_update=extend_schema(
        summary="Pause, resume or change a schedule; its next run is computed again from now",
        request=ScheduleUpdateSerializer,
        responses={200: ScheduleSerializer, 400: BAD_REQUEST, 404: NOT_FOUND, 415: UNSUPPORTED},
    ),
    destroy=extend_schema(
        summary="Delete a schedule (the notifications it made stay)", responses={204: None, 404: NOT_FOUND}
    ),
)
class ScheduleViewSet(viewsets.GenericViewSet):
    serializer_class = ScheduleSerializer
    pagination_class = NewestFirst
    queryset = Schedule.objects.none()  # for the schema; requests use the selectors
    lookup_value_regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions and throttling first
        if self.action in BODY_ACTIONS:
            require_body_media_type(request)

    def get_object(self) -> Schedule:
        schedule = selectors.schedule_get(owner=self.request.user, schedule_id=self.kwargs["pk"])
        if schedule is None:
            raise Http404
        return schedule

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.schedule_list(owner=request.user))
        return self.get_paginated_response(ScheduleSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ScheduleSerializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        serializer = ScheduleCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        schedule = services.schedule_create(owner=request.user, data=serializer.validated_data)
        return Response(ScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        schedule = self.get_object()
        changes = ScheduleUpdateSerializer(data=request.data)
        changes.is_valid(raise_exception=True)
        schedule = services.schedule_update(schedule=schedule, changes=changes.validated_data)
        return Response(ScheduleSerializer(schedule).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.schedule_delete(schedule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
