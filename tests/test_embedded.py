"""The embedded default of ``make run`` (SQLite and kombu's filesystem broker), each case in a
fresh process, since the broker is chosen once, when settings load."""

from __future__ import annotations

import pytest

from tests.test_settings import start

PUBLISH_ONE = """
import django, uuid
django.setup()
from django.utils import timezone
from notifications.dispatch import Dispatch, publish
assert publish([Dispatch(uuid.uuid4(), uuid.uuid4(), timezone.now(), "normal")]) == []
"""


@pytest.mark.parametrize("url", [None, "filesystem://", "filesystem:///"])
def test_a_publish_on_the_embedded_broker_logs_no_hostname_warning(tmp_path, monkeypatch, url):
    """kombu warned "No hostname was supplied" on every publish to ``filesystem://``: the log of
    ``make run`` filled with it. The URL now names the host kombu wants, whatever was written."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    env = {"NOTIFIER_VAR_DIR": str(tmp_path), "LOG_LEVEL": "DEBUG"}
    if url is not None:
        env["CELERY_BROKER_URL"] = url

    done = start(["-c", PUBLISH_ONE], **env)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "No hostname was supplied" not in done.stderr
    [message] = (tmp_path / "broker" / "queue").iterdir()
    assert message.name.endswith(".notify.normal.msg")
