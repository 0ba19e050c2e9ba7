"""The notification list's columns, made to fit a laptop's screen: a short id linking to the row,
the status as a coloured badge, times to the second, long values cut with the whole in a tooltip."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.admin.conftest import CHANGELIST, change_url, html

pytestmark = pytest.mark.django_db

ERROR = "HTTP 503 from https://hooks.example.com/orders: upstream connect error or disconnect/reset before headers"


@pytest.fixture
def failed(make_notification):
    return make_notification(
        status="failed",
        failure_reason="exhausted",
        last_error=ERROR,
        send_at=datetime(2026, 3, 1, 9, 5, 7, 123456, tzinfo=UTC),
        recipient="https://hooks.example.com/orders/v2/callbacks/notification-events?tenant=acme",
    )


def cell(page: str, css_class: str) -> str:
    """The inner HTML of the first row's cell of that column (Django marks each with field-<name>)."""
    match = re.search(rf'<t[dh] class="field-{css_class}"[^>]*>(.*?)</t[dh]>', page, re.S)
    assert match, css_class
    return match.group(1)


def test_the_id_is_its_first_8_characters_linking_to_the_row(admin_client, failed):
    short_id = cell(html(admin_client.get(CHANGELIST)), "short_id")

    assert f'href="{change_url(failed)}"' in short_id
    assert f'<code title="{failed.pk}">{str(failed.pk)[:8]}</code>' in short_id


def test_the_status_is_a_coloured_badge(admin_client, failed, make_notification):
    make_notification(status="sent")

    failed_badge = cell(html(admin_client.get(CHANGELIST, {"status__exact": "failed"})), "status_badge")
    sent_badge = cell(html(admin_client.get(CHANGELIST, {"status__exact": "sent"})), "status_badge")

    assert re.fullmatch(r'<span style="background:#c62828;color:#fff;[^"]*">Failed</span>', failed_badge)
    assert re.fullmatch(r'<span style="background:#2e7d32;color:#fff;[^"]*">Sent</span>', sent_badge)


def test_times_are_shown_to_the_second(admin_client, failed):
    assert cell(html(admin_client.get(CHANGELIST)), "send_at_seconds") == "2026-03-01 09:05:07"


def test_the_last_error_is_cut_with_the_whole_in_its_tooltip(admin_client, failed):
    shown = cell(html(admin_client.get(CHANGELIST)), "last_error_cut")

    assert shown == f'<span title="{ERROR}">{ERROR[:59]}…</span>'


def test_a_long_recipient_is_cut_with_the_whole_in_its_tooltip(admin_client, failed):
    shown = cell(html(admin_client.get(CHANGELIST)), "recipient_cut")

    assert shown == f'<span title="{failed.recipient}">{failed.recipient[:39]}…</span>'


def test_a_row_without_an_error_shows_the_empty_mark(admin_client, make_notification):
    make_notification(status="scheduled")

    assert cell(html(admin_client.get(CHANGELIST)), "last_error_cut") == "-"
