"""API keys in the Authorization header, as ``Token <key>`` (DRF's word) or ``Bearer <key>``
(what most HTTP clients, and Swagger UI's "Authorize", send)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

EXPECTED = 'expected "Authorization: Token <key>" or "Authorization: Bearer <key>"'


class TokenOrBearerAuthentication(TokenAuthentication):
    """DRF's token check under either keyword. Any other Authorization header is refused with a
    401 that says which form is expected, instead of passing as "no credentials" (DRF's answer for
    a word it does not know, e.g. the key alone)."""

    keywords = (b"token", b"bearer")

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request)
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0].lower() not in self.keywords:
            raise AuthenticationFailed(f"Malformed Authorization header: {EXPECTED}.")
        if len(parts) != 2:
            raise AuthenticationFailed(f"Malformed Authorization header: {EXPECTED}, one key without spaces.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeError:
            raise AuthenticationFailed(f"Malformed Authorization header: {EXPECTED}; keys are ASCII.") from None
        return self.authenticate_credentials(key)


class TokenOrBearerScheme(OpenApiAuthenticationExtension):
    """Both keywords in the OpenAPI document, as alternatives (either one authenticates)."""

    target_class = TokenOrBearerAuthentication
    name = ["tokenAuth", "bearerAuth"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [{"tokenAuth": []}, {"bearerAuth": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": 'Your API key as "Token <key>" (make one with: python manage.py create_client <name>).',
            },
            {"type": "http", "scheme": "bearer", "description": 'The same key as "Bearer <key>".'},
        ]
