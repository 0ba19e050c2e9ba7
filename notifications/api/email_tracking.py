"""``POST /api/v1/callbacks/email/{esp}/tracking/``: django-anymail's tracking webhooks.

Only the tracking routes of ``anymail.urls`` (no inbound mail), each answering as anymail
does: 400 when its basic auth (``ANYMAIL_WEBHOOK_SECRET``) or the ESP's signature check
fails. anymail itself would accept any caller when no secret is set; here the routes are
closed then (403), so an ESP's reports are never taken from anyone who knows the URL.
What each event becomes is ``notifications.signals``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import anymail.urls
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt


def _secret_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @csrf_exempt  # anymail's views are exempt too: an ESP has no CSRF token
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(settings, "ANYMAIL", {}).get("WEBHOOK_SECRET"):
            return JsonResponse({"detail": "Email tracking is off: ANYMAIL_WEBHOOK_SECRET is not set."}, status=403)
        return view(request, *args, **kwargs)

    return guarded


urlpatterns: list[URLPattern] = [
    path(str(route.pattern), _secret_required(route.callback), name=route.name)
    for route in anymail.urls.urlpatterns
    if isinstance(route, URLPattern) and str(route.pattern).endswith("/tracking/")
]
