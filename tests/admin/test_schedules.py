"""Schedules in the admin: the list with next and last run, the enabled filter, read-only pages,
and the enable / disable actions through the service (next run computed again from now)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Schedule
from tests import factories
from tests.admin.conftest import html, messages_of

pytestmark = pytest.mark.django_db

SCHEDULES = "/admin/notifications/schedule/"
BODY = {"channel": "console", "recipient": "ops-log", "body": "standup"}


@pytest.fixture
def made(db):
    owner = factories.user()
    return services.schedule_create(
        owner=owner, data={"cron": "30 2 * * *", "timezone": "Europe/Paris", "notification": BODY}
    )


def test_the_list_shows_cron_timezone_runs_and_counts_and_filters_by_enabled(admin_client, made):
    page = html(admin_client.get(SCHEDULES))
    assert "30 2 * * *" in page and "Europe/Paris" in page and str(made.pk) in page
    assert str(made.pk) not in html(admin_client.get(SCHEDULES, {"enabled__exact": "0"}))
    view = html(admin_client.get(f"{SCHEDULES}{made.pk}/change/"))
    assert 'name="_save"' not in view
    assert admin_client.get(f"{SCHEDULES}add/").status_code == 403


def test_disable_and_enable_go_through_the_service(admin_client, made):
    Schedule.objects.filter(pk=made.pk).update(next_run_at=timezone.now() - timedelta(days=2))
    response = admin_client.post(SCHEDULES, {"action": "disable", "_selected_action": [str(made.pk)]}, follow=True)
    assert messages_of(response) == ["1 schedule(s) disabled."]
    assert not Schedule.objects.get().enabled
    response = admin_client.post(SCHEDULES, {"action": "enable", "_selected_action": [str(made.pk)]}, follow=True)
    assert messages_of(response) == ["1 schedule(s) enabled."]
    stored = Schedule.objects.get()
    assert stored.enabled and stored.next_run_at > timezone.now()  # from now: the missed days are not made
