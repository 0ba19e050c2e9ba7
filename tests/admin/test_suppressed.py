"""Suppressed notifications in the admin: found by status and by reason, their profile shown."""

from __future__ import annotations

from notifications import services
from notifications.models import Recipient
from tests.admin.conftest import CHANGELIST, change_url, html, shown


def test_suppressed_rows_are_filtered_by_status_and_reason_and_show_their_profile(admin_client, owner):
    Recipient.objects.create(owner=owner, external_id="ada", preferences={"categories": {"marketing": False}})
    suppressed, _ = services.notification_create(
        owner=owner, data={"channel": "console", "to": "ada", "category": "marketing", "body": "Sale"}
    )
    sent, _ = services.notification_create(
        owner=owner, data={"channel": "console", "to": "ada", "category": "billing", "body": "Invoice"}
    )

    by_status = admin_client.get(CHANGELIST, {"status__exact": "suppressed"})
    by_reason = admin_client.get(CHANGELIST, {"failure_reason__exact": "opted_out"})

    assert shown(by_status, suppressed, sent) == {suppressed}
    assert shown(by_reason, suppressed, sent) == {suppressed}
    page = html(admin_client.get(change_url(suppressed)))
    assert "ada" in page and "marketing" in page and "Opted Out" in page
