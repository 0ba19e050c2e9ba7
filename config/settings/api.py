"""The REST API: its limits, DRF and the OpenAPI document."""

from config.settings.env import env

NOTIFY_API_RATE = env.str("NOTIFY_API_RATE", default="100/s")
# Bytes of one notification's subject + body + payload (compact JSON), UTF-8.
NOTIFY_MAX_CONTENT_BYTES = env.int("NOTIFY_MAX_CONTENT_BYTES", default=262144)
# A recipient profile's locale when the client gives none (BCP 47).
NOTIFY_DEFAULT_LOCALE = env.str("NOTIFY_DEFAULT_LOCALE", default="en")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "notifications.api.authentication.TokenOrBearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "notifications.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["notifications.api.throttling.ClientRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "notifications.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "notifier",
    "DESCRIPTION": (
        "Delayed notifications on many channels, delivered at send_at; recipients, templates, "
        "broadcasts, schedules, digests, and events to the client's endpoints."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the one choice set two fields use: delivery_status and a provider report's type;
    # and a notification's channel and a broadcast's channels.
    # Every operation takes and answers with X-Request-ID (a middleware's, so no view declares it).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "notifications.api.schema.request_id_headers",
    ],
    "ENUM_NAME_OVERRIDES": {
        "DeliveryStatusEnum": "notifications.models.DeliveryStatus",
        "ChannelEnum": "notifier.registry.KNOWN_CHANNELS",
    },
}
