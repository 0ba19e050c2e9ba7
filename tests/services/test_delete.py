"""An operator's delete: finished rows go with their attempts, live ones are cancelled instead,
a row being sent is refused; the status that decides is the one the row has under its lock."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from notifications import services
from notifications.exceptions import InvalidState
from notifications.models import DeliveryAttempt, Notification


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["sent", "failed", "cancelled"])
def test_a_finished_row_is_deleted_with_its_attempts(make_notification, status):
    row = make_notification(status=status, attempts=1)
    now = timezone.now()
    DeliveryAttempt.objects.create(notification=row, number=1, started_at=now, finished_at=now, outcome="permanent")

    assert services.notification_delete(notification=row) == "deleted"

    assert not Notification.objects.filter(pk=row.pk).exists()
    assert not DeliveryAttempt.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["scheduled", "retrying"])
def test_a_live_row_is_cancelled_not_deleted(make_notification, status):
    row = make_notification(status=status)

    assert services.notification_delete(notification=row) == "cancelled"

    row.refresh_from_db()
    assert row.status == "cancelled"
    assert row.next_attempt_at is None
    assert services.notification_delete(notification=row) == "deleted"  # finished now: a second delete removes it


@pytest.mark.django_db
def test_a_row_being_sent_is_refused(make_notification):
    row = make_notification(status="sending", attempts=1, lease_expires_at=timezone.now())

    with pytest.raises(InvalidState, match="sending notification cannot be deleted"):
        services.notification_delete(notification=row)

    row.refresh_from_db()
    assert row.status == "sending"


@pytest.mark.django_db
def test_a_row_already_gone_counts_as_deleted(make_notification):
    row = make_notification(status="sent")
    Notification.objects.filter(pk=row.pk).delete()

    assert services.notification_delete(notification=row) == "deleted"


@pytest.mark.django_db(transaction=True)
def test_a_retry_that_holds_the_row_decides_before_the_delete(make_notification):
    """The delete reads the status under the row's lock: a failed row retried meanwhile is live
    again when the delete gets it, so it is cancelled, not deleted from under its new message."""
    row = make_notification(status="failed", failure_reason="permanent")
    locked = threading.Event()

    def retry() -> None:
        try:
            with transaction.atomic():
                Notification.objects.filter(pk=row.pk).update(status="scheduled", next_attempt_at=timezone.now())
                locked.set()
                time.sleep(0.5)  # the delete arrives while the retry's transaction holds the row
        finally:
            connections.close_all()

    worker = threading.Thread(target=retry)
    worker.start()
    assert locked.wait(10)
    try:
        outcome = services.notification_delete(notification=row)  # the caller still holds it as "failed"
    finally:
        worker.join()
    assert outcome == "cancelled"
    assert Notification.objects.get(pk=row.pk).status == "cancelled"
    connection.close()
