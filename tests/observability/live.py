"""A real web (gunicorn, as the Procfile runs it) for the observability tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
from django.conf import settings
from rest_framework.authtoken.models import Token

from testkit import Proc, free_port


def start_gunicorn(database_url: str, log: Path, workers: int = 2, **env: str) -> tuple[Proc, str]:
    """``gunicorn -c config/gunicorn.py config.wsgi:application`` on a free port; (process, base url)."""
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application"]
    argv += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--access-logfile", "-"]
    proc = Proc("web", argv, {**os.environ, "DATABASE_URL": database_url, **env}, log)
    base = f"http://127.0.0.1:{port}"
    proc.wait_for_http(f"{base}/healthz")
    return proc, base


def token_of(client) -> str:
    """The API token of a test client (``alice``), for requests to a real web process."""
    return Token.objects.get(user=client.user).key


def metrics_files(role: str, leader_pid: int) -> list[Path]:
    """The multiprocess files of the process group led by ``leader_pid`` (``web`` or ``worker``)."""
    [directory] = (Path(settings.VAR_DIR) / "metrics").glob(f"{role}-*-{leader_pid}")
    return sorted(directory.glob("*.db"))


def get_metrics(url: str, token: str = "") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(url, headers=headers, timeout=10)
