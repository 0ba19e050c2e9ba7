"""The changelist at a million rows: what SQL each page, filter and search runs, and the plan
PostgreSQL chooses for it. No timing here: the benchmark's ``admin`` figure times the pages."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.admin import EstimatedCountPaginator, NotificationAdmin
from notifications.models import Endpoint
from tests.admin.conftest import CHANGELIST, html

pytestmark = pytest.mark.django_db

TABLE = '"notifications_notification"'
SEQ_SCAN = "Seq Scan on notifications_notification"


@pytest.fixture
def rows(make_notification):
    """Rows for the filters and the search to pick from: two for each filter, so that a page of one is a LIMIT."""
    failed = {"status": "failed", "failure_reason": "permanent", "priority": "high"}
    first = make_notification(**failed, idempotency_key="order-4711-shipped")
    endpoint = Endpoint.objects.create(owner=first.owner, url="https://hooks.example.com/events")
    event = {"owner": first.owner, "endpoint": endpoint, "recipient": endpoint.url, "event_type": "notification.sent"}
    return [
        first,
        make_notification(status="sent", channel="console", recipient="ops-oncall"),
        make_notification(**failed, idempotency_key="invoice-0815"),
        make_notification(status="scheduled", recipient="https://hooks.example.com/orders"),
        make_notification(**event),
        make_notification(**event),
    ]


def page_queries(client, params: dict[str, str]) -> list[str]:
    """The SQL of one changelist view, the session's and the user's left out."""
    with CaptureQueriesContext(connection) as captured:
        html(client.get(CHANGELIST, params))
    return [q["sql"] for q in captured.captured_queries if TABLE in q["sql"]]


def listing(queries: list[str]) -> str:
    """The query that reads the rows the page shows."""
    [sql] = [q for q in queries if q.startswith(f"SELECT {TABLE}.") and "ORDER BY" in q]
    return sql


def plan(sql: str, *, priced_out: tuple[str, ...] = ("seqscan",)) -> str:
    """PostgreSQL's plan for ``sql`` with sequential scans (and ``priced_out``'s other nodes) made
    prohibitively expensive: on a table of a few rows, one remains only where no index can serve."""
    with connection.cursor() as cursor:
        for node in priced_out:
            cursor.execute(f"SET enable_{node} = off")
        try:
            cursor.execute(f"EXPLAIN {sql}")
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            for node in priced_out:
                cursor.execute(f"RESET enable_{node}")


FILTERS = {
    "changelist": ({}, "notification_created"),
    "status": ({"status__exact": "failed"}, "notification_status_created"),
    "channel": ({"channel": "webhook"}, "notification_channel_created"),
    "priority": ({"priority__exact": "high"}, "notification_priority_created"),
    "failure reason": ({"failure_reason__exact": "permanent"}, "notification_failure_created"),
    "events to endpoints": ({"kind": "events"}, "notification_event_created"),
}


# --- filters -----------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"channel": "webhook"}], ids=["changelist", "filtered"])
def test_the_channel_filter_runs_no_distinct(admin_client, rows, params):
    queries = page_queries(admin_client, params)

    assert not [q for q in queries if "DISTINCT" in q.upper()]


@pytest.mark.parametrize("name", FILTERS)
def test_each_page_reads_its_rows_in_the_order_of_an_index(admin_client, rows, name, monkeypatch):
    monkeypatch.setattr(NotificationAdmin, "list_per_page", 1)  # a first page of many, as at scale: LIMIT
    params, index = FILTERS[name]

    explained = plan(listing(page_queries(admin_client, params)), priced_out=("seqscan", "sort"))

    assert "LIMIT" in explained.upper(), explained
    assert SEQ_SCAN not in explained, explained
    assert "Sort" not in explained, explained  # newest first as the index holds them, not every match sorted
    assert f"Index Scan using {index} " in explained, explained


# --- search ------------------------------------------------------------------------


def test_a_search_by_id_matches_the_id_exactly(admin_client, rows):
    target = rows[1]

    queries = page_queries(admin_client, {"q": str(target.pk).upper()})

    sql = listing(queries)
    assert f"{TABLE}.\"id\" = '{target.pk.hex}'::uuid" in sql, sql
    assert not [q for q in queries if re.search(r"LIKE[^']*'%", q)], queries  # no leading wildcard
    assert SEQ_SCAN not in (explained := plan(sql)), explained
    assert "notifications_notification_pkey" in explained, explained


def test_a_search_by_key_matches_its_start_through_indexes(admin_client, rows):
    queries = page_queries(admin_client, {"q": "order-4711"})

    sql = listing(queries)
    assert "LIKE 'order-4711%'" in sql, sql
    assert not [q for q in queries if re.search(r"LIKE[^']*'%", q)], queries
    explained = plan(sql)
    assert SEQ_SCAN not in explained, explained
    for index in ("notification_idempotency_key", "notification_recipient_prefix"):
        assert index in explained, explained


# --- counting ------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"status__exact": "failed"}, {"q": "order-4711"}])
def test_no_page_counts_every_matching_row(admin_client, rows, params):
    counts = [q for q in page_queries(admin_client, params) if "COUNT(" in q.upper()]

    assert counts, "the page counts its rows"
    for sql in counts:
        assert re.search(r"LIMIT \d+\) subquery$", sql), sql  # COUNT(*) over at most exact_up_to + 1 rows


def test_past_the_exact_limit_the_count_is_the_planners_estimate(admin_client, rows, make_notification, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_up_to", 2)

    queries = page_queries(admin_client, {})
    response = admin_client.get(CHANGELIST)

    assert [q for q in queries if q.startswith("EXPLAIN")], queries  # the planner's estimate, not a COUNT(*)
    assert response.context["cl"].result_count >= 3  # at least what was counted, PostgreSQL's guess if more
    assert response.context["cl"].full_result_count is None  # and no unfiltered COUNT(*) beside it


def test_below_the_exact_limit_the_count_is_exact(admin_client, rows):
    assert admin_client.get(CHANGELIST).context["cl"].result_count == len(rows)
    assert admin_client.get(CHANGELIST, {"status__exact": "failed"}).context["cl"].result_count == 2
