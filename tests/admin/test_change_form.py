"""A notification's admin page: read-only, with its delivery attempts inline; none can be added by hand."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import DeliveryAttempt, Notification
from tests.admin.conftest import CHANGELIST, change_url, html

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_with_attempts(make_notification):
    notification = make_notification(
        channel="webhook",
        recipient="https://example.com/hook",
        status="failed",
        failure_reason="exhausted",
        attempts=2,
        attempts_total=2,
        last_error="HTTP 503",
        next_attempt_at=None,
    )
    start = timezone.now() - timedelta(minutes=5)
    for number, error in ((1, "connection refused"), (2, "HTTP 503 from https://example.com/hook")):
        DeliveryAttempt.objects.create(
            notification=notification,
            number=number,
            started_at=start + timedelta(seconds=number),
            finished_at=start + timedelta(seconds=number, milliseconds=200),
            outcome="transient",
            error=error,
        )
    return notification


def test_change_page_shows_the_attempts_inline(admin_client, failed_with_attempts):
    page = html(admin_client.get(change_url(failed_with_attempts)))

    assert "Delivery attempts" in page
    assert "connection refused" in page
    assert "HTTP 503 from https://example.com/hook" in page
    assert page.count("Transient") >= 2  # the outcome of each attempt, by its label


def test_change_page_attempts_are_read_only(admin_client, failed_with_attempts):
    page = html(admin_client.get(change_url(failed_with_attempts)))

    # Each attempt's values are shown as text; the only form controls of its row are the
    # formset's hidden keys: nothing to type into, no delete box, no "add another" row.
    controls = re.findall(r"<(?:input|select|textarea)\b[^>]*\bname=\"delivery_attempts-\d+-[^>]*>", page)
    assert controls, "the inline rows are rendered"
    for control in controls:
        assert 'type="hidden"' in control, control
        assert re.search(r'name="delivery_attempts-\d+-(id|notification)"', control), control
    assert "<p>connection refused</p>" in page
    assert "delivery_attempts-__prefix__" not in page  # no empty row to add one from


def test_change_page_is_a_view_page(admin_client, failed_with_attempts):
    page = html(admin_client.get(change_url(failed_with_attempts)))

    assert "View notification" in page
    assert 'class="closelink"' in page
    assert 'name="_save"' not in page
    assert 'name="_continue"' not in page


def test_change_page_fields_are_read_only(admin_client, failed_with_attempts):
    page = html(admin_client.get(change_url(failed_with_attempts)))

    for name in ("recipient", "status", "send_at", "max_attempts", "payload", "body"):
        assert f'name="{name}"' not in page
    assert "https://example.com/hook" in page


def test_posting_the_change_form_does_not_change_the_row(admin_client, failed_with_attempts):
    before = Notification.objects.get(pk=failed_with_attempts.pk)

    admin_client.post(
        change_url(failed_with_attempts),
        {"recipient": "https://evil.example/", "status": "sent", "_save": "Save"},
    )

    after = Notification.objects.get(pk=failed_with_attempts.pk)
    assert after.recipient == before.recipient
    assert after.status == "failed"
    assert after.updated_at == before.updated_at


def test_notifications_cannot_be_added_by_hand(admin_client):
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert 'href="/admin/notifications/notification/add/"' not in html(admin_client.get(CHANGELIST))
