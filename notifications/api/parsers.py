"""Request bodies: JSON (the API's own), and forms with ``payload`` as a JSON string."""

from __future__ import annotations

from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

from notifications.api.fields import MAX_PAYLOAD_DEPTH


class SafeJSONParser(JSONParser):
    """DRF's JSON parser (NaN and Infinity refused), with absurdly deep nesting answered 400
    instead of a RecursionError 500. The nesting a payload may have is ``MAX_PAYLOAD_DEPTH``,
    checked by the payload field for every media type; this only keeps the parser itself safe."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(
                f"JSON parse error - nested too deeply (a payload may nest {MAX_PAYLOAD_DEPTH} levels)."
            ) from exc


def require_body_media_type(request: Request) -> None:
    """For an action that reads a body: 415 saying what to send, where DRF would parse an empty
    body of any or no Content-Type as ``{}`` ("This field is required." for every field), or a
    JSON text sent as a form (``curl -d`` without a Content-Type) as one nameless field. The
    exception handler adds the accepted types to every 415."""
    if not request.content_type.strip():
        raise UnsupportedMediaType(
            "",
            detail='No Content-Type header: send the body with "Content-Type: application/json".',
        )
    if request.negotiator.select_parser(request, request.parsers) is None:  # DRF skips this for an empty body
        raise UnsupportedMediaType(request.content_type)
    form = request.content_type.startswith("application/x-www-form-urlencoded")
    if form and any(key.lstrip().startswith(("{", "[")) for key in request.data):  # no field is named so
        raise UnsupportedMediaType(
            request.content_type,
            detail=(
                "The body is JSON but its Content-Type is application/x-www-form-urlencoded "
                '(what curl -d sends by default): add "Content-Type: application/json".'
            ),
        )
