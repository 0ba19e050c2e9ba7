"""Listing with forged cursors and out-of-range filter times: 400 naming the parameter, never a 500.

What overflows differs by database: SQLite's backend converts a time to UTC in Python (an
``OverflowError``), PostgreSQL takes it as written. ``make test`` runs this file on PostgreSQL;
it also runs on SQLite, with no broker or Redis needed:

    d=$(mktemp -d); DATABASE_URL=sqlite:///$d/t.sqlite3 CELERY_BROKER_URL=filesystem://localhost/ \
      NOTIFIER_VAR_DIR=$d NOTIFIER_ENV_FILE=/dev/null SECRET_KEY=t ALLOWED_HOSTS=testserver \
      .venv/bin/python -m pytest tests/api/test_listing.py

and ``test_the_filter_refuses_them_before_any_database_sees_them`` checks the validation itself,
which is the same on both.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest

from notifications.api.filters import NotificationFilter
from notifications.models import Notification
from tests.api.conftest import URL, console


def forged(**tokens: str) -> str:
    """A cursor as DRF encodes one: base64 of a query string (o offset, r reverse, p position)."""
    return base64.b64encode(urlencode(tokens).encode()).decode()


FORGED_CURSORS = {
    "garbage": "garbage",
    "not base64": "%%%",
    "not ascii": "Y3Vyc29y\u00e9",
    "position not a date": forged(p="not-a-date"),
    "position a naive time": forged(p="2020-01-01 00:00:00"),
    "position no such month": forged(p="2020-13-01 00:00:00+00:00"),
    "position overflows in UTC (late)": forged(p="9999-12-31 23:59:59-14:00"),
    "position overflows in UTC (early)": forged(p="0001-01-01 00:00:00+05:00"),
    "negative offset": forged(o="-5"),
    "offset past DRF's cutoff": forged(o="1001"),
    "huge offset": forged(o="9" * 30),
    "offset too long for int()": forged(o="9" * 5000),
    "reverse not 0 or 1": forged(r="2"),
}


@pytest.mark.parametrize("cursor", FORGED_CURSORS.values(), ids=FORGED_CURSORS.keys())
def test_forged_cursors_are_400_naming_cursor(alice, cursor):
    alice.post(URL, console(), format="json")

    response = alice.get(URL, {"cursor": cursor})

    assert response.status_code == 400
    assert list(response.json()) == ["cursor"]


def test_the_cursors_the_api_makes_still_work_both_ways(alice):
    for i in range(5):
        alice.post(URL, console(body=str(i)), format="json")
    first = alice.get(URL, {"page_size": 2}).json()
    second = alice.get(first["next"]).json()
    back = alice.get(second["previous"]).json()

    assert [n["body"] for n in first["results"]] == ["4", "3"]
    assert [n["body"] for n in second["results"]] == ["2", "1"]
    assert back["results"] == first["results"]


OUT_OF_RANGE = [
    "9999-12-31T23:59:59+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z",
    "10000-01-01T00:00:00Z",
    "0001-01-01T00:00:00-05:00",
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T00:00:00",
]


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize("name", ["send_at_after", "send_at_before"])
def test_filter_times_that_overflow_are_400(alice, name, value):
    alice.post(URL, console(), format="json")

    response = alice.get(URL, {name: value})

    assert response.status_code == 400
    assert list(response.json()) == [name]


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_the_filter_refuses_them_before_any_database_sees_them(value):
    """The same check, without a query: it holds on PostgreSQL and SQLite alike."""
    filters = NotificationFilter(data={"send_at_after": value}, queryset=Notification.objects.none())

    assert not filters.is_valid()
    assert "send_at_after" in filters.errors


def test_filter_times_at_the_ends_of_the_range_work(alice):
    alice.post(URL, console(), format="json")

    earliest = alice.get(URL, {"send_at_after": "0001-01-02T00:00:00Z"})
    latest = alice.get(URL, {"send_at_before": "9999-12-30T23:59:59+00:00"})

    assert earliest.status_code == latest.status_code == 200
    assert len(earliest.json()["results"]) == len(latest.json()["results"]) == 1
