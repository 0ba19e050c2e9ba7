"""The operators' recipient list: every client's profiles, search by a start through an index, the
owner filter without DISTINCT, no secrets on the page, and deleting one erases the person."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Notification, Recipient
from tests import factories
from tests.admin.conftest import html

pytestmark = pytest.mark.django_db
LIST = "/admin/notifications/recipient/"
SECRET_URL = "https://hooks.example.com/in?token=s3cr3t"
TOKEN = "ExponentPushToken[verysecrettoken]"


@pytest.fixture
def ada():
    return Recipient.objects.create(
        owner=factories.user("shop"),
        external_id="cust-ada",
        email="ada@example.com",
        webhook_url=SECRET_URL,
        push_tokens=[TOKEN],
    )


@pytest.fixture
def bo():
    return Recipient.objects.create(owner=factories.user("other"), external_id="cust-bo", email="bo@example.org")


def test_lists_every_clients_profiles(admin_client, ada, bo):
    page = html(admin_client.get(LIST))
    assert "cust-ada" in page and "cust-bo" in page


@pytest.mark.parametrize(
    ("term", "found"), [("cust-a", "cust-ada"), ("bo@ex", "cust-bo"), ("ada@example.com", "cust-ada")]
)
def test_search_by_the_start_of_an_id_or_email(admin_client, ada, bo, term, found):
    page = html(admin_client.get(LIST, {"q": term}))
    assert found in page
    assert ({"cust-ada", "cust-bo"} - {found}).pop() not in page


def test_search_is_by_the_start_only(admin_client, ada):
    assert "cust-ada" not in html(admin_client.get(LIST, {"q": "example.com"}))


def test_owner_filter_without_distinct(admin_client, ada, bo):
    with CaptureQueriesContext(connection) as queries:
        page = html(admin_client.get(LIST, {"owner__id__exact": ada.owner_id}))
    assert "cust-ada" in page and "cust-bo" not in page
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]


def test_the_profile_page_shows_no_secrets(admin_client, ada):
    page = html(admin_client.get(f"{LIST}{ada.pk}/change/"))
    assert "hooks.example.com" in page
    assert "s3cr3t" not in page and "verysecrettoken" not in page


def test_no_add_and_no_edit(admin_client, ada):
    assert admin_client.get(f"{LIST}add/").status_code == 403
    admin_client.post(f"{LIST}{ada.pk}/change/", {"email": "x@example.com"})
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"


def test_deleting_erases_the_person(admin_client, ada):
    row = factories.notification(owner=ada.owner, channel="email", recipient="ada@example.com", status="sent")
    response = admin_client.post(f"{LIST}{ada.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Recipient.objects.exists()
    row.refresh_from_db()
    assert row.recipient == ""
    assert "cust-ada" not in html(admin_client.get(LIST, {"q": "cust"}))
    assert Notification.objects.count() == 1
    assert not LogEntry.objects.filter(object_repr__contains="cust-ada").exists()


def test_delete_selected_erases_each(admin_client, ada, bo):
    admin_client.post(
        LIST, {"action": "delete_selected", "_selected_action": [ada.pk, bo.pk], "post": "yes"}, follow=True
    )
    assert not Recipient.objects.exists()
