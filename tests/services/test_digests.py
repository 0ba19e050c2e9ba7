"""Closing digest windows: one notification in the members' place, cancelled members left out,
a window of cancelled members sending nothing, the sweep of lost closes, and the close race."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from notifications import services
from notifications.models import DigestWindow, Notification
from tests import factories

BODY = "{% for item in items %}{{ item.who }};{% endfor %}"


@pytest.fixture
def owner(db):
    client = factories.user()
    services.template_put(owner=client, name="comments", fields={"subject": "{{ items|length }} new", "body": BODY})
    return client


def member(owner, who: str, *, key: str = "comments", window: int = 600) -> Notification:
    data = {
        "channel": "console",
        "recipient": "ops-log",
        "template": "comments",
        "data": {"who": who},
        "digest": {"key": key, "window": window},
        "max_attempts": 3,
    }
    return services.notification_create(owner=owner, data=data)[0]


def test_a_closed_window_sends_one_notification_with_every_members_data_oldest_first(owner):
    members = [member(owner, who) for who in ("ana", "bo", "cy")]
    window = DigestWindow.objects.get(id=members[0].digest_window_id)

    result = services.digest_close(window_id=window.id, now=window.closes_at)

    digest = result.digest_notification
    assert (digest.subject, digest.body, digest.status) == ("3 new", "ana;bo;cy;", "scheduled")
    assert digest.data == {"items": [{"who": "ana"}, {"who": "bo"}, {"who": "cy"}]}
    assert digest.digest == [str(m.id) for m in members]
    assert (digest.recipient, digest.channel, digest.template) == ("ops-log", "console", "comments")
    assert digest.next_attempt_at is not None  # published
    assert set(Notification.objects.filter(id__in=[m.id for m in members]).values_list("status", flat=True)) == {
        "digested"
    }
    window.refresh_from_db()
    assert (window.status, window.digest_notification) == ("closed", digest.id)


def test_a_close_before_the_end_or_a_second_close_does_nothing(owner):
    first = member(owner, "ana")
    window = DigestWindow.objects.get(id=first.digest_window_id)
    early = services.digest_close(window_id=window.id, now=window.closes_at - timedelta(seconds=1))
    assert (early.closed, early.closes_at) == (False, window.closes_at)
    assert services.digest_close(window_id=window.id, now=window.closes_at).closed
    assert not services.digest_close(window_id=window.id, now=window.closes_at).closed
    assert Notification.objects.filter(digest__isnull=False).count() == 1


def test_a_cancelled_member_is_left_out(owner):
    ana, bo = member(owner, "ana"), member(owner, "bo")
    services.notification_cancel(notification=bo)
    window = DigestWindow.objects.get(id=ana.digest_window_id)
    digest = services.digest_close(window_id=window.id, now=window.closes_at).digest_notification
    assert (digest.body, digest.digest) == ("ana;", [str(ana.id)])
    assert Notification.objects.get(id=bo.id).status == "cancelled"


def test_a_window_whose_members_were_all_cancelled_sends_nothing(owner):
    ana = member(owner, "ana")
    services.notification_cancel(notification=ana)
    window = DigestWindow.objects.get(id=ana.digest_window_id)
    result = services.digest_close(window_id=window.id, now=window.closes_at)
    assert (result.closed, result.digest_notification) == (True, None)
    window.refresh_from_db()
    assert (window.status, window.digest_notification) == ("closed", None)
    assert Notification.objects.count() == 1


def test_after_a_close_the_next_member_opens_a_new_window(owner):
    ana = member(owner, "ana")
    services.digest_close(window_id=ana.digest_window_id, now=timezone.now() + timedelta(hours=1))
    bo = member(owner, "bo")
    assert bo.digest_window_id != ana.digest_window_id
    assert DigestWindow.objects.get(id=bo.digest_window_id).status == "open"


def test_the_sweep_closes_windows_whose_close_was_lost_a_grace_after_their_end(owner):
    ana = member(owner, "ana", window=10)
    window = DigestWindow.objects.get(id=ana.digest_window_id)
    assert services.digests_sweep(now=window.closes_at + services.DIGEST_CLOSE_GRACE / 2) == 0
    assert services.digests_sweep(now=window.closes_at + services.DIGEST_CLOSE_GRACE) == 1
    assert Notification.objects.get(id=ana.id).status == "digested"


def test_the_sweep_reads_open_windows_by_the_partial_index(owner):
    cutoff = timezone.now()
    query = DigestWindow.objects.filter(status="open", closes_at__lte=cutoff).order_by("closes_at")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = query.explain()
        cursor.execute("RESET enable_seqscan")
    assert "digest_window_closing" in plan


def test_a_template_that_no_longer_renders_makes_a_failed_digest_not_a_stuck_window(owner):
    ana = member(owner, "ana")
    services.template_delete(template=owner.templates.get(name="comments"))
    digest = services.digest_close(window_id=ana.digest_window_id, now=timezone.now() + timedelta(hours=1))
    assert digest.digest_notification.status == "failed"
    assert "comments" in digest.digest_notification.last_error
    assert Notification.objects.get(id=ana.id).status == "digested"


def _join_as_it_closes(owner, key: str) -> tuple[Notification, Notification]:
    """A first member whose window is due now; then, released together, a second member's create
    in one thread and the window's close in another. Returns (first, second) as stored after."""
    first = member(owner, "first", key=key)
    DigestWindow.objects.filter(id=first.digest_window_id).update(closes_at=timezone.now())
    start = threading.Barrier(2)
    created: list[Notification] = []

    def join() -> None:
        start.wait()
        created.append(member(owner, "late", key=key))
        connection.close()

    def close() -> None:
        start.wait()
        services.digest_close(window_id=first.digest_window_id)
        connection.close()

    threads = [threading.Thread(target=join), threading.Thread(target=close)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return first, Notification.objects.get(id=created[0].id)


@pytest.mark.django_db(transaction=True)
def test_a_member_created_as_the_window_closes_is_in_the_digest_or_a_new_window_never_both_never_lost():
    owner = factories.user()
    services.template_put(owner=owner, name="comments", fields={"body": BODY})
    outcomes = {"in the digest": 0, "in a new window": 0}
    for iteration in range(100):
        first, late = _join_as_it_closes(owner, f"race-{iteration}")
        digests = [n for n in Notification.objects.filter(digest__isnull=False) if str(late.id) in n.digest]
        if late.digest_window_id == first.digest_window_id:
            assert late.status == "digested"
            assert len(digests) == 1
            outcomes["in the digest"] += 1
        else:
            assert late.status == "scheduled"
            assert DigestWindow.objects.get(id=late.digest_window_id).status == "open"
            assert digests == []
            outcomes["in a new window"] += 1
    print(outcomes)  # both happen (about 1 in 4 in the digest here): the threads do race
