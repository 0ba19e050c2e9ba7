"""Deleting from the admin, by the action or a row's delete page: through the service, so finished
rows are deleted, live ones cancelled instead, and one being sent is kept, each said in a message."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.utils import timezone

from notifications.models import DeliveryAttempt, Notification
from tests.admin.conftest import CHANGELIST, html, messages_of

pytestmark = pytest.mark.django_db


def delete_url(notification: Notification) -> str:
    return f"{CHANGELIST}{notification.pk}/delete/"


def select_for_delete(client, *notifications: Notification, confirmed: bool):
    data = {"action": "delete_selected", "_selected_action": [str(n.pk) for n in notifications], "index": 0}
    if confirmed:
        data["post"] = "yes"  # what the confirmation page's button sends
    return client.post(CHANGELIST, data, follow=True)


@pytest.fixture
def one_of_each(make_notification):
    sent = make_notification(status="sent", attempts=1, attempts_total=1, sent_at=timezone.now())
    now = timezone.now()
    DeliveryAttempt.objects.create(notification=sent, number=1, started_at=now, finished_at=now, outcome="sent")
    return {
        "sent": sent,
        "failed": make_notification(status="failed", failure_reason="permanent"),
        "cancelled": make_notification(status="cancelled", cancelled_at=timezone.now()),
        "scheduled": make_notification(status="scheduled"),
        "retrying": make_notification(status="retrying", attempts=1),
        "sending": make_notification(status="sending", attempts=1, lease_expires_at=timezone.now()),
    }


def status_of(notification: Notification) -> str | None:
    return Notification.objects.filter(pk=notification.pk).values_list("status", flat=True).first()


def test_the_action_asks_for_confirmation_first(admin_client, one_of_each):
    response = select_for_delete(admin_client, *one_of_each.values(), confirmed=False)

    assert "Are you sure" in html(response)
    assert Notification.objects.count() == 6


def test_the_action_deletes_finished_rows_cancels_live_ones_and_keeps_one_being_sent(admin_client, one_of_each):
    response = select_for_delete(admin_client, *one_of_each.values(), confirmed=True)

    assert {name: status_of(row) for name, row in one_of_each.items()} == {
        "sent": None,
        "failed": None,
        "cancelled": None,
        "scheduled": "cancelled",
        "retrying": "cancelled",
        "sending": "sending",
    }
    assert not DeliveryAttempt.objects.exists()  # the sent row's attempt went with it
    assert messages_of(response) == [
        "3 notification(s) deleted.",
        "2 notification(s) cancelled instead of deleted: they were still to be sent. Delete them again to remove them.",
        "1 notification(s) not deleted: being sent right now. Try again once they have finished.",
    ]
    logged = LogEntry.objects.filter(action_flag=DELETION)
    assert sorted(logged.values_list("object_id", flat=True)) == sorted(
        str(one_of_each[name].pk) for name in ("sent", "failed", "cancelled")
    )


def test_deleting_a_cancelled_row_again_removes_it(admin_client, one_of_each):
    scheduled = one_of_each["scheduled"]

    select_for_delete(admin_client, scheduled, confirmed=True)
    assert status_of(scheduled) == "cancelled"
    response = select_for_delete(admin_client, scheduled, confirmed=True)

    assert status_of(scheduled) is None
    assert messages_of(response) == ["1 notification(s) deleted."]


def test_the_delete_page_refuses_a_row_being_sent(admin_client, one_of_each):
    sending = one_of_each["sending"]

    response = admin_client.post(delete_url(sending), {"post": "yes"}, follow=True)

    assert status_of(sending) == "sending"
    assert messages_of(response) == [
        "1 notification(s) not deleted: being sent right now. Try again once they have finished."
    ]
    assert not LogEntry.objects.exists()


def test_the_delete_page_cancels_a_scheduled_row(admin_client, one_of_each):
    response = admin_client.post(delete_url(one_of_each["scheduled"]), {"post": "yes"}, follow=True)

    assert status_of(one_of_each["scheduled"]) == "cancelled"
    assert "cancelled instead of deleted" in messages_of(response)[0]


def test_the_delete_page_deletes_a_finished_row(admin_client, one_of_each):
    sent = one_of_each["sent"]

    assert "Are you sure" in html(admin_client.get(delete_url(sent)))
    response = admin_client.post(delete_url(sent), {"post": "yes"}, follow=True)

    assert status_of(sent) is None
    assert messages_of(response) == ["1 notification(s) deleted."]
    assert LogEntry.objects.get().action_flag == DELETION


def test_staff_without_the_delete_permission_cannot_delete(client, one_of_each, django_user_model):
    operator = django_user_model.objects.create_user(username="operator", is_staff=True)
    operator.user_permissions.add(*Permission.objects.filter(codename__in=("view_notification", "change_notification")))
    client.force_login(operator)
    sent = one_of_each["sent"]

    assert 'value="delete_selected"' not in html(client.get(CHANGELIST))
    select_for_delete(client, sent, confirmed=True)
    assert client.post(delete_url(sent), {"post": "yes"}).status_code == 403
    assert status_of(sent) == "sent"
