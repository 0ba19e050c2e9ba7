"""Whatever a receiver answers, the outcome is written: its words are data, cut to fit."""

from __future__ import annotations

import functools

import psycopg
import pytest
from django.db import connection

from notifications import conf, services
from notifications.models import DeliveryAttempt, Notification
from notifier import Message, ProviderBase, Receipt, registry
from tests.sink import Reply


@pytest.fixture
def due(make_notification, sink, allow_private):
    return functools.partial(make_notification, recipient=sink.url)


def deliver(row: Notification):
    return services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)


def test_an_overlong_request_id_is_stored_cut_and_the_row_is_sent(due, sink):
    sink.then(Reply(200, headers={"X-Request-Id": "r" * 300}))
    row = due()
    assert deliver(row).status == "sent"
    row.refresh_from_db()
    assert row.status == "sent"
    assert len(row.provider_message_id) == 255
    assert row.provider_message_id.startswith("r" * 254)


def test_nul_bytes_and_invalid_utf8_in_an_error_answer_are_stored_as_text(due, sink):
    sink.then(Reply(503, body=b"down\x00for\xff\xfe maintenance"))
    row = due()
    with pytest.raises(services.DeliveryDeferred):
        deliver(row)
    row.refresh_from_db()
    assert row.status == "retrying"
    assert "\x00" not in row.last_error
    assert row.last_error.startswith("HTTP 503: down\ufffdfor\ufffd\ufffd maintenance")
    assert DeliveryAttempt.objects.get(notification=row).error == row.last_error


def test_a_huge_error_answer_is_stored_cut_to_a_readable_length(due, sink):
    sink.then(Reply(400, body=b"x" * 60_000))
    row = due()
    assert deliver(row).status == "failed"
    row.refresh_from_db()
    assert row.failure_reason == "permanent"
    assert len(row.last_error) <= services.recording.MAX_ERROR_CHARS


def terminate(backend_pid: int) -> None:
    """Cut a database session from outside, as a failover or a network blip would."""
    settings = connection.settings_dict
    conninfo = f"host={settings['HOST']} port={settings['PORT']} user={settings['USER']} dbname={settings['NAME']}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])


@pytest.mark.django_db(transaction=True)
def test_the_outcome_write_is_retried_when_the_database_connection_drops_after_the_send(
    make_notification, sink, allow_private
):
    row = make_notification(recipient=sink.url)
    connection.ensure_connection()
    backend_pid = connection.connection.info.backend_pid

    def cut_the_workers_database_session_then_accept() -> Reply:
        terminate(backend_pid)
        return Reply(200, headers={"X-Request-Id": "accepted-1"})

    sink.responder = cut_the_workers_database_session_then_accept
    assert deliver(row).status == "sent"
    row.refresh_from_db()
    assert (row.status, row.provider_message_id, row.attempts) == ("sent", "accepted-1", 1)
    assert list(DeliveryAttempt.objects.filter(notification=row).values_list("outcome", flat=True)) == ["sent"]
    assert len(sink.requests) == 1


class ProviderWithABadReceipt(ProviderBase):
    """A provider whose own bug surfaces only when its answer is recorded."""

    name = "badreceipt"

    def validate_recipient(self, recipient: str) -> str:
        return recipient

    def send(self, message: Message) -> Receipt:
        return Receipt(provider_message_id={"not": "a string"})  # type: ignore[arg-type]


def test_one_rows_error_does_not_stop_the_rest_of_its_batch(make_notification, sink, allow_private, monkeypatch):
    monkeypatch.setitem(registry._providers(), ProviderWithABadReceipt.name, ProviderWithABadReceipt())
    first = make_notification(recipient=sink.url)
    broken = make_notification(channel="badreceipt", recipient="anyone", dispatch_token=first.dispatch_token)
    last = make_notification(recipient=sink.url, dispatch_token=first.dispatch_token)
    result = services.notification_deliver_batch(
        notification_ids=[str(first.id), str(broken.id), str(last.id)],
        dispatch_token=first.dispatch_token,
        budget=conf.lease() / 2,
    )
    assert (result.sent, result.errored) == (2, 1)
    statuses = dict(Notification.objects.values_list("id", "status"))
    assert (statuses[first.id], statuses[last.id]) == ("sent", "sent")
    assert statuses[broken.id] == "sending"  # its lease runs out and the stuck-sweep takes it


def test_a_huge_header_in_the_answer_is_a_transient_error_not_a_broken_worker(due, sink):
    sink.then(Reply(200, headers={"X-Padding": "p" * 200_000}))
    row = due()
    with pytest.raises(services.DeliveryDeferred):
        deliver(row)
    row.refresh_from_db()
    assert row.status == "retrying"
    assert row.last_error.startswith("connection error")
    assert len(row.last_error) <= services.recording.MAX_ERROR_CHARS
