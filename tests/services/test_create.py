"""Creating outside any transaction, as a web request does: idempotency holds under a race."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from notifications import services
from notifications.exceptions import IdempotencyConflict
from notifications.models import Notification


def _race(create: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """``create`` called twice at the same instant, each on its own connection."""
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(create())
        except BaseException as exc:  # reported by the test, in its own thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
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
        data = {"channel": "console", "recipient": "x", "body": "hi", "idempotency_key": key}
        results, errors = _race(lambda data=data: services.notification_create(owner=owner, data=data))
        assert not errors, errors
        assert len({str(notification.id) for notification, _ in results}) == 1, results
        assert sorted(created for _, created in results) == [False, True]
        assert Notification.objects.filter(owner=owner, idempotency_key=key).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_bulk_creates_with_one_key_store_it_once():
    """The loser sees the winner's rows (a replay) or a clean conflict to retry, never a database error."""
    owner = get_user_model().objects.create_user(username="bulk-racer")
    for attempt in range(10):
        items = [
            {"channel": "console", "recipient": "x", "body": str(n), "idempotency_key": f"bulk-{attempt}-{n}"}
            for n in range(20)
        ]
        results, errors = _race(lambda items=items: services.notification_bulk_create(owner=owner, items=items))
        assert all(isinstance(error, IdempotencyConflict) for error in errors), errors
        assert len(results) + len(errors) == 2 and results, (results, errors)
        stored = Notification.objects.filter(owner=owner, idempotency_key__startswith=f"bulk-{attempt}-")
        assert stored.count() == 20
        for result in results:
            assert {str(n.id) for n in result} == {str(n.id) for n in stored}
