"""The README's first command: `make run` on the embedded default, then its curl line, the admin
login it prints, and its "add a client" step. One `make run` serves every test here."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from testkit import ROOT, Proc, free_port

pytestmark = pytest.mark.worker

T = TypeVar("T")

EMBEDDED_UNSET = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "NOTIFY_EMBEDDED",
    "LISTEN_ADDRESS",
)


@dataclass
class MakeRun:
    proc: Proc
    env: dict[str, str]
    port: int
    flower_port: int
    token: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def make_run(tmp_path_factory) -> Iterator[MakeRun]:
    """``make run`` as a new user types it, in a fresh var/, once web and Flower answer."""
    tmp_path = tmp_path_factory.mktemp("make-run")
    port, flower_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if key not in EMBEDDED_UNSET}
    env.update(
        PORT=str(port),
        FLOWER_PORT=str(flower_port),
        NOTIFIER_VAR_DIR=str(tmp_path / "var"),
        NOTIFIER_ENV_FILE=os.devnull,
    )
    proc = Proc("make run", ["make", "run"], env, tmp_path / "run.log")
    try:
        token = _wait_for(proc, lambda: re.search(r"API token \(demo\):\s+(\w+)", proc.text()), "no API token").group(1)
        _wait_for(
            proc,
            lambda: (
                _answers(f"http://127.0.0.1:{port}/healthz") and _answers(f"http://127.0.0.1:{flower_port}/healthcheck")
            ),
            "web or flower did not answer",
        )
        yield MakeRun(proc, env, port, flower_port, token)
    finally:
        proc.stop()


def test_make_run_starts_everything_and_the_readme_curl_line_delivers(make_run):
    base, proc = make_run.base, make_run.proc
    headers = {"Authorization": f"Token {make_run.token}"}
    created = httpx.post(
        f"{base}/api/v1/notifications/",
        headers=headers,
        json={"channel": "console", "recipient": "me", "body": "hello"},
    )
    assert created.status_code == 201, created.text
    url = f"{base}/api/v1/notifications/{created.json()['id']}/"
    _wait_for(proc, lambda: httpx.get(url, headers=headers).json()["status"] == "sent", "not sent")
    assert "hello" in proc.text()  # the console channel wrote it to the worker log
    ready = httpx.get(f"{base}/readyz").json()
    assert ready["checks"]["database"] == ready["checks"]["broker"] == "ok"
    admin_css = httpx.get(f"{base}/static/admin/css/base.css")
    assert admin_css.status_code == 200
    assert "No hostname was supplied" not in proc.text()


def test_web_and_flower_listen_on_this_machine_only(make_run):
    """The embedded default has a public dev key, plain HTTP and an open Flower: not for the network."""
    assert listening_addresses(make_run.port) == {"127.0.0.1"}
    assert listening_addresses(make_run.flower_port) == {"127.0.0.1"}


def test_the_demo_password_is_random_printed_and_opens_the_admin(make_run):
    [password] = re.findall(r"\(user 'demo', password '([^']+)'\)", make_run.proc.text())

    assert password != "demo"
    assert len(password) >= 16
    assert admin_login(make_run.base, "demo", "demo").status_code == 200  # the form again: refused
    assert admin_login(make_run.base, "demo", password).headers["Location"] == "/admin/"


def test_the_readme_add_a_client_step_works_beside_make_run(make_run):
    [line] = [line for line in (ROOT / "README.md").read_text().splitlines() if "manage.py create_client" in line]
    done = subprocess.run(
        ["bash", "-c", line], cwd=ROOT, env=make_run.env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]

    created = httpx.post(
        f"{make_run.base}/api/v1/notifications/",
        headers={"Authorization": f"Token {done.stdout.strip()}"},
        json={"channel": "console", "recipient": "acme", "body": "hello from acme"},
    )
    assert created.status_code == 201, created.text


def admin_login(base: str, username: str, password: str) -> httpx.Response:
    """The admin's login form, posted as a browser does (its CSRF cookie and field)."""
    with httpx.Client(base_url=base) as browser:
        form = browser.get("/admin/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        return browser.post(
            "/admin/login/?next=/admin/",
            data={"username": username, "password": password, "next": "/admin/", "csrfmiddlewaretoken": csrf},
        )


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on ``port``, IPv4 and IPv6, read from /proc."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                # The kernel prints each 32-bit word of the address in host (little-endian) order.
                raw = b"".join(bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, len(address), 8))
                found.add(socket.inet_ntop(family, raw))
    return found


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _wait_for(proc: Proc, condition: Callable[[], T], what: str) -> T:
    """While ``make run`` runs, until ``condition`` holds (90 s at most: it installs, migrates, starts)."""
    return proc.wait_for(condition, 90.0, what, interval=0.2)
