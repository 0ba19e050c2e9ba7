"""The console provider: the notification goes to the worker log."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from notifier import Message, Receipt, get_provider


@pytest.fixture
def provider():
    return get_provider("console")


def test_send_logs_the_notification_and_succeeds(provider, caplog):
    caplog.set_level(logging.INFO, logger="notifier.console")
    msg = Message(id=str(uuid.uuid4()), recipient="ops-log", subject="Disk", body="90% full", payload={"host": "db1"})

    receipt = provider.send(msg)

    assert isinstance(receipt, Receipt)
    [record] = [r for r in caplog.records if r.name == "notifier.console"]
    assert record.levelno == logging.INFO
    text = record.getMessage()
    assert msg.id in text
    assert "ops-log" in text
    logged = json.loads(text.split(": ", 1)[1])
    assert logged == {"subject": "Disk", "body": "90% full", "payload": {"host": "db1"}}


def test_the_signing_secrets_never_reach_the_log(provider, caplog):
    caplog.set_level(logging.DEBUG)
    provider.send(Message(id=str(uuid.uuid4()), recipient="ops", body="hi", signing_secrets=("whsec_c2VjcmV0",)))

    assert "whsec_c2VjcmV0" not in caplog.text


@pytest.mark.parametrize(("recipient", "expected"), [("ops-log", "ops-log"), ("  #alerts ", "#alerts")])
def test_any_label_is_a_recipient(provider, recipient, expected):
    assert provider.validate_recipient(recipient) == expected


@pytest.mark.parametrize("recipient", ["", "   ", "\n"])
def test_a_blank_recipient_is_refused(provider, recipient):
    with pytest.raises(ValueError):
        provider.validate_recipient(recipient)


@pytest.mark.parametrize(
    "recipient",
    [
        "ops\r\n2026-01-01 00:00:00 ERROR notifier forged line",
        "ops\x1b[2K\x1b[1Goverwritten",
        "ops\u2028next",
        "ops\x85next",
    ],
)
def test_a_recipient_cannot_forge_log_lines_or_terminal_escapes(provider, caplog, recipient):
    caplog.set_level(logging.INFO, logger="notifier.console")

    provider.send(Message(id=str(uuid.uuid4()), recipient=recipient, subject="a\nb\x1b[31m", body="c\r\nd"))

    [record] = [r for r in caplog.records if r.name == "notifier.console"]
    text = record.getMessage()
    assert text.isprintable(), repr(text)
    assert "ops" in text


def test_a_large_body_is_logged_cut_short_with_its_full_length(provider, caplog):
    caplog.set_level(logging.INFO, logger="notifier.console")

    provider.send(Message(id=str(uuid.uuid4()), recipient="ops", body="x" * 9_000_000))

    [record] = [r for r in caplog.records if r.name == "notifier.console"]
    text = record.getMessage()
    assert len(text) < 1_300
    assert "9000044 characters" in text  # the length of the whole JSON
