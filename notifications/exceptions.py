"""Domain errors raised by services; the API maps them to HTTP codes in one place
(``notifications/api/errors.py``)."""


class NotificationError(Exception):
    """Base of the domain errors."""


class InvalidState(NotificationError):
    """The operation is not allowed in the row's current status (HTTP 409)."""


class IdempotencyConflict(NotificationError):
    """An idempotency key reused with a different request body (HTTP 422)."""


class ContentInvalid(NotificationError):
    """Content the service refused after the serializer's checks, by field (HTTP 400): a
    template that does not compile or cannot render with the data, text too long once rendered."""

    def __init__(self, errors: dict) -> None:
        super().__init__(str(errors))
        self.errors = errors
