"""``/api/v1/recipients/``: each action parses, calls one service or selector, renders."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import selectors, services
from notifications.api.pagination import NewestFirst
from notifications.api.parsers import require_body_media_type
from notifications.api.recipient_serializers import RecipientFilterSerializer, RecipientSerializer
from notifications.models import Recipient

NOT_FOUND = OpenApiResponse(description="Unknown id, or another client's.")
BAD_REQUEST = OpenApiResponse(description='Errors by field, e.g. {"timezone": ["Unknown timezone …"]}.')
PROFILE_EXAMPLE = {
    "email": "ada@example.com",
    "phone": "+14155550100",
    "timezone": "Europe/Paris",
    "locale": "fr",
    "preferences": {"channels": {"sms": False}, "categories": {"marketing": False}},
    "quiet_hours": {"start": "22:00", "end": "07:00"},
}


@extend_schema_view(
    list=extend_schema(
        summary="List your recipients, newest first",
        parameters=[
            OpenApiParameter("email", str, description="Only the profile(s) with this email."),
            OpenApiParameter("phone", str, description="Only the profile(s) with this phone (E.164)."),
        ],
        responses={200: RecipientSerializer(many=True), 400: BAD_REQUEST},
    ),
    retrieve=extend_schema(summary="Get one recipient", responses={200: RecipientSerializer, 404: NOT_FOUND}),
    update=extend_schema(
        summary="Create or replace a recipient's whole profile",
        responses={201: RecipientSerializer, 200: RecipientSerializer, 400: BAD_REQUEST},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a recipient",
        responses={200: RecipientSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Erase a recipient: the profile, and the addresses and content of your notifications to them",
        responses={204: None, 404: NOT_FOUND},
    ),
)
class RecipientViewSet(viewsets.GenericViewSet):
    serializer_class = RecipientSerializer
    pagination_class = NewestFirst
    queryset = Recipient.objects.none()  # for the schema; requests use the selectors
    lookup_value_regex = "[^/]+"

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions and throttling first
        if self.action in ("update", "partial_update"):
            require_body_media_type(request)

    def get_object(self) -> Recipient:
        recipient = selectors.recipient_get(owner=self.request.user, external_id=self.kwargs["pk"])
        if recipient is None:
            raise Http404
        return recipient

    def list(self, request: Request) -> Response:
        filters = RecipientFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        recipients = selectors.recipient_list(owner=request.user).filter(**filters.validated_data)
        page = self.paginate_queryset(recipients)
        return self.get_paginated_response(RecipientSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(RecipientSerializer(self.get_object()).data)

    def update(self, request: Request, pk: str) -> Response:
        if len(pk) > Recipient._meta.get_field("external_id").max_length:
            raise Http404  # no such id can exist, so none can be made
        serializer = RecipientSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recipient, created = services.recipient_put(owner=request.user, external_id=pk, data=serializer.validated_data)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(RecipientSerializer(recipient).data, status=code)

    def partial_update(self, request: Request, pk: str) -> Response:
        recipient = self.get_object()
        serializer = RecipientSerializer(recipient, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        recipient = services.recipient_update(recipient=recipient, changes=serializer.validated_data)
        return Response(RecipientSerializer(recipient).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.recipient_erase(owner=request.user, recipients=[self.get_object()])
        return Response(status=status.HTTP_204_NO_CONTENT)
