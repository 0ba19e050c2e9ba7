"""Counters add up across processes: a real gunicorn with 2 workers and a real Celery worker
with 2 pool processes, each process counting some of the work, scraped on web's /metrics and
the worker's own."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from notifications.models import Notification, Status
from testkit import free_port, wait_until
from tests.conftest import database_url
from tests.observability.live import get_metrics, metrics_files, start_gunicorn, token_of
from tests.observability.scraping import total, value
from tests.sink import Reply

pytestmark = pytest.mark.worker

TOKEN = "scrape-me"
COUNT = 48


def create_concurrently(base: str, token: str, url: str, count: int) -> list[str]:
    """``count`` webhooks created through the API, 8 requests at a time: both gunicorn workers answer some."""

    def create(n: int) -> str:
        body = {"channel": "webhook", "recipient": url, "payload": {"n": n}}
        headers = {"Authorization": f"Token {token}"}
        response = httpx.post(f"{base}/api/v1/notifications/", json=body, headers=headers, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(create, range(count)))


def test_counters_add_up_across_gunicorn_workers_and_pool_processes(alice, sink, start_worker, tmp_path):
    sink.default = Reply(delay=0.05)  # a send takes a while: both pool processes take some
    port = free_port()
    worker = start_worker(WORKER_METRICS_PORT=str(port), METRICS_TOKEN=TOKEN)
    web, base = start_gunicorn(database_url(), tmp_path / "web.log", METRICS_TOKEN=TOKEN, WEBHOOK_ALLOW_PRIVATE="true")
    try:
        ids = create_concurrently(base, token_of(alice), sink.url, COUNT)
        sink.wait_for(COUNT, timeout=60)
        wait_until(
            lambda: Notification.objects.filter(id__in=ids, status=Status.SENT).count() == COUNT,
            30,
            lambda: "not every notification is sent",
        )

        assert get_metrics(f"{base}/metrics").status_code == 401
        assert get_metrics(f"{base}/metrics", "wrong").status_code == 401
        web_text = get_metrics(f"{base}/metrics", TOKEN).text
        assert value(web_text, "notifier_notifications_created_total", channel="webhook") == COUNT
        assert total(web_text, "notifier_deliveries_total") == 0  # web's files are its own
        assert value(web_text, "notifier_due_backlog") == 0
        assert len(metrics_files("web", web.pid)) >= 2, "one gunicorn worker answered every request"

        worker_url = f"http://127.0.0.1:{port}/metrics"
        assert get_metrics(worker_url).status_code == 401
        worker_text = wait_until(
            lambda: (
                (text := get_metrics(worker_url, TOKEN).text)
                and total(text, "notifier_lateness_seconds_count") == COUNT
                and text
            ),
            10,
            lambda: "the worker did not count every send",
        )
        sent = {"channel": "webhook", "provider": "webhook", "outcome": "sent"}
        assert value(worker_text, "notifier_deliveries_total", **sent) == COUNT
        assert total(worker_text, "notifier_deliveries_total") == COUNT  # nothing else: no retry, no failure
        assert total(worker_text, "notifier_delivery_duration_seconds_count", channel="webhook") == COUNT
        assert total(worker_text, "notifier_lateness_seconds_count", priority="normal") == COUNT
        assert value(worker_text, "notifier_due_backlog") is None  # the backlog is web's to tell
        pool_processes = set(re.findall(r"ForkPoolWorker-\d+", worker.text()))
        assert len(pool_processes) == 2, pool_processes
        assert "succeeded in" in worker.text() and f"notification={ids[-1]}" in worker.text()  # plain lines name it
        assert len(metrics_files("worker", worker.pid)) >= 2, "one pool process sent everything"
    finally:
        web.stop()
