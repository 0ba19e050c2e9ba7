"""What the OpenAPI document says beyond what the views declare: the ``X-Request-ID`` header
every API operation takes and answers with (``RequestIdMiddleware`` handles it for the whole
site, so no view declares it)."""

from __future__ import annotations

from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_PARAMETER = {
    "in": "header",
    "name": REQUEST_ID_HEADER,
    "required": False,
    "schema": {"type": "string"},
    "description": (
        "The caller's id for this request: at most 64 of A-Z a-z 0-9 . _ - (anything else is "
        "replaced by a new one). Stored as the notification's trace_id and carried into every "
        "worker log line about it."
    ),
}
_REQUEST_ID_RESPONSE_HEADER = {
    "schema": {"type": "string"},
    "description": "The request's id: the one given, or one made for it.",
}
_METHODS = ("get", "put", "patch", "post", "delete", "head", "options")


def request_id_headers(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the request id header on every operation and response."""
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in _METHODS:
                continue
            operation.setdefault("parameters", []).append(dict(_REQUEST_ID_PARAMETER))
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {})[REQUEST_ID_HEADER] = dict(_REQUEST_ID_RESPONSE_HEADER)
    return result
