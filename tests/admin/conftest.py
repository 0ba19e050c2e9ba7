"""The admin tests' pages and helpers: the notification changelist, what it shows, running its actions."""

from __future__ import annotations

import pytest

from notifications.models import Notification
from tests import factories

CHANGELIST = "/admin/notifications/notification/"


def change_url(notification: Notification) -> str:
    return f"{CHANGELIST}{notification.pk}/change/"


@pytest.fixture
def owner(db):
    """The client the notifications belong to unless a test says otherwise."""
    return factories.user()


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def shown(response, *notifications: Notification) -> set[Notification]:
    """Those of ``notifications`` whose rows the changelist shows."""
    page = html(response)
    return {n for n in notifications if str(n.pk) in page}


def run_action(client, action: str, *notifications: Notification):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(n.pk) for n in notifications], "index": 0},
        follow=True,
    )
