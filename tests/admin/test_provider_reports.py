"""The admin and what providers said: the provider and delivery-status filters (each through its
own index, no DISTINCT over the table), and a notification's reports on its page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import selectors, services
from notifications.admin import NotificationAdmin
from notifications.models import DeliveryStatus
from tests.admin.conftest import CHANGELIST, change_url, html, shown
from tests.admin.test_at_scale import SEQ_SCAN, listing, page_queries, plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(make_notification):
    """Two rows for each filter value the tests pick, so that a page of one is a LIMIT."""
    made = {}
    for name, provider, delivery_status in (
        ("twilio_delivered", "twilio", "delivered"),
        ("twilio_delivered_2", "twilio", "delivered"),
        ("twilio_undelivered", "twilio", "undelivered"),
        ("smtp_bounced", "smtp", "bounced"),
        ("smtp_none", "smtp", None),
        ("webhook", "", None),
    ):
        channel = {"twilio": "sms", "smtp": "email"}.get(provider, "webhook")
        made[name] = make_notification(
            status="sent", channel=channel, provider=provider, delivery_status=delivery_status
        )
    return made


# --- filters -----------------------------------------------------------------------


def test_filter_by_provider(admin_client, rows):
    response = admin_client.get(CHANGELIST, {"provider": "smtp"})

    assert shown(response, *rows.values()) == {rows["smtp_bounced"], rows["smtp_none"]}


def test_filter_by_delivery_status(admin_client, rows):
    response = admin_client.get(CHANGELIST, {"delivery_status": "delivered"})

    assert shown(response, *rows.values()) == {rows["twilio_delivered"], rows["twilio_delivered_2"]}


def test_the_filters_combine(admin_client, rows):
    response = admin_client.get(CHANGELIST, {"provider": "twilio", "delivery_status": "undelivered"})

    assert shown(response, *rows.values()) == {rows["twilio_undelivered"]}


def test_the_provider_filter_offers_the_providers_that_took_a_notification(admin_client, rows):
    page = html(admin_client.get(CHANGELIST))

    # the rows' providers, each once; not the empty one of rows no provider took
    assert set(re.findall(r"[?&]provider=([^\"&]*)", page)) == {"smtp", "twilio"}


def test_provider_names_are_each_name_once_in_order(rows, make_notification):
    make_notification(provider="expo")

    assert selectors.provider_names() == ["expo", "smtp", "twilio"]


def test_provider_names_of_an_empty_table(db):
    assert selectors.provider_names() == []


def test_the_delivery_status_filter_offers_every_status_though_no_row_has_it(admin_client, rows):
    page = html(admin_client.get(CHANGELIST))

    for value in DeliveryStatus.values:
        assert f"?delivery_status={value}" in page, value


@pytest.mark.parametrize(
    "params", [{}, {"provider": "twilio"}, {"delivery_status": "delivered"}], ids=["changelist", "provider", "status"]
)
def test_the_filters_run_no_distinct(admin_client, rows, params):
    queries = page_queries(admin_client, params)

    assert not [q for q in queries if "DISTINCT" in q.upper()], queries


def test_the_provider_list_is_read_through_its_index(rows):
    sql = """
        SELECT provider FROM notifications_notification WHERE provider <> '' AND provider > 'smtp'
        ORDER BY provider LIMIT 1
    """

    explained = plan(sql)

    assert SEQ_SCAN not in explained, explained
    assert "notification_provider_created" in explained, explained


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({"provider": "twilio"}, "notification_provider_created"),
        ({"delivery_status": "delivered"}, "notification_delivery_created"),
    ],
    ids=["provider", "delivery status"],
)
def test_each_filtered_page_reads_its_rows_in_the_order_of_its_index(admin_client, rows, params, index, monkeypatch):
    monkeypatch.setattr(NotificationAdmin, "list_per_page", 1)  # a first page of many, as at scale: LIMIT

    explained = plan(listing(page_queries(admin_client, params)), priced_out=("seqscan", "sort"))

    assert "LIMIT" in explained.upper(), explained
    assert SEQ_SCAN not in explained, explained
    assert "Sort" not in explained, explained
    assert f"Index Scan using {index} " in explained, explained


# --- the change page ---------------------------------------------------------------------


@pytest.fixture
def reported(make_notification):
    sms = make_notification(
        channel="sms",
        recipient="+14155550100",
        status="sent",
        provider="twilio",
        provider_message_id="SM0001",
    )
    now = timezone.now()
    for event_type, at, error_code in (("delivered", now - timedelta(minutes=2), None), ("undelivered", now, "30003")):
        services.provider_event_record(
            provider="twilio",
            channel="sms",
            provider_message_id="SM0001",
            provider_event_id=f"SM0001:{event_type}",
            type=event_type,
            occurred_at=at,
            detail={"status": event_type, "error_code": error_code},
        )
    sms.refresh_from_db()
    return sms


def test_change_page_shows_the_provider_and_delivery_status(admin_client, reported):
    page = html(admin_client.get(change_url(reported)))

    assert re.search(r"Provider:</label>\s*<div class=\"readonly\">twilio</div>", page), page
    assert re.search(r"Delivery status:</label>\s*<div class=\"readonly\">Undelivered</div>", page)


def test_change_page_shows_the_provider_reports_inline_oldest_first(admin_client, reported):
    page = html(admin_client.get(change_url(reported)))

    assert "Provider reports" in page
    assert "SM0001:delivered" in page
    assert page.index("SM0001:delivered") < page.index("SM0001:undelivered")
    assert "30003" in page


def test_change_page_reports_are_read_only(admin_client, reported):
    page = html(admin_client.get(change_url(reported)))

    controls = re.findall(r"<(?:input|select|textarea)\b[^>]*\bname=\"provider_events-\d+-[^>]*>", page)
    assert controls, "the inline rows are rendered"
    for control in controls:
        assert 'type="hidden"' in control, control
        assert re.search(r'name="provider_events-\d+-(id|notification)"', control), control
    assert "provider_events-__prefix__" not in page  # no empty row to add one from
