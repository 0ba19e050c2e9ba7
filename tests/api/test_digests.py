"""The ``digest`` field of a create: what is refused, and what a member looks like."""

from __future__ import annotations

import pytest

from notifications.models import DigestWindow, Notification

URL = "/api/v1/notifications/"
TEMPLATE = {"body": "{% for item in items %}{{ item.who }} commented. {% endfor %}"}


@pytest.fixture
def comments_template(alice):
    assert alice.put("/api/v1/templates/comments/", TEMPLATE, format="json").status_code == 201


def member(**extra):
    return {
        "channel": "console",
        "recipient": "ops-log",
        "template": "comments",
        "data": {"who": "ana"},
        "digest": {"key": "comments", "window": 600},
        **extra,
    }


@pytest.mark.parametrize(
    ("digest", "field"),
    [
        ({"key": "comments", "window": 9}, "window"),
        ({"key": "comments", "window": 86_401}, "window"),
        ({"key": "not a slug", "window": 600}, "key"),
        ({"key": "k" * 65, "window": 600}, "key"),
        ({"window": 600}, "key"),
        ({"key": "comments"}, "window"),
    ],
)
def test_a_bad_digest_is_refused_naming_its_field(alice, comments_template, digest, field):
    answer = alice.post(URL, member(digest=digest), format="json")
    assert answer.status_code == 400
    assert field in answer.json()["digest"]


def test_a_digest_needs_a_template(alice):
    body = {"channel": "console", "recipient": "ops-log", "body": "hi", "digest": {"key": "c", "window": 600}}
    answer = alice.post(URL, body, format="json")
    assert answer.status_code == 400
    assert "template" in answer.json()["digest"][0]


def test_a_missing_template_is_refused_at_create(alice):
    answer = alice.post(URL, member(template="nowhere"), format="json")
    assert answer.status_code == 400
    assert "nowhere" in str(answer.json())


def test_a_member_is_stored_scheduled_unrendered_and_unpublished(alice, comments_template):
    answer = alice.post(URL, member(), format="json")
    assert answer.status_code == 201, answer.json()
    created = answer.json()
    assert (created["status"], created["body"], created["next_attempt_at"]) == ("scheduled", "", None)
    assert created["data"] == {"who": "ana"}
    window = DigestWindow.objects.get(id=created["digest_window"])
    assert (window.key, window.addressee, window.members, window.status) == ("comments", "ops-log", 1, "open")


def test_members_of_one_key_join_one_window_and_others_open_their_own(alice, comments_template):
    first, second = (alice.post(URL, member(), format="json").json() for _ in range(2))
    other = alice.post(URL, member(digest={"key": "likes", "window": 600}), format="json").json()
    assert first["digest_window"] == second["digest_window"] != other["digest_window"]
    assert DigestWindow.objects.get(id=first["digest_window"]).members == 2


def test_members_join_in_bulk(alice, comments_template):
    answer = alice.post(f"{URL}bulk/", {"notifications": [member(), member()]}, format="json")
    assert answer.status_code == 201, answer.json()
    windows = {row["digest_window"] for row in answer.json()["notifications"]}
    assert len(windows) == 1
    assert DigestWindow.objects.get(id=windows.pop()).members == 2


def test_a_member_can_be_cancelled_but_not_rescheduled(alice, comments_template):
    created = alice.post(URL, member(), format="json").json()
    patched = alice.patch(f"{URL}{created['id']}/", {"priority": "high"}, format="json")
    assert patched.status_code == 409
    cancelled = alice.post(f"{URL}{created['id']}/cancel/")
    assert cancelled.status_code == 200
    assert Notification.objects.get(id=created["id"]).status == "cancelled"


def test_a_member_has_no_send_at(alice, comments_template):
    answer = alice.post(URL, member(send_at="2030-01-01T00:00:00Z"), format="json")
    assert answer.status_code == 400
    assert "send_at" in answer.json()
