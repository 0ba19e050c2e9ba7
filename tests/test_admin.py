"""The operators' admin: the notification list, its filters and search, the attempts inline,
the cancel / retry-now actions, and django-celery-beat's schedule pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from notifications.models import DeliveryAttempt, Notification, WebhookSecret

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/notifications/notification/"


def change_url(notification: Notification) -> str:
    return f"{CHANGELIST}{notification.pk}/change/"


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user(username="client-1")


@pytest.fixture
def make(owner):
    def make(**fields) -> Notification:
        now = timezone.now()
        values = {
            "owner": owner,
            "channel": "console",
            "recipient": "x",
            "send_at": now,
            "max_attempts": 3,
            "next_attempt_at": now,
            "status": "scheduled",
            **fields,
        }
        return Notification.objects.create(**values)

    return make


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def shown(response, *notifications: Notification) -> set[Notification]:
    """Those of ``notifications`` whose rows the changelist shows."""
    page = html(response)
    return {n for n in notifications if str(n.pk) in page}


# --- the list ----------------------------------------------------------------


def test_changelist_lists_every_clients_notifications(admin_client, make, django_user_model):
    other = django_user_model.objects.create_user(username="client-2")
    mine, theirs = make(recipient="a@example.com"), make(owner=other, recipient="b@example.com")

    response = admin_client.get(CHANGELIST)

    assert shown(response, mine, theirs) == {mine, theirs}
    page = html(response)
    assert "a@example.com" in page
    assert "b@example.com" in page


def test_filter_by_status(admin_client, make):
    failed, scheduled, sent = make(status="failed"), make(status="scheduled"), make(status="sent")

    assert shown(admin_client.get(CHANGELIST, {"status__exact": "failed"}), failed, scheduled, sent) == {failed}
    assert shown(admin_client.get(CHANGELIST, {"status__exact": "sent"}), failed, scheduled, sent) == {sent}


def test_filter_by_channel(admin_client, make):
    console = make(channel="console")
    webhook = make(channel="webhook", recipient="https://example.com/hook")

    assert shown(admin_client.get(CHANGELIST, {"channel": "webhook"}), console, webhook) == {webhook}
    assert shown(admin_client.get(CHANGELIST, {"channel": "console"}), console, webhook) == {console}


def test_channel_filter_offers_the_channels_in_use(admin_client, make):
    make(channel="console")
    make(channel="webhook", recipient="https://example.com/hook")

    page = html(admin_client.get(CHANGELIST))

    assert "?channel=webhook" in page
    assert "?channel=console" in page


def test_filter_by_priority(admin_client, make):
    high, low = make(priority="high"), make(priority="low")

    assert shown(admin_client.get(CHANGELIST, {"priority__exact": "high"}), high, low) == {high}


def test_filter_by_failure_reason(admin_client, make):
    permanent = make(status="failed", failure_reason="permanent")
    exhausted = make(status="failed", failure_reason="exhausted")
    lost = make(status="failed", failure_reason="worker_lost")

    response = admin_client.get(CHANGELIST, {"failure_reason__exact": "exhausted"})

    assert shown(response, permanent, exhausted, lost) == {exhausted}


def test_filters_combine(admin_client, make):
    target = make(status="failed", channel="webhook", recipient="https://example.com/a", failure_reason="permanent")
    other_channel = make(status="failed", channel="console", failure_reason="permanent")
    other_status = make(status="sent", channel="webhook", recipient="https://example.com/b")

    response = admin_client.get(CHANGELIST, {"status__exact": "failed", "channel": "webhook"})

    assert shown(response, target, other_channel, other_status) == {target}


# --- search ------------------------------------------------------------------


def test_search_by_recipient(admin_client, make):
    target = make(channel="email", recipient="ops-oncall@example.com")
    other = make(channel="email", recipient="someone@example.org")

    response = admin_client.get(CHANGELIST, {"q": "ops-oncall@example.com"})

    assert shown(response, target, other) == {target}


def test_search_by_part_of_the_recipient(admin_client, make):
    target = make(channel="webhook", recipient="https://hooks.example.com/orders")
    other = make(channel="webhook", recipient="https://hooks.example.com/billing")

    response = admin_client.get(CHANGELIST, {"q": "orders"})

    assert shown(response, target, other) == {target}


def test_search_by_full_id(admin_client, make):
    target, other = make(), make()

    response = admin_client.get(CHANGELIST, {"q": str(target.pk)})

    assert shown(response, target, other) == {target}


def test_search_by_idempotency_key(admin_client, make):
    target = make(idempotency_key="order-4711-shipped")
    other = make(idempotency_key="order-4712-shipped")

    response = admin_client.get(CHANGELIST, {"q": "order-4711-shipped"})

    assert shown(response, target, other) == {target}


def test_search_with_no_match_shows_no_rows(admin_client, make):
    row = make(recipient="someone")

    response = admin_client.get(CHANGELIST, {"q": "nobody-matches-this"})

    assert shown(response, row) == set()
    assert response.context["cl"].result_list.count() == 0


# --- the change page ---------------------------------------------------------


@pytest.fixture
def failed_with_attempts(make):
    notification = make(
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


# --- actions -----------------------------------------------------------------


def run_action(client, action: str, *notifications: Notification):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(n.pk) for n in notifications], "index": 0},
        follow=True,
    )


def test_cancel_action_cancels_scheduled_and_skips_sent(admin_client, make):
    scheduled = make(status="scheduled", send_at=timezone.now() + timedelta(hours=1))
    sent = make(status="sent", sent_at=timezone.now(), next_attempt_at=None)

    response = run_action(admin_client, "cancel", scheduled, sent)

    assert response.status_code == 200
    scheduled.refresh_from_db()
    sent.refresh_from_db()
    assert scheduled.status == "cancelled"
    assert scheduled.cancelled_at is not None
    assert scheduled.next_attempt_at is None
    assert sent.status == "sent"
    assert sent.cancelled_at is None
    assert messages_of(response) == [
        "1 notification(s) cancelled.",
        "1 notification(s) skipped: not in a state that allows it.",
    ]


def test_cancel_action_cancels_a_retrying_row(admin_client, make):
    retrying = make(status="retrying", attempts=1)

    response = run_action(admin_client, "cancel", retrying)

    retrying.refresh_from_db()
    assert retrying.status == "cancelled"
    assert messages_of(response) == ["1 notification(s) cancelled."]


def test_cancel_action_on_only_finished_rows_says_all_were_skipped(admin_client, make):
    sent = make(status="sent", next_attempt_at=None)
    failed = make(status="failed", failure_reason="permanent", next_attempt_at=None)

    response = run_action(admin_client, "cancel", sent, failed)

    assert set(Notification.objects.values_list("status", flat=True)) == {"sent", "failed"}
    assert messages_of(response) == ["2 notification(s) skipped: not in a state that allows it."]


def test_retry_now_action_reschedules_a_failed_row(admin_client, make, django_capture_on_commit_callbacks):
    failed = make(
        status="failed",
        failure_reason="exhausted",
        attempts=3,
        attempts_total=3,
        last_error="HTTP 503",
        next_attempt_at=None,
        send_at=timezone.now() - timedelta(hours=1),
    )
    token_before = failed.dispatch_token
    before = timezone.now()

    with django_capture_on_commit_callbacks() as published:
        response = run_action(admin_client, "retry_now", failed)

    failed.refresh_from_db()
    assert failed.status == "scheduled"
    assert failed.attempts == 0
    assert failed.attempts_total == 3  # the row's history is kept
    assert failed.failure_reason == ""
    assert failed.next_attempt_at is not None
    assert failed.next_attempt_at >= before
    assert failed.dispatch_token != token_before
    assert len(published) == 1  # a message is published once the change commits
    assert messages_of(response) == ["1 notification(s) scheduled for a retry now."]


def test_retry_now_action_skips_rows_that_are_not_failed(admin_client, make):
    failed = make(status="failed", failure_reason="permanent", attempts=1, next_attempt_at=None)
    scheduled = make(status="scheduled")
    sent = make(status="sent", attempts=1, next_attempt_at=None)

    response = run_action(admin_client, "retry_now", failed, scheduled, sent)

    failed.refresh_from_db()
    sent.refresh_from_db()
    assert failed.status == "scheduled"
    assert sent.status == "sent"
    assert sent.attempts == 1
    assert messages_of(response) == [
        "1 notification(s) scheduled for a retry now.",
        "2 notification(s) skipped: not in a state that allows it.",
    ]


def test_the_changelist_offers_the_actions(admin_client, make):
    make()

    page = html(admin_client.get(CHANGELIST))

    assert 'value="cancel"' in page
    assert 'value="retry_now"' in page
    assert 'value="delete_selected"' in page


# --- who may see it ------------------------------------------------------------


def test_non_staff_user_is_sent_to_the_login_page(client, owner, make):
    make()
    client.force_login(owner)

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert f"next={CHANGELIST}" in response["Location"]


def test_anonymous_user_is_sent_to_the_login_page(client):
    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_non_staff_user_cannot_run_an_action(client, owner, make):
    scheduled = make()
    client.force_login(owner)

    response = client.post(CHANGELIST, {"action": "cancel", "_selected_action": [str(scheduled.pk)], "index": 0})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    scheduled.refresh_from_db()
    assert scheduled.status == "scheduled"


def staff_with(django_user_model, username: str, *codenames: str):
    user = django_user_model.objects.create_user(username=username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_staff_with_view_permission_sees_rows_but_not_the_actions(client, make, django_user_model):
    client.force_login(staff_with(django_user_model, "viewer", "view_notification"))
    scheduled = make()

    response = client.get(CHANGELIST)
    assert shown(response, scheduled) == {scheduled}
    assert 'value="cancel"' not in html(response)
    assert "View notification" in html(client.get(change_url(scheduled)))

    client.post(CHANGELIST, {"action": "cancel", "_selected_action": [str(scheduled.pk)], "index": 0})
    scheduled.refresh_from_db()
    assert scheduled.status == "scheduled"


def test_staff_with_change_permission_can_cancel(client, make, django_user_model):
    client.force_login(staff_with(django_user_model, "operator", "view_notification", "change_notification"))
    scheduled = make()

    assert 'value="cancel"' in html(client.get(CHANGELIST))
    response = run_action(client, "cancel", scheduled)

    scheduled.refresh_from_db()
    assert scheduled.status == "cancelled"
    assert messages_of(response) == ["1 notification(s) cancelled."]


# --- django-celery-beat --------------------------------------------------------


def test_periodic_task_admin_loads(admin_client):
    response = admin_client.get("/admin/django_celery_beat/periodictask/")

    assert response.status_code == 200
    assert "periodic task" in response.content.decode().lower()


@pytest.mark.parametrize("model", ["intervalschedule", "crontabschedule", "clockedschedule", "solarschedule"])
def test_beat_schedule_admins_load(admin_client, model):
    assert admin_client.get(f"/admin/django_celery_beat/{model}/").status_code == 200


def test_admin_index_lists_notifications_and_beat(admin_client):
    page = html(admin_client.get("/admin/"))

    assert CHANGELIST in page
    assert "/admin/django_celery_beat/periodictask/" in page


# --- webhook secrets -------------------------------------------------------------


def test_webhook_secrets_are_listed_without_the_secret(admin_client, owner):
    WebhookSecret.objects.create(owner=owner, secret="whsec_c2VjcmV0LXZhbHVl", created_at=timezone.now())

    page = html(admin_client.get("/admin/notifications/webhooksecret/"))

    assert "client-1" in page
    assert "whsec_c2VjcmV0LXZhbHVl" not in page
    assert "c2VjcmV0LXZhbHVl" not in html(
        admin_client.get(f"/admin/notifications/webhooksecret/{owner.webhook_secret.pk}/change/")
    )


def test_webhook_secrets_cannot_be_added_or_edited_by_hand(admin_client, owner):
    secret = WebhookSecret.objects.create(owner=owner, secret="whsec_c2VjcmV0LXZhbHVl", created_at=timezone.now())

    assert admin_client.get("/admin/notifications/webhooksecret/add/").status_code == 403
    assert admin_client.post("/admin/notifications/webhooksecret/add/", {"_save": "Save"}).status_code == 403
    assert admin_client.post(f"/admin/notifications/webhooksecret/{secret.pk}/change/", {}).status_code == 403
    assert WebhookSecret.objects.count() == 1
