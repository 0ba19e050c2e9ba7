"""Domain errors raised by services; the API maps them to HTTP codes in one place
(``notifications/api/errors.py``)."""


class NotificationError(Exception):
    """Base of the domain errors."""


class InvalidState(NotificationError):
    """The operation is not allowed in the row's current status (HTTP 409)."""


class IdempotencyConflict(NotificationError):
    """An idempotency key reused with a different request body (HTTP 422)."""
