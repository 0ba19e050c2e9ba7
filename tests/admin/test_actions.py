"""The changelist's actions: cancel and retry now, through the services, with honest counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from tests.admin.conftest import CHANGELIST, html, messages_of, run_action

pytestmark = pytest.mark.django_db


def test_cancel_action_cancels_scheduled_and_skips_sent(admin_client, make_notification):
    scheduled = make_notification(status="scheduled", send_at=timezone.now() + timedelta(hours=1))
    sent = make_notification(status="sent", sent_at=timezone.now(), next_attempt_at=None)

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


def test_cancel_action_cancels_a_retrying_row(admin_client, make_notification):
    retrying = make_notification(status="retrying", attempts=1)

    response = run_action(admin_client, "cancel", retrying)

    retrying.refresh_from_db()
    assert retrying.status == "cancelled"
    assert messages_of(response) == ["1 notification(s) cancelled."]


def test_cancel_action_on_only_finished_rows_says_all_were_skipped(admin_client, make_notification):
    sent = make_notification(status="sent", next_attempt_at=None)
    failed = make_notification(status="failed", failure_reason="permanent", next_attempt_at=None)

    response = run_action(admin_client, "cancel", sent, failed)

    assert set(Notification.objects.values_list("status", flat=True)) == {"sent", "failed"}
    assert messages_of(response) == ["2 notification(s) skipped: not in a state that allows it."]


def test_retry_now_action_reschedules_a_failed_row(admin_client, make_notification, django_capture_on_commit_callbacks):
    failed = make_notification(
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


def test_retry_now_action_skips_rows_that_are_not_failed(admin_client, make_notification):
    failed = make_notification(status="failed", failure_reason="permanent", attempts=1, next_attempt_at=None)
    scheduled = make_notification(status="scheduled")
    sent = make_notification(status="sent", attempts=1, next_attempt_at=None)

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


def test_the_changelist_offers_the_actions(admin_client, make_notification):
    make_notification()

    page = html(admin_client.get(CHANGELIST))

    assert 'value="cancel"' in page
    assert 'value="retry_now"' in page
    assert 'value="delete_selected"' in page
