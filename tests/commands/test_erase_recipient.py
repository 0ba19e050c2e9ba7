"""erase_recipient: an operator's erase by profile id or by address, with counts and a dry run."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from notifications.models import Notification, Recipient
from tests import factories
from tests.commands.conftest import run


@pytest.fixture
def owner(db):
    return factories.user("shop")


@pytest.fixture
def ada(owner):
    return Recipient.objects.create(owner=owner, external_id="ada", email="ada@example.com", phone="+14155550100")


def test_by_id_erases_profile_and_notifications_and_prints_counts(owner, ada):
    factories.notification(owner=owner, channel="sms", recipient="+14155550100", body="hi", status="sent")
    out = run("erase_recipient", "--owner", "shop", "--id", "ada")
    assert "erased 1 profile(s) and 1 notification(s) of shop." in out
    assert "+1415" not in out and "ada@" not in out
    assert not Recipient.objects.exists()
    assert Notification.objects.get().recipient == ""


def test_by_address_finds_the_profile_holding_it(owner, ada):
    factories.notification(owner=owner, channel="email", recipient="ada@example.com", status="sent")
    factories.notification(owner=owner, channel="sms", recipient="+14155550100", status="sent")
    out = run("erase_recipient", "--owner", "shop", "--address", "ada@example.com")
    assert "erased 1 profile(s) and 2 notification(s)" in out
    assert not Notification.objects.exclude(recipient="").exists()


def test_by_address_without_a_profile_erases_the_notifications(owner):
    factories.notification(owner=owner, channel="email", recipient="x@example.com", status="sent")
    out = run("erase_recipient", "--owner", "shop", "--address", "x@example.com")
    assert "erased 0 profile(s) and 1 notification(s)" in out


def test_dry_run_counts_and_changes_nothing(owner, ada):
    factories.notification(owner=owner, channel="email", recipient="ada@example.com", status="sent")
    out = run("erase_recipient", "--owner", "shop", "--id", "ada", "--dry-run")
    assert "would erase 1 profile(s) and 1 notification(s)" in out
    assert Recipient.objects.exists()
    assert Notification.objects.get().recipient == "ada@example.com"


@pytest.mark.parametrize(
    "args",
    [("--owner", "nobody", "--id", "ada"), ("--owner", "shop", "--id", "nobody")],
    ids=["unknown client", "unknown id"],
)
def test_unknown_client_or_id_is_an_error(ada, args):
    with pytest.raises(CommandError):
        run("erase_recipient", *args)


def test_id_and_address_are_exclusive(ada):
    with pytest.raises(CommandError):
        run("erase_recipient", "--owner", "shop", "--id", "ada", "--address", "a@example.com")
