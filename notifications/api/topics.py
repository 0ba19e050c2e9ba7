"""``/api/v1/topics/``: a client's named lists of recipient ids, for broadcasts."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import selectors, services
from notifications.api.pagination import NewestFirst
from notifications.api.parsers import require_body_media_type
from notifications.models import Topic

NOT_FOUND = OpenApiResponse(description="No topic of yours by that key.")
BAD_REQUEST = OpenApiResponse(
    description='Errors by field, e.g. {"recipients": ["Ensure this field has no more than 10000 elements."]}, '
    "or a topic that would hold more than 1,000,000 recipients (nothing is changed)."
)
MEMBERS_EXAMPLE = OpenApiExample(
    "members", summary="Three recipients", value={"recipients": ["ada", "grace", "linus"]}, request_only=True
)
BODY_ACTIONS = ("update", "subscribe", "unsubscribe")


class TopicKeySerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=64)


def _members_field(*, allow_empty: bool) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=255, trim_whitespace=False),
        allow_empty=allow_empty,
        max_length=services.REQUEST_IDS_MAX,
        help_text=f"Recipient ids (each up to 255 characters), at most {services.REQUEST_IDS_MAX:,} per request; "
        "an id need not have a profile.",
    )


class TopicPutSerializer(serializers.Serializer):
    recipients = _members_field(allow_empty=True)


class TopicMembersSerializer(serializers.Serializer):
    recipients = _members_field(allow_empty=False)


class TopicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Topic
        fields = ("key", "count")
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="List your topics, newest first", responses={200: TopicSerializer(many=True)}),
    retrieve=extend_schema(summary="Get a topic's member count", responses={200: TopicSerializer, 404: NOT_FOUND}),
    update=extend_schema(
        summary="Create a topic, or replace all its members",
        request=TopicPutSerializer,
        examples=[MEMBERS_EXAMPLE],
        responses={201: TopicSerializer, 200: TopicSerializer, 400: BAD_REQUEST},
    ),
    destroy=extend_schema(summary="Delete a topic and its members", responses={204: None, 404: NOT_FOUND}),
)
class TopicViewSet(viewsets.GenericViewSet):
    serializer_class = TopicSerializer
    pagination_class = NewestFirst
    queryset = Topic.objects.none()  # for the schema; requests use the selectors
    lookup_field = "key"
    lookup_value_regex = "[^/]+"

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions and throttling first
        if self.action in BODY_ACTIONS:
            require_body_media_type(request)

    def get_object(self) -> Topic:
        topic = selectors.topic_get(owner=self.request.user, key=self.kwargs["key"])
        if topic is None:
            raise Http404
        return topic

    def _valid_key(self, key: str) -> str:
        TopicKeySerializer(data={"key": key}).is_valid(raise_exception=True)
        return key

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.topic_list(owner=request.user))
        return self.get_paginated_response(TopicSerializer(page, many=True).data)

    def retrieve(self, request: Request, key: str) -> Response:
        return Response(TopicSerializer(self.get_object()).data)

    def update(self, request: Request, key: str) -> Response:
        key = self._valid_key(key)
        members = TopicPutSerializer(data=request.data)
        members.is_valid(raise_exception=True)
        topic, created = services.topic_put(
            owner=request.user, key=key, recipient_ids=members.validated_data["recipients"]
        )
        return Response(TopicSerializer(topic).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def destroy(self, request: Request, key: str) -> Response:
        services.topic_delete(topic=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Add recipients to a topic (made if absent)",
        request=TopicMembersSerializer,
        examples=[MEMBERS_EXAMPLE],
        responses={200: TopicSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["post"])
    def subscribe(self, request: Request, key: str) -> Response:
        key = self._valid_key(key)
        members = TopicMembersSerializer(data=request.data)
        members.is_valid(raise_exception=True)
        topic = services.topic_subscribe(
            owner=request.user, key=key, recipient_ids=members.validated_data["recipients"]
        )
        return Response(TopicSerializer(topic).data)

    @extend_schema(
        summary="Remove recipients from a topic",
        request=TopicMembersSerializer,
        examples=[MEMBERS_EXAMPLE],
        responses={200: TopicSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def unsubscribe(self, request: Request, key: str) -> Response:
        topic = self.get_object()
        members = TopicMembersSerializer(data=request.data)
        members.is_valid(raise_exception=True)
        topic = services.topic_unsubscribe(topic=topic, recipient_ids=members.validated_data["recipients"])
        return Response(TopicSerializer(topic).data)
