"""How the delivery tasks wait before a retry that Celery publishes."""

from __future__ import annotations

import uuid

import pytest
from django.db import OperationalError

from notifications.tasks import deliver, deliver_batch


@pytest.mark.parametrize(("task", "args"), [(deliver, ["id", "token"]), (deliver_batch, ["token", ["id"]])])
def test_a_database_outage_waits_the_first_retrys_time_however_many_attempts_came_before(task, args, settings):
    """An outage is nobody's attempt: a message whose row already failed ten times must not
    wait hours for the database to come back (Celery would grow the wait with its retries)."""
    settings.NOTIFY_RETRY_BACKOFF = 10
    settings.NOTIFY_RETRY_BACKOFF_MAX = 3600
    ids = [str(uuid.uuid4()) if value in ("id", "token") else [str(uuid.uuid4())] for value in args]
    task.push_request(args=ids, retries=10, id=str(uuid.uuid4()), called_directly=False, is_eager=False)
    try:
        # autoretry_for passes the countdown Celery's backoff drew for retry number 10.
        down = OperationalError("the database is down")
        waits = [task.retry(exc=down, countdown=3000, throw=False).when for _ in range(5)]
    finally:
        task.pop_request()
    assert all(5 <= wait <= 10 for wait in waits), waits
