"""The operators' notification list: every client's rows, its filters and its search (an id exactly,
a key or recipient by its start)."""

from __future__ import annotations

import pytest

from notifications.models import Endpoint
from tests.admin.conftest import CHANGELIST, html, shown

pytestmark = pytest.mark.django_db


# --- the list ----------------------------------------------------------------


def test_changelist_lists_every_clients_notifications(admin_client, make_notification, django_user_model):
    other = django_user_model.objects.create_user(username="client-2")
    mine, theirs = (
        make_notification(recipient="a@example.com"),
        make_notification(owner=other, recipient="b@example.com"),
    )

    response = admin_client.get(CHANGELIST)

    assert shown(response, mine, theirs) == {mine, theirs}
    page = html(response)
    assert "a@example.com" in page
    assert "b@example.com" in page


def test_filter_by_kind_parts_notifications_from_events_to_endpoints(admin_client, make_notification):
    notification = make_notification(channel="webhook", recipient="https://hooks.example.com/orders")
    endpoint = Endpoint.objects.create(owner=notification.owner, url="https://hooks.example.com/events")
    event = make_notification(
        owner=notification.owner,
        channel="webhook",
        recipient=endpoint.url,
        endpoint=endpoint,
        event_type="notification.sent",
        payload={"type": "notification.sent", "timestamp": "2026-11-29T12:00:00Z", "data": {}},
    )

    assert shown(admin_client.get(CHANGELIST), notification, event) == {notification, event}
    assert shown(admin_client.get(CHANGELIST, {"kind": "events"}), notification, event) == {event}
    assert shown(admin_client.get(CHANGELIST, {"kind": "notifications"}), notification, event) == {notification}


def test_filter_by_status(admin_client, make_notification):
    failed, scheduled, sent = (
        make_notification(status="failed"),
        make_notification(status="scheduled"),
        make_notification(status="sent"),
    )

    assert shown(admin_client.get(CHANGELIST, {"status__exact": "failed"}), failed, scheduled, sent) == {failed}
    assert shown(admin_client.get(CHANGELIST, {"status__exact": "sent"}), failed, scheduled, sent) == {sent}


def test_filter_by_channel(admin_client, make_notification):
    console = make_notification(channel="console")
    webhook = make_notification(channel="webhook", recipient="https://example.com/hook")

    assert shown(admin_client.get(CHANGELIST, {"channel": "webhook"}), console, webhook) == {webhook}
    assert shown(admin_client.get(CHANGELIST, {"channel": "console"}), console, webhook) == {console}


def test_channel_filter_offers_the_channels_the_registry_knows(admin_client, make_notification):
    make_notification(channel="console")
    make_notification(channel="webhook", recipient="https://example.com/hook")

    page = html(admin_client.get(CHANGELIST))

    assert "?channel=webhook" in page
    assert "?channel=console" in page
    assert "?channel=email" in page  # no row is an e-mail: the choices are not read from the rows


def test_filter_by_priority(admin_client, make_notification):
    high, low = make_notification(priority="high"), make_notification(priority="low")

    assert shown(admin_client.get(CHANGELIST, {"priority__exact": "high"}), high, low) == {high}


def test_filter_by_failure_reason(admin_client, make_notification):
    permanent = make_notification(status="failed", failure_reason="permanent")
    exhausted = make_notification(status="failed", failure_reason="exhausted")
    lost = make_notification(status="failed", failure_reason="worker_lost")

    response = admin_client.get(CHANGELIST, {"failure_reason__exact": "exhausted"})

    assert shown(response, permanent, exhausted, lost) == {exhausted}


def test_filters_combine(admin_client, make_notification):
    target = make_notification(
        status="failed", channel="webhook", recipient="https://example.com/a", failure_reason="permanent"
    )
    other_channel = make_notification(status="failed", channel="console", failure_reason="permanent")
    other_status = make_notification(status="sent", channel="webhook", recipient="https://example.com/b")

    response = admin_client.get(CHANGELIST, {"status__exact": "failed", "channel": "webhook"})

    assert shown(response, target, other_channel, other_status) == {target}


# --- search ------------------------------------------------------------------


def test_search_by_recipient(admin_client, make_notification):
    target = make_notification(channel="email", recipient="ops-oncall@example.com")
    other = make_notification(channel="email", recipient="someone@example.org")

    response = admin_client.get(CHANGELIST, {"q": "ops-oncall@example.com"})

    assert shown(response, target, other) == {target}


def test_search_by_the_start_of_the_recipient(admin_client, make_notification):
    target = make_notification(channel="webhook", recipient="https://hooks.example.com/orders")
    other = make_notification(channel="webhook", recipient="https://hooks.example.com/billing")

    response = admin_client.get(CHANGELIST, {"q": "https://hooks.example.com/ord"})

    assert shown(response, target, other) == {target}


def test_search_does_not_match_the_middle_of_a_recipient(admin_client, make_notification):
    """A prefix uses an index; a part from the middle would read every row of the table."""
    row = make_notification(channel="webhook", recipient="https://hooks.example.com/orders")

    assert shown(admin_client.get(CHANGELIST, {"q": "orders"}), row) == set()


def test_search_by_a_long_recipient(admin_client, make_notification):
    """Past the 255 characters the index holds, the rest of the recipient is compared too."""
    stem = "https://hooks.example.com/" + "x" * 300
    target = make_notification(channel="webhook", recipient=f"{stem}/a")
    other = make_notification(channel="webhook", recipient=f"{stem}/b")

    assert shown(admin_client.get(CHANGELIST, {"q": f"{stem}/a"}), target, other) == {target}


def test_search_by_full_id(admin_client, make_notification):
    target, other = make_notification(), make_notification()

    response = admin_client.get(CHANGELIST, {"q": str(target.pk)})

    assert shown(response, target, other) == {target}


def test_search_by_idempotency_key(admin_client, make_notification):
    target = make_notification(idempotency_key="order-4711-shipped")
    other = make_notification(idempotency_key="order-4712-shipped")

    response = admin_client.get(CHANGELIST, {"q": "order-4711-shipped"})

    assert shown(response, target, other) == {target}


def test_search_by_the_start_of_an_idempotency_key(admin_client, make_notification):
    target = make_notification(idempotency_key="order-4711-shipped")
    other = make_notification(idempotency_key="order-4712-shipped")

    assert shown(admin_client.get(CHANGELIST, {"q": "order-4711"}), target, other) == {target}


def test_search_by_id_in_capitals_or_with_spaces_around(admin_client, make_notification):
    target, other = make_notification(), make_notification()

    response = admin_client.get(CHANGELIST, {"q": f"  {str(target.pk).upper()} "})

    assert shown(response, target, other) == {target}


def test_search_matches_the_term_as_a_whole(admin_client, make_notification):
    """Not word by word, as Django's default search does: a console label may hold spaces."""
    target = make_notification(channel="console", recipient="night shift pager")
    other = make_notification(channel="console", recipient="night watch")

    assert shown(admin_client.get(CHANGELIST, {"q": "night shift"}), target, other) == {target}


def test_search_with_no_match_shows_no_rows(admin_client, make_notification):
    row = make_notification(recipient="someone")

    response = admin_client.get(CHANGELIST, {"q": "nobody-matches-this"})

    assert shown(response, row) == set()
    assert response.context["cl"].result_list.count() == 0
