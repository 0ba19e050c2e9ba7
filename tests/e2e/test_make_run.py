"""The README's first command: `make run` on the embedded default, then its curl line."""

from __future__ import annotations

import os
import re
import subprocess
import time

import httpx
import pytest

from tests.conftest import ROOT
from tests.e2e.test_processes import free_port, stop

pytestmark = pytest.mark.worker

EMBEDDED_UNSET = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")


def test_make_run_starts_everything_and_the_readme_curl_line_delivers(tmp_path):
    port, flower_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if key not in EMBEDDED_UNSET}
    env.update(
        PORT=str(port),
        FLOWER_PORT=str(flower_port),
        NOTIFIER_VAR_DIR=str(tmp_path / "var"),
        NOTIFIER_ENV_FILE=os.devnull,
    )
    log = tmp_path / "run.log"
    proc = subprocess.Popen(
        ["make", "run"], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        token = _wait_for(lambda: re.search(r"API token \(demo\):\s+(\w+)", log.read_text()), proc, log).group(1)
        _wait_for(
            lambda: _answers(f"{base}/healthz") and _answers(f"http://127.0.0.1:{flower_port}/healthcheck"), proc, log
        )
        headers = {"Authorization": f"Token {token}"}
        created = httpx.post(
            f"{base}/api/v1/notifications/",
            headers=headers,
            json={"channel": "console", "recipient": "me", "body": "hello"},
        )
        assert created.status_code == 201, created.text
        url = f"{base}/api/v1/notifications/{created.json()['id']}/"
        _wait_for(lambda: httpx.get(url, headers=headers).json()["status"] == "sent", proc, log)
        assert "hello" in log.read_text()  # the console channel wrote it to the worker log
        ready = httpx.get(f"{base}/readyz").json()
        assert ready["checks"]["database"] == ready["checks"]["broker"] == "ok"
        admin_css = httpx.get(f"{base}/static/admin/css/base.css")
        assert admin_css.status_code == 200
    finally:
        stop(proc)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _wait_for(condition, proc: subprocess.Popen, log, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if proc.poll() is not None:
            raise AssertionError(f"make run exited {proc.returncode}:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout}s:\n{log.read_text()[-4000:]}")
