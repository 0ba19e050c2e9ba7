"""Settings an operator sets in the environment take effect (each read in a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PRINT_DATABASE = (
    "import django, json; django.setup(); from django.db import connection; "
    "print(json.dumps(connection.get_connection_params()['prepare_threshold']))"
)


def start(argv: list[str], **env: str) -> subprocess.CompletedProcess:
    """``python <argv>`` in a fresh process with these variables added to the environment."""
    return subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def database_options(**env: str) -> object:
    done = start(["-c", PRINT_DATABASE], **env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize(("value", "threshold"), [(None, 5), ("true", 5), ("false", None)])
def test_prepared_statements_can_be_turned_off_for_pgbouncer(value, threshold):
    env = {} if value is None else {"DATABASE_PREPARED_STATEMENTS": value}
    assert database_options(**env) == threshold


MALFORMED = [
    ("NOTIFY_API_RATE", "100/lightyear"),
    ("NOTIFY_API_RATE", "fast"),
    ("NOTIFY_MAX_ATTEMPTS", "eight"),
    ("NOTIFY_MAX_ATTEMPTS", "0"),
    ("NOTIFY_LEASE_SECONDS", "-5"),
    ("NOTIFY_DISPATCH_BATCH", "1.5"),
    ("WEBHOOK_ALLOW_PRIVATE", "maybe"),
    ("WEBHOOK_TIMEOUT", "0"),
    ("WEBHOOK_PROXY", "socks5://proxy.internal:1080"),
    ("NOTIFY_ENCRYPTION_KEYS", "not-a-fernet-key"),
    ("NOTIFY_MAX_CONTENT_BYTES", "0"),
    ("NOTIFY_ENDPOINT_DISABLE_AFTER", "0"),
    ("NOTIFY_ENDPOINT_DISABLE_AFTER", "five days"),
]


@pytest.mark.parametrize(("name", "value"), MALFORMED)
def test_a_malformed_setting_stops_the_process_at_start_naming_it(name, value):
    done = start(["manage.py", "check"], **{name: value})
    assert done.returncode != 0
    assert f"{name}: " in done.stderr.splitlines()[-1], done.stderr[-2000:]


def test_a_malformed_setting_stops_a_worker_before_it_takes_any_message():
    done = start(["-m", "celery", "-A", "config", "worker", "--concurrency", "1"], NOTIFY_API_RATE="1/lightyear")
    assert done.returncode != 0
    assert "NOTIFY_API_RATE: '1/lightyear' is not a rate" in done.stderr


@pytest.mark.parametrize("rate", ["5/hour", "100/s", "600/min", ""])
def test_well_formed_rates_start(rate):
    done = start(["manage.py", "check"], NOTIFY_API_RATE=rate)
    assert done.returncode == 0, done.stderr[-2000:]


def test_without_database_url_outside_debug_the_process_stops_naming_both_variables(monkeypatch, tmp_path):
    """A production deploy that lost its DATABASE_URL must not serve from a fresh SQLite file."""
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("NOTIFY_EMBEDDED", raising=False)

    done = start(["manage.py", "check"], DEBUG="false", NOTIFIER_VAR_DIR=str(tmp_path))

    assert done.returncode != 0
    last = done.stderr.splitlines()[-1]
    assert "DATABASE_URL" in last, done.stderr[-2000:]
    assert "NOTIFY_EMBEDDED=true" in last
    assert not (tmp_path / "notifier.sqlite3").exists()


@pytest.mark.parametrize("env", [{"NOTIFY_EMBEDDED": "true"}, {"DEBUG": "true"}])
def test_the_embedded_default_runs_when_asked_for(monkeypatch, tmp_path, env):
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("NOTIFY_EMBEDDED", raising=False)

    done = start(["manage.py", "check"], **{"DEBUG": "false", "NOTIFIER_VAR_DIR": str(tmp_path), **env})

    assert done.returncode == 0, done.stderr[-2000:]


def test_a_malformed_notify_embedded_stops_the_process_naming_it(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL")

    done = start(["manage.py", "check"], NOTIFY_EMBEDDED="yes please", NOTIFIER_VAR_DIR=str(tmp_path))

    assert done.returncode != 0
    assert "NOTIFY_EMBEDDED: " in done.stderr.splitlines()[-1], done.stderr[-2000:]
