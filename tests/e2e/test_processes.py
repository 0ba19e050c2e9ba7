"""The Procfile's processes, started the way an operator starts them (``honcho``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from testkit import Proc, free_port
from tests.conftest import database_url

pytestmark = pytest.mark.worker


def honcho(process: str, env: dict[str, str], log: Path) -> Proc:
    """``honcho start <process>``, as an operator starts one line of the Procfile."""
    argv = [sys.executable, "-m", "honcho", "start", process]
    return Proc(process, argv, {**os.environ, "DATABASE_URL": database_url(), **env}, log)


def test_release_migrates_and_declares_the_broker(transactional_db, tmp_path):
    proc = honcho("release", {}, tmp_path / "release.log")
    try:
        assert proc.popen.wait(timeout=120) == 0, proc.text()
        assert "Declared 4 queues" in proc.text()
    finally:
        proc.stop()


def test_web_serves_the_api_behind_gunicorn(transactional_db, tmp_path):
    port = free_port()
    proc = honcho("web", {"PORT": str(port), "WEB_CONCURRENCY": "1"}, tmp_path / "web.log")
    try:
        proc.wait_for_http(f"http://127.0.0.1:{port}/healthz")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 200, ready.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/notifications/").status_code == 401
    finally:
        proc.stop()


def test_flower_listens_on_flower_port_behind_basic_auth(transactional_db, tmp_path):
    port = free_port()
    proc = honcho("flower", {"FLOWER_PORT": str(port), "FLOWER_BASIC_AUTH": "ops:s3cret"}, tmp_path / "flower.log")
    base = f"http://127.0.0.1:{port}"
    try:
        proc.wait_for_http(f"{base}/healthcheck")
        assert httpx.get(f"{base}/healthcheck").status_code == 200  # open, for probes
        assert httpx.get(f"{base}/workers").status_code == 401
        assert httpx.get(f"{base}/workers", auth=("ops", "wrong")).status_code == 401
        assert httpx.get(f"{base}/workers", auth=("ops", "s3cret")).status_code == 200
    finally:
        proc.stop()
