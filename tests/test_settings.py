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


def database_options(**env: str) -> object:
    done = subprocess.run(
        [sys.executable, "-c", PRINT_DATABASE],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize(("value", "threshold"), [(None, 5), ("true", 5), ("false", None)])
def test_prepared_statements_can_be_turned_off_for_pgbouncer(value, threshold):
    env = {} if value is None else {"DATABASE_PREPARED_STATEMENTS": value}
    assert database_options(**env) == threshold
