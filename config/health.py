"""Liveness and readiness probes for load balancers and operators."""

from __future__ import annotations

import logging

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process can answer at all."""
    return JsonResponse({"status": "ok"})


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _broker() -> str:
    # One immediate retry (kombu would otherwise sleep 2 s before it), bounded by the connect timeout.
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.5, timeout=2)
    return "ok"


def _redis() -> str:
    if not settings.REDIS_URL:
        return "not configured (local-memory cache)"
    cache.set("readyz", "1", timeout=5)
    return "ok"


CHECKS = {"database": _database, "broker": _broker, "redis": _redis}


def readyz(request: HttpRequest) -> JsonResponse:
    """200 with each dependency's state; 503 naming every dependency that is down.

    The answer says only "down": it needs no login, and a driver's error names hosts, ports,
    users and sometimes passwords. The exception itself goes to the log.
    """
    states: dict[str, str] = {}
    down: list[str] = []
    for name, check in CHECKS.items():
        try:
            states[name] = check()
        except Exception:
            logger.exception("readyz: %s is down", name)
            states[name] = "down"
            down.append(name)
    body = {"status": "ok" if not down else "unavailable", "down": down, "checks": states}
    return JsonResponse(body, status=503 if down else 200)
