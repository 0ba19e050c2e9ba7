"""The views the schedules and the endpoints share: a client's own rows by UUID, read through a
selector and written through services; another client's id is a 404, exactly as an unknown one."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.api.pagination import NewestFirst
from notifications.api.parsers import require_body_media_type

UUID_LOOKUP = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


# List, get, create, change and delete a client's own rows. A subclass names its serializers and
# the selector and service calls (the ``owned_*`` methods); ``request.user`` is the owner. (A
# comment, not a docstring: drf-spectacular would print a docstring in every operation's text.)
class OwnedResourceViewSet(viewsets.GenericViewSet):
    pagination_class = NewestFirst
    lookup_value_regex = UUID_LOOKUP
    body_actions: tuple[str, ...] = ("create", "partial_update")
    create_serializer_class: type[serializers.Serializer]
    update_serializer_class: type[serializers.Serializer]

    def owned_list(self, owner: Any) -> QuerySet:
        raise NotImplementedError

    def owned_get(self, owner: Any, pk: str) -> Model | None:
        raise NotImplementedError

    def owned_create(self, owner: Any, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def owned_update(self, instance: Model, changes: dict[str, Any]) -> Model:
        raise NotImplementedError

    def owned_delete(self, instance: Model) -> None:
        raise NotImplementedError

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions and throttling first
        if self.action in self.body_actions:
            require_body_media_type(request)

    def get_object(self) -> Model:
        instance = self.owned_get(self.request.user, self.kwargs["pk"])
        if instance is None:
            raise Http404
        return instance

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.owned_list(request.user))
        return self.get_paginated_response(self.serializer_class(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.serializer_class(self.get_object()).data)

    def create(self, request: Request) -> Response:
        serializer = self.create_serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = self.owned_create(request.user, serializer.validated_data)
        return Response(self.serializer_class(instance).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        instance = self.get_object()
        changes = self.update_serializer_class(data=request.data)
        changes.is_valid(raise_exception=True)
        return Response(self.serializer_class(self.owned_update(instance, changes.validated_data)).data)

    def destroy(self, request: Request, pk: str) -> Response:
        self.owned_delete(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
