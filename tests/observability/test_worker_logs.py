"""A real worker with LOG_FORMAT=json: every line it writes about a notification, Celery's own
retry and success lines included, is a JSON object naming the notification and the
X-Request-ID it was created with."""

from __future__ import annotations

import json

import pytest

from notifications.models import Notification, Status
from testkit import wait_until
from tests.sink import Reply

pytestmark = pytest.mark.worker


def json_lines(text: str) -> list[dict]:
    # Celery prints its start banner as text; every logged line is an object.
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_workers_json_lines_about_a_notification_carry_its_id_and_request_id(
    alice, sink, allow_private, start_worker
):
    worker = start_worker(LOG_FORMAT="json", NOTIFY_RETRY_BACKOFF="1", NOTIFY_RETRY_BACKOFF_MAX="1")
    sink.then(Reply(503))
    created = alice.post(
        "/api/v1/notifications/",
        {"channel": "webhook", "recipient": sink.url},
        format="json",
        headers={"X-Request-ID": "order-4711"},
    ).json()
    wait_until(lambda: Notification.objects.get(id=created["id"]).status == Status.SENT, 30, lambda: worker.tail())
    wait_until(lambda: "succeeded" in worker.text(), 10, lambda: worker.tail())

    lines = json_lines(worker.text())
    assert lines and all({"timestamp", "level", "logger", "event"} <= line.keys() for line in lines)
    about = [line for line in lines if line.get("notification_id") == created["id"]]
    assert {line["trace_id"] for line in about} == {"order-4711"}
    celery_lines = [line["event"] for line in about if line["logger"] == "celery.app.trace"]
    assert any(" retry: " in event for event in celery_lines), celery_lines
    assert any(" succeeded in " in event for event in celery_lines), celery_lines
