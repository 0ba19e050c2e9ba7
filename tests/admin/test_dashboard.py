"""The operator's dashboard: what it reads out of known rows (outcomes per hour and channel,
lateness p50/p99, the due backlog, the open breakers), its empty page, who may see it, and
that each of its reads is bounded by an index."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Notification
from notifier import gates
from tests.admin.conftest import html, table
from tests.admin.test_at_scale import SEQ_SCAN, plan
from tests.admin.test_permissions import staff_with

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/notifications/notification/dashboard/"
OUTCOMES_HEADER = ["Hour", "Sent", "Failed", "Suppressed"]
LATENESS_HEADER = ["Hour", "Sends", "p50", "p99"]


@pytest.fixture
def hour() -> datetime:
    """The start of the hour two hours ago: well inside the dashboard's 24 hours."""
    return timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


def shown_hour(hour: datetime) -> str:
    return f"{hour:%Y-%m-%d %H:%M}"


def sent(make_notification, at: datetime, *, late: float, channel: str = "email", **fields) -> Notification:
    """A notification due ``late`` seconds before it was sent at ``at``."""
    due = at - timedelta(seconds=late)
    return make_notification(channel=channel, recipient="a@ex.com", status="sent", sent_at=at, send_at=due, **fields)


def finished(make_notification, status: str, at: datetime, *, channel: str = "webhook") -> Notification:
    """A notification that ended ``status`` at ``at`` (its last change)."""
    row = make_notification(channel=channel, status=status, send_at=at - timedelta(minutes=1))
    Notification.objects.filter(id=row.id).update(updated_at=at)
    return row


@pytest.fixture
def known_rows(make_notification, hour):
    """Three emails sent in ``hour`` (1, 2 and 10 s late), one the hour before (4 s late); a failed
    and a suppressed webhook in ``hour``; two rows due now (30 s and 90 s) and one due later.
    Left out: a send and a failure older than 24 hours, and an event delivery."""
    for minute, late in ((10, 1), (20, 2), (30, 10)):
        sent(make_notification, hour + timedelta(minutes=minute), late=late)
    sent(make_notification, hour - timedelta(minutes=30), late=4)
    finished(make_notification, "failed", hour + timedelta(minutes=5))
    finished(make_notification, "suppressed", hour + timedelta(minutes=50))
    make_notification(age=timedelta(seconds=30))
    make_notification(age=timedelta(seconds=90))
    make_notification(send_at=timezone.now() + timedelta(hours=1))
    sent(make_notification, timezone.now() - timedelta(hours=30), late=500)
    finished(make_notification, "failed", timezone.now() - timedelta(hours=30))
    sent(make_notification, hour + timedelta(minutes=15), late=900, channel="webhook", event_type="notification.sent")


def figure(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[page.index(">", start) + 1 : page.index("</dd>", start)].strip()


def test_the_dashboard_counts_each_channels_outcomes_per_hour(admin_client, known_rows, hour):
    page = html(admin_client.get(DASHBOARD))

    assert table(page, "outcomes-email") == [
        OUTCOMES_HEADER,
        [shown_hour(hour - timedelta(hours=1)), "1", "0", "0"],
        [shown_hour(hour), "3", "0", "0"],
    ]
    assert table(page, "outcomes-webhook") == [OUTCOMES_HEADER, [shown_hour(hour), "0", "1", "1"]]
    assert "email: 4 sent, 0 failed, 0 suppressed" in page
    assert "webhook: 0 sent, 1 failed, 1 suppressed" in page  # the event delivery is not counted


def test_the_dashboard_shows_lateness_percentiles_per_hour_and_overall(admin_client, known_rows, hour):
    page = html(admin_client.get(DASHBOARD))

    # p50 of 1, 2, 10 is 2; p99 is 2 + 0.98 * (10 - 2) = 9.84. Over 1, 2, 4, 10: 3 and 9.82.
    assert table(page, "lateness-table") == [
        LATENESS_HEADER,
        [shown_hour(hour - timedelta(hours=1)), "1", "4.0 s", "4.0 s"],
        [shown_hour(hour), "3", "2.0 s", "9.8 s"],
        ["All 24 hours", "4", "3.0 s", "9.8 s"],
    ]
    assert figure(page, "lateness-overall") == "3.0 s / 9.8 s"


def test_the_dashboard_shows_the_due_backlog_and_its_oldest(admin_client, known_rows):
    page = html(admin_client.get(DASHBOARD))

    assert figure(page, "backlog-due") == "2"
    oldest = float(figure(page, "backlog-oldest").removesuffix(" s"))
    assert 90 <= oldest < 120


def test_each_chart_is_drawn_as_inline_svg(admin_client, known_rows, hour):
    page = html(admin_client.get(DASHBOARD))

    charts = page.split('id="content-main"')[1]
    assert charts.count("<svg viewBox=") == 3  # email, webhook, lateness
    assert f"<title>{hour:%H}:00: 3 sent</title>" in page
    assert f"<title>{hour:%H}:00: p99 9.8 s</title>" in page
    assert "<script" not in charts


def test_an_open_breaker_is_listed_with_the_time_to_its_probe(admin_client, settings):
    settings.NOTIFY_BREAKER_MIN_CALLS = 2
    breaker = f"host:dash{uuid.uuid4().hex[:8]}.example:8443"  # a webhook host's, port and all
    for _ in range(2):
        gates.record_outcome(breaker, failed=True)

    rows = {name: probe for name, probe in table(html(admin_client.get(DASHBOARD)), "breakers")[1:]}

    assert rows[breaker] in ("29 s", "30 s")  # NOTIFY_BREAKER_COOLDOWN: 30 s


def test_a_long_wait_is_also_shown_in_hours_and_minutes(admin_client, make_notification):
    make_notification(age=timedelta(hours=2, minutes=1, seconds=30))

    assert re.fullmatch(r"7,29\d\.\d s \(2 h 1 min\)", figure(html(admin_client.get(DASHBOARD)), "backlog-oldest"))


def test_with_redis_down_the_breakers_are_unknown_and_the_page_renders(admin_client, known_rows, redis_down):
    page = html(admin_client.get(DASHBOARD))

    assert "Unknown: Redis, where the breakers live, could not be read." in page
    assert figure(page, "backlog-due") == "2"


def test_the_empty_dashboard(admin_client):
    page = html(admin_client.get(DASHBOARD))

    assert "No notification was sent, failed or suppressed in the last 24 hours." in page
    assert "Nothing was sent in the last 24 hours." in page
    assert figure(page, "backlog-due") == "0"
    assert figure(page, "backlog-oldest") == "0.0 s"
    assert figure(page, "lateness-overall") == "no sends"


def test_the_admin_index_and_the_notification_list_link_the_dashboard(admin_client):
    assert f'href="{DASHBOARD}"' in html(admin_client.get("/admin/"))
    assert f'href="{DASHBOARD}"' in html(admin_client.get("/admin/notifications/notification/"))


def test_who_may_see_the_dashboard(client, owner, django_user_model):
    assert client.get(DASHBOARD)["Location"].startswith("/admin/login/")  # anonymous

    client.force_login(owner)  # a client: not staff
    assert client.get(DASHBOARD)["Location"].startswith("/admin/login/")

    client.force_login(staff_with(django_user_model, "nobody", "view_broadcast"))
    assert client.get(DASHBOARD).status_code == 403
    assert DASHBOARD not in html(client.get("/admin/"))

    client.force_login(staff_with(django_user_model, "viewer", "view_notification"))
    assert client.get(DASHBOARD).status_code == 200


def dashboard_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        html(client.get(DASHBOARD))
    return [q["sql"] for q in captured.captured_queries if "notifications_notification" in q["sql"]]


@pytest.mark.parametrize(
    ("marker", "index"),
    [
        ("DATE_TRUNC", "notification_status_updated"),  # outcomes per hour
        ("percentile_cont", "notification_status_updated"),  # lateness
        ("LIMIT 100001", "notification_live_due"),  # the backlog, counted up to a cap
        ('"next_attempt_at" AS "next_attempt_at"', "notification_live_due"),  # the oldest due
    ],
    ids=["outcomes", "lateness", "backlog", "oldest due"],
)
def test_each_read_is_bounded_by_an_index(admin_client, known_rows, marker, index):
    [sql] = [q for q in dashboard_queries(admin_client) if marker in q]

    explained = plan(sql)

    assert SEQ_SCAN not in explained, explained
    assert index in explained, explained
