"""Production's security settings: the example production environment passes Django's deployment
checks, the defaults outside DEBUG are the secure ones, and probes still answer over plain HTTP.

The settings are read once per process, so each environment is tried in a fresh one.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.test_settings import start

PRODUCTION_EXAMPLE = ROOT / "deploy" / "production.env.example"

SECURITY = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "X_FRAME_OPTIONS",
)
PRINT_SECURITY = (
    "import django, json; django.setup(); from django.conf import settings; "
    f"print(json.dumps({{name: getattr(settings, name) for name in {SECURITY!r}}}))"
)


def with_only(env_file: os.PathLike | str, tmp_path, **env: str) -> dict[str, str]:
    """An environment holding nothing of this test run's (no DEBUG, DATABASE_URL, ALLOWED_HOSTS …):
    what a deployment reading ``env_file`` sees."""
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "NOTIFIER_ENV_FILE": str(env_file),
        "NOTIFIER_VAR_DIR": str(tmp_path),
        **env,
    }


def manage(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def security_settings(**env: str) -> dict:
    done = start(["-c", PRINT_SECURITY], **env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_production_example_passes_check_deploy(tmp_path):
    env = with_only(PRODUCTION_EXAMPLE, tmp_path, SECRET_KEY=secrets.token_urlsafe(50))

    done = manage(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "no issues" in done.stdout


def test_check_deploy_refuses_the_example_as_it_is(tmp_path):
    """Its SECRET_KEY is a placeholder: copied without a real key, the check says so."""
    done = manage(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], with_only(PRODUCTION_EXAMPLE, tmp_path)
    )

    assert done.returncode != 0
    assert "security.W009" in done.stderr


def test_outside_debug_the_defaults_are_the_secure_ones():
    """``make test`` runs as production does: DEBUG off and a DATABASE_URL."""
    found = security_settings(DEBUG="false")

    assert found["SESSION_COOKIE_SECURE"] is True
    assert found["CSRF_COOKIE_SECURE"] is True
    assert found["SECURE_HSTS_SECONDS"] == 31536000
    assert found["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is found["SECURE_HSTS_PRELOAD"] is False
    assert found["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert found["X_FRAME_OPTIONS"] == "DENY"
    # Behind a proxy, which usually redirects itself; and no header is trusted unless named.
    assert found["SECURE_SSL_REDIRECT"] is False
    assert found["SECURE_PROXY_SSL_HEADER"] is None


def test_the_embedded_default_serves_plain_http(monkeypatch, tmp_path):
    """``make run`` answers on http://127.0.0.1: Secure cookies would make the admin login fail."""
    monkeypatch.delenv("DATABASE_URL")

    found = security_settings(DEBUG="false", NOTIFY_EMBEDDED="true", NOTIFIER_VAR_DIR=str(tmp_path))

    assert found["SESSION_COOKIE_SECURE"] is found["CSRF_COOKIE_SECURE"] is False
    assert found["SECURE_HSTS_SECONDS"] == 0


def test_each_security_setting_is_read_from_the_environment():
    found = security_settings(
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        CSRF_TRUSTED_ORIGINS="https://a.example.com,https://b.example.com",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="60",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
        SECURE_SSL_REDIRECT="true",
    )

    assert found["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert found["CSRF_TRUSTED_ORIGINS"] == ["https://a.example.com", "https://b.example.com"]
    assert found["SESSION_COOKIE_SECURE"] is found["CSRF_COOKIE_SECURE"] is False
    assert found["SECURE_HSTS_SECONDS"] == 60
    assert found["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is found["SECURE_HSTS_PRELOAD"] is True
    assert found["SECURE_SSL_REDIRECT"] is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECURE_PROXY_SSL_HEADER", "https"),
        ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto,https"),
        ("SECURE_HSTS_SECONDS", "-1"),
        ("SECURE_HSTS_SECONDS", "a year"),
        ("SECURE_SSL_REDIRECT", "yes please"),
        ("SESSION_COOKIE_SECURE", "maybe"),
    ],
)
def test_a_malformed_security_setting_stops_the_process_naming_it(name, value):
    done = start(["manage.py", "check"], **{name: value})

    assert done.returncode != 0
    assert f"{name}: " in done.stderr.splitlines()[-1], done.stderr[-2000:]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_over_plain_http_when_django_redirects_to_https(client, settings, path):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get(path).status_code == 200


@pytest.mark.django_db
def test_with_ssl_redirect_plain_http_is_sent_to_https_unless_the_proxy_says_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    plain = client.get("/api/v1/notifications/")
    proxied = client.get("/api/v1/notifications/", headers={"X-Forwarded-Proto": "https"})

    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/api/v1/notifications/"
    assert proxied.status_code == 401
    assert proxied["Strict-Transport-Security"] == "max-age=31536000"
