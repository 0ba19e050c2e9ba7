"""Broadcasts and topics in the admin: read-only lists, the cancel action through the service,
topics searched by key, and no page that lists a topic's members or deletes by cascade."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notifications import services
from notifications.models import Broadcast, Notification, Recipient
from tests import factories
from tests.admin.conftest import html, messages_of

pytestmark = pytest.mark.django_db

BROADCASTS = "/admin/notifications/broadcast/"
TOPICS = "/admin/notifications/topic/"


@pytest.fixture
def expanded(db):
    owner = factories.user()
    Recipient.objects.bulk_create([Recipient(owner=owner, external_id=f"r{n}") for n in range(3)])
    services.topic_put(owner=owner, key="all-staff", recipient_ids=["r0", "r1", "r2"])
    broadcast, _ = services.broadcast_create(
        owner=owner, data={"topic": "all-staff", "channels": ["console"], "body": "x"}
    )
    services.broadcast_expand(broadcast_id=broadcast.id, budget=timedelta(seconds=10))
    broadcast.refresh_from_db()
    return broadcast


def test_broadcasts_list_and_view_pages_show_status_counts_and_topic(admin_client, expanded):
    page = html(admin_client.get(BROADCASTS))
    assert str(expanded.pk) in page and "all-staff" in page and "done" in page
    view = html(admin_client.get(f"{BROADCASTS}{expanded.pk}/change/"))
    assert 'name="_save"' not in view
    assert admin_client.get(f"{BROADCASTS}add/").status_code == 403
    assert admin_client.get(f"{BROADCASTS}{expanded.pk}/delete/").status_code == 403


def test_cancel_action_goes_through_the_service(admin_client, expanded):
    response = admin_client.post(BROADCASTS, {"action": "cancel", "_selected_action": [str(expanded.pk)]}, follow=True)
    assert messages_of(response) == ["1 broadcast(s) cancelled."]
    assert Broadcast.objects.get().status == "cancelled"
    assert set(Notification.objects.values_list("status", flat=True)) == {"cancelled"}


def test_topics_are_listed_with_counts_and_searched_by_key(admin_client, expanded):
    services.topic_put(owner=expanded.owner, key="other", recipient_ids=["x"])
    page = html(admin_client.get(TOPICS, {"q": "all-"}))
    assert "all-staff" in page and "other" not in page
    topic = services.topic_put(owner=expanded.owner, key="all-staff", recipient_ids=["r0", "r1", "r2"])[0]
    view = html(admin_client.get(f"{TOPICS}{topic.pk}/change/"))
    assert "r1" not in view  # members are not listed
    assert admin_client.get(f"{TOPICS}{topic.pk}/delete/").status_code == 403
