"""``create_client``: a user with no password and not staff, its token printed, never a second one
by accident."""

from __future__ import annotations

import io
import os
import re
import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"[0-9a-f]{40}")


def create_client(*args: str) -> tuple[str, str]:
    """What the command printed: (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command("create_client", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def answers(token: str) -> int:
    return APIClient().get("/api/v1/notifications/", HTTP_AUTHORIZATION=f"Token {token}").status_code


def test_it_creates_a_client_that_can_call_the_api_and_nothing_else():
    out, err = create_client("acme", "--email", "ops@acme.example")

    token = out.strip()
    assert TOKEN.fullmatch(token), out  # the token alone, for TOKEN=$(...)
    assert "Created client 'acme'" in err
    user = get_user_model().objects.get(username="acme")
    assert Token.objects.get(user=user).key == token
    assert user.email == "ops@acme.example"
    assert not user.has_usable_password()
    assert not user.is_staff
    assert not user.is_superuser
    assert answers(token) == 200


def test_an_existing_name_is_refused_and_its_token_kept():
    token = create_client("acme")[0].strip()

    with pytest.raises(CommandError, match=r"'acme' already exists.*--rotate-token"):
        create_client("acme")

    assert Token.objects.get(user__username="acme").key == token
    assert get_user_model().objects.filter(username="acme").count() == 1


def test_rotate_token_replaces_the_token_and_the_old_one_stops_working():
    old = create_client("acme")[0].strip()

    out, err = create_client("acme", "--rotate-token")

    new = out.strip()
    assert TOKEN.fullmatch(new)
    assert new != old
    assert "old one no longer works" in err
    assert answers(old) == 401
    assert answers(new) == 200


def test_rotate_token_does_not_create_a_client():
    with pytest.raises(CommandError, match="No client named 'acmee'"):
        create_client("acmee", "--rotate-token")

    assert not get_user_model().objects.filter(username="acmee").exists()


@pytest.mark.parametrize("args", [("acme corp",), ("acme", "--email", "not-an-address")])
def test_an_invalid_name_or_address_is_refused(args):
    with pytest.raises(CommandError):
        create_client(*args)

    assert not get_user_model().objects.exists()


def readme_line() -> str:
    [line] = [line for line in (ROOT / "README.md").read_text().splitlines() if "manage.py create_client" in line]
    return line


def test_the_readme_line_works_as_written_beside_make_run(tmp_path):
    """The README's step, in a shell from the checkout, on the embedded database of ``make run``."""
    unset = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")
    env = {key: value for key, value in os.environ.items() if key not in unset and key != "NOTIFY_EMBEDDED"}
    env.update(NOTIFIER_VAR_DIR=str(tmp_path), NOTIFIER_ENV_FILE=os.devnull)

    def shell(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    assert shell("NOTIFY_EMBEDDED=true .venv/bin/python manage.py migrate -v 0").returncode == 0
    first, again = shell(readme_line()), shell(readme_line())

    assert first.returncode == 0, first.stderr[-2000:]
    assert TOKEN.fullmatch(first.stdout.strip()), first.stdout
    assert again.returncode == 1
    assert "already exists" in again.stderr
