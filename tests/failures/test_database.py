"""PostgreSQL stopped for a few seconds: the API answers 503 in JSON, readiness names the
database, workers retry instead of dropping, and everything queued before is sent after."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from testkit import wait_until
from tests.failures.figures import URL, assert_duplicates_explained, tally, wait_all_sent, wait_receipts
from tests.failures.outages import postgres_stopped
from tests.sink import Reply

pytestmark = pytest.mark.worker


def timed(method: str, url: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.request(method, url, timeout=15, **kwargs)
    return response, time.monotonic() - started


def test_database_outage_answers_503_and_loses_nothing_queued_before(token, sink, stack, figures):
    # The stuck-sweep may recover a send the outage cut short; the missed-sweep must not hide
    # a delivery the workers dropped, so its grace outlasts the test.
    stack.environ["NOTIFY_SWEEP_GRACE"] = "300"
    web = stack.web()
    worker = stack.worker()
    stack.beat()
    auth = {"Authorization": f"Token {token}"}
    # Due 6-8 s from now: their messages reach the worker while the database is down.
    due = timezone.now() + timedelta(seconds=6)
    ids = []
    for n in range(15):  # one ``deliver`` message each
        send_at = (due + timedelta(seconds=n / 8)).isoformat()
        data = {"channel": "webhook", "recipient": sink.url, "payload": {"n": n}, "send_at": send_at}
        response, _ = timed("POST", f"{web.url}{URL}", json=data, headers=auth)
        assert response.status_code == 201, response.text[:500]
        ids.append(response.json()["id"])
    send_at = (due + timedelta(seconds=1)).isoformat()
    items = [{"channel": "webhook", "recipient": sink.url, "payload": {"n": n}, "send_at": send_at} for n in range(15)]
    response, _ = timed("POST", f"{web.url}{URL}bulk/", json={"notifications": items}, headers=auth)
    assert response.status_code == 201, response.text[:500]
    ids += [item["id"] for item in response.json()["notifications"]]  # one ``deliver_batch`` message
    last_due = due + timedelta(seconds=2)
    # Two more, due now, that a slow receiver holds while the database goes away: their
    # sends succeed but cannot be recorded.
    sink.then(Reply(delay=1.5), Reply(delay=1.5))
    for n in range(2):
        data = {"channel": "webhook", "recipient": sink.url, "payload": {"in flight": n}}
        response, _ = timed("POST", f"{web.url}{URL}", json=data, headers=auth)
        assert response.status_code == 201, response.text[:500]
        ids.append(response.json()["id"])
    wait_receipts(sink, 2, figures, stack)
    answers: list[str] = []
    with postgres_stopped():
        assert timezone.now() < due, "the database stopped too late: the notifications were due already"
        data = {"channel": "webhook", "recipient": sink.url}
        for method, path, body in [("POST", URL, data), ("GET", URL, None), ("GET", f"{URL}{ids[0]}/", None)]:
            response, elapsed = timed(method, f"{web.url}{path}", json=body, headers=auth)
            answers.append(f"{method} {path} {response.status_code} in {elapsed:.2f}s")
            assert response.status_code == 503, f"{answers}: {response.text[:500]}\n{stack.tails()}"
            assert response.headers["content-type"] == "application/json", answers
            assert "database" in response.json()["detail"], answers
            assert elapsed < 5, f"{answers}: too slow"
        ready, elapsed = timed("GET", f"{web.url}/readyz")
        answers.append(f"GET /readyz {ready.status_code} in {elapsed:.2f}s")
        assert ready.status_code == 503 and "database" in ready.json()["down"], f"{answers}: {ready.text}"
        assert elapsed < 5, answers
        # The workers meet the outage: they retry the deliveries instead of dropping them.
        wait_until(
            lambda: timezone.now() > last_due and "OperationalError" in worker.text() and "Retry in" in worker.text(),
            30,
            lambda: f"no worker retried during the outage\n{stack.tails()}",
        )
        figures.note(f"{len(sink.requests)} in flight at the stop")
    figures.note("; ".join(answers))
    wait_all_sent(ids, sink, figures, stack, timeout=60)
    tally(figures, ids, sink)
    assert figures.lost == 0, figures
    # Only a send in flight at the stop can be repeated: its success could not be recorded, so
    # its lease ran out and the stuck-sweep sent it again (recorded as an attempt lost with its worker).
    assert figures.duplicated <= 2, figures
    assert_duplicates_explained(ids, sink, figures, stack)
    # The API is back too.
    response, _ = timed("GET", f"{web.url}{URL}{ids[0]}/", headers=auth)
    assert response.status_code == 200 and response.json()["status"] == "sent", response.text[:500]
