"""A broadcast's expansion: batches in id order, what is skipped and why, per-recipient rendering,
and the guards (row lock, cursor, unique constraint) that keep a re-run or a cancel harmless."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from notifications import services
from notifications.models import LIVE_STATUSES, Broadcast, Notification, Recipient, Status
from notifications.services import expanding
from tests import factories

ONE_BATCH = timedelta(0)  # broadcast_expand writes at least one batch, and stops there with no budget


@pytest.fixture
def owner(db):
    return factories.user("client-a")


def profiles(owner, ids, **fields):
    Recipient.objects.bulk_create([Recipient(owner=owner, external_id=rid, **fields) for rid in ids])


def broadcast(owner, *, channels=("console",), **data):
    created, _ = services.broadcast_create(owner=owner, data={"channels": list(channels), "body": "hello", **data})
    return created


def expand_all(broadcast_id) -> None:
    while services.broadcast_expand(broadcast_id=broadcast_id, budget=timedelta(seconds=30)):
        pass


def ids_of(count: int) -> list[str]:
    return [f"user-{n:05d}" for n in range(count)]


def test_batches_of_1000_in_id_order_move_the_cursor_and_counts(owner):
    members = ids_of(2500)
    profiles(owner, members)
    services.topic_put(owner=owner, key="all", recipient_ids=reversed(members))
    sent = broadcast(owner, topic="all")
    progress = []
    while services.broadcast_expand(broadcast_id=sent.id, budget=ONE_BATCH):
        sent.refresh_from_db()
        progress.append((sent.cursor, sent.notifications))
    sent.refresh_from_db()
    assert progress == [("user-00999", 1000), ("user-01999", 2000)]
    assert (sent.status, sent.notifications, sent.skipped, sent.cursor) == ("done", 2500, 0, "user-02499")
    assert sent.finished_at is not None
    rows = Notification.objects.filter(broadcast=sent)
    assert sorted(rows.values_list("to", flat=True)) == members
    assert set(rows.values_list("recipient", flat=True)) == set(members)  # console: the id is the address
    assert set(rows.values_list("status", "channel", "body")) == {("scheduled", "console", "hello")}
    # One dispatch token per batch: the rows of a batch travel together as deliver_batch messages.
    assert rows.values("dispatch_token").distinct().count() == 3


def test_a_list_of_ids_expands_as_a_topic_does(owner):
    profiles(owner, ["b", "a"], email="x@example.com")
    sent = broadcast(owner, to=["b", "a", "b"], channels=["email"], subject="Hi")
    expand_all(sent.id)
    rows = Notification.objects.filter(broadcast=sent).order_by("to")
    assert [(row.to, row.recipient, row.subject) for row in rows] == [
        ("a", "x@example.com", "Hi"),
        ("b", "x@example.com", "Hi"),
    ]


def test_skipped_no_profile_no_address_and_opted_out_by_channel_and_by_category(owner):
    Recipient.objects.create(owner=owner, external_id="no-email")
    Recipient.objects.create(
        owner=owner, external_id="email-off", email="e@example.com", preferences={"channels": {"email": False}}
    )
    Recipient.objects.create(
        owner=owner,
        external_id="marketing-off",
        email="m@example.com",
        preferences={"categories": {"marketing": False}},
    )
    Recipient.objects.create(
        owner=owner,
        external_id="marketing-email-off",
        email="n@example.com",
        preferences={"categories": {"marketing": {"channels": {"email": False}}}},
    )
    Recipient.objects.create(owner=owner, external_id="ok", email="ok@example.com")
    ids = ["no-profile", "no-email", "email-off", "marketing-off", "marketing-email-off", "ok"]
    sent = broadcast(owner, to=ids, channels=["email", "console"], category="marketing")
    expand_all(sent.id)
    sent.refresh_from_db()
    written = set(Notification.objects.filter(broadcast=sent).values_list("to", "channel"))
    assert written == {
        ("no-email", "console"),
        ("email-off", "console"),
        ("marketing-email-off", "console"),
        ("ok", "email"),
        ("ok", "console"),
    }
    # no-profile 2, no-email 1, email-off 1, marketing-off 2, marketing-email-off 1
    assert (sent.notifications, sent.skipped) == (5, 7)
    assert set(Notification.objects.filter(broadcast=sent).values_list("category", flat=True)) == {"marketing"}


def test_templated_rows_render_per_recipient_in_their_locale_and_a_render_error_only_skips(owner):
    services.template_put(
        owner=owner,
        name="hello",
        fields={
            "subject": "Hi {{ recipient.id }}",
            "body": "Hello {{ recipient.id }}, {{ name }}.",
            "translations": {"fr": {"body": "Bonjour {{ recipient.id }}, {{ name }}."}, "de": {"body": "{{ code }}"}},
        },
    )
    Recipient.objects.create(owner=owner, external_id="ana", locale="fr")
    Recipient.objects.create(owner=owner, external_id="bob", locale="en")
    Recipient.objects.create(owner=owner, external_id="udo", locale="de")  # de uses {{ code }}: data lacks it
    sent = broadcast(owner, to=["ana", "bob", "udo"], template="hello", data={"name": "friend"}, body=None)
    expand_all(sent.id)
    sent.refresh_from_db()
    rows = {row.to: row for row in Notification.objects.filter(broadcast=sent)}
    assert rows["ana"].body == "Bonjour ana, friend." and rows["ana"].subject == "Hi ana"
    assert rows["bob"].body == "Hello bob, friend."
    assert (rows["ana"].locale, rows["ana"].template, rows["ana"].template_version) == ("fr", "hello", 1)
    assert "udo" not in rows
    assert (sent.status, sent.notifications, sent.skipped) == ("done", 2, 1)


def test_the_broadcasts_locale_wins_over_the_recipients(owner):
    services.template_put(
        owner=owner, name="hello", fields={"body": "Hello", "translations": {"fr": {"body": "Bonjour"}}}
    )
    Recipient.objects.create(owner=owner, external_id="bob", locale="en")
    sent = broadcast(owner, to=["bob"], template="hello", locale="fr", body=None)
    expand_all(sent.id)
    assert Notification.objects.get(broadcast=sent).body == "Bonjour"


def test_a_finished_expansion_run_again_writes_nothing(owner):
    profiles(owner, ids_of(1200))
    services.topic_put(owner=owner, key="all", recipient_ids=ids_of(1200))
    sent = broadcast(owner, topic="all")
    expand_all(sent.id)
    assert services.broadcast_expand(broadcast_id=sent.id, budget=ONE_BATCH) is False
    assert Notification.objects.filter(broadcast=sent).count() == 1200


def test_the_unique_constraint_refuses_a_batch_written_twice(owner):
    """The last net: a batch that somehow started from an old cursor writes nothing at all."""
    profiles(owner, ids_of(10))
    sent = broadcast(owner, to=ids_of(10))
    expand_all(sent.id)
    Broadcast.objects.filter(id=sent.id).update(status="expanding", cursor="")
    with pytest.raises(IntegrityError):
        services.broadcast_expand(broadcast_id=sent.id, budget=ONE_BATCH)


def test_cancel_mid_expansion_stops_it_and_leaves_no_live_row(owner):
    profiles(owner, ids_of(2500))
    sent = broadcast(owner, to=ids_of(2500))
    assert services.broadcast_expand(broadcast_id=sent.id, budget=ONE_BATCH) is True
    cancelled = services.broadcast_cancel(broadcast=sent)
    assert services.broadcast_expand(broadcast_id=sent.id, budget=ONE_BATCH) is False
    assert (cancelled.status, cancelled.notifications) == ("cancelled", 1000)
    rows = Notification.objects.filter(broadcast=sent)
    assert rows.count() == 1000
    assert not rows.filter(status__in=LIVE_STATUSES).exists()
    assert not rows.filter(cancelled_at__isnull=True).exists()


def test_cancel_leaves_rows_already_sent_as_they_are(owner):
    profiles(owner, ids_of(3))
    sent = broadcast(owner, to=ids_of(3))
    expand_all(sent.id)
    Notification.objects.filter(broadcast=sent, to="user-00000").update(status=Status.SENT)
    services.broadcast_cancel(broadcast=sent)
    statuses = dict(Notification.objects.filter(broadcast=sent).values_list("to", "status"))
    assert statuses == {"user-00000": "sent", "user-00001": "cancelled", "user-00002": "cancelled"}


def test_a_deleted_topic_ends_the_expansion(owner):
    topic, _ = services.topic_put(owner=owner, key="gone", recipient_ids=["a"])
    sent = broadcast(owner, topic="gone")
    services.topic_delete(topic=topic)
    expand_all(sent.id)
    sent.refresh_from_db()
    assert (sent.status, sent.notifications) == ("done", 0)


def test_the_sweep_republishes_only_stalled_expansions_once_a_minute(owner):
    stalled, _fresh = broadcast(owner, to=["a"]), broadcast(owner, to=["b"])
    done = broadcast(owner, to=["c"])
    Broadcast.objects.filter(id=done.id).update(status="done")
    old = timezone.now() - timedelta(minutes=2)
    Broadcast.objects.filter(id__in=[stalled.id, done.id]).update(updated_at=old)
    assert services.broadcasts_resume() == 1
    stalled.refresh_from_db()
    assert stalled.updated_at > old
    assert services.broadcasts_resume() == 0  # moved on: not again within the minute


@pytest.mark.django_db(transaction=True)
def test_two_expanders_at_once_write_every_row_exactly_once():
    owner = factories.user("client-a")
    members = ids_of(5000)
    profiles(owner, members)
    services.topic_put(owner=owner, key="all", recipient_ids=members)
    sent = broadcast(owner, topic="all", channels=["console"])
    errors: list[BaseException] = []

    def expander() -> None:
        try:
            expand_all(sent.id)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=expander) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    sent.refresh_from_db()
    assert (sent.status, sent.notifications) == ("done", 5000)
    assert sorted(Notification.objects.filter(broadcast=sent).values_list("to", flat=True)) == members


def test_an_unknown_broadcast_expands_to_nothing(db):
    assert services.broadcast_expand(broadcast_id=uuid.uuid4(), budget=ONE_BATCH) is False


def test_batch_size_is_1000():
    assert expanding.BATCH == 1000


def _published_row_ids() -> list[str]:
    """The notification ids of every deliver/deliver_batch message waiting in the delivery
    queues (no worker runs in these tests), taken off the queues."""
    from celery import current_app

    from notifications.dispatch import queue_for

    ids: list[str] = []
    with current_app.connection_for_write() as conn:
        channel = conn.channel()
        for priority in ("high", "normal", "low"):
            while (message := channel.basic_get(queue_for(priority), no_ack=True)) is not None:
                args = channel.message_to_python(message).decode()[0]
                # deliver_batch(token, ids); deliver(id, token)
                ids.extend(args[1] if isinstance(args[1], list) else [args[0]])
        channel.close()
    return ids


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("grace", [30, 0], ids=["held-to-the-end", "flushed-each-batch"])
def test_every_written_row_is_published_exactly_once_first_batch_and_held_ones_alike(empty_queues, settings, grace):
    settings.NOTIFY_SWEEP_GRACE = grace  # held rows are published once held for half of it
    owner = factories.user("client-a")
    members = ids_of(2500)
    profiles(owner, members)
    services.topic_put(owner=owner, key="all", recipient_ids=members)
    sent = broadcast(owner, topic="all")

    assert services.broadcast_expand(broadcast_id=sent.id, budget=ONE_BATCH)  # the first batch alone
    first = wait_for_published(sent, 1000)
    assert services.broadcast_expand(broadcast_id=sent.id, budget=timedelta(seconds=30)) is False
    rest = wait_for_published(sent, 1500)

    written = set(map(str, Notification.objects.filter(broadcast=sent).values_list("id", flat=True)))
    assert len(first) == 1000 and len(rest) == 1500
    assert sorted(first + rest) == sorted(written)  # each row once, none missed


def wait_for_published(sent: Broadcast, count: int, timeout: float = 10.0) -> list[str]:
    """The ids of ``sent``'s rows in the messages taken off the queues, once ``count`` came. Other
    ids are dropped: a message an earlier test published with a countdown lands when it is due,
    through the broker's delay exchanges, which the purge before this test does not reach."""
    import time

    taken: list[str] = []
    deadline = time.monotonic() + timeout
    while len(taken) < count:
        assert time.monotonic() < deadline, f"{len(taken)} of {count} rows published"
        ids = _published_row_ids()
        mine = set(map(str, Notification.objects.filter(broadcast=sent, id__in=ids).values_list("id", flat=True)))
        taken += [row_id for row_id in ids if row_id in mine]
        if len(taken) < count:
            time.sleep(0.05)
    return taken
