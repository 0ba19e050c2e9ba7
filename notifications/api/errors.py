"""Domain errors and infrastructure outages → HTTP answers, in one place."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from notifications.exceptions import IdempotencyConflict, InvalidState

DOMAIN_STATUS = {
    InvalidState: status.HTTP_409_CONFLICT,
    IdempotencyConflict: status.HTTP_422_UNPROCESSABLE_ENTITY,
}
DATABASE_DOWN = (OperationalError, InterfaceError)


def exception_handler(exc, context):
    for exc_type, code in DOMAIN_STATUS.items():
        if isinstance(exc, exc_type):
            return Response({"detail": str(exc)}, status=code)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": f"Request body too large: at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DATABASE_DOWN) or (isinstance(exc, DatabaseError) and "connection" in str(exc).lower()):
        return Response(
            {"detail": "The database is unavailable; try again shortly."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    return drf_exception_handler(exc, context)
