"""Digest windows in the admin: listed with their members and end, filtered by status, read-only;
a member's page names its window."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import DigestWindow
from tests import factories
from tests.admin.conftest import html

pytestmark = pytest.mark.django_db

WINDOWS = "/admin/notifications/digestwindow/"


@pytest.fixture
def member(db):
    owner = factories.user()
    services.template_put(owner=owner, name="comments", fields={"body": "{{ items|length }}"})
    data = {
        "channel": "console",
        "recipient": "ops-log",
        "template": "comments",
        "data": {},
        "digest": {"key": "comments-of-ana", "window": 600},
    }
    return services.notification_create(owner=owner, data=data)[0]


def test_open_windows_are_listed_filtered_and_read_only(admin_client, member):
    window = DigestWindow.objects.get(id=member.digest_window_id)
    page = html(admin_client.get(f"{WINDOWS}?status__exact=open"))
    assert "comments-of-ana" in page and "ops-log" in page
    assert "comments-of-ana" not in html(admin_client.get(f"{WINDOWS}?status__exact=closed"))
    view = html(admin_client.get(f"{WINDOWS}{window.pk}/change/"))
    assert 'name="_save"' not in view
    assert admin_client.get(f"{WINDOWS}add/").status_code == 403
    assert admin_client.get(f"{WINDOWS}{window.pk}/delete/").status_code == 403


def test_a_members_page_names_its_window(admin_client, member):
    page = html(admin_client.get(f"/admin/notifications/notification/{member.pk}/change/"))
    assert "Digest window" in page
