"""Domain errors, refused input and infrastructure outages → HTTP answers, in one place."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from notifications.exceptions import IdempotencyConflict, InvalidState

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
    return drf_exception_handler(exc, context)


def _database_down() -> Response:
    return Response(
        {"detail": "The database is unavailable; try again shortly."},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )
