from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

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
