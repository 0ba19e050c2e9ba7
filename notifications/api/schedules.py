"""``/api/v1/schedules/``: recurring notifications, one made at each occurrence of a cron."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view

from notifications import selectors, services
from notifications.api.owned import OwnedResourceViewSet
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
class ScheduleViewSet(OwnedResourceViewSet):
    serializer_class = ScheduleSerializer
    create_serializer_class = ScheduleCreateSerializer
    update_serializer_class = ScheduleUpdateSerializer
    queryset = Schedule.objects.none()  # for the schema; requests use the selectors

    def owned_list(self, owner: Any) -> QuerySet[Schedule]:
        return selectors.schedule_list(owner=owner)

    def owned_get(self, owner: Any, pk: str) -> Schedule | None:
        return selectors.schedule_get(owner=owner, schedule_id=pk)

    def owned_create(self, owner: Any, data: dict[str, Any]) -> Schedule:
        return services.schedule_create(owner=owner, data=data)

    def owned_update(self, instance: Schedule, changes: dict[str, Any]) -> Schedule:
        return services.schedule_update(schedule=instance, changes=changes)

    def owned_delete(self, instance: Schedule) -> None:
        services.schedule_delete(schedule=instance)
