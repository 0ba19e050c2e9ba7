"""The Procfile's processes, started the way an operator starts them (``honcho``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, database_url

pytestmark = pytest.mark.worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def honcho(process: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "honcho", "start", process],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(), **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until_answers(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_release_migrates_and_declares_the_broker(transactional_db, tmp_path):
    log = tmp_path / "release.log"
    proc = honcho("release", {}, log)
    assert proc.wait(timeout=120) == 0, log.read_text()
    assert "Declared 4 queues" in log.read_text()


def test_web_serves_the_api_behind_gunicorn(transactional_db, tmp_path):
    port = free_port()
    log = tmp_path / "web.log"
    proc = honcho("web", {"PORT": str(port), "WEB_CONCURRENCY": "1"}, log)
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/healthz", proc, log)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 200, ready.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/notifications/").status_code == 401
    finally:
        stop(proc)


def test_flower_listens_on_flower_port_behind_basic_auth(transactional_db, tmp_path):
    port = free_port()
    log = tmp_path / "flower.log"
    proc = honcho("flower", {"FLOWER_PORT": str(port), "FLOWER_BASIC_AUTH": "ops:s3cret"}, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(f"{base}/healthcheck", proc, log)
        assert httpx.get(f"{base}/healthcheck").status_code == 200  # open, for probes
        assert httpx.get(f"{base}/workers").status_code == 401
        assert httpx.get(f"{base}/workers", auth=("ops", "wrong")).status_code == 401
        assert httpx.get(f"{base}/workers", auth=("ops", "s3cret")).status_code == 200
    finally:
        stop(proc)
