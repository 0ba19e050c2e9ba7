"""Creating outside any transaction, as a web request does: idempotency holds under a race."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from notifications import services
from notifications.models import Notification


def _race(owner, data: dict) -> tuple[list[tuple[str, bool]], list[BaseException]]:
    """Two notification_create calls released at the same instant, each on its own connection."""
    barrier = threading.Barrier(2)
    results: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            barrier.wait(timeout=10)
            notification, created = services.notification_create(owner=owner, data=data)
            results.append((str(notification.id), created))
        except BaseException as exc:  # reported by the test, in its own thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_with_one_key_store_one_notification():
    owner = get_user_model().objects.create_user(username="racer")
    for attempt in range(10):
        key = f"race-{attempt}"
        results, errors = _race(owner, {"channel": "console", "recipient": "x", "body": "hi", "idempotency_key": key})
        assert not errors, errors
        assert len({notification_id for notification_id, _ in results}) == 1, results
        assert sorted(created for _, created in results) == [False, True]
        assert Notification.objects.filter(owner=owner, idempotency_key=key).count() == 1
