"""Domain errors, refused input and infrastructure outages → HTTP answers, in one place.

``exception_handler`` is DRF's (every API view); the ``not_found`` view and
``server_error`` handler keep the answers Django gives outside a DRF view JSON
under ``/api/`` too (an unknown path or malformed id, an unexpected error).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from notifications.exceptions import ContentInvalid, IdempotencyConflict, InvalidState

logger = logging.getLogger(__name__)

DOMAIN_STATUS = {
    InvalidState: status.HTTP_409_CONFLICT,
    IdempotencyConflict: status.HTTP_422_UNPROCESSABLE_ENTITY,
}
DATABASE_DOWN = (OperationalError, InterfaceError)
# The last net: validation should refuse such input first, so each one is logged as a bug to fix.
DATABASE_REFUSED = {
    DataError: (status.HTTP_400_BAD_REQUEST, "The database refused a value in this request; nothing was stored."),
    IntegrityError: (
        status.HTTP_409_CONFLICT,
        "The request conflicts with data stored meanwhile (e.g. a concurrent request with the same "
        "idempotency key); nothing was stored. Retry it.",
    ),
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ContentInvalid):
        return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
    for exc_type, code in DOMAIN_STATUS.items():
        if isinstance(exc, exc_type):
            return Response({"detail": str(exc)}, status=code)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": f"Request body too large: at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DATABASE_DOWN):
        return _database_down()
    for exc_type, (code, detail) in DATABASE_REFUSED.items():
        if isinstance(exc, exc_type):
            logger.error("%s escaped validation: %s", type(exc).__name__, exc, exc_info=exc)
            return Response({"detail": detail}, status=code)
    if isinstance(exc, DatabaseError) and "connection" in str(exc).lower():
        return _database_down()
    if isinstance(exc, UnsupportedMediaType) and "request" in context:
        accepted = ", ".join(parser.media_type for parser in context["request"].parsers)
        exc.detail = f"{exc.detail} Accepted: {accepted}."
    return drf_exception_handler(exc, context)


def _database_down() -> Response:
    return Response(
        {"detail": "The database is unavailable; try again shortly."},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


@csrf_exempt  # the view it serves checks CSRF itself (DRF, for session logins); a 404 needs none
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any path under /api/ that no route takes. The same path with a trailing slash, if that is
    a route, is served as it (``POST /api/v1/notifications`` creates: Django's ``APPEND_SLASH``
    would redirect, and a client follows a redirect as a GET without the body). Anything else,
    a malformed id included, answers a JSON 404."""
    if not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            request.resolver_match = match
            return match.func(request, *match.args, **match.kwargs)
    return JsonResponse(
        {"detail": f"No such path: {request.path}. The API is under /api/v1/; its reference is at /api/docs/."},
        status=404,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal error; it was logged."}, status=500)
    return defaults.server_error(request)
