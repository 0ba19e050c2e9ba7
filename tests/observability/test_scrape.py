"""GET /metrics on web: counters as the services move them, the backlog gauges read from
PostgreSQL and Redis at scrape time, and METRICS_TOKEN."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg
import pytest
from django.test import Client
from django.utils import timezone

from notifications import services, tasks
from notifications.models import Notification, Status
from tests.conftest import database_url
from tests.observability.scraping import total, value
from tests.services.test_gates import FlakyProvider, deliver, pager  # noqa: F401  the fixture

URL = "/api/v1/notifications/"


def scrape(**headers: str) -> str:
    response = Client().get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_an_empty_service_shows_no_backlog(db):
    text = scrape()
    assert value(text, "notifier_due_backlog") == 0
    assert value(text, "notifier_oldest_due_age_seconds") == 0
    assert value(text, "notifier_dead_letters") == 0


def test_the_backlog_gauges_count_due_rows_and_recent_dead_letters(make_notification):
    for age in (timedelta(minutes=3), timedelta(seconds=30), timedelta(0)):
        make_notification(age=age)
    make_notification(send_at=timezone.now() + timedelta(hours=1))  # not due: not behind
    make_notification(status=Status.FAILED, age=timedelta(hours=2))
    make_notification(status=Status.FAILED, age=timedelta(days=2))  # out of the 24 hours
    make_notification(status=Status.SENT)
    text = scrape()
    assert value(text, "notifier_due_backlog") == 3
    assert 180 <= value(text, "notifier_oldest_due_age_seconds") < 190
    assert value(text, "notifier_dead_letters") == 1


def test_created_counts_single_and_bulk_creates_by_channel(alice, django_capture_on_commit_callbacks):
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):  # counted once committed
        alice.post(URL, {"channel": "webhook", "recipient": "https://example.com/hook"}, format="json")
        items = [{"channel": "console", "recipient": "ops", "body": str(n)} for n in range(3)]
        assert alice.post(f"{URL}bulk/", {"notifications": items}, format="json").status_code == 201
    after = scrape()
    created = "notifier_notifications_created_total"
    assert value(after, created, channel="webhook") - (value(before, created, channel="webhook") or 0) == 1
    assert value(after, created, channel="console") - (value(before, created, channel="console") or 0) == 3


def test_outcomes_and_deferrals_are_counted_and_lateness_observed_on_send(make_notification, pager):  # noqa: F811
    before = scrape()
    pager.failing = True
    for _ in range(3):
        with pytest.raises(services.DeliveryDeferred):
            deliver(make_notification(channel="pager", recipient="ops", age=timedelta(seconds=10)))
    held = make_notification(channel="pager", recipient="ops")
    assert deliver(held).status == "deferred"  # the breaker is open now
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("notifier_deliveries_total", channel="pager", outcome="retry") == 3
    assert delta("notifier_deferrals_total", channel="pager", reason="breaker") == 1
    assert delta("notifier_delivery_duration_seconds_count", channel="pager") == 3
    target = f"provider:{pager.provider}"
    assert value(after, "notifier_breaker_open", target=target) == 1


def test_lateness_is_sent_time_minus_due_time(make_notification, pager):  # noqa: F811
    before = scrape()
    row = make_notification(channel="pager", recipient="ops", priority="high", age=timedelta(seconds=20))
    assert deliver(row).status == "sent"
    after = scrape()
    count = "notifier_lateness_seconds_count"
    assert total(after, count, priority="high") - total(before, count, priority="high") == 1
    late = total(after, "notifier_lateness_seconds_sum", priority="high") - total(
        before, "notifier_lateness_seconds_sum", priority="high"
    )
    assert 20 <= late < 25
    bucket = "notifier_lateness_seconds_bucket"
    assert total(after, bucket, priority="high", le="10.0") == total(before, bucket, priority="high", le="10.0")
    assert total(after, bucket, priority="high", le="30.0") - total(before, bucket, priority="high", le="30.0") == 1
    sent = "notifier_deliveries_total"
    assert value(after, sent, channel="pager", provider=pager.provider, outcome="sent") == 1


def test_beats_heartbeat_age_comes_from_the_schedules_pass(db):
    tasks.run_schedules()
    assert 0 <= value(scrape(), "notifier_beat_heartbeat_age_seconds") < 5


def test_a_scrape_by_the_pods_address_needs_no_allowed_host(db):
    response = Client().get("/metrics", headers={"Host": "10.1.2.3:8000"})
    assert response.status_code == 200
    assert Client().get("/healthz", headers={"Host": "10.1.2.3:8000"}).status_code == 400  # the check stays


def test_a_metrics_token_is_required_as_a_bearer_token(db, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert Client().get("/metrics", headers={"Authorization": "Token s3cret-token"}).status_code == 401
    assert "notifier_due_backlog" in scrape(Authorization="Bearer s3cret-token")


def test_with_redis_down_the_scrape_answers_without_its_gauges(db, redis_down):
    text = scrape()
    assert value(text, "notifier_due_backlog") == 0
    assert value(text, "notifier_beat_heartbeat_age_seconds") is None  # left out, not a wrong 0
    assert total(text, "notifier_breaker_open") == 0


def test_a_scrape_behind_a_locked_table_answers_within_its_timeout_without_the_backlog(transactional_db):
    with psycopg.connect(database_url()) as other:  # holds the table as a long migration would
        other.execute(f"LOCK TABLE {Notification._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        text = scrape()
        took = time.monotonic() - started
    assert took < 5, f"the scrape took {took:.1f}s"
    assert value(text, "notifier_due_backlog") is None  # left out, not a wrong 0
    assert "notifier_breaker_open" in text  # the Redis gauges are unaffected
