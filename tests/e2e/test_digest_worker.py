"""A digest window on the real stack: its close message, due at the window's end, taken by a real
worker, which sends the one notification in the members' place."""

from __future__ import annotations

import pytest

from notifications.models import DigestWindow, Notification
from testkit.processes import wait_until

pytestmark = pytest.mark.worker

URL = "/api/v1/notifications/"


def test_a_ten_second_window_closes_into_one_notification_sent_by_a_worker(alice, start_worker):
    start_worker()
    body = {"subject": "{{ items|length }} comments", "body": "{% for item in items %}{{ item.who }} {% endfor %}"}
    assert alice.put("/api/v1/templates/comments/", body, format="json").status_code == 201
    members = [
        alice.post(
            URL,
            {
                "channel": "console",
                "recipient": "ops-log",
                "template": "comments",
                "data": {"who": who},
                "digest": {"key": "comments", "window": 10},
            },
            format="json",
        ).json()
        for who in ("ana", "bo")
    ]
    window = DigestWindow.objects.get(id=members[0]["digest_window"])

    def sent_digest() -> Notification | None:
        return Notification.objects.filter(digest__isnull=False, status="sent").first()

    digest = wait_until(sent_digest, timeout=40, describe=lambda: f"window {window.status}, no digest sent")
    assert (digest.subject, digest.body) == ("2 comments", "ana bo ")
    assert digest.digest == [member["id"] for member in members]
    assert digest.sent_at >= window.closes_at  # not before the window's end
    assert set(Notification.objects.filter(digest_window=window).values_list("status", flat=True)) == {"digested"}
