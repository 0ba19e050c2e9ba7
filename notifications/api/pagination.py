"""Cursor pages of a client's notifications, newest first."""

from __future__ import annotations

import binascii
from base64 import b64decode
from urllib import parse

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from notifications.api.fields import in_range


class NewestFirst(CursorPagination):
    """DRF's cursor pages, with a cursor read strictly: one this API did not make (garbage, a
    negative or huge offset, a position that is not a time or overflows in UTC) answers 400
    naming ``cursor``, instead of DRF's 404, a silently clipped offset, or a 500 from the query."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    invalid_cursor_message = (
        "Not a cursor this API made: follow the next and previous links as given, or start again without a cursor."
    )

    def decode_cursor(self, request: Request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            text = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(text, keep_blank_values=True)
            offset = int(tokens.get("o", ["0"])[0])
            reverse = tokens.get("r", ["0"])[0]
            position = tokens.get("p", [None])[0]
        except (TypeError, ValueError, binascii.Error):
            raise self._invalid() from None
        if not 0 <= offset <= self.offset_cutoff or reverse not in ("0", "1"):
            raise self._invalid()
        if position is not None and not _is_position(position):
            raise self._invalid()
        return Cursor(offset=offset, reverse=reverse == "1", position=position)

    def _invalid(self) -> ValidationError:
        return ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})


def _is_position(text: str) -> bool:
    """A ``created_at`` as DRF writes it into a cursor: an aware time within range."""
    try:
        value = parse_datetime(text)
    except ValueError:
        return False
    return value is not None and in_range(value)
