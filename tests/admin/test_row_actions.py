"""A notification's page: its Cancel and Retry now buttons (POST forms through the services, shown
only where they apply and to those who may operate) and its Internals, folded away."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from notifications.models import Notification
from tests.admin.conftest import change_url, html, messages_of
from tests.admin.test_permissions import staff_with

pytestmark = pytest.mark.django_db

CANCEL, RETRY = "Cancel this notification", "Retry now"


def action_url(notification: Notification, name: str) -> str:
    return change_url(notification).replace("/change/", f"/{name}/")


def button_form(page: str, name: str) -> str:
    """The POST form around the button named ``name``."""
    [form] = [f for f in re.findall(r"<form\b.*?</form>", page, re.S) if f'name="{name}"' in f]
    return form


def test_a_scheduled_rows_page_offers_cancel_as_a_post_form_with_csrf(admin_client, make_notification):
    scheduled = make_notification(status="scheduled")

    page = html(admin_client.get(change_url(scheduled)))

    form = button_form(page, "cancel")
    assert 'method="post"' in form
    assert f'action="{action_url(scheduled, "cancel")}"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert CANCEL in form
    assert RETRY not in page


def test_cancel_from_the_page_cancels_the_row(admin_client, make_notification):
    scheduled = make_notification(status="scheduled")

    response = admin_client.post(action_url(scheduled, "cancel"), follow=True)

    scheduled.refresh_from_db()
    assert scheduled.status == "cancelled"
    assert response.redirect_chain == [(change_url(scheduled), 302)]
    assert messages_of(response) == ["The notification was cancelled."]
    page = html(response)
    assert '<div class="readonly">Cancelled</div>' in page  # the status the page shows after
    assert CANCEL not in page


def test_retry_from_the_page_schedules_a_failed_row_again(
    admin_client, make_notification, django_capture_on_commit_callbacks
):
    failed = make_notification(status="failed", failure_reason="exhausted", attempts=3, next_attempt_at=None)
    assert RETRY in button_form(html(admin_client.get(change_url(failed))), "retry")

    with django_capture_on_commit_callbacks() as published:
        response = admin_client.post(action_url(failed, "retry"), follow=True)

    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.failure_reason) == ("scheduled", 0, "")
    assert len(published) == 1  # its message, once the change commits
    assert messages_of(response) == ["The notification was scheduled for a retry now."]
    assert '<div class="readonly">Scheduled</div>' in html(response)


@pytest.mark.parametrize("status", ["sent", "sending", "cancelled", "suppressed"])
def test_no_button_where_neither_applies(admin_client, make_notification, status):
    page = html(admin_client.get(change_url(make_notification(status=status))))

    assert CANCEL not in page
    assert RETRY not in page


def test_a_row_that_moved_on_is_refused_and_unchanged(admin_client, make_notification):
    shown_scheduled = make_notification(status="scheduled")
    Notification.objects.filter(id=shown_scheduled.id).update(status="sent")  # a worker sent it meanwhile

    response = admin_client.post(action_url(shown_scheduled, "cancel"), follow=True)

    shown_scheduled.refresh_from_db()
    assert shown_scheduled.status == "sent"
    assert shown_scheduled.cancelled_at is None
    assert messages_of(response) == [
        "Not cancelled: Only a scheduled or retrying notification can be cancelled; this one is sent."
    ]


def test_view_only_staff_see_no_buttons_and_are_refused(client, make_notification, django_user_model):
    client.force_login(staff_with(django_user_model, "viewer", "view_notification"))
    scheduled = make_notification(status="scheduled")
    failed = make_notification(status="failed", failure_reason="permanent", next_attempt_at=None)

    assert CANCEL not in html(client.get(change_url(scheduled)))
    assert RETRY not in html(client.get(change_url(failed)))
    assert client.post(action_url(scheduled, "cancel")).status_code == 403
    assert client.post(action_url(failed, "retry")).status_code == 403

    assert Notification.objects.get(id=scheduled.id).status == "scheduled"
    assert Notification.objects.get(id=failed.id).status == "failed"


def test_the_buttons_need_a_post_with_its_csrf_token(admin_user, make_notification):
    scheduled = make_notification(status="scheduled")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)

    assert browser.get(action_url(scheduled, "cancel")).status_code == 405
    assert browser.post(action_url(scheduled, "cancel")).status_code == 403  # no token

    assert Notification.objects.get(id=scheduled.id).status == "scheduled"


def test_the_internals_are_in_a_collapsed_fieldset(admin_client, make_notification):
    scheduled = make_notification(status="scheduled", request_fingerprint="f" * 64)

    page = html(admin_client.get(change_url(scheduled)))

    internals = page[page.index("<summary>") :]
    internals = internals[: internals.index("</details>")]
    assert "Internals" in internals
    for label in ("Dispatch token", "Request fingerprint", "Lease expires at", "Last enqueued at"):
        assert label in internals, label
    assert str(scheduled.dispatch_token) in internals
    assert "Recipient" not in internals
