"""X-Request-ID: taken (or made), echoed, stored as the notification's trace_id; log lines
name the notification and the trace; LOG_FORMAT and WORKER_METRICS_PORT are checked at start."""

from __future__ import annotations

import json
import re

import pytest

from notifications import logcontext, services
from notifications.models import Notification
from tests.services.test_broadcast_expansion import broadcast, expand_all, owner, profiles  # noqa: F401  a fixture
from tests.test_settings import start

URL = "/api/v1/notifications/"
HOOK = {"channel": "webhook", "recipient": "https://example.com/hook"}


def test_the_clients_request_id_is_echoed_and_stored_as_the_trace_id(alice):
    response = alice.post(URL, HOOK, format="json", headers={"X-Request-ID": "checkout-7f3a.2_b"})
    assert response.status_code == 201
    assert response["X-Request-ID"] == "checkout-7f3a.2_b"
    assert Notification.objects.get(id=response.json()["id"]).trace_id == "checkout-7f3a.2_b"


@pytest.mark.parametrize("sent", [None, "", "x" * 65, "has space", 'quote"d', "ünï"])
def test_without_a_usable_request_id_one_is_made(alice, sent):
    headers = {} if sent is None else {"X-Request-ID": sent}
    response = alice.post(URL, HOOK, format="json", headers=headers)
    made = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert Notification.objects.get(id=response.json()["id"]).trace_id == made


def test_every_row_of_a_bulk_request_gets_its_request_id(alice):
    items = [{**HOOK, "payload": {"n": n}} for n in range(3)]
    response = alice.post(f"{URL}bulk/", {"notifications": items}, format="json", headers={"X-Request-ID": "bulk-1"})
    assert response.status_code == 201
    ids = [item["id"] for item in response.json()["notifications"]]
    assert set(Notification.objects.filter(id__in=ids).values_list("trace_id", flat=True)) == {"bulk-1"}


def test_a_broadcasts_rows_get_the_trace_id_of_the_task_that_writes_them(owner):  # noqa: F811
    profiles(owner, ["ann", "bob"])
    sent = broadcast(owner, to=["ann", "bob"])
    with logcontext.bound(trace_id="campaign-12"):  # as the expansion task binds its message's
        expand_all(sent.id)
    assert list(Notification.objects.filter(broadcast=sent).values_list("trace_id", flat=True)) == ["campaign-12"] * 2


def test_any_answer_carries_a_request_id(client):
    assert client.get("/healthz", headers={"X-Request-ID": "probe-1"})["X-Request-ID"] == "probe-1"
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/healthz")["X-Request-ID"])


LOG_A_LINE = (
    "import django, logging; django.setup(); from notifications import logcontext; "
    "log = logging.getLogger('notifications.example')\n"
    "with logcontext.bound(notification_id='0b5c', trace_id='req-9'):\n"
    "    log.warning('sent in %.1fs', 0.25)\n"
    "log.warning('about nothing')"
)


def test_json_logs_are_one_object_per_line_with_the_notification_and_trace():
    done = start(["-c", LOG_A_LINE], LOG_FORMAT="json")
    assert done.returncode == 0, done.stderr
    about, nothing = (json.loads(line) for line in done.stderr.strip().splitlines()[-2:])
    assert about["event"] == "sent in 0.2s"
    assert (about["level"], about["logger"]) == ("warning", "notifications.example")
    assert (about["notification_id"], about["trace_id"]) == ("0b5c", "req-9")
    assert about["timestamp"].endswith("+00:00")
    assert nothing["event"] == "about nothing"
    assert "notification_id" not in nothing
    assert "trace_id" not in nothing


def test_plain_logs_name_the_notification_and_trace():
    done = start(["-c", LOG_A_LINE])
    assert done.returncode == 0, done.stderr
    about, nothing = done.stderr.strip().splitlines()[-2:]
    assert about.endswith("WARNING notifications.example sent in 0.2s notification=0b5c trace=req-9")
    assert nothing.endswith("WARNING notifications.example about nothing")


@pytest.mark.parametrize(("name", "value"), [("LOG_FORMAT", "xml"), ("WORKER_METRICS_PORT", "70000")])
def test_a_malformed_setting_stops_the_process_at_start_naming_it(name, value):
    done = start(["manage.py", "check"], **{name: value})
    assert done.returncode != 0
    assert f"{name}: " in done.stderr.splitlines()[-1], done.stderr[-2000:]


def test_a_delivery_outside_a_task_leaves_the_callers_trace_alone(make_notification):
    row = make_notification(channel="console", recipient="ops", body="hi", trace_id="row-trace")
    result = services.notification_deliver(notification_id=row.id, dispatch_token=row.dispatch_token)
    assert result.status == "sent"
    assert logcontext.current_trace_id() == ""  # a shell or a test: nothing would unbind it
