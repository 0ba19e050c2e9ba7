"""Per-client API rate limit: a fixed-window counter, one Redis round trip per request.

Hand-written because DRF's ``SimpleRateThrottle`` keeps every request's timestamp
in a list it reads and rewrites through the cache on each request (at ``100/s``, a
100-item pickle, GET then SET), and Django's Redis cache builds a new client object
per call: together about 0.6 ms of CPU per request in the create profile. A counter
per client and window (``SET NX EX`` + ``INCR``, pipelined) costs one round trip.
A fixed window lets a client send up to twice its rate across a window boundary;
for a budget counted per second that is the usual trade (GitHub's API makes it too).
"""

from __future__ import annotations

import logging
import math
import time
from functools import cache

import redis
from django.conf import settings
from django.core.cache import cache as django_cache
from rest_framework.throttling import BaseThrottle

from notifications import conf

logger = logging.getLogger(__name__)


@cache
def _redis(url: str) -> redis.Redis:
    # One client (and connection pool) per process and URL: thread-safe, reused by every request.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


class ClientRateThrottle(BaseThrottle):
    """``NOTIFY_API_RATE`` per client (DRF syntax, e.g. ``100/s``; empty turns it off), counted in
    Redis when ``REDIS_URL`` is set, else in the local cache. Fails open: a cache outage must not
    turn every request into an error."""

    scope = "client"

    def __init__(self) -> None:
        self.window_ends_at = 0.0

    def allow_request(self, request, view) -> bool:
        rate = conf.api_rate()
        if rate is None:
            return True
        limit, duration = rate
        now = time.time()
        window = math.floor(now / duration)
        self.window_ends_at = (window + 1) * duration
        ident = request.user.pk if request.user and request.user.is_authenticated else self.get_ident(request)
        key = f"{settings.CACHE_KEY_PREFIX}:throttle:{self.scope}:{ident}:{duration}:{window}"
        try:
            count = self._count(key, ttl=duration + 1)
        except Exception:
            logger.exception("rate limit cache unavailable; request allowed")
            return True
        return count <= limit

    @staticmethod
    def _count(key: str, ttl: int) -> int:
        if settings.REDIS_URL:
            pipe = _redis(settings.REDIS_URL).pipeline(transaction=False)
            pipe.set(key, 0, ex=ttl, nx=True)
            pipe.incr(key)
            return pipe.execute()[1]
        django_cache.add(key, 0, timeout=ttl)
        return django_cache.incr(key)

    def wait(self) -> float:
        return max(self.window_ends_at - time.time(), 0.0)
