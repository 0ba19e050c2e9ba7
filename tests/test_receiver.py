"""scripts/receiver.py, the README's local receiver: it verifies what the webhook provider really
sends, and refuses a forged or altered request."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from notifier import Message, get_provider
from notifier.errors import PermanentError
from tests.conftest import ROOT
from tests.notifier.webhook.conftest import new_secret

SECRET = new_secret()


@dataclass
class Receiver:
    url: str
    log: Path

    def printed(self, needle: str, timeout: float = 5.0) -> str:
        """The receiver's line holding ``needle``, once it has printed it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log.read_text().splitlines():
                if needle in line:
                    return line
            time.sleep(0.05)
        raise AssertionError(f"the receiver did not print {needle!r}:\n{self.log.read_text()}")


@pytest.fixture
def receiver(tmp_path) -> Iterator[Receiver]:
    """The script as the README runs it, on a port it picks, with the client's secret."""
    log = tmp_path / "receiver.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "scripts/receiver.py", "0"],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "WEBHOOK_SECRET": SECRET},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        found = Receiver("", log).printed("listening on ")
        yield Receiver(re.search(r"http://\S+", found).group(0), log)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def webhook(allow_private, settings):
    """The provider as a worker builds it, allowed to reach the receiver on loopback."""
    return get_provider("webhook")


def send(webhook, url: str, *secrets: str) -> str:
    notification_id = str(uuid.uuid4())
    webhook.send(Message(id=notification_id, recipient=url, payload={"order": 42}, signing_secrets=secrets))
    return notification_id


def test_it_verifies_a_webhook_the_provider_signed(receiver, webhook):
    notification_id = send(webhook, receiver.url, SECRET)

    assert receiver.printed(notification_id) == f'verified {notification_id}: {{"order": 42}}'


def test_it_verifies_during_a_rotation_when_the_old_secret_signs_too(receiver, webhook):
    notification_id = send(webhook, receiver.url, new_secret(), SECRET)

    assert receiver.printed(notification_id).startswith("verified ")


def test_it_rejects_a_webhook_signed_with_another_secret(receiver, webhook):
    with pytest.raises(PermanentError, match="401"):
        send(webhook, receiver.url, new_secret())

    assert receiver.printed("REJECTED ").endswith("No matching signature found")


def test_it_rejects_a_signed_request_whose_body_was_altered(receiver, webhook):
    captured: list[httpx.Request] = []
    with httpx.Client(transport=httpx.MockTransport(lambda r: captured.append(r) or httpx.Response(204))) as mock:
        webhook.client, real = mock, webhook.client
        try:
            send(webhook, receiver.url, SECRET)
        finally:
            webhook.client = real
    [signed] = captured

    answer = httpx.post(receiver.url, content=b'{"order":43}', headers=dict(signed.headers))

    assert answer.status_code == 401
    assert receiver.printed("REJECTED ").startswith(f"REJECTED {signed.headers['webhook-id']}")
