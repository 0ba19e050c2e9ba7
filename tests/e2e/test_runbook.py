"""docs/runbook.md's commands work as written: every `python manage.py …` and `celery -A config …`
line in its shell blocks runs, in order, against this run's database and broker."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from tests.conftest import ROOT, database_url
from tests.e2e.test_worker import wait_for_status

pytestmark = pytest.mark.worker

RUNBOOK = ROOT / "docs" / "runbook.md"


def runbook_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", RUNBOOK.read_text(), flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith(("python manage.py", "celery -A config"))]


def test_the_runbook_names_the_operator_commands():
    commands = " ".join(runbook_commands())
    for name in ("notification_stats", "requeue_failed", "purge_notifications", "setup_broker", "inspect ping"):
        assert name in commands


def test_every_runbook_command_runs_as_written(alice, sink, start_worker):
    now = timezone.now()
    base = {"owner": alice.user, "recipient": sink.url, "max_attempts": 3}
    dead = Notification.objects.create(
        channel="webhook", status="failed", failure_reason="exhausted", send_at=now, **base
    )
    ancient = Notification.objects.create(channel="webhook", status="sent", send_at=now, **base)
    Notification.objects.filter(id=ancient.id).update(updated_at=now - timedelta(days=100))
    start_worker()
    env = {**os.environ, "DATABASE_URL": database_url()}
    for command in runbook_commands():
        result = subprocess.run(
            command,
            shell=True,  # as an operator types it
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{command!r} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    # "A provider is down": the requeue lines sent the dead letter again, and it arrived.
    [received] = sink.wait_for(1)
    assert received.headers["webhook-id"] == str(dead.id)
    assert wait_for_status(str(dead.id), "sent").attempts == 1
    # "Disk grows": the purge lines deleted the 100-day-old sent row.
    assert not Notification.objects.filter(id=ancient.id).exists()
