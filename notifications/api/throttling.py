import logging

from django.conf import settings
from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger(__name__)


class ClientRateThrottle(UserRateThrottle):
    """Per-client rate ``NOTIFY_API_RATE``, counted in the cache (Redis when ``REDIS_URL`` is set).

    Fails open: a cache outage must not turn every request into an error.
    """

    scope = "client"

    def get_rate(self) -> str | None:
        return settings.NOTIFY_API_RATE or None

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.exception("rate limit cache unavailable; request allowed")
            return True
