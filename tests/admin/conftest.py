"""The admin tests' pages and helpers: the notification changelist, what it shows, running its actions,
reading a table as a person reads it."""

from __future__ import annotations

from html.parser import HTMLParser

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


class _TableReader(HTMLParser):
    """The text of each cell (``th`` or ``td``) of each row of the table with id ``table_id``."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth, self.rows, self.cell = table_id, 0, [], None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and (self.depth or dict(attrs).get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("th", "td"):
            self.cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("th", "td") and self.cell is not None:
            self.rows[-1].append(" ".join(self.cell.split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data


def table(page: str, table_id: str) -> list[list[str]]:
    """The rows of a table as a person reads them (header row included), each cell's text."""
    reader = _TableReader(table_id)
    reader.feed(page)
    assert reader.rows, f"no table {table_id!r} on the page"
    return reader.rows
