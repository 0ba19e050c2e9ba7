"""``POST /api/v1/callbacks/twilio/``: Twilio's message status callback.

No client calls it, so no API key, session (hence no CSRF) or client rate applies: the caller
is authenticated by ``X-Twilio-Signature`` alone, checked against the URL this service gave
Twilio (``NOTIFY_PUBLIC_URL`` + ``TWILIO_CALLBACK_PATH``, the sms provider's ``callback_path``),
never the URL Django sees behind a proxy. Without ``TWILIO_AUTH_TOKEN`` or ``NOTIFY_PUBLIC_URL``
nothing can verify, and every call is refused (403). Django's body limit applies as everywhere.

What a verified callback becomes is ``services.provider_event_record``'s promise: stored once,
matched only to the sms notification Twilio took under that sid, ``status`` never moved.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import FormParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import conf, services
from notifications.api.serializers import CallbackResultSerializer, TwilioStatusCallbackSerializer
from notifications.models import DeliveryStatus

logger = logging.getLogger(__name__)

TWILIO_CALLBACK_PATH = "/api/v1/callbacks/twilio/"
# Twilio's final message statuses, as delivery_status; the others (queued, sending, sent,
# accepted, scheduled, read, …) are steps on the way and are not kept.
TWILIO_DELIVERY_STATUS = {
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.UNDELIVERED,
}


def twilio_signature(*, auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """``X-Twilio-Signature`` as Twilio computes it for a POST: base64 of the HMAC-SHA1, keyed
    with the account's auth token, of the full URL Twilio requested (query included) followed by
    every POST parameter sorted by name, each name immediately followed by its value, UTF-8
    (https://www.twilio.com/docs/usage/security#validating-requests). A name sent more than once
    has its values in sorted order, as twilio's own ``RequestValidator`` takes them.

    Written out here rather than taken from the ``twilio`` package: its ``RequestValidator`` is
    this one HMAC, and the SDK is a large dependency to carry for it.
    """
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class TwilioSignatureVerified(BasePermission):
    """The request carries Twilio's signature of this callback URL and of its parameters."""

    message = "X-Twilio-Signature is missing or does not verify for this service's callback URL."

    def has_permission(self, request: Request, view: APIView) -> bool:
        auth_token, base_url = settings.TWILIO_AUTH_TOKEN, conf.public_url()
        if not auth_token or not base_url:
            logger.warning("Twilio callback refused: TWILIO_AUTH_TOKEN and NOTIFY_PUBLIC_URL must both be set")
            self.message = "Twilio callbacks are off here: TWILIO_AUTH_TOKEN and NOTIFY_PUBLIC_URL must both be set."
            return False
        given = request.headers.get("X-Twilio-Signature", "")
        if not given:
            return False  # refused before the body is read
        params = _form_pairs(request.data)
        expected = twilio_signature(auth_token=auth_token, url=base_url + TWILIO_CALLBACK_PATH, params=params)
        return hmac.compare_digest(expected.encode(), given.encode())


def _form_pairs(data: QueryDict | dict) -> list[tuple[str, str]]:
    """Every (name, value) of a parsed form, repeated names included; an empty body is ``{}``."""
    if not isinstance(data, QueryDict):
        return []
    return [(name, value) for name, values in data.lists() for value in values]


class TwilioStatusCallbackView(APIView):
    authentication_classes = ()
    permission_classes = (TwilioSignatureVerified,)
    throttle_classes = ()
    parser_classes = (FormParser,)

    @extend_schema(
        summary="Twilio's message status callback (signed by Twilio, not called by clients)",
        description=(
            "`delivered` is kept as delivery_status `delivered`; `undelivered` and `failed` as "
            "`undelivered`; other statuses are answered 200 and not kept. A sid that names no sms "
            "notification changes nothing."
        ),
        auth=[],
        parameters=[
            OpenApiParameter(
                "X-Twilio-Signature",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="HMAC-SHA1 with TWILIO_AUTH_TOKEN over NOTIFY_PUBLIC_URL + this path and the parameters.",
            )
        ],
        request=TwilioStatusCallbackSerializer,
        responses={
            200: CallbackResultSerializer,
            400: OpenApiResponse(description="A signed callback without MessageSid or MessageStatus."),
            403: OpenApiResponse(description="No valid signature, or TWILIO_AUTH_TOKEN / NOTIFY_PUBLIC_URL unset."),
            415: OpenApiResponse(description="Not application/x-www-form-urlencoded."),
        },
    )
    def post(self, request: Request) -> Response:
        callback = TwilioStatusCallbackSerializer(data=request.data)
        callback.is_valid(raise_exception=True)
        sid, twilio_status = callback.validated_data["MessageSid"], callback.validated_data["MessageStatus"]
        event_type = TWILIO_DELIVERY_STATUS.get(twilio_status)
        if event_type is None:
            return Response({"stored": False})
        event = services.provider_event_record(
            provider="twilio",
            channel="sms",
            provider_message_id=sid,
            provider_event_id=f"{sid}:{twilio_status}",
            type=event_type,
            occurred_at=timezone.now(),
            detail={"status": twilio_status, "error_code": callback.validated_data.get("ErrorCode") or None},
        )
        return Response({"stored": event is not None})
