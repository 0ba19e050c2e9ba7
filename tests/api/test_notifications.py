"""The /api/v1/notifications/ contract, as a client sees it: reading, changing and cancelling."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Notification
from tests.api.conftest import URL, console, hook

# --- authentication ----------------------------------------------------------


def test_no_credentials_is_401(db):
    assert APIClient().get(URL).status_code == 401


def test_bad_token_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.post(URL, console(), format="json").status_code == 401
    assert Notification.objects.count() == 0


# --- read --------------------------------------------------------------------


def test_retrieve_own_and_404_for_others_and_unknown(alice, bob, created):
    assert alice.get(f"{URL}{created['id']}/").json()["id"] == created["id"]
    assert bob.get(f"{URL}{created['id']}/").status_code == 404
    assert alice.get(f"{URL}{uuid.uuid4()}/").status_code == 404
    assert alice.get(f"{URL}not-a-uuid/").status_code == 404


def test_list_is_newest_first_with_cursor_pages_and_only_own_rows(alice, bob):
    ids = [alice.post(URL, console(body=str(i)), format="json").json()["id"] for i in range(5)]
    bob.post(URL, console(), format="json")
    page = alice.get(URL, {"page_size": 2}).json()
    assert set(page) == {"next", "previous", "results"}
    seen = [n["id"] for n in page["results"]]
    while page["next"]:
        page = alice.get(page["next"]).json()
        seen += [n["id"] for n in page["results"]]
    assert seen == list(reversed(ids))


def test_list_filters(alice):
    now = timezone.now()
    alice.post(URL, console(recipient="a", send_at=(now + timedelta(hours=1)).isoformat()), format="json")
    alice.post(URL, hook(send_at=(now + timedelta(hours=3)).isoformat()), format="json")
    cancelled = alice.post(URL, console(recipient="b", send_at=(now + timedelta(hours=5)).isoformat()), format="json")
    alice.post(f"{URL}{cancelled.json()['id']}/cancel/")

    def count(**params):
        response = alice.get(URL, params)
        assert response.status_code == 200, response.json()
        return len(response.json()["results"])

    assert count(channel="console") == 2
    assert count(status="cancelled") == 1
    assert count(status="scheduled") == 2
    assert count(recipient="a") == 1
    assert count(send_at_after=(now + timedelta(hours=2)).isoformat()) == 2
    assert count(send_at_before=(now + timedelta(hours=2)).isoformat()) == 1


def test_bad_filter_values_are_400(alice):
    assert alice.get(URL, {"status": "lost"}).status_code == 400
    assert alice.get(URL, {"send_at_after": "yesterday"}).status_code == 400


def test_failed_is_listed_with_its_reason_and_error(alice, make_notification):
    make_notification(
        owner=alice.user, status="failed", failure_reason="exhausted", last_error="HTTP 503: busy", attempts=3
    )
    make_notification(owner=alice.user, status="sent")
    body = alice.get(URL, {"status": "failed"}).json()
    [row] = body["results"]
    assert (row["status"], row["failure_reason"], row["last_error"]) == ("failed", "exhausted", "HTTP 503: busy")


# --- reschedule --------------------------------------------------------------


def test_patch_reschedules_and_changes_the_token(alice, created):
    row = Notification.objects.get(id=created["id"])
    later = timezone.now() + timedelta(days=1)
    response = alice.patch(f"{URL}{created['id']}/", {"send_at": later.isoformat(), "body": "new"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["body"] == "new"
    row2 = Notification.objects.get(id=created["id"])
    assert abs((row2.send_at - later).total_seconds()) < 0.001
    assert row2.next_attempt_at == row2.send_at
    assert row2.dispatch_token != row.dispatch_token


def test_patch_validates_recipient_against_the_channel(alice, created):
    response = alice.patch(f"{URL}{created['id']}/", {"recipient": "http://10.1.2.3/"}, format="json")
    assert response.status_code == 400
    assert Notification.objects.get(id=created["id"]).recipient == "https://example.com/hook"


def test_patch_only_while_scheduled(alice, created):
    alice.post(f"{URL}{created['id']}/cancel/")
    response = alice.patch(f"{URL}{created['id']}/", {"body": "x"}, format="json")
    assert response.status_code == 409
    assert "detail" in response.json()


def test_patch_of_anothers_is_404(bob, created):
    assert bob.patch(f"{URL}{created['id']}/", {"body": "x"}, format="json").status_code == 404


# --- cancel ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["post", "delete"])
def test_cancel(alice, created, how):
    response = alice.post(f"{URL}{created['id']}/cancel/") if how == "post" else alice.delete(f"{URL}{created['id']}/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_at"] is not None
    again = alice.post(f"{URL}{created['id']}/cancel/")
    assert again.status_code == 409


def test_cancel_of_anothers_is_404_and_changes_nothing(bob, created):
    assert bob.post(f"{URL}{created['id']}/cancel/").status_code == 404
    assert bob.delete(f"{URL}{created['id']}/").status_code == 404
    assert Notification.objects.get(id=created["id"]).status == "scheduled"


def test_cancel_of_a_sent_notification_is_409(alice, created):
    Notification.objects.filter(id=created["id"]).update(status="sent")
    assert alice.post(f"{URL}{created['id']}/cancel/").status_code == 409


# --- retry -------------------------------------------------------------------


def test_retry_only_a_failed_one(alice, created):
    assert alice.post(f"{URL}{created['id']}/retry/").status_code == 409
    Notification.objects.filter(id=created["id"]).update(status="failed", attempts=8, failure_reason="exhausted")
    response = alice.post(f"{URL}{created['id']}/retry/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "scheduled"
    assert body["attempts"] == 0
    row = Notification.objects.get(id=created["id"])
    assert row.next_attempt_at <= timezone.now()


def test_retry_of_anothers_is_404(bob, created):
    Notification.objects.filter(id=created["id"]).update(status="failed")
    assert bob.post(f"{URL}{created['id']}/retry/").status_code == 404
    assert Notification.objects.get(id=created["id"]).status == "failed"


# --- attempts ----------------------------------------------------------------


def test_attempts_is_a_list_and_404_for_others(alice, bob, created):
    response = alice.get(f"{URL}{created['id']}/attempts/")
    assert response.status_code == 200
    assert response.json() == []
    assert bob.get(f"{URL}{created['id']}/attempts/").status_code == 404


# --- methods -----------------------------------------------------------------


def test_put_is_not_allowed(alice, created):
    assert alice.put(f"{URL}{created['id']}/", hook(), format="json").status_code == 405
