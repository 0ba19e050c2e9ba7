"""``/api/v1/templates/``: a client's templates by name; each PUT stores a new version."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import selectors, services
from notifications.api.fields import LocaleField
from notifications.api.pagination import NewestFirst
from notifications.api.parsers import require_body_media_type
from notifications.models import Template

NOT_FOUND = OpenApiResponse(description="No template of yours by that name.")
PUT_EXAMPLE = OpenApiExample(
    "welcome",
    summary="With a French translation",
    value={
        "subject": "Welcome, {{ name }}",
        "body": "Hello {{ name }}, your code is {{ code }}.",
        "translations": {"fr": {"subject": "Bienvenue, {{ name }}", "body": "Bonjour {{ name }}, code {{ code }}."}},
    },
    request_only=True,
)


class TranslationSerializer(serializers.Serializer):
    """One locale's parts; a part left out falls back to the default's."""

    subject = serializers.CharField(max_length=998, required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    html = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(f"Unknown keys {unknown}: only subject, body, html.")
        return super().to_internal_value(data)


class TemplateInputSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=998, required=False, allow_blank=True, default="")
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="")
    html = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, default="", help_text="Email's HTML alternative."
    )
    translations = serializers.DictField(
        child=TranslationSerializer(), required=False, default=dict, help_text='By BCP 47 locale: {"fr": {...}}.'
    )

    def validate_translations(self, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        """Keys as BCP 47 tags in their usual case; two keys for one tag (``pt-br``, ``pt-BR``): 400."""
        tags: dict[str, dict[str, str]] = {}
        for locale, parts in value.items():
            tag = LocaleField().run_validation(locale)
            if tag in tags:
                raise serializers.ValidationError(f"{tag!r} is given twice, in different cases.")
            tags[tag] = parts
        return tags

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["subject"] and not attrs["body"]:
            raise serializers.ValidationError({"body": ["Give a body or a subject."]})
        return attrs


class TemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Template
        fields = ("name", "subject", "body", "html", "translations", "version", "created_at", "updated_at")
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="List your templates, newest first", responses=TemplateSerializer(many=True)),
    retrieve=extend_schema(summary="Get a template", responses={200: TemplateSerializer, 404: NOT_FOUND}),
    destroy=extend_schema(summary="Delete a template", responses={204: None, 404: NOT_FOUND}),
)
class TemplateViewSet(viewsets.GenericViewSet):
    serializer_class = TemplateSerializer
    pagination_class = NewestFirst
    queryset = Template.objects.none()  # for the schema; requests use get_queryset()
    lookup_field = "name"
    lookup_value_regex = "[-a-zA-Z0-9_]{1,64}"

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        if self.action == "update":
            require_body_media_type(request)

    def get_queryset(self):
        return selectors.template_list(owner=self.request.user)

    def get_object(self) -> Template:
        template = selectors.template_get(owner=self.request.user, name=self.kwargs["name"])
        if template is None:
            raise Http404
        return template

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TemplateSerializer(page, many=True).data)

    def retrieve(self, request: Request, name: str) -> Response:
        return Response(TemplateSerializer(self.get_object()).data)

    @extend_schema(
        summary="Create or replace a template (the version grows)",
        request=TemplateInputSerializer,
        examples=[PUT_EXAMPLE],
        responses={
            201: TemplateSerializer,
            200: OpenApiResponse(TemplateSerializer, description="Replaced."),
            400: OpenApiResponse(description="A part that does not compile, with Django's error, by field."),
        },
    )
    def update(self, request: Request, name: str) -> Response:
        serializer = TemplateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template, created = services.template_put(owner=request.user, name=name, fields=serializer.validated_data)
        return Response(
            TemplateSerializer(template).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def destroy(self, request: Request, name: str) -> Response:
        services.template_delete(template=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
